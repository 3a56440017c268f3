package report

import (
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/go-analyze/charts"

	"paysplit/internal/money"
)

// Charts are rasterised at pxPerMM pixels per millimetre of the page (about 150 dpi) with fonts
// sized for that, so they print sharply and read at the same size as the PDF's body text.
const pxPerMM = 6

// Colours shared by the charts and the PDF, so a series has one colour everywhere.
var (
	colorVisitors  = charts.ColorFromHex("2563eb")
	colorNew       = charts.ColorFromHex("10b981")
	colorRevenue   = charts.ColorFromHex("7c3aed")
	colorBounce    = charts.ColorFromHex("f59e0b")
	colorVendor    = charts.ColorFromHex("2563eb")
	colorPlatform  = charts.ColorFromHex("7c3aed")
	colorAffiliate = charts.ColorFromHex("10b981")
	colorUnsplit   = charts.ColorFromHex("9ca3af")
)

func chartTheme(series ...charts.Color) charts.ColorPalette {
	return charts.MakeTheme(charts.ThemeOption{
		BackgroundColor:    charts.ColorFromHex("ffffff"),
		TextColor:          charts.ColorFromHex("374151"),
		AxisStrokeColor:    charts.ColorFromHex("9ca3af"),
		AxisSplitLineColor: charts.ColorFromHex("e5e7eb"),
		SeriesColors:       series,
	})
}

func font(size float64) charts.FontStyle {
	return charts.FontStyle{FontSize: size, FontColor: charts.ColorFromHex("374151")}
}

const (
	labelSize  = 17
	legendSize = 18
)

// dayTicks are the x-axis labels: "Mon 9".
func dayTicks(days []Day) []string {
	out := make([]string, len(days))
	for i, d := range days {
		t, err := time.Parse(time.DateOnly, d.Date)
		if err != nil {
			out[i] = d.Date
			continue
		}
		out[i] = t.Format("Mon 2")
	}
	return out
}

// series turns days into chart values; days without the part (has) are nulls (gaps), not zeros.
func series(days []Day, has func(Day) bool, v func(Day) float64) []float64 {
	out := make([]float64, len(days))
	for i, d := range days {
		if has(d) {
			out[i] = v(d)
		} else {
			out[i] = charts.GetNullValue()
		}
	}
	return out
}

func hasTraffic(d Day) bool { return d.HasTraffic }
func hasRevenue(d Day) bool { return d.HasRevenue }

// compact writes axis values short: 950, 1.2k, 3.4M.
func compact(v float64) string {
	a := math.Abs(v)
	switch {
	case a >= 1e6:
		return strconv.FormatFloat(v/1e6, 'f', -1, 64) + "M"
	case a >= 1e3:
		return strconv.FormatFloat(math.Round(v/1e2)/10, 'f', -1, 64) + "k"
	}
	return strconv.FormatFloat(math.Round(v*100)/100, 'f', -1, 64)
}

// amountLabel writes a bar's amount short from its integer minor units: below 1,000 major units
// the amount with all of its currency's digits, as the text prints it (KWD 12.345 → "12.345",
// USD 10.50 → "10.50", JPY 999 → "999"); above, thousands or millions to a tenth, rounded half
// away from zero ("1.2k", "3.4M"). No float is involved.
func amountLabel(minor int64, c money.Currency) string {
	exp := c.Exponent()
	if exp < 0 {
		return money.Format(minor, c)
	}
	unit := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(exp)), nil) // minor units per major unit
	abs := new(big.Int).Abs(big.NewInt(minor))
	thousand := new(big.Int).Mul(unit, big.NewInt(1000))
	if abs.Cmp(thousand) < 0 {
		if dec, err := money.Decimal(minor, c); err == nil {
			return dec
		}
		return money.Format(minor, c)
	}
	suffix, per := "k", new(big.Int).Mul(unit, big.NewInt(100)) // minor units per tenth of a thousand
	tenths := roundDiv(big.NewInt(minor), per)
	// 999,950 rounds to a thousand thousands: "1M", not "1,000k".
	if abs.Cmp(new(big.Int).Mul(thousand, big.NewInt(1000))) >= 0 || tenths >= 10_000 || tenths <= -10_000 {
		suffix, per = "M", new(big.Int).Mul(unit, big.NewInt(100_000))
		tenths = roundDiv(big.NewInt(minor), per)
	}
	sign := ""
	if tenths < 0 {
		sign, tenths = "-", -tenths
	}
	out := sign + formatInt(tenths/10)
	if tenths%10 != 0 {
		out += "." + strconv.FormatInt(tenths%10, 10)
	}
	return out + suffix
}

// size is a chart's canvas in pixels.
type size struct{ w, h int }

func newPainter(sz size) *charts.Painter {
	return charts.NewPainter(charts.PainterOptions{OutputFormat: charts.ChartOutputPNG, Width: sz.w, Height: sz.h})
}

func lineOption(days []Day, names []string, values [][]float64, colors ...charts.Color) charts.LineChartOption {
	opt := charts.NewLineChartOptionWithData(values)
	opt.Theme = chartTheme(colors...)
	opt.Padding = charts.Box{Top: 20, Right: 30, Bottom: 10, Left: 10, IsSet: true}
	opt.XAxis.Labels = dayTicks(days)
	opt.XAxis.LabelFontStyle = font(labelSize)
	opt.XAxis.BoundaryGap = charts.Ptr(true)
	opt.YAxis = []charts.YAxisOption{{
		LabelFontStyle: font(labelSize), Min: charts.Ptr(0.0), ValueFormatter: compact,
	}}
	opt.Legend = charts.LegendOption{SeriesNames: names, FontStyle: font(legendSize), Offset: charts.OffsetRight}
	opt.LineStrokeWidth = 4
	opt.Symbol = charts.Symbol{Shape: charts.SymbolCircle, Size: 7}
	return opt
}

// visitorsChart draws visitors and new visitors per day.
func visitorsChart(d Data, sz size) ([]byte, error) {
	return renderLine(visitorsChartOption(d), sz)
}

// visitorsChartOption is the visitors chart, its axis in whole visitors.
func visitorsChartOption(d Data) charts.LineChartOption {
	opt := lineOption(d.Days, []string{"Visitors", "New visitors"}, [][]float64{
		series(d.Days, hasTraffic, func(x Day) float64 { return float64(x.Visitors) }),
		series(d.Days, hasTraffic, func(x Day) float64 { return float64(x.NewVisitors) }),
	}, colorVisitors, colorNew)
	var most int64
	for _, x := range d.Days {
		if x.HasTraffic {
			most = max(most, x.Visitors, x.NewVisitors)
		}
	}
	opt.YAxis = []charts.YAxisOption{countAxis(most)}
	return opt
}

// bounceChart draws the bounce rate per day in percent.
func bounceChart(d Data, sz size) ([]byte, error) {
	opt := lineOption(d.Days, []string{"Bounce rate (%)"}, [][]float64{
		series(d.Days, hasTraffic, func(x Day) float64 { return float64(x.BounceRateBps) / 100 }),
	}, colorBounce)
	opt.YAxis[0].ValueFormatter = func(v float64) string { return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64) + "%" }
	return renderLine(opt, sz)
}

func renderLine(opt charts.LineChartOption, sz size) ([]byte, error) {
	p := newPainter(sz)
	if err := p.LineChart(opt); err != nil {
		return nil, fmt.Errorf("report: line chart: %w", err)
	}
	return p.Bytes()
}

// revenueChart draws storefront revenue per day in major units. Floats only draw bars here;
// every amount printed as text, the bars' labels included, is formatted from integer minor units.
func revenueChart(d Data, sz size) ([]byte, error) {
	opt := revenueChartOption(d)
	p := newPainter(sz)
	if err := p.BarChart(opt); err != nil {
		return nil, fmt.Errorf("report: revenue chart: %w", err)
	}
	return p.Bytes()
}

// revenueChartOption is the revenue chart: one bar per day with revenue, labelled with its amount.
func revenueChartOption(d Data) charts.BarChartOption {
	scale := math.Pow10(d.Currency.Exponent())
	values := series(d.Days, hasRevenue, func(x Day) float64 { return float64(x.Revenue) / scale })
	// Each bar is labelled with its day's amount, formatted from the integer minor units the bar
	// was drawn from (the label formatter only gets the float back).
	minor := map[float64]int64{}
	for _, x := range d.Days {
		if x.HasRevenue {
			minor[float64(x.Revenue)/scale] = x.Revenue
		}
	}
	barLabel := func(v float64) string {
		m, ok := minor[v]
		if !ok {
			m = int64(math.Round(v * scale))
		}
		return amountLabel(m, d.Currency)
	}
	opt := charts.NewBarChartOptionWithData([][]float64{values})
	opt.Theme = chartTheme(colorRevenue)
	opt.Padding = charts.Box{Top: 20, Right: 30, Bottom: 10, Left: 10, IsSet: true}
	opt.CategoryAxis.Labels = dayTicks(d.Days)
	opt.CategoryAxis.LabelFontStyle = font(labelSize)
	opt.ValueAxis = []charts.ValueAxisOption{revenueAxis(d, scale)}
	opt.Legend = charts.LegendOption{SeriesNames: []string{"Revenue (" + d.Currency.Upper() + ")"}, FontStyle: font(legendSize), Offset: charts.OffsetRight}
	opt.SeriesList[0].Label = charts.SeriesLabel{Show: charts.Ptr(true), FontStyle: font(15), ValueFormatter: barLabel}
	opt.BarMargin = charts.Ptr(24.0)
	return opt
}

// maxAxisSteps bounds the revenue axis's intervals: about as many labels as its 72 mm take.
const maxAxisSteps = 8

// revenueAxis is the revenue chart's value axis, laid out in integer minor units: from 0, or
// below it when a day's refunds outweigh its sales, in a round step of the currency (1, 2, 2.5 or
// 5 times a power of ten minor units), each label the exact amount in the currency's digits. The
// chart library's own axis picked its ticks in floats and labelled them with two decimals: a KWD
// or CLF week of small amounts read "0.01, 0.01, 0.02" or "0, 0, 0", and a week with a negative
// day had ticks at -8.56, 17.33, ... and no zero.
func revenueAxis(d Data, scale float64) charts.ValueAxisOption {
	var lo, hi int64
	for _, x := range d.Days {
		if x.HasRevenue {
			// -MaxInt64 at the lowest, so that -lo is an amount too.
			lo, hi = min(lo, max(x.Revenue, -math.MaxInt64)), max(hi, x.Revenue)
		}
	}
	step, below, above := axisSteps(lo, hi, int64(scale))
	// below*step and above*step may be past an int64 near its limits: the ends are floats, and
	// each label is the step it stands for times step, in big integers.
	return charts.ValueAxisOption{
		LabelFontStyle:      font(labelSize),
		Min:                 charts.Ptr(float64(-below) * float64(step) / scale),
		Max:                 charts.Ptr(float64(above) * float64(step) / scale),
		LabelCount:          int(below + above + 1),
		PreferNiceIntervals: charts.Ptr(false),
		ValueFormatter: func(v float64) string {
			// The library hands back Min + i*step as a float: snap it to the step it stands for.
			return axisLabel(stepsOf(v*scale, step), d.Currency.Exponent())
		},
	}
}

// stepsOf is v (minor units, as the chart library computed it) snapped to the nearest multiple
// of step: the exact amount of the axis label it stands for.
func stepsOf(v float64, step int64) *big.Int {
	return new(big.Int).Mul(big.NewInt(int64(math.Round(v/float64(step)))), big.NewInt(step))
}

// axisSteps is the smallest round step (minor units) that spans lo..hi (lo <= 0 <= hi) in at most
// maxAxisSteps intervals, and how many of them lie below and above 0. A week without an amount
// gets one major unit (unit minor units).
func axisSteps(lo, hi, unit int64) (step, below, above int64) {
	if lo == 0 && hi == 0 {
		hi = max(unit, 1)
	}
	ceilDiv := func(a, b int64) int64 { // a >= 0, without overflowing near MaxInt64
		q := a / b
		if a%b != 0 {
			q++
		}
		return q
	}
	// Steps of 1, 2, 5, 10, 20, 25, 50, ... minor units, up to 5*10^18: the last spans any int64
	// in at most 2+2 intervals, so the search always ends there.
	for pow := int64(1); ; pow *= 10 {
		for _, m := range []int64{1, 2, 25, 5} {
			s := m * pow
			switch {
			case m == 25 && pow == 1:
				continue // 2.5 minor units is no amount
			case m == 25:
				s = 25 * (pow / 10)
			}
			below, above = ceilDiv(-lo, s), ceilDiv(hi, s)
			if below <= maxAxisSteps && above <= maxAxisSteps-below { // below+above may overflow
				return s, below, above
			}
		}
	}
}

// countAxis is a value axis of counts (visitors) from 0 to at least hi in a round whole step, so
// a small shop's axis is not labelled in fractions of a visitor ("0.8, 1.6").
func countAxis(hi int64) charts.YAxisOption {
	step, _, above := axisSteps(0, hi, 1)
	return charts.YAxisOption{
		LabelFontStyle:      font(labelSize),
		Min:                 charts.Ptr(0.0),
		Max:                 charts.Ptr(float64(above) * float64(step)),
		LabelCount:          int(above + 1),
		PreferNiceIntervals: charts.Ptr(false),
		ValueFormatter:      func(v float64) string { return axisLabel(stepsOf(v, step), 0) },
	}
}

// axisLabel writes an axis value given in minor units as its exact amount, shortened like the
// bars' labels from 1,000 major units on ("1.5k", "-2M"), with trailing zeros of the fraction
// dropped: "0.005" (KWD), "2.5", "1.25M". No float is involved.
func axisLabel(minor *big.Int, exp int) string {
	if exp < 0 || minor.Sign() == 0 {
		return minor.String()
	}
	abs := new(big.Int).Abs(minor)
	digits, suffix := exp, ""
	unit := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(exp)), nil)
	switch {
	case abs.Cmp(new(big.Int).Mul(unit, big.NewInt(1_000_000))) >= 0:
		digits, suffix = exp+6, "M"
	case abs.Cmp(new(big.Int).Mul(unit, big.NewInt(1000))) >= 0:
		digits, suffix = exp+3, "k"
	}
	s := abs.String()
	if len(s) <= digits {
		s = strings.Repeat("0", digits-len(s)+1) + s
	}
	whole, frac := s[:len(s)-digits], strings.TrimRight(s[len(s)-digits:], "0")
	out := groupDigits(whole)
	if frac != "" {
		out += "." + frac
	}
	if minor.Sign() < 0 {
		out = "-" + out
	}
	return out + suffix
}

// splitSlices are the split chart's parts, in a fixed order, with their colours.
func splitSlices(p Payments) (names []string, values []int64, colors []charts.Color) {
	names = []string{"Vendors", "Platform", "Affiliates"}
	values = []int64{p.Vendor, p.Platform, p.Affiliate}
	colors = []charts.Color{colorVendor, colorPlatform, colorAffiliate}
	if p.Unsplit > 0 {
		names, values, colors = append(names, "Not split yet"), append(values, p.Unsplit), append(colors, colorUnsplit)
	}
	return names, values, colors
}

// shareLabels are each part's share of the total, exact to a tenth of a percent; empty for parts
// that are zero, so the doughnut has no labels on slices it does not draw.
func shareLabels(amounts []int64) []string {
	var total int64
	for _, a := range amounts {
		total += max(a, 0)
	}
	out := make([]string, len(amounts))
	for i, a := range amounts {
		if a > 0 && total > 0 {
			out[i] = FormatBps(roundDiv(big.NewInt(0).Mul(big.NewInt(a), big.NewInt(10000)), big.NewInt(total)))
		}
	}
	return out
}

// splitChart draws how the captured money was split, as a doughnut.
func splitChart(p Payments, sz size) ([]byte, error) {
	names, amounts, colors := splitSlices(p)
	values := make([]float64, len(amounts))
	for i, a := range amounts {
		values[i] = float64(max(a, 0))
	}
	opt := charts.NewDoughnutChartOptionWithData(values)
	opt.Theme = chartTheme(colors...)
	opt.Padding = charts.NewBoxEqual(16)
	opt.Legend = charts.LegendOption{SeriesNames: names, FontStyle: font(legendSize), Offset: charts.OffsetStr{Top: charts.PositionBottom}}
	shares := shareLabels(amounts)
	for i := range opt.SeriesList {
		opt.SeriesList[i].Name = names[i]
		opt.SeriesList[i].Label = charts.SeriesLabel{Show: charts.Ptr(true), FontStyle: font(16),
			LabelFormatter: func(int, string, float64) (string, *charts.LabelStyle) { return shares[i], nil }}
	}
	pt := newPainter(sz)
	if err := pt.DoughnutChart(opt); err != nil {
		return nil, fmt.Errorf("report: split chart: %w", err)
	}
	return pt.Bytes()
}
