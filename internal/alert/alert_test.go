package alert_test

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"paysplit/internal/alert"
	"paysplit/internal/mailer/mailbox"
)

const secret = "alert-secret-for-tests"

func message() alert.Message {
	return alert.Message{DeliveryID: 7, AlertID: 3, MonitorID: 2, MonitorName: "vendor owed", Kind: "balance_above",
		Event: "firing", Summary: "vendor_payable:v1 has been above 100.00 USD for more than 3 days",
		Subjects: []string{"vendor_payable:v1"}, FiredAt: time.Date(2026, 3, 1, 3, 0, 0, 0, time.UTC)}
}

// receiver is what a customer's endpoint does: verify the signature before trusting the body.
type receiver struct {
	mu       sync.Mutex
	got      []alert.Message
	verified []error
	status   int
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	err := alert.VerifySignature(secret, req.Header.Get(alert.SignatureHeader), body, time.Now(), alert.DefaultTolerance)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.verified = append(r.verified, err)
	if err != nil {
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	var m alert.Message
	if err := json.Unmarshal(body, &m); err != nil {
		http.Error(w, "bad json", http.StatusBadRequest)
		return
	}
	if req.Header.Get(alert.DeliveryHeader) != "7" {
		http.Error(w, "delivery header", http.StatusBadRequest)
		return
	}
	r.got = append(r.got, m)
	if r.status != 0 {
		w.WriteHeader(r.status)
	}
}

func TestWebhookSignedDelivery(t *testing.T) {
	tests := []struct {
		name         string
		secret       string
		status       int
		wantErr      error
		wantVerified bool
	}{
		{name: "receiver verifies the signature", secret: secret, wantVerified: true},
		{name: "wrong secret is refused by the receiver, and retried", secret: "someone-else", status: http.StatusUnauthorized},
		{name: "receiver down for maintenance", secret: secret, status: http.StatusServiceUnavailable, wantVerified: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rcv := &receiver{status: tt.status}
			srv := httptest.NewServer(rcv)
			defer srv.Close()
			w := &alert.Webhook{URL: srv.URL, Secret: tt.secret, Client: srv.Client()}

			err := w.Send(t.Context(), message())
			switch {
			case tt.wantErr != nil:
				require.ErrorIs(t, err, tt.wantErr)
			case tt.status >= 300:
				require.Error(t, err)
				assert.NotErrorIs(t, err, alert.ErrPermanent, "a 5xx or a refused credential is worth retrying")
			default:
				require.NoError(t, err)
			}
			rcv.mu.Lock()
			defer rcv.mu.Unlock()
			require.Len(t, rcv.verified, 1)
			if !tt.wantVerified {
				require.ErrorIs(t, rcv.verified[0], alert.ErrBadSignature)
				assert.Empty(t, rcv.got)
				return
			}
			require.NoError(t, rcv.verified[0])
			require.Len(t, rcv.got, 1)
			assert.Equal(t, message().Summary, rcv.got[0].Summary)
			assert.Equal(t, int64(7), rcv.got[0].DeliveryID)
		})
	}
}

func TestWebhookUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	err := (&alert.Webhook{URL: url, Secret: secret}).Send(t.Context(), message())
	require.Error(t, err)
	assert.NotErrorIs(t, err, alert.ErrPermanent)
}

func TestVerifySignature(t *testing.T) {
	body := []byte(`{"event":"firing"}`)
	at := time.Unix(1_800_000_000, 0)
	valid := alert.Sign(secret, at, body)
	_, sigPart, _ := strings.Cut(valid, ",")
	tests := []struct {
		name    string
		header  string
		body    []byte
		now     time.Time
		wantErr error
	}{
		{name: "valid", header: valid, body: body, now: at},
		{name: "valid within tolerance", header: valid, body: body, now: at.Add(4 * time.Minute)},
		{name: "sender clock slightly ahead", header: valid, body: body, now: at.Add(-4 * time.Minute)},
		{name: "replayed later", header: valid, body: body, now: at.Add(6 * time.Minute), wantErr: alert.ErrStale},
		{name: "body changed", header: valid, body: []byte(`{"event":"resolved"}`), now: at, wantErr: alert.ErrBadSignature},
		{name: "timestamp changed", header: "t=1800000001," + sigPart, body: body, now: at, wantErr: alert.ErrBadSignature},
		{name: "wrong secret", header: alert.Sign("other", at, body), body: body, now: at, wantErr: alert.ErrBadSignature},
		{name: "rolled secret: one of several v1 matches", header: alert.Sign("old", at, body) + "," + sigPart, body: body, now: at},
		{name: "no signature", header: "t=1800000000", body: body, now: at, wantErr: alert.ErrMalformed},
		{name: "no timestamp", header: sigPart, body: body, now: at, wantErr: alert.ErrMalformed},
		{name: "garbage", header: "hello", body: body, now: at, wantErr: alert.ErrMalformed},
		{name: "empty", header: "", body: body, now: at, wantErr: alert.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := alert.VerifySignature(secret, tt.header, tt.body, tt.now, alert.DefaultTolerance)
			if tt.wantErr == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tt.wantErr)
		})
	}
	assert.True(t, strings.HasPrefix(valid, "t=1800000000,v1="), valid)
}

// smtpServer is just enough of an SMTP server to receive what go-mail sends: no TLS, no auth.
type smtpServer struct {
	addr string
	// rejectRcpt makes RCPT TO fail permanently, as for an unknown mailbox.
	rejectRcpt bool
	mu         sync.Mutex
	mails      []mail
}

type mail struct {
	from string
	to   []string
	data string
}

func startSMTP(t *testing.T, rejectRcpt bool) *smtpServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s := &smtpServer{addr: ln.Addr().String(), rejectRcpt: rejectRcpt}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() { s.serve(conn) })
		}
	})
	return s
}

func (s *smtpServer) serve(conn net.Conn) {
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(conn)
	reply := func(lines ...string) { _, _ = io.WriteString(conn, strings.Join(lines, "\r\n")+"\r\n") }
	reply("220 localhost test SMTP")
	var cur mail
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		verb := strings.ToUpper(strings.SplitN(line, " ", 2)[0])
		switch verb {
		case "EHLO", "HELO":
			reply("250-localhost", "250-8BITMIME", "250 SMTPUTF8")
		case "MAIL":
			cur = mail{from: strings.TrimPrefix(line, "MAIL FROM:")}
			reply("250 ok")
		case "RCPT":
			if s.rejectRcpt {
				reply("550 no such mailbox")
				continue
			}
			cur.to = append(cur.to, strings.TrimPrefix(line, "RCPT TO:"))
			reply("250 ok")
		case "DATA":
			reply("354 end with .")
			var data strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				data.WriteString(l)
			}
			cur.data = data.String()
			s.mu.Lock()
			s.mails = append(s.mails, cur)
			s.mu.Unlock()
			reply("250 queued")
		case "RSET", "NOOP":
			reply("250 ok")
		case "QUIT":
			reply("221 bye")
			return
		default:
			reply("502 not implemented")
		}
	}
}

func (s *smtpServer) received() []mail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]mail(nil), s.mails...)
}

func TestSMTPSendsEmail(t *testing.T) {
	srv := startSMTP(t, false)
	s := &alert.SMTP{Addr: srv.addr, From: "alerts@paysplit.test", To: []string{"ops@paysplit.test", "finance@paysplit.test"}}
	resolved := message()
	resolved.Event = "resolved"
	at := time.Date(2026, 3, 2, 3, 0, 0, 0, time.UTC)
	resolved.ResolvedAt = &at

	require.NoError(t, s.SendEmail(t.Context(), message()))
	require.NoError(t, s.SendEmail(t.Context(), resolved))

	mails := srv.received()
	require.Len(t, mails, 2)
	assert.Contains(t, mails[0].from, "alerts@paysplit.test")
	assert.Len(t, mails[0].to, 2)
	assert.Contains(t, mails[0].data, "Subject: [paysplit] FIRING: vendor owed")
	assert.Contains(t, mails[0].data, "has been above 100.00 USD")
	assert.Contains(t, mails[1].data, "Subject: [paysplit] RESOLVED: vendor owed")
	assert.Contains(t, mails[1].data, "Resolved: 2026-03-02T03:00:00Z")
}

func TestSMTPFailures(t *testing.T) {
	refused := startSMTP(t, true)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closed := ln.Addr().String()
	ln.Close()

	tests := []struct {
		name string
		s    alert.SMTP
	}{
		{name: "recipient refused", s: alert.SMTP{Addr: refused.addr, From: "a@paysplit.test", To: []string{"ops@paysplit.test"}}},
		{name: "server down", s: alert.SMTP{Addr: closed, From: "a@paysplit.test", To: []string{"ops@paysplit.test"}, Timeout: 2 * time.Second}},
		{name: "bad address", s: alert.SMTP{Addr: "no-port", From: "a@paysplit.test", To: []string{"ops@paysplit.test"}}},
		{name: "bad recipient", s: alert.SMTP{Addr: refused.addr, From: "a@paysplit.test", To: []string{"not an address"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.s.SendEmail(t.Context(), message())
			require.Error(t, err)
			assert.False(t, errors.Is(err, alert.ErrPermanent))
		})
	}
	assert.Empty(t, refused.received())
}

// TestSMTPAlertEmailAcceptedOnceRecognisedAsOne: the delivery round records the email channel
// only after SendEmail returns, so an error after the server took the message (250 to DATA, then
// the connection dropped) sent the alert again in the next round; and a resend after an
// unrecorded send (a crash between the two) must carry the same Message-ID, as the webhook
// carries the same X-Paysplit-Delivery, so mail clients show one alert, not two.
func TestSMTPAlertEmailAcceptedOnceRecognisedAsOne(t *testing.T) {
	box, err := mailbox.Listen("127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = box.Close() })
	s := &alert.SMTP{Addr: box.Addr(), From: "alerts@paysplit.test", To: []string{"ops@paysplit.test"}, Timeout: 5 * time.Second}

	box.HangUpAfterAccepting(true)
	require.NoError(t, s.SendEmail(t.Context(), message()), "the server took the alert: it is sent")
	box.HangUpAfterAccepting(false)
	require.NoError(t, s.SendEmail(t.Context(), message())) // a resend of the same delivery
	other := message()
	other.DeliveryID++
	require.NoError(t, s.SendEmail(t.Context(), other))

	var ids []string
	for _, m := range box.Messages() {
		p, err := mailbox.Parse(m.Data)
		require.NoError(t, err)
		ids = append(ids, p.MessageID)
	}
	require.Len(t, ids, 3)
	require.Equal(t, ids[0], ids[1], "one delivery, one Message-ID")
	require.NotEqual(t, ids[0], ids[2], "another delivery is another message")
}

// TestAlertEmailIsolatesTheMonitorsName: a monitor's name went bare into the alert's subject and
// text. A Hebrew name laid what follows it into its right-to-left stretch: "Monitor:  חוב ספקים
// (#2, balance_above)" showed "(#2" inside the name, and "24 חנות" had its digits drawn on the
// wrong side of the subject. The name is now an isolate (FSI … PDI, mailer.Isolate), read back
// from the SMTP server around exactly the name; a Latin name stays as it was
// (TestSMTPSendsEmail).
func TestAlertEmailIsolatesTheMonitorsName(t *testing.T) {
	box, err := mailbox.Listen("127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = box.Close() })
	s := &alert.SMTP{Addr: box.Addr(), From: "alerts@paysplit.test", To: []string{"ops@paysplit.test"}, Timeout: 5 * time.Second}
	names := []string{"חוב ספקים", "24 חנות", "مراقبة 7"}
	for i, name := range names {
		m := message()
		m.DeliveryID += int64(i)
		m.MonitorName = name
		require.NoError(t, s.SendEmail(t.Context(), m))
	}
	got := box.Messages()
	require.Len(t, got, len(names))
	for i, name := range names {
		p, err := mailbox.Parse(got[i].Data)
		require.NoError(t, err)
		isolated := "\u2068" + name + "\u2069"
		require.Equal(t, "[paysplit] FIRING: "+isolated, p.Subject)
		require.Contains(t, strings.ReplaceAll(p.Text, "\r\n", "\n"), "\nMonitor:  "+isolated+" (#2, balance_above)\n")
		require.Equal(t, 1, strings.Count(p.Text, "\u2068"), "one isolate in the text, the name's")
	}
}

// An alert raised for a one-off event (monitor.Store.RaiseEvent: a PayPal payout item taken back)
// is stored resolved the instant it fires, since nothing will ever clear it; its one firing
// message carries resolved_at = fired_at. Its email must not tell the admin it was resolved:
// nothing was done, and what is left to do is in the summary.
func TestAlertEmailOfAOneOffEventDoesNotSayResolved(t *testing.T) {
	srv := startSMTP(t, false)
	s := &alert.SMTP{Addr: srv.addr, From: "alerts@paysplit.test", To: []string{"ops@paysplit.test"}}
	m := message()
	m.MonitorName, m.Kind = "payout taken back", "payout_taken_back"
	m.Summary = "PayPal payout item X of payment payment-paypal-1 (vendor v1) was REFUNDED after it was paid; an admin decides what is owed"
	at := m.FiredAt
	m.ResolvedAt = &at
	require.NoError(t, s.SendEmail(t.Context(), m))

	mails := srv.received()
	require.Len(t, mails, 1)
	assert.Contains(t, mails[0].data, "Subject: [paysplit] FIRING: payout taken back")
	assert.NotContains(t, mails[0].data, "Resolved:", "nothing was resolved: an admin has yet to act")
	assert.Contains(t, mails[0].data, "nothing clears it")
}

// An alert email is plain text: what it quotes of a payment (IDs a shop or a provider chose) is
// put on its own line with its line breaks and other control characters replaced, so nothing in
// an order ID can start a line of its own ("Temporal: http://evil.example/") and pass for one
// of ours, and a right-to-left one is an isolate as the monitor's name is. The webhook carries
// the payment as it is (JSON escapes it).
func TestAlertEmailQuotesThePaymentOnItsLines(t *testing.T) {
	box, err := mailbox.Listen("127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = box.Close() })
	s := &alert.SMTP{Addr: box.Addr(), From: "alerts@paysplit.test", To: []string{"ops@paysplit.test"}, Timeout: 5 * time.Second}
	m := message()
	m.Kind = "held_leg_age"
	m.Payment = &alert.Payment{WorkflowID: "payment-stripe-pi_1", Provider: "stripe", ClientID: "חנות-7",
		OrderID: "o-1\r\nTemporal: http://evil.example/\x00", AdminURL: "/api/v1/admin/payments/payment-stripe-pi_1",
		WorkflowURL: "http://temporal.example/namespaces/default/workflows/payment-stripe-pi_1"}
	require.NoError(t, s.SendEmail(t.Context(), m))

	got := box.Messages()
	require.Len(t, got, 1)
	p, err := mailbox.Parse(got[0].Data)
	require.NoError(t, err)
	text := strings.ReplaceAll(p.Text, "\r\n", "\n")
	require.Contains(t, text, "\nOrder:    o-1\uFFFD\uFFFDTemporal: http://evil.example/\uFFFD\n", "the order ID stays on its line:\n%s", text)
	require.Equal(t, 1, strings.Count(text, "\nTemporal: "), "one link line, ours:\n%s", text)
	require.Contains(t, text, "\nTemporal: http://temporal.example/namespaces/default/workflows/payment-stripe-pi_1\n")
	require.Contains(t, text, "\nClient:   \u2068חנות-7\u2069\n", "a right-to-left client ID is an isolate")
	require.NotContains(t, text, "\x00")
}
