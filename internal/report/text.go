package report

import (
	"slices"
	"unicode"

	"github.com/go-pdf/fpdf"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/text/unicode/norm"
)

// writer draws the report's text: in the Go fonts, switching to a fallback face for the
// characters they lack, with right-to-left runs put in display order and Arabic letters in their
// joined forms, since fpdf does neither (it has no shaping and its RTL mode mirrors a whole line).
type writer struct {
	p     *fpdf.Fpdf
	fonts *Fonts
	style string
	size  float64
	cur   *face          // the face set last
	added map[*face]bool // fallback faces registered with this document
	buf   sfnt.Buffer
	// drawn, when set (tests), sees every run of text drawn and the face drawing it.
	drawn func(fc *face, style, s string)
}

func newWriter(p *fpdf.Fpdf, fonts *Fonts) *writer {
	return &writer{p: p, fonts: fonts, added: map[*face]bool{}}
}

// text sets the font style, size and colour of what is drawn next.
func (w *writer) text(style string, size float64, c rgb) {
	w.style, w.size, w.cur = style, size, goFace()
	w.p.SetFont(family, style, size)
	w.p.SetTextColor(c.r, c.g, c.b)
}

// run is text drawn with one face.
type run struct {
	s  string
	fc *face
}

// runs prepares s for drawing (NFC, Arabic joining, display order) and cuts it where the face
// changes. A character no face has stays with the Go font and comes out as its missing-glyph box.
func (w *writer) runs(s string) []run {
	s = visualOrder(shapeArabic(norm.NFC.String(s)))
	var out []run
	var cur []rune
	var curFace *face
	flush := func() {
		if len(cur) > 0 {
			out = append(out, run{s: string(cur), fc: curFace})
		}
		cur = cur[:0]
	}
	for _, r := range s {
		fc := w.faceFor(r, curFace)
		if fc != curFace {
			flush()
			curFace = fc
		}
		cur = append(cur, r)
	}
	flush()
	return out
}

// faceFor picks the face that draws r: the Go font when it can; a combining mark stays with the
// face of the character it sits on when that face has it; else the first fallback that has it.
func (w *writer) faceFor(r rune, prev *face) *face {
	gf := goFace()
	if unicode.Is(unicode.Mn, r) && prev != nil && prev.has(&w.buf, r) {
		return prev
	}
	if gf.has(&w.buf, r) {
		return gf
	}
	if w.fonts != nil {
		for _, fc := range w.fonts.faces {
			if fc.has(&w.buf, r) {
				return fc
			}
		}
	}
	return gf
}

// missing lists the characters of s (other than controls and spaces) that no face can draw.
func (w *writer) missing(s string) []rune {
	var out []rune
	for _, rn := range w.runs(s) {
		if rn.fc != goFace() {
			continue
		}
		for _, r := range rn.s {
			if !unicode.IsControl(r) && !unicode.IsSpace(r) && !rn.fc.has(&w.buf, r) && !slices.Contains(out, r) {
				out = append(out, r)
			}
		}
	}
	return out
}

// use sets the current font to fc in the current style and size, registering the face with the
// document the first time it draws (so a report that needs no fallback has the bytes it always
// had). fpdf writes a font change into the page for every SetFont, so an unchanged one is
// skipped.
func (w *writer) use(fc *face) {
	if fc == w.cur {
		return
	}
	if fc.family != family && !w.added[fc] {
		w.p.AddUTF8FontFromBytes(fc.family, "", fc.regular)
		w.p.AddUTF8FontFromBytes(fc.family, "B", fc.bold)
		w.added[fc] = true
	}
	w.p.SetFont(fc.family, w.style, w.size)
	w.cur = fc
}

// cell is fpdf's CellFormat for text in any face. Text the Go font draws alone goes through
// CellFormat unchanged; mixed text is one empty cell (border, fill, page break, position) with
// its runs then set on the cell's baseline side by side.
func (w *writer) cell(cw, h float64, s, border string, ln int, align string, fill bool) {
	rs := w.runs(s)
	if len(rs) == 0 || (len(rs) == 1 && rs[0].fc == goFace()) {
		if len(rs) == 1 {
			s = rs[0].s
			w.see(rs[0])
		}
		w.p.CellFormat(cw, h, s, border, ln, align, fill, 0, "")
		return
	}
	p := w.p
	x, y := p.GetXY()
	page := p.PageNo()
	p.CellFormat(cw, h, "", border, ln, align, fill, 0, "")
	after := [2]float64{p.GetX(), p.GetY()}
	if p.PageNo() != page { // the cell broke the page: it stands at the new page's top
		_, y, _, _ = p.GetMargins()
	}
	widths, total := w.widths(rs)
	margin := p.GetCellMargin()
	dx := margin
	switch align {
	case "R":
		dx = cw - margin - total
	case "C":
		dx = (cw - total) / 2
	}
	_, unit := p.GetFontSize()
	baseline := y + .5*h + .3*unit
	for i, rn := range rs {
		w.use(rn.fc)
		p.Text(x+dx, baseline, rn.s)
		w.see(rn)
		dx += widths[i]
	}
	w.use(goFace())
	p.SetXY(after[0], after[1])
}

// widths are the runs' widths in their faces, and their sum.
func (w *writer) widths(rs []run) ([]float64, float64) {
	out := make([]float64, len(rs))
	var total float64
	for i, rn := range rs {
		w.use(rn.fc)
		out[i] = w.p.GetStringWidth(rn.s)
		total += out[i]
	}
	w.use(goFace())
	return out, total
}

// width is the width of s as cell draws it.
func (w *writer) width(s string) float64 {
	_, total := w.widths(w.runs(s))
	return total
}

// paragraph is fpdf's MultiCell (left aligned, no border or fill) for text in any face: mixed
// text flows with Write, run by run, wrapping at the right margin and back to the paragraph's
// left edge. The text is put in display order before it is cut into lines, so a right-to-left
// stretch long enough to wrap has its end on the first line (UAX #9 orders each line after
// wrapping); names and reasons are short enough for this not to happen in practice.
func (w *writer) paragraph(cw, h float64, s string) {
	rs := w.runs(s)
	if len(rs) <= 1 && (len(rs) == 0 || rs[0].fc == goFace()) {
		if len(rs) == 1 {
			s = rs[0].s
			w.see(rs[0])
		}
		w.p.MultiCell(cw, h, s, "", "L", false)
		return
	}
	p := w.p
	left, _, right, _ := p.GetMargins()
	pageW, _ := p.GetPageSize()
	x := p.GetX()
	p.SetLeftMargin(x)
	p.SetRightMargin(pageW - x - cw)
	for _, rn := range rs {
		w.use(rn.fc)
		p.Write(h, rn.s)
		w.see(rn)
	}
	w.use(goFace())
	p.Ln(h)
	p.SetLeftMargin(left)
	p.SetRightMargin(right)
	p.SetX(left)
}

func (w *writer) see(rn run) {
	if w.drawn != nil {
		w.drawn(rn.fc, w.style, rn.s)
	}
}
