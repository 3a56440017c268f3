package report

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/go-pdf/fpdf"

	"paysplit/internal/money"
)

// PDF is a rendered report.
type PDF struct {
	Bytes []byte
	Pages int
	// Missing are the characters of the client's name and the notes that no font could draw
	// (drawn as missing-glyph boxes; the report's notes say so), for the caller to log.
	Missing []rune
}

// SHA256 is the hex digest of the bytes: equal digests mean equal reports.
func (p PDF) SHA256() string {
	sum := sha256.Sum256(p.Bytes)
	return hex.EncodeToString(sum[:])
}

// FileName is the attachment's name: paysplit-report-<client>-2026-W07.pdf.
func FileName(clientID string, w Week) string {
	return "paysplit-report-" + clientID + "-" + w.String() + ".pdf"
}

// Page geometry (A4 portrait, millimetres).
const (
	pageW     = 210.0
	margin    = 15.0
	contentW  = pageW - 2*margin
	bottomGap = 18.0 // room for the footer
	family    = "go"
)

type rgb struct{ r, g, b int }

var (
	inkDark   = rgb{17, 24, 39}
	inkMuted  = rgb{107, 114, 128}
	inkGood   = rgb{4, 120, 87}
	inkBad    = rgb{185, 28, 28}
	bandColor = rgb{30, 41, 59}
	tileColor = rgb{243, 244, 246}
	lineColor = rgb{209, 213, 219}
	zebra     = rgb{249, 250, 251}
)

// Render lays the report out on A4 pages: a cover band with the client and the week and the
// headline tiles, the traffic chart; then revenue, bounce rate and the split of the money; then
// the payouts table and the notes. Every client gets the same layout; only the payouts table
// grows onto more pages.
//
// Text the Go fonts cannot draw (a name in Japanese, Arabic, Thai...) is drawn with the fonts
// REPORT_FONTS=auto finds installed (InstalledFonts); RenderWith takes others.
func Render(d Data) (PDF, error) {
	fonts, _ := InstalledFonts()
	return RenderWith(d, fonts)
}

// RenderWith is Render with the given fallback fonts (nil: the Go fonts alone); Deferred fonts
// are read at the first render, and their error is the render's.
func RenderWith(d Data, fonts *Fonts) (PDF, error) {
	return render(d, fonts, nil)
}

func render(d Data, fonts *Fonts, drawn func(fc *face, style, s string)) (PDF, error) {
	if err := d.Validate(); err != nil {
		return PDF{}, err
	}
	fonts, err := fonts.resolve()
	if err != nil {
		return PDF{}, err
	}
	pdf, w := newDocument(d, fonts)
	w.drawn = drawn
	r := &renderer{d: d, pdf: pdf, w: w}
	steps := []func() error{r.coverPage, r.moneyPage, r.payoutsPage}
	for _, step := range steps {
		if err := step(); err != nil {
			return PDF{}, err
		}
	}
	var buf bytes.Buffer
	if err := r.pdf.Output(&buf); err != nil {
		return PDF{}, fmt.Errorf("report: write pdf: %w", err)
	}
	return PDF{Bytes: buf.Bytes(), Pages: r.pdf.PageCount(), Missing: r.missing}, nil
}

// newDocument sets up a PDF whose bytes depend on nothing but d: fonts come from the binary,
// the creation date is the end of the report's week, and catalogs are written sorted.
func newDocument(d Data, fonts *Fonts) (*fpdf.Fpdf, *writer) {
	pdf := fpdf.NewCustom(&fpdf.InitType{OrientationStr: "P", UnitStr: "mm", SizeStr: "A4"})
	pdf.SetCatalogSort(true)
	created := d.Week.Monday().AddDate(0, 0, 7)
	pdf.SetCreationDate(created)
	pdf.SetModificationDate(created)
	pdf.SetCompression(true)
	pdf.SetProducer("paysplit", true)
	pdf.SetCreator("paysplit weekly reports", true)
	pdf.SetAuthor("paysplit", true)
	pdf.SetTitle("Weekly report "+d.Week.String()+" – "+d.displayName(), true)
	pdf.SetSubject("Storefront and payout figures for "+d.Week.Period(), true)
	pdf.AddUTF8FontFromBytes(family, "", goFace().regular)
	pdf.AddUTF8FontFromBytes(family, "B", goFace().bold)
	pdf.SetMargins(margin, margin, margin)
	pdf.SetAutoPageBreak(true, bottomGap)
	pdf.AliasNbPages("{nb}")
	w := newWriter(pdf, fonts)
	pdf.SetFooterFunc(func() {
		pdf.SetY(-13)
		setDraw(pdf, lineColor)
		pdf.Line(margin, pdf.GetY(), pageW-margin, pdf.GetY())
		pdf.SetY(-11)
		w.text("", 8, inkMuted)
		// A long name is cut to the footer's left half, short of the page number on its right.
		suffix := " · Weekly report " + d.Week.String()
		name := fit(w, d.displayName(), contentW/2-w.width(suffix))
		w.cell(contentW/2, 5, isolate(name)+suffix, "", 0, "L", false)
		w.cell(contentW/2, 5, fmt.Sprintf("Page %d of {nb}", pdf.PageNo()), "", 0, "R", false)
	})
	return pdf, w
}

// isolate marks s as a name put into a sentence (FSI ... PDI): drawn in its own direction as one
// block, so a Hebrew or Arabic name does not take the week number after it into its stretch.
func isolate(s string) string { return string(fsi) + s + string(pdi) }

func (d Data) displayName() string {
	if d.ClientName != "" {
		return d.ClientName
	}
	return d.ClientID
}

type renderer struct {
	d       Data
	pdf     *fpdf.Fpdf
	w       *writer
	charts  int
	missing []rune
}

// canvas is the pixel size of the next chart placed w×h millimetres. Each chart gets a width of
// its own (one pixel more than the one before, invisible once scaled to the page) because fpdf,
// even with catalog sorting, orders image objects by pixel width alone: equal widths would come
// out in map order and the bytes would change from run to run.
func (r *renderer) canvas(wMM, hMM float64) size {
	r.charts++
	return size{w: int(wMM*pxPerMM) + r.charts, h: int(hMM * pxPerMM)}
}

func setFill(p *fpdf.Fpdf, c rgb) { p.SetFillColor(c.r, c.g, c.b) }
func setDraw(p *fpdf.Fpdf, c rgb) { p.SetDrawColor(c.r, c.g, c.b) }

func (r *renderer) heading(title string) {
	p := r.pdf
	p.Ln(3)
	r.w.text("B", 13, inkDark)
	r.w.cell(contentW, 8, title, "", 1, "L", false)
}

// image places a PNG chart at the current position, full width unless w says otherwise.
func (r *renderer) image(name string, png []byte, x, w, h float64) {
	p := r.pdf
	opts := fpdf.ImageOptions{ImageType: "PNG"}
	p.RegisterImageOptionsReader(name, opts, bytes.NewReader(png))
	p.ImageOptions(name, x, p.GetY(), w, h, false, opts, 0, "")
}

func (r *renderer) coverPage() error {
	p, d := r.pdf, r.d
	p.AddPage()
	setFill(p, bandColor)
	p.Rect(0, 0, pageW, 50, "F")
	p.SetXY(margin, 11)
	r.w.text("B", 9, rgb{148, 163, 184})
	r.w.cell(contentW, 5, "WEEKLY REPORT", "", 1, "L", false)
	p.SetX(margin)
	r.w.cell(contentW, 12, isolate(r.coverName()), "", 1, "L", false)
	p.SetX(margin)
	r.w.text("", 12, rgb{226, 232, 240})
	r.w.cell(contentW, 7, fmt.Sprintf("Week %d, %d · %s", d.Week.Week, d.Week.Year, d.Week.Period()), "", 1, "L", false)
	p.SetX(margin)
	r.w.text("", 9, rgb{148, 163, 184})
	days := d.daysIn()
	r.w.cell(contentW, 6, strings.ToUpper(days[:1])+days[1:]+" · client "+d.ClientID, "", 1, "L", false)

	p.SetY(58)
	r.heading("At a glance")
	r.tiles(d.Tiles())

	r.heading("Visitors and new visitors per day")
	png, err := visitorsChart(d, r.canvas(contentW, 82))
	if err != nil {
		return err
	}
	r.image("visitors", png, margin, contentW, 82)
	r.noData(d.Days, hasTraffic, 82, "No web analytics were synced for this week")
	p.SetY(p.GetY() + 82)
	r.brief()
	return nil
}

// coverName is the client's name as the cover's band can hold it on one line: drawn smaller, down
// to 14 pt, and then cut with an ellipsis (the client's ID is on the line below). It sets the
// font it is to be drawn in. A long name ran past the page's right edge, its end lost.
func (r *renderer) coverName() string {
	name, size := r.d.displayName(), 24.0
	r.w.text("B", size, rgb{255, 255, 255})
	for size > 14 && r.w.width(name) > contentW {
		size--
		r.w.text("B", size, rgb{255, 255, 255})
	}
	return fit(r.w, name, contentW)
}

// brief lists the week's standout days and points to the notes, under the traffic chart.
func (r *renderer) brief() {
	p, d := r.pdf, r.d
	var lines []string
	if best, ok := bestDay(d.Days, hasTraffic, func(x Day) int64 { return x.Visitors }); ok {
		lines = append(lines, fmt.Sprintf("Busiest day: %s with %s.", dayLabel(best.Date), plural(best.Visitors, "visitor")))
	}
	if best, ok := bestDay(d.Days, hasRevenue, func(x Day) int64 { return x.Revenue }); ok && best.Revenue > 0 {
		lines = append(lines, fmt.Sprintf("Best revenue day: %s with %s.", dayLabel(best.Date), FormatMoney(best.Revenue, d.Currency)))
	}
	switch n := len(d.NotesAll()); n {
	case 0:
		lines = append(lines, "Nothing stale, missing or held this week.")
	default:
		// The notes follow the payouts table, which can run over several pages: the page is
		// filled in once the notes are placed (notesPageAlias).
		lines = append(lines, plural(int64(n), "note")+" about missing data or held payouts on page "+notesPageAlias+".")
	}
	p.Ln(4)
	for _, l := range lines {
		r.w.text("", 10, inkDark)
		r.w.cell(5, 6, "•", "", 0, "L", false)
		r.w.cell(contentW-5, 6, l, "", 1, "L", false)
	}
}

// bestDay is the day with the highest value among those that have it (the first of equals).
func bestDay(days []Day, has func(Day) bool, v func(Day) int64) (Day, bool) {
	var best Day
	found := false
	for _, d := range days {
		if has(d) && (!found || v(d) > v(best)) {
			best, found = d, true
		}
	}
	return best, found
}

func (d Data) zone() string {
	if d.TimeZone == "" {
		return "UTC"
	}
	return d.TimeZone
}

// daysIn says which days the report counts in: the week and its payments are cut at midnight in
// the client's zone, but the daily figures (visitors, storefront revenue, bounce rate per day) are
// UTC days, as every KPI day is. "Days in America/New_York" had a New York client read Monday's
// revenue bar as its own Monday, which it is not.
func (d Data) daysIn() string {
	if d.zone() == "UTC" {
		return "days in UTC"
	}
	return "week in " + d.zone() + "; daily figures by UTC day"
}

// noData writes msg across a chart of height h at the current position when no day has the
// chart's data, so an empty chart is not read as a week of zeros.
func (r *renderer) noData(days []Day, has func(Day) bool, h float64, msg string) {
	for _, d := range days {
		if has(d) {
			return
		}
	}
	p := r.pdf
	y := p.GetY()
	r.w.text("B", 11, inkMuted)
	p.SetXY(margin, y+h/2-4)
	r.w.cell(contentW, 8, msg, "", 0, "C", false)
	p.SetXY(margin, y)
}

// tiles draws the headline numbers three to a row.
func (r *renderer) tiles(tiles []Tile) {
	p := r.pdf
	const gap, h = 5.0, 25.0
	w := (contentW - 2*gap) / 3
	top := p.GetY() + 1
	for i, t := range tiles {
		x := margin + float64(i%3)*(w+gap)
		y := top + float64(i/3)*(h+gap)
		setFill(p, tileColor)
		p.RoundedRect(x, y, w, h, 2.5, "1234", "F")
		p.SetXY(x+4, y+3)
		r.w.text("", 9, inkMuted)
		r.w.cell(w-8, 5, t.Label, "", 0, "L", false)
		p.SetXY(x+4, y+8.5)
		r.w.text("B", 15, inkDark)
		r.w.cell(w-8, 8, t.Value, "", 0, "L", false)
		p.SetXY(x+4, y+17.5)
		change, c := t.Change, inkMuted
		switch {
		case change == "":
			change = "nothing to compare"
		case t.Trend > 0:
			c = inkGood
		case t.Trend < 0:
			c = inkBad
		}
		if t.Change != "" && t.Change != "new" && t.Change != "no change" {
			change += " vs last week"
		}
		r.w.text("", 8.5, c)
		r.w.cell(w-8, 4.5, change, "", 0, "L", false)
	}
	rows := (len(tiles) + 2) / 3
	p.SetY(top + float64(rows)*(h+gap) - gap + 3)
}

func (r *renderer) moneyPage() error {
	p, d := r.pdf, r.d
	p.AddPage()
	p.SetY(margin - 3)
	r.heading("Storefront revenue per day")
	png, err := revenueChart(d, r.canvas(contentW, 72))
	if err != nil {
		return err
	}
	r.image("revenue", png, margin, contentW, 72)
	r.noData(d.Days, hasRevenue, 72, "No storefront revenue was synced for this week")
	p.SetY(p.GetY() + 72)

	r.heading("Bounce rate per day")
	if png, err = bounceChart(d, r.canvas(contentW, 58)); err != nil {
		return err
	}
	r.image("bounce", png, margin, contentW, 58)
	r.noData(d.Days, hasTraffic, 58, "No web analytics were synced for this week")
	p.SetY(p.GetY() + 58)

	main, captured := d.MainPayments()
	r.heading("Where the money went (" + main.Currency.Upper() + ", payments captured this week)")
	if !captured {
		r.w.text("", 10, inkMuted)
		if others := otherCurrencies(d.Payments, main.Currency); others != "" {
			r.w.paragraph(contentW, 5, "No payments in "+main.Currency.Upper()+" were captured this week. Also captured: "+others+
				". See the payouts table.")
			return nil
		}
		r.w.cell(contentW, 7, "No payments were captured this week.", "", 1, "L", false)
		return nil
	}
	top := p.GetY()
	const chartW, chartH = 82.0, 74.0
	if png, err = splitChart(main, r.canvas(chartW, chartH)); err != nil {
		return err
	}
	r.image("split", png, margin, chartW, chartH)
	r.splitTable(main, margin+chartW+6, top+4)
	if others := otherCurrencies(d.Payments, main.Currency); others != "" {
		p.SetXY(margin+chartW+6, p.GetY()+3)
		r.w.text("", 8.5, inkMuted)
		r.w.paragraph(contentW-chartW-6, 4.5, "Also captured: "+others+". See the payouts table.")
	}
	return nil
}

// splitTable lists the split's amounts next to the doughnut.
func (r *renderer) splitTable(m Payments, x, y float64) {
	p := r.pdf
	w := contentW - (x - margin)
	rows := [][2]string{
		{"Payments captured", formatInt(m.Count)},
		{"Gross", FormatMoney(m.Gross, m.Currency)},
		{"Refunded", FormatMoney(m.Refunded, m.Currency)},
		{"Vendors", FormatMoney(m.Vendor, m.Currency)},
		{"Platform (commission)", FormatMoney(m.Platform, m.Currency)},
		{"Affiliates", FormatMoney(m.Affiliate, m.Currency)},
	}
	if m.Unsplit != 0 {
		rows = append(rows, [2]string{"Not split yet", FormatMoney(m.Unsplit, m.Currency)})
	}
	p.SetXY(x, y)
	setDraw(p, lineColor)
	for i, row := range rows {
		p.SetX(x)
		style := ""
		if i == 1 {
			style = "B"
		}
		r.w.text(style, 9.5, inkDark)
		r.w.cell(w*0.55, 7, row[0], "B", 0, "L", false)
		r.w.cell(w*0.45, 7, row[1], "B", 1, "R", false)
	}
}

func otherCurrencies(ps []Payments, main money.Currency) string {
	var out string
	for _, p := range ps {
		if p.Currency == main {
			continue
		}
		if out != "" {
			out += "; "
		}
		out += fmt.Sprintf("%s in %s", FormatMoney(p.Gross, p.Currency), plural(p.Count, "payment"))
	}
	return out
}

// notesPageAlias stands for the page the notes start on until the document is written (fpdf
// replaces it, as it does "{nb}").
const notesPageAlias = "{notes-page}"

// payoutColumns are the payouts table's columns: title, width (mm), alignment. They fill the
// page's content width (contentW); the amounts are Owed = Paid out + Held + Failed + Outstanding.
var payoutColumns = []struct {
	title string
	w     float64
	align string
}{
	{"Payee", 32, "L"}, {"Role", 16, "L"}, {"Payments", 17, "R"}, {"Owed", 23, "R"},
	{"Paid out", 23, "R"}, {"Held", 23, "R"}, {"Failed", 23, "R"}, {"Outstanding", 23, "R"},
}

// firstAmountColumn is the index of the payouts table's first amount column: amounts are drawn
// smaller when they do not fit, never cut short.
const firstAmountColumn = 3

func (r *renderer) payoutsPage() error {
	p, d := r.pdf, r.d
	p.AddPage()
	p.SetY(margin - 3)
	r.heading("Payouts from this week's payments")
	if len(d.Payouts) == 0 {
		r.w.text("", 10, inkMuted)
		r.w.cell(contentW, 7, "No vendor or affiliate shares from this week's payments.", "", 1, "L", false)
	} else {
		r.payoutHeader()
		_, pageH := p.GetPageSize()
		payees := r.payeeLabels(payoutColumns[0].w - 2)
		for i, po := range d.Payouts {
			if p.GetY()+6.5 > pageH-bottomGap {
				p.AddPage()
				r.payoutHeader()
			}
			fill := i%2 == 1
			setFill(p, zebra)
			r.w.text("", 8.5, inkDark)
			cells := []string{po.PayeeID, po.Party, formatInt(po.Payments), FormatMoney(po.Owed, po.Currency),
				FormatMoney(po.PaidOut, po.Currency), FormatMoney(po.Held, po.Currency), FormatMoney(po.Failed, po.Currency),
				FormatMoney(po.Outstanding(), po.Currency)}
			for j, c := range payoutColumns {
				switch {
				case j == 0:
					shrinkTo(r.w, cells[j], c.w-2, 6.5) // the font payeeLabels measured it in
					r.w.cell(c.w, 6.5, payees[i], "", 0, c.align, fill)
				case j < firstAmountColumn:
					r.w.cell(c.w, 6.5, fit(r.w, cells[j], c.w-2), "", 0, c.align, fill)
				default:
					// An amount cut short would be a wrong amount: a smaller font instead.
					r.w.cell(c.w, 6.5, shrinkTo(r.w, cells[j], c.w-2, 5), "", 0, c.align, fill)
				}
				r.w.text("", 8.5, inkDark)
			}
			p.Ln(-1)
		}
	}
	r.heading("Notes")
	r.pdf.RegisterAlias(notesPageAlias, strconv.Itoa(r.pdf.PageNo()))
	notes := d.NotesAll()
	if len(notes) == 0 {
		notes = []string{"Nothing stale, missing or held this week."}
	}
	if n := r.missingNote(notes); n != "" {
		notes = append(notes, n)
	}
	for _, n := range notes {
		r.w.text("", 10, inkDark)
		r.w.cell(5, 5.5, "•", "", 0, "L", false)
		r.w.paragraph(contentW-5, 5.5, n)
		p.Ln(1)
	}
	return nil
}

// missingNote says which characters of the client's name and the notes no font could draw
// (they are boxes in the PDF), so a reader knows the boxes are not the name, and records them.
func (r *renderer) missingNote(notes []string) string {
	for _, s := range append([]string{r.d.displayName()}, notes...) {
		for _, c := range r.w.missing(s) {
			if !slices.Contains(r.missing, c) {
				r.missing = append(r.missing, c)
			}
		}
	}
	if len(r.missing) == 0 {
		return ""
	}
	codes := make([]string, len(r.missing))
	for i, c := range r.missing {
		codes[i] = fmt.Sprintf("U+%04X", c)
	}
	return "Some characters of the client's name or these notes could not be drawn with this server's report fonts and show as boxes (" +
		strings.Join(codes, ", ") + "); see REPORT_FONTS."
}

func (r *renderer) payoutHeader() {
	p := r.pdf
	setFill(p, bandColor)
	r.w.text("B", 8.5, rgb{255, 255, 255})
	for _, c := range payoutColumns {
		r.w.cell(c.w, 7, c.title, "", 0, c.align, true)
	}
	p.Ln(-1)
}

// shrinkTo sets the body font (8.5 pt) and makes it smaller, half a point at a time down to smallest,
// until s fits w millimetres; it returns s, to be drawn in the font it left set.
func shrinkTo(wr *writer, s string, w, smallest float64) string {
	size := 8.5
	wr.text("", size, inkDark)
	for size > smallest && wr.width(s) > w {
		size -= 0.5
		wr.text("", size, inkDark)
	}
	return s
}

// fitMiddle shortens s by taking runes out of its middle, replaced by an ellipsis, until it fits
// w millimetres in the current font; the end is kept a little longer than the start.
func fitMiddle(wr *writer, s string, w float64) string {
	if wr.width(s) <= w {
		return s
	}
	rs := []rune(s)
	head, tail := len(rs)/2, len(rs)-len(rs)/2
	for head+tail > 2 {
		if head >= tail {
			head--
		} else {
			tail--
		}
		if t := string(rs[:head]) + "…" + string(rs[len(rs)-tail:]); wr.width(t) <= w {
			return t
		}
	}
	return string(rs[:head]) + "…" + string(rs[len(rs)-tail:])
}

// payeeLabels are the payouts table's payee cells, each to be drawn in the font shrinkTo leaves
// for its ID. Payees of one client often share a long prefix (the client's slug, the shop's
// name) and differ at the end: a smaller font first, then a cut in the middle that keeps both
// ends. IDs that differ only between those ends ("…-north-…" and "…-south-…" of one long name)
// would still read alike: each of them shows instead where it differs from the others
// (fitFrom). One payee listed twice (in two currencies) reads alike, as it is one.
func (r *renderer) payeeLabels(w float64) []string {
	pos := r.d.Payouts
	labels := make([]string, len(pos))
	ids := map[string][]string{} // label -> the distinct IDs drawn as it
	for i, po := range pos {
		labels[i] = fitMiddle(r.w, shrinkTo(r.w, po.PayeeID, w, 6.5), w)
		if !slices.Contains(ids[labels[i]], po.PayeeID) {
			ids[labels[i]] = append(ids[labels[i]], po.PayeeID)
		}
	}
	for i, po := range pos {
		alike := ids[labels[i]]
		if len(alike) < 2 {
			continue
		}
		at := 0 // the first rune where po's ID differs from the one it shares most with
		for _, other := range alike {
			if other != po.PayeeID {
				at = max(at, commonPrefix([]rune(po.PayeeID), []rune(other)))
			}
		}
		labels[i] = fitFrom(r.w, shrinkTo(r.w, po.PayeeID, w, 6.5), at, w)
	}
	r.w.text("", 8.5, inkDark)
	return labels
}

// commonPrefix is how many runes a and b share at their start.
func commonPrefix(a, b []rune) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}

// fitFrom is s from a few runes before rune at on, with an ellipsis for what is left out at either
// end, as much of it as fits w millimetres in the current font.
func fitFrom(wr *writer, s string, at int, w float64) string {
	rs := []rune(s)
	start := max(0, min(at, len(rs))-3)
	lead := ""
	if start > 0 {
		lead = "…"
	}
	return fit(wr, lead+string(rs[start:]), w)
}

// fit shortens s with an ellipsis until it fits w millimetres in the current font. It cuts before
// a letter and the marks on it, never between them: a Tamil or Devanagari vowel sign, a Thai tone
// mark or a decomposed accent cut from its letter made another word ("கட…" for "கடை…").
func fit(wr *writer, s string, w float64) string {
	if wr.width(s) <= w {
		return s
	}
	rs := []rune(s)
	n := len(rs)
	for n > 1 && wr.width(string(rs[:n])+"…") > w {
		n--
		for n > 1 && unicode.Is(unicode.M, rs[n]) {
			n--
		}
	}
	return string(rs[:n]) + "…"
}

// ObjectKey is where a client's report of a week is stored: reports/<client>/2026-W07.pdf.
func ObjectKey(clientID string, w Week) string {
	return "reports/" + clientID + "/" + w.String() + ".pdf"
}
