package mailer_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paysplit/internal/mailer"
	"paysplit/internal/mailer/mailbox"
)

func TestSendThroughSMTP(t *testing.T) {
	box, err := mailbox.Listen("127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = box.Close() })

	pdf := append([]byte("%PDF-1.4\n"), bytes.Repeat([]byte{0, 1, 2, 250, '\n', '.'}, 4000)...)
	s := &mailer.SMTP{Addr: box.Addr(), From: "paysplit reports <reports@paysplit.test>", TLS: mailer.TLSNone, Timeout: 5 * time.Second}
	msg := mailer.Message{
		To:          []string{"owner@northwind.test", "finance@northwind.test"},
		Subject:     "Weekly report 2026-W07: Northwind – 9–15 February",
		Text:        "Visitors: 13,090\n.a line that starts with a dot\n",
		HTML:        "<p>Visitors: <b>13,090</b></p>",
		MessageID:   "report-northwind-2026-W07-1@paysplit",
		Date:        time.Date(2026, 2, 16, 6, 0, 0, 0, time.UTC),
		Attachments: []mailer.Attachment{{Name: "report.pdf", ContentType: "application/pdf", Data: pdf}},
	}
	_, err = s.Deliver(t.Context(), msg)
	require.NoError(t, err)

	got := box.Messages()
	require.Len(t, got, 1)
	require.Equal(t, "reports@paysplit.test", got[0].From)
	require.ElementsMatch(t, msg.To, got[0].To)
	p, err := mailbox.Parse(got[0].Data)
	require.NoError(t, err)
	require.Equal(t, msg.Subject, p.Subject)
	require.Equal(t, msg.MessageID, p.MessageID)
	require.Equal(t, msg.To, p.To)
	require.Equal(t, msg.Text, strings.ReplaceAll(p.Text, "\r\n", "\n"), "dot-stuffed lines come back as sent")
	require.Contains(t, p.HTML, "<b>13,090</b>")
	require.Len(t, p.Attachments, 1)
	require.Equal(t, "report.pdf", p.Attachments[0].FileName)
	require.Equal(t, "application/pdf", p.Attachments[0].ContentType)
	require.Equal(t, pdf, p.Attachments[0].Data, "the attachment arrives byte for byte")

	rendered, err := s.Render(msg)
	require.NoError(t, err)
	require.Contains(t, string(rendered), "Message-ID: <report-northwind-2026-W07-1@paysplit>")
}

func TestSendRefusesBadMessages(t *testing.T) {
	s := &mailer.SMTP{Addr: "127.0.0.1:1", From: "reports@paysplit.test"}
	tests := []struct {
		name string
		msg  mailer.Message
	}{
		{"no recipients", mailer.Message{Subject: "x", Text: "x"}},
		{"bad recipient", mailer.Message{To: []string{"not an address"}, Subject: "x", Text: "x"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.Deliver(t.Context(), tc.msg)
			require.ErrorIs(t, err, mailer.ErrInvalidMessage)
		})
	}
}

func TestSendFailsWhenServerIsDown(t *testing.T) {
	box, err := mailbox.Listen("127.0.0.1:0")
	require.NoError(t, err)
	addr := box.Addr()
	require.NoError(t, box.Close())
	s := &mailer.SMTP{Addr: addr, From: "reports@paysplit.test", TLS: mailer.TLSNone, Timeout: 2 * time.Second}
	_, err = s.Deliver(t.Context(), mailer.Message{To: []string{"a@b.test"}, Subject: "x", Text: "x"})
	require.Error(t, err)
	require.NotErrorIs(t, err, mailer.ErrInvalidMessage)
}

// TestSendRecipientsRefused: a 5xx to RCPT TO is a refusal for good (not retried). Deliver sends
// to the recipients the server accepts and says which it refused, and fails only when it refused
// them all. A 4xx is the
// server asking to try later: a plain error, and nothing is sent, so the retry reaches everyone
// once.
func TestSendRecipientsRefused(t *testing.T) {
	const owner, gone, other = "owner@northwind.test", "gone@northwind.test", "other@northwind.test"
	tests := []struct {
		name    string
		to      []string
		code    int
		refused bool     // the error is ErrRecipientsRefused
		failed  bool     // an error at all
		got     []string // who the server took the message for
		skipped []int    // Delivery.Refused
	}{
		{"no such mailbox", []string{owner, gone, other}, 550, false, false, []string{owner, other}, []int{1}},
		{"every recipient gone", []string{gone}, 550, true, true, nil, nil},
		{"mailbox busy", []string{owner, gone}, 450, false, true, nil, nil},
		{"all accepted", []string{owner, other}, 550, false, false, []string{owner, other}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			box, err := mailbox.Listen("127.0.0.1:0")
			require.NoError(t, err)
			t.Cleanup(func() { _ = box.Close() })
			box.RejectRecipients(func(addr string) (int, string) {
				if addr == gone {
					return tt.code, "mailbox unavailable"
				}
				return 0, ""
			})
			s := &mailer.SMTP{Addr: box.Addr(), From: "reports@paysplit.test", TLS: mailer.TLSNone, Timeout: 5 * time.Second}
			m := mailer.Message{To: tt.to, Subject: "x", Text: "x", MessageID: "m@paysplit"}
			d, err := s.Deliver(t.Context(), m)
			require.Equal(t, tt.failed, err != nil, "%v", err)
			require.Equal(t, tt.refused, errors.Is(err, mailer.ErrRecipientsRefused), "%v", err)
			require.Equal(t, tt.skipped, d.Refused)
			got := box.Messages()
			if tt.got == nil {
				require.Empty(t, got, "nothing is sent to part of the list")
				return
			}
			require.Len(t, got, 1)
			require.Equal(t, tt.got, got[0].To)
			p, err := mailbox.Parse(got[0].Data)
			require.NoError(t, err)
			require.Equal(t, tt.to, p.To, "the To header names the recipients the message was for")
		})
	}
}

// TestSendAcceptedMessageIsSentWhateverQuitSays: once the server answered 250 to DATA the message
// is the server's to deliver (RFC 5321 §4.1.1.4); a connection that drops before QUIT's reply
// must not turn that into an error, or the caller (a Temporal activity) retries and the
// recipients get the message twice.
func TestSendAcceptedMessageIsSentWhateverQuitSays(t *testing.T) {
	box, err := mailbox.Listen("127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = box.Close() })
	box.HangUpAfterAccepting(true)
	s := &mailer.SMTP{Addr: box.Addr(), From: "reports@paysplit.test", TLS: mailer.TLSNone, Timeout: 5 * time.Second}
	_, err = s.Deliver(t.Context(), mailer.Message{To: []string{"owner@northwind.test"}, Subject: "x", Text: "x", MessageID: "m@paysplit"})
	require.Len(t, box.Messages(), 1, "the server took the message")
	require.NoError(t, err, "an accepted message reported as failed is sent again by the retry")
}
