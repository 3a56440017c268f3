package alert

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode"

	"paysplit/internal/mailer"
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
	Timeout  time.Duration // 0: defaultEmailTimeout
	// Logger says which recipients the server refused for good (nil: slog.Default()).
	Logger *slog.Logger
}

// defaultEmailTimeout is shorter than the weekly reports' (mailer's 30 s): one delivery round
// tries every queued alert, and a hanging relay should cost it little.
const defaultEmailTimeout = 15 * time.Second

// SendEmail delivers m as a plain-text email to the recipients the server accepts. A recipient
// it refuses for good (550 no such mailbox: an address left in ALERT_EMAIL_TO after someone left)
// must not keep the alert from on-call: the others get it, the send counts as made, and the
// refused ones are logged as warnings by their positions in To (the addresses are not logged,
// as nowhere else). Every recipient refused fails the send (mailer.ErrRecipientsRefused), as
// does a server asking to try later, and one refusing the message itself for good once it read it
// (mailer.ErrMessageRefused: the delivery round goes on with the next message). It goes through
// internal/mailer, the one SMTP sender (weekly reports use it too), so what counts as sent (a
// message the server accepted, whatever happens after), STARTTLS when the server offers it and
// authentication only ever over TLS are decided in one place.
func (s *SMTP) SendEmail(ctx context.Context, m Message) error {
	timeout := s.Timeout
	if timeout == 0 {
		timeout = defaultEmailTimeout
	}
	sender := &mailer.SMTP{Addr: s.Addr, From: s.From, Username: s.Username, Password: s.Password,
		TLS: mailer.TLSOpportunistic, Timeout: timeout}
	d, err := sender.Deliver(ctx, mailer.Message{To: s.To, Subject: m.Subject(), Text: emailBody(m), MessageID: messageID(m)})
	if err != nil {
		return fmt.Errorf("alert: email for message %d: %w", m.DeliveryID, err)
	}
	if len(d.Refused) > 0 {
		log := s.Logger
		if log == nil {
			log = slog.Default()
		}
		positions := make([]int, len(d.Refused))
		for i, p := range d.Refused {
			positions[i] = p + 1 // as an operator counts the entries of ALERT_EMAIL_TO
		}
		log.WarnContext(ctx, "alert email sent, but the mail server refused some recipients for good: fix ALERT_EMAIL_TO",
			"delivery", m.DeliveryID, "refused_entries", positions, "recipients", len(s.To))
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
	// The name is an isolate, or a right-to-left one takes "(#2" after it into its stretch.
	fmt.Fprintf(&b, "Monitor:  %s (#%d, %s)\n", mailer.Isolate(m.MonitorName), m.MonitorID, m.Kind)
	fmt.Fprintf(&b, "Alert:    #%d, %s\n", m.AlertID, m.Event)
	fmt.Fprintf(&b, "Fired at: %s\n", m.FiredAt.UTC().Format(time.RFC3339))
	switch {
	case m.ResolvedAt != nil && m.Event == "firing" && m.ResolvedAt.Equal(m.FiredAt):
		// An alert of a one-off event (monitor.Store.RaiseEvent: a PayPal payout taken back) is
		// stored closed as it fires, as nothing will clear it: "Resolved" would tell the admin it
		// was dealt with when nobody has acted yet.
		fmt.Fprintf(&b, "One-off:  closed as it fired, nothing clears it\n")
	case m.ResolvedAt != nil:
		fmt.Fprintf(&b, "Resolved: %s\n", m.ResolvedAt.UTC().Format(time.RFC3339))
	}
	if len(m.Subjects) > 0 {
		fmt.Fprintf(&b, "Subjects: %s\n", strings.Join(m.Subjects, ", "))
	}
	writePayment(&b, m.Payment)
	fmt.Fprintf(&b, "\nDelivery #%d. The admin API lists every alert: GET /api/v1/admin/alerts\n", m.DeliveryID)
	return b.String()
}

// writePayment adds the lines naming the payment an alert is about, if any: the IDs to search
// for, the admin API's page of it and, when known, its workflow in the Temporal UI.
func writePayment(b *strings.Builder, p *Payment) {
	if p == nil {
		return
	}
	fmt.Fprintf(b, "Payment:  %s\n", plainText(p.WorkflowID))
	fmt.Fprintf(b, "Provider: %s\n", plainText(p.Provider))
	fmt.Fprintf(b, "Client:   %s\n", plainText(p.ClientID))
	fmt.Fprintf(b, "Order:    %s\n", plainText(p.OrderID))
	fmt.Fprintf(b, "Admin:    GET %s\n", plainText(p.AdminURL))
	if p.WorkflowURL != "" {
		fmt.Fprintf(b, "Temporal: %s\n", plainText(p.WorkflowURL))
	}
}

// plainText makes an ID fit one line of a plain-text email: IDs come from shops and providers,
// and a line break in one would start a line of its own that reads as ours (a forged
// "Temporal:" link), so control characters and line separators become U+FFFD. A right-to-left
// ID is an isolate (mailer.Isolate), as monitor names are.
func plainText(s string) string {
	return mailer.Isolate(strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return unicode.ReplacementChar
		}
		return r
	}, s))
}
