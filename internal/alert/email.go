package alert

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/wneessen/go-mail"
)

// EmailSender sends one message by email. The SMTP implementation is below; tests and other
// transports implement it too.
type EmailSender interface {
	SendEmail(ctx context.Context, m Message) error
}

// SMTP sends alert emails through an SMTP server (a relay, or the provider's submission port).
type SMTP struct {
	Addr     string // host:port
	From     string
	To       []string
	Username string // empty: no authentication
	Password string
	Timeout  time.Duration
}

// SendEmail delivers m as a plain-text email to every recipient. STARTTLS is used when the
// server offers it; authentication, when configured, only ever happens over TLS.
func (s *SMTP) SendEmail(ctx context.Context, m Message) error {
	host, portStr, err := net.SplitHostPort(s.Addr)
	if err != nil {
		return fmt.Errorf("alert: smtp address %q: %w", s.Addr, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return fmt.Errorf("alert: smtp port %q: %w", portStr, err)
	}
	msg := mail.NewMsg()
	if err := msg.From(s.From); err != nil {
		return fmt.Errorf("alert: email from %q: %w", s.From, err)
	}
	if err := msg.To(s.To...); err != nil {
		return fmt.Errorf("alert: email recipients: %w", err)
	}
	msg.Subject(m.Subject())
	msg.SetDate()
	msg.SetMessageIDWithValue(messageID(m))
	msg.SetBodyString(mail.TypeTextPlain, emailBody(m))

	timeout := s.Timeout
	if timeout == 0 {
		timeout = 15 * time.Second
	}
	opts := []mail.Option{mail.WithPort(port), mail.WithTimeout(timeout), mail.WithTLSPolicy(mail.TLSOpportunistic)}
	if s.Username != "" {
		opts = append(opts, mail.WithSMTPAuth(mail.SMTPAuthAutoDiscover), mail.WithUsername(s.Username), mail.WithPassword(s.Password))
	}
	client, err := mail.NewClient(host, opts...)
	if err != nil {
		return fmt.Errorf("alert: smtp client for %s: %w", s.Addr, err)
	}
	if err := client.DialAndSendWithContext(ctx, msg); err != nil {
		if msg.IsDelivered() {
			// The server answered 250 to DATA: the alert is its to deliver. An error after that
			// (go-mail's RSET, QUIT, a dropped connection) left the channel unrecorded, and the
			// next round sent the alert again.
			return nil
		}
		return fmt.Errorf("alert: send email for message %d via %s: %w", m.DeliveryID, s.Addr, err)
	}
	return nil
}

// messageID names one delivery: a resend after a send that was not recorded (a crash between the
// two) carries the same ID, which mail clients take as the same message, as webhook receivers
// take X-Paysplit-Delivery. The monitor, event and period are in it besides the delivery's ID so
// two deployments (staging and production) mailing one inbox never share an ID.
func messageID(m Message) string {
	return fmt.Sprintf("alert-%d-%d-%s-%d@paysplit.alerts", m.DeliveryID, m.MonitorID, m.Event, m.PeriodStart.Unix())
}

func emailBody(m Message) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\n", m.Summary)
	fmt.Fprintf(&b, "Monitor:  %s (#%d, %s)\n", m.MonitorName, m.MonitorID, m.Kind)
	fmt.Fprintf(&b, "Alert:    #%d, %s\n", m.AlertID, m.Event)
	fmt.Fprintf(&b, "Fired at: %s\n", m.FiredAt.UTC().Format(time.RFC3339))
	if m.ResolvedAt != nil {
		fmt.Fprintf(&b, "Resolved: %s\n", m.ResolvedAt.UTC().Format(time.RFC3339))
	}
	if len(m.Subjects) > 0 {
		fmt.Fprintf(&b, "Subjects: %s\n", strings.Join(m.Subjects, ", "))
	}
	fmt.Fprintf(&b, "\nDelivery #%d. The admin API lists every alert: GET /api/v1/admin/alerts\n", m.DeliveryID)
	return b.String()
}
