package report

import "golang.org/x/image/font/sfnt"

// Drawn is one run of text a report drew: the font file ("" for the Go fonts) and whether that
// font has a glyph for each of its characters (sfnt's GlyphIndex, 0 being the missing glyph).
type Drawn struct {
	Path, Style, Text string
	Missing           []rune
}

// RenderTraced renders d and returns every run of text it drew.
func RenderTraced(d Data, fonts *Fonts) (PDF, []Drawn, error) {
	var out []Drawn
	var buf sfnt.Buffer
	pdf, err := render(d, fonts, func(fc *face, style, s string) {
		dr := Drawn{Path: fc.path, Style: style, Text: s}
		for _, r := range s {
			if !fc.has(&buf, r) {
				dr.Missing = append(dr.Missing, r)
			}
		}
		out = append(out, dr)
	})
	return pdf, out, err
}

// PayoutTableWidth is the payouts table's width and the page's content width (mm).
func PayoutTableWidth() (table, content float64) {
	for _, c := range payoutColumns {
		table += c.w
	}
	return table, contentW
}
