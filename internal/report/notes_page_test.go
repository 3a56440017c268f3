package report_test

import (
	"bytes"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"paysplit/internal/money"
	"paysplit/internal/report"
	"paysplit/internal/report/reporttest"
)

// TestBriefPointsToThePageOfTheNotes: page 1's brief points to the notes. A client with many
// payees has a payouts table over several pages and the notes after it: the brief said "on
// page 3" whatever page they were on.
func TestBriefPointsToThePageOfTheNotes(t *testing.T) {
	for _, payees := range []int{3, 70, 150} {
		t.Run(fmt.Sprint(payees, " payees"), func(t *testing.T) {
			d := reporttest.Sample()
			d.Payouts = nil
			for i := range payees {
				d.Payouts = append(d.Payouts, report.Payout{PayeeID: fmt.Sprintf("vendor-%03d", i), Party: "vendor", Currency: money.EUR,
					Payments: 1, Owed: 10_000, PaidOut: 5_000, Held: 5_000, HeldReason: "payee account restricted"})
			}
			pdf, err := report.Render(d)
			require.NoError(t, err)
			pages := pageTexts(t, pdf.Bytes)
			require.Len(t, pages, pdf.Pages)
			notesPage := 0
			for i, p := range pages {
				if i >= 2 && regexp.MustCompile(`(?m)^\s*Notes\s*$`).MatchString(p) {
					notesPage = i + 1
				}
			}
			require.NotZero(t, notesPage, "no Notes heading")
			brief := regexp.MustCompile(`notes? about missing data or held payouts[^.]*\.`).FindString(strings.Join(strings.Fields(pages[0]), " "))
			require.NotEmpty(t, brief, "page 1 points to the notes")
			m := regexp.MustCompile(`on page (\d+)\.$`).FindStringSubmatch(brief)
			require.NotNil(t, m, "page 1 says %q", brief)
			n, _ := strconv.Atoi(m[1])
			require.Equal(t, notesPage, n, "page 1 says %q; the notes are on page %d of %d", brief, notesPage, pdf.Pages)
		})
	}
}

// pageTexts is each page's text as pdftotext lays it out.
func pageTexts(t *testing.T, pdf []byte) []string {
	t.Helper()
	cmd := exec.Command(reporttest.Poppler(t, "pdftotext"), "-layout", "-", "-")
	cmd.Stdin = bytes.NewReader(pdf)
	out, err := cmd.Output()
	require.NoError(t, err)
	return strings.Split(strings.TrimSuffix(string(out), "\f"), "\f")
}

// TestBusiestDayOfOneVisitorIsSingular: a quiet shop's busiest day of one visitor read "with 1
// visitors".
func TestBusiestDayOfOneVisitorIsSingular(t *testing.T) {
	d := emptyWeek()
	d.Days[2].HasTraffic, d.Days[2].Visitors, d.Days[2].Sessions = true, 1, 1
	pdf, err := report.Render(d)
	require.NoError(t, err)
	text := reporttest.Text(t, pdf.Bytes)
	require.Contains(t, text, "Busiest day: Wed 31 Dec with 1 visitor.")
}
