// Package mailer sends email through SMTP (a relay, the provider's submission port, or the local
// mailbox `make dev` runs): multipart messages with a text body, an HTML alternative and
// attachments.
package mailer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/wneessen/go-mail"
)

// Attachment is a file sent with a message.
type Attachment struct {
	Name        string
	ContentType string
	Data        []byte
}

// Message is one email.
type Message struct {
	To      []string
	Subject string
	Text    string
	HTML    string // optional alternative to Text
	// MessageID (without angle brackets) identifies the message; callers derive it from what the
	// message is, so a retried send carries the same ID and mail clients can tell it is a repeat.
	MessageID   string
	Date        time.Time
	Attachments []Attachment
}

// Sender delivers messages.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// TLS policies for SMTP.
const (
	TLSOpportunistic = "opportunistic" // STARTTLS when the server offers it
	TLSMandatory     = "mandatory"     // refuse to send without STARTTLS
	TLSNone          = "none"          // plain SMTP, for local servers only
)

// SMTP sends through one SMTP server.
type SMTP struct {
	Addr     string // host:port
	From     string // e.g. "paysplit reports <reports@example.com>"
	Username string // empty: no authentication
	Password string
	TLS      string // TLSOpportunistic (default), TLSMandatory or TLSNone
	Timeout  time.Duration
}

// ErrInvalidMessage marks messages no server would ever accept (no recipients, bad addresses):
// retrying them is pointless.
var ErrInvalidMessage = errors.New("mailer: invalid message")

// ErrRecipientsRefused marks a message the server refused for good at RCPT TO (5xx: no such
// mailbox, relaying denied): nothing was sent, and the same recipients will be refused again, so
// it is not retried; a 4xx (try later) stays a plain error.
var ErrRecipientsRefused = errors.New("mailer: recipients refused")

// Send delivers m. Authentication, when configured, only ever happens over TLS.
func (s *SMTP) Send(ctx context.Context, m Message) error {
	msg, err := s.build(m)
	if err != nil {
		return err
	}
	host, portStr, err := net.SplitHostPort(s.Addr)
	if err != nil {
		return fmt.Errorf("mailer: smtp address %q: %w", s.Addr, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return fmt.Errorf("mailer: smtp port %q: %w", portStr, err)
	}
	timeout := s.Timeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	policy := mail.TLSOpportunistic
	switch s.TLS {
	case TLSMandatory:
		policy = mail.TLSMandatory
	case TLSNone:
		policy = mail.NoTLS
	}
	opts := []mail.Option{mail.WithPort(port), mail.WithTimeout(timeout), mail.WithTLSPolicy(policy)}
	if s.Username != "" {
		opts = append(opts, mail.WithSMTPAuth(mail.SMTPAuthAutoDiscover), mail.WithUsername(s.Username), mail.WithPassword(s.Password))
	}
	client, err := mail.NewClient(host, opts...)
	if err != nil {
		return fmt.Errorf("mailer: smtp client for %s: %w", s.Addr, err)
	}
	if err := client.DialAndSendWithContext(ctx, msg); err != nil {
		if msg.IsDelivered() {
			// The server answered 250 to DATA: the message is its to deliver (RFC 5321
			// 4.1.1.4). What failed after that (the RSET go-mail sends next, QUIT, a connection
			// dropped on the way out) must not fail the send, or the caller's retry sends it again.
			return nil
		}
		var se *mail.SendError
		if errors.As(err, &se) && se.Reason == mail.ErrSMTPRcptTo && !se.IsTemp() {
			return fmt.Errorf("%w: %s via %s: %w", ErrRecipientsRefused, m.MessageID, s.Addr, err)
		}
		return fmt.Errorf("mailer: send %s via %s: %w", m.MessageID, s.Addr, err)
	}
	return nil
}

// Render writes m as the MIME bytes Send would transmit (for previews and tests).
func (s *SMTP) Render(m Message) ([]byte, error) {
	msg, err := s.build(m)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if _, err := msg.WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("mailer: write message: %w", err)
	}
	return buf.Bytes(), nil
}

func (s *SMTP) build(m Message) (*mail.Msg, error) {
	if len(m.To) == 0 {
		return nil, fmt.Errorf("%w: no recipients", ErrInvalidMessage)
	}
	msg := mail.NewMsg()
	if err := msg.From(s.From); err != nil {
		return nil, fmt.Errorf("%w: from %q: %v", ErrInvalidMessage, s.From, err)
	}
	if err := msg.To(m.To...); err != nil {
		// Not wrapped: the library's message quotes the address, which may be personal data.
		return nil, fmt.Errorf("%w: a recipient is not a valid address", ErrInvalidMessage)
	}
	msg.Subject(m.Subject)
	if m.Date.IsZero() {
		msg.SetDate()
	} else {
		msg.SetDateWithValue(m.Date)
	}
	if m.MessageID != "" {
		msg.SetMessageIDWithValue(m.MessageID)
	} else {
		msg.SetMessageID()
	}
	msg.SetBodyString(mail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		msg.AddAlternativeString(mail.TypeTextHTML, m.HTML)
	}
	for _, a := range m.Attachments {
		ct := mail.ContentType(a.ContentType)
		if ct == "" {
			ct = mail.TypeAppOctetStream
		}
		if err := msg.AttachReader(a.Name, bytes.NewReader(a.Data), mail.WithFileContentType(ct)); err != nil {
			return nil, fmt.Errorf("mailer: attach %s: %w", a.Name, err)
		}
	}
	return msg, nil
}
