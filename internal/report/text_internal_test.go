package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/go-pdf/fpdf"
	"github.com/stretchr/testify/require"
)

// TestMixedCellKeepsItsTextAboveItsFill: a cell of text in two faces is filled first and its
// text drawn over the fill (drawn the other way round, the fill hid the text), in the cell's
// place after a page break, and the position after it is the one CellFormat leaves.
func TestMixedCellKeepsItsTextAboveItsFill(t *testing.T) {
	fonts, _ := InstalledFonts()
	if len(fonts.Paths()) == 0 {
		t.Skip("no fallback fonts installed")
	}
	pdf := fpdf.NewCustom(&fpdf.InitType{OrientationStr: "P", UnitStr: "mm", SizeStr: "A4"})
	pdf.AddUTF8FontFromBytes(family, "", goFace().regular)
	pdf.AddUTF8FontFromBytes(family, "B", goFace().bold)
	pdf.SetAutoPageBreak(true, 20)
	pdf.AddPage()
	w := newWriter(pdf, fonts)
	var drawnAt []float64
	w.drawn = func(*face, string, string) { drawnAt = append(drawnAt, float64(pdf.PageNo())) }
	w.text("", 10, inkDark)
	pdf.SetFillColor(200, 200, 200)
	pdf.SetY(270) // the next 10 mm cell does not fit: it goes to page 2
	w.cell(100, 10, "Sakura さくら", "", 1, "L", true)
	require.NoError(t, pdf.Error())
	require.Equal(t, 2, pdf.PageNo())
	require.Equal(t, []float64{2, 2}, drawnAt, "both runs on the cell's page")
	_, top, _, _ := pdf.GetMargins()
	require.InDelta(t, top+10, pdf.GetY(), 0.001, "below the cell, as CellFormat leaves it")

	// The content stream fills the rectangle before it writes the text.
	var out bytes.Buffer
	pdf.SetCompression(false)
	require.NoError(t, pdf.Output(&out))
	page2 := out.String()[strings.LastIndex(out.String(), "re f"):]
	require.Contains(t, page2, "Tj", "text after the fill")
}
