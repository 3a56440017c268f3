package report_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paysplit/internal/mailer"
	"paysplit/internal/mailer/mailbox"
	"paysplit/internal/report"
	"paysplit/internal/report/reporttest"
)

// TestEmailIsolatesTheClientsName: the PDF draws a client's name as an isolate, the mail did
// not: in the subject "Weekly report 2026-W07: חנות (42) (9–15 February 2026)" a mail client
// lays "(42)" and what follows into the Hebrew name's right-to-left stretch, and "24 חנות" has
// its digits drawn on the wrong side. The subject and the text now carry the name between FSI
// (U+2068) and PDI (U+2069), and the HTML in <bdi>; read back from the SMTP server, the marks
// enclose exactly the name. A name without right-to-left letters or directional controls gets no
// marks (it cannot reorder a left-to-right line): its subject and text are as before.
func TestEmailIsolatesTheClientsName(t *testing.T) {
	box, err := mailbox.Listen("127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = box.Close() })
	s := &mailer.SMTP{Addr: box.Addr(), From: "reports@paysplit.test", TLS: mailer.TLSNone, Timeout: 5 * time.Second}
	const fsi, pdi = "\u2068", "\u2069"
	for _, tc := range []struct {
		test, name, shown string // shown: the name as isolated ("" not isolated)
	}{
		{"hebrew with its digits", "חנות 24", "חנות 24"},
		{"hebrew then an id in brackets", "חנות (42)", "חנות (42)"},
		{"digits first", "24 חנות", "24 חנות"},
		{"arabic", "متجر الورد 7", "متجر الورد 7"},
		{"a stray PDI in the name cannot close the isolate", "חנות" + pdi + " 9", "חנות 9"},
		{"an override in the name is ended by the isolate", "\u202Eevil", "\u202Eevil"},
		{"latin", "Northwind Outfitters", ""},
	} {
		t.Run(tc.test, func(t *testing.T) {
			d := reporttest.Sample()
			d.ClientName = tc.name
			e, err := report.EmailFor(d)
			require.NoError(t, err)
			id := "rtl-" + strings.ReplaceAll(tc.test, " ", "-") + "@paysplit"
			_, err = s.Deliver(t.Context(), mailer.Message{To: []string{"owner@shop.test"}, Subject: e.Subject, Text: e.Text, HTML: e.HTML,
				MessageID: id, Date: time.Date(2026, 2, 16, 6, 0, 0, 0, time.UTC)})
			require.NoError(t, err)
			var raw []byte
			for _, m := range box.Messages() {
				if p, err := mailbox.Parse(m.Data); err == nil && p.MessageID == id {
					raw = m.Data
				}
			}
			require.NotNil(t, raw, "the message reached the SMTP server")
			p, err := mailbox.Parse(raw)
			require.NoError(t, err)
			text := strings.ReplaceAll(p.Text, "\r\n", "\n")

			if tc.shown == "" {
				require.Equal(t, "Weekly report 2026-W07: "+tc.name+" (9–15 February 2026)", p.Subject)
				require.True(t, strings.HasPrefix(text, "Weekly report for "+tc.name+"\n"), text)
				require.NotContains(t, p.Subject+text, fsi)
				require.Contains(t, p.HTML, "<bdi>"+tc.name+"</bdi>")
				return
			}
			name := fsi + tc.shown + pdi
			require.Equal(t, "Weekly report 2026-W07: "+name+" (9–15 February 2026)", p.Subject)
			require.True(t, strings.HasPrefix(text, "Weekly report for "+name+"\n"), text)
			for what, s := range map[string]string{"subject": p.Subject, "text": text} {
				require.Equal(t, 1, strings.Count(s, fsi), "%s: one isolate", what)
				require.Equal(t, 1, strings.Count(s, pdi), "%s: one isolate", what)
				require.Equal(t, tc.shown, s[strings.Index(s, fsi)+len(fsi):strings.Index(s, pdi)], "%s: the isolate is exactly the name", what)
			}
			require.Contains(t, p.HTML, "<bdi>"+tc.shown+"</bdi>")
			require.NotContains(t, p.HTML, pdi, "the HTML isolates with <bdi>, no stray PDI in it")
		})
	}
}
