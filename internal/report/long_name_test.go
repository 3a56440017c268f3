package report_test

import (
	"bytes"
	"encoding/xml"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"paysplit/internal/report"
	"paysplit/internal/report/reporttest"
)

// TestLongClientNamesStayOnThePage: a client's name is whatever its admin typed, and a long one
// ran off the cover's band past the page's right edge (the end of the name lost) and, in the
// footer, into "Page 1 of 3". Every word of every page must be on the page and no two words
// drawn over each other, the name's start still shown.
func TestLongClientNamesStayOnThePage(t *testing.T) {
	for _, name := range []string{
		"Northwind Traders Outdoor Camping and Hiking Equipment Company Limited, Southern Region Online Store",
		"Northwind",
		strings.Repeat("Ääkkösten ", 12),
		strings.Repeat("חנות הספרים הגדולה של תל אביב ", 4),
		strings.Repeat("東京アウトドア用品専門店オンラインショップ", 4),
	} {
		t.Run(string([]rune(name)[:6]), func(t *testing.T) {
			d := reporttest.Sample()
			d.ClientName = name
			pdf, err := report.Render(d)
			require.NoError(t, err)
			pages := wordBoxes(t, pdf.Bytes)
			require.Len(t, pages, pdf.Pages)
			for i, pg := range pages {
				for j, w := range pg.Words {
					require.True(t, w.XMin >= 0 && w.XMax <= pg.Width, "page %d: %q at x %.1f–%.1f is off the page (width %.1f)", i+1, w.Text, w.XMin, w.XMax, pg.Width)
					for _, o := range pg.Words[j+1:] {
						overlapY := w.YMin < o.YMax-1 && o.YMin < w.YMax-1
						overlapX := w.XMin < o.XMax-1 && o.XMin < w.XMax-1
						require.False(t, overlapX && overlapY, "page %d: %q and %q are drawn over each other", i+1, w.Text, o.Text)
					}
				}
			}
			require.Contains(t, reporttest.Text(t, pdf.Bytes), string([]rune(name)[:6]), "the name's start is shown")
		})
	}
}

type bboxPage struct {
	Width float64 `xml:"width,attr"`
	Words []struct {
		XMin float64 `xml:"xMin,attr"`
		YMin float64 `xml:"yMin,attr"`
		XMax float64 `xml:"xMax,attr"`
		YMax float64 `xml:"yMax,attr"`
		Text string  `xml:",chardata"`
	} `xml:"word"`
}

// wordBoxes are the words of each page with where pdftotext finds them (points).
func wordBoxes(t *testing.T, pdf []byte) []bboxPage {
	t.Helper()
	cmd := exec.Command(reporttest.Poppler(t, "pdftotext"), "-bbox", "-", "-")
	cmd.Stdin = bytes.NewReader(pdf)
	out, err := cmd.Output()
	require.NoError(t, err)
	var doc struct {
		Pages []bboxPage `xml:"body>doc>page"`
	}
	dec := xml.NewDecoder(bytes.NewReader(out))
	dec.Strict = false
	dec.AutoClose = xml.HTMLAutoClose
	dec.Entity = xml.HTMLEntity
	require.NoError(t, dec.Decode(&doc))
	return doc.Pages
}
