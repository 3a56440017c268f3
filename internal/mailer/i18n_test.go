package mailer_test

import (
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paysplit/internal/mailer"
	"paysplit/internal/mailer/mailbox"
)

// TestNonASCIIHeadersArriveIntact: a subject and a sender's display name in Japanese, Arabic or
// Thai are encoded (RFC 2047) and read back as sent; a subject long enough to need folding keeps
// every character, and no line of the message is longer than SMTP allows (998). Attachment names
// stay ASCII (reports name theirs by client ID, which is ASCII): go-mail writes a non-ASCII one
// as RFC 2047 words inside the quoted filename, which mail clients read but RFC 2231 does not
// define.
func TestNonASCIIHeadersArriveIntact(t *testing.T) {
	box, err := mailbox.Listen("127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = box.Close() })
	for i, tc := range []struct{ from, subject, file string }{
		{"さくら雑貨店 レポート <reports@paysplit.test>", "Weekly report 2026-W07: さくら雑貨店 (9–15 February 2026)", "paysplit-report-sakura-2026-W07.pdf"},
		{"\"متجر الورد\" <reports@paysplit.test>", "Weekly report 2026-W07: متجر الورد (9–15 February 2026)", "paysplit-report-rose-2026-W07.pdf"},
		{"ร้านดอกไม้ <reports@paysplit.test>", "Weekly report: " + strings.Repeat("ร้านดอกไม้ ", 20), "report.pdf"},
	} {
		s := &mailer.SMTP{Addr: box.Addr(), From: tc.from, TLS: mailer.TLSNone, Timeout: 5 * time.Second}
		msg := mailer.Message{To: []string{"owner@shop.test"}, Subject: tc.subject, Text: "本文 نص\n", MessageID: "i18n-" + string(rune('a'+i)) + "@paysplit",
			Date: time.Date(2026, 2, 16, 6, 0, 0, 0, time.UTC), Attachments: []mailer.Attachment{{Name: tc.file, ContentType: "application/pdf", Data: []byte("%PDF-1.4\n")}}}
		_, err := s.Deliver(t.Context(), msg)
		require.NoError(t, err)
		got := box.Messages()
		raw := got[len(got)-1].Data
		for _, line := range strings.Split(string(raw), "\r\n") {
			require.LessOrEqual(t, len(line), 998)
		}
		p, err := mailbox.Parse(raw)
		require.NoError(t, err)
		require.Equal(t, tc.subject, p.Subject)
		from, err := (&mail.AddressParser{}).Parse(p.From)
		require.NoError(t, err, p.From)
		want, _ := mail.ParseAddress(tc.from)
		require.Equal(t, want.Name, from.Name)
		require.Equal(t, "本文 نص\n", strings.ReplaceAll(p.Text, "\r\n", "\n"))
		require.Len(t, p.Attachments, 1)
		require.Equal(t, tc.file, p.Attachments[0].FileName)
	}
}
