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
	"net/textproto"
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

// Sender delivers messages to the recipients the server accepts.
type Sender interface {
	Deliver(ctx context.Context, m Message) (Delivery, error)
}

// Delivery is a message the server took (250 to its DATA): every recipient of Message.To got it
// but those in Refused.
type Delivery struct {
	// Refused are the positions in Message.To of the recipients the server refused for good (5xx
	// at RCPT TO: no such mailbox, relaying denied), in order; empty when all got it.
	Refused []int
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
// mailbox, relaying denied) for every recipient: nothing was sent, and the same recipients will
// be refused again, so it is not retried; a 4xx (try later) stays a plain error.
var ErrRecipientsRefused = errors.New("mailer: recipients refused")

// ErrMessageRefused marks a message the server refused for good once it had read it (5xx to the
// end of DATA: too large for the server, refused by its content policy). Nothing was sent, and
// the same message is refused again (RFC 5321 4.2.1: a client does not repeat a request that got
// a 5yz reply), so it is not retried; a 4xx there stays a plain error.
var ErrMessageRefused = errors.New("mailer: message refused")

// Deliver delivers m to the recipients the server accepts and says which it refused for good (a
// stale address must not cost the others their mail: weekly reports, alerts). It fails with
// ErrRecipientsRefused, nothing sent, only when every recipient is refused; a recipient the
// server asks to try later (4xx) fails the send with a plain error before anything is sent, so
// a retry reaches everyone once. The message counts as delivered once the server answered 250
// to its DATA, whatever happens after. Authentication, when configured, only ever happens over
// TLS. The transaction is go-mail's own dialing (STARTTLS, authentication) and message writer
// with the envelope driven here, because go-mail's Client gives up the whole message at the
// first refused RCPT TO (v0.8.1 has no option to go on).
func (s *SMTP) Deliver(ctx context.Context, m Message) (Delivery, error) {
	msg, err := s.build(m)
	if err != nil {
		return Delivery{}, err
	}
	host, portStr, err := net.SplitHostPort(s.Addr)
	if err != nil {
		return Delivery{}, fmt.Errorf("mailer: smtp address %q: %w", s.Addr, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return Delivery{}, fmt.Errorf("mailer: smtp port %q: %w", portStr, err)
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
		return Delivery{}, fmt.Errorf("mailer: smtp client for %s: %w", s.Addr, err)
	}
	conn, err := client.DialToSMTPClientWithContext(ctx)
	if err != nil {
		return Delivery{}, fmt.Errorf("mailer: send %s via %s: dial: %w", m.MessageID, s.Addr, err)
	}
	// As go-mail's own send does after dialing: the timeout bounds the transaction from here.
	if err := conn.UpdateDeadline(timeout); err != nil {
		_ = conn.Close()
		return Delivery{}, fmt.Errorf("mailer: send %s via %s: deadline: %w", m.MessageID, s.Addr, err)
	}
	defer func() {
		// Whatever QUIT answers changes nothing: the message was taken or it was not.
		if err := conn.Quit(); err != nil {
			_ = conn.Close()
		}
	}()
	fail := func(step string, err error) (Delivery, error) {
		return Delivery{}, fmt.Errorf("mailer: send %s via %s: %s: %w", m.MessageID, s.Addr, step, err)
	}
	from, err := msg.GetSender(false)
	if err != nil {
		return Delivery{}, fmt.Errorf("%w: from: %v", ErrInvalidMessage, err)
	}
	if err := conn.Mail(from); err != nil {
		return fail("MAIL FROM", err)
	}
	// build put m.To, and only it, into the message: the envelope's recipients are m.To in order.
	rcpts, err := msg.GetRecipients()
	if err != nil || len(rcpts) != len(m.To) {
		return Delivery{}, fmt.Errorf("%w: %d recipients in the envelope for %d addresses", ErrInvalidMessage, len(rcpts), len(m.To))
	}
	var d Delivery
	var refusals []error
	for i, rcpt := range rcpts {
		err := conn.Rcpt(rcpt)
		if err == nil {
			continue
		}
		var tp *textproto.Error
		if !errors.As(err, &tp) || tp.Code/100 != 5 {
			// Try later (4xx), or the connection failed: nothing is sent now, so the retry sends
			// to everyone once.
			_ = conn.Reset()
			return fail("RCPT TO", err)
		}
		d.Refused = append(d.Refused, i)
		refusals = append(refusals, err)
	}
	if len(d.Refused) == len(rcpts) {
		_ = conn.Reset()
		return Delivery{}, fmt.Errorf("%w: %d of %d for %s via %s: %w", ErrRecipientsRefused, len(d.Refused), len(rcpts),
			m.MessageID, s.Addr, errors.Join(refusals...))
	}
	w, err := conn.Data()
	if err != nil {
		return fail("DATA", err)
	}
	if _, err := msg.WriteTo(w); err != nil {
		_ = w.Close()
		return fail("write message", err)
	}
	if err := w.Close(); err != nil {
		// No 250 to the DATA: the server did not take the message.
		var tp *textproto.Error
		if errors.As(err, &tp) && tp.Code/100 == 5 {
			return Delivery{}, fmt.Errorf("%w: send %s via %s: end of DATA: %w", ErrMessageRefused, m.MessageID, s.Addr, err)
		}
		return fail("end of DATA", err)
	}
	// The server answered 250 to DATA: the message is its to deliver (RFC 5321 4.1.1.4). What
	// fails after that (QUIT, a connection dropped on the way out) must not fail the send, or
	// the caller's retry sends it again.
	return d, nil
}

// Render writes m as the MIME bytes Deliver would transmit (for previews and tests).
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
