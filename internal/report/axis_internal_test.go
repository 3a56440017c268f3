package report

import (
	"math"
	"math/big"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-analyze/charts"

	"paysplit/internal/money"
)

// TestRevenueAxisLabelsAreExactAmountsOfTheCurrency: page 2's storefront revenue chart labels its
// value axis. Each label must be an amount the client can read as one of the currency (no more
// digits than the currency has: JPY none, KWD 3, CLF 4), the labels distinct, evenly spaced by a
// round step (1, 2, 2.5 or 5 times a power of ten) and the baseline, 0, labelled. The axis used
// to be formatted to two decimals whatever the currency, so a KWD or CLF week of small amounts
// read "0.01, 0.01, 0.02, 0.02" or "0, 0, 0". A day below zero comes from no source today (refunds
// count on their payment's day), but should one, it reads against 0: the library's axis put its
// ticks at -8.56, 17.33, ... with no zero.
func TestRevenueAxisLabelsAreExactAmountsOfTheCurrency(t *testing.T) {
	for _, tt := range []struct {
		name  string
		cur   money.Currency
		minor []int64
	}{
		{"KWD, small amounts", money.KWD, []int64{12, 7, 15, 3, 9, 11, 5}},
		{"CLF, 4 digits", money.Currency("clf"), []int64{12, 7, 15, 3, 9, 11, 5}},
		{"BHD, a refund day", money.BHD, []int64{12_345, -4_500, 800, 0, 23_456, 1_000, 7}},
		{"USD, a refund day", money.USD, []int64{5000, -12000, 3000, 0, 8000, 2000, 1000}},
		{"JPY, millions with a refund day", money.JPY, []int64{1_234_567, -2_345_678, 3_456_789, 987_654, 4_567_890, 0, 1_111_111}},
		{"ISK, no decimals", money.Currency("isk"), []int64{13, 2, 7, 0, 9, 4, 1}},
		{"USD, cents only", money.USD, []int64{3, 1, 0, 2, 4, 1, 2}},
		{"EUR, all refunds", money.EUR, []int64{-2500, -100, -7000, -1, -50, -3000, -999}},
	} {
		t.Run(tt.name, func(t *testing.T) { checkRevenueAxis(t, tt.cur, tt.minor) })
	}
}

// checkRevenueAxis draws the revenue chart of days of these amounts and checks its value axis:
// exact amounts of the currency, 0 labelled, even round steps, every bar within it, and no more
// than maxAxisSteps intervals.
func checkRevenueAxis(t *testing.T, cur money.Currency, minor []int64) {
	t.Helper()
	days := make([]Day, len(minor))
	for i, m := range minor {
		days[i] = Day{Date: time.Date(2026, 6, 8+i, 0, 0, 0, 0, time.UTC).Format(time.DateOnly), HasRevenue: true, Revenue: m}
	}
	labels := revenueAxisLabels(t, Data{Currency: cur, Days: days})
	t.Logf("%s axis: %q", cur.Upper(), labels)
	if len(labels) < 2 || len(labels) > maxAxisSteps+1 {
		t.Fatalf("axis labels %q: want 2 to %d", labels, maxAxisSteps+1)
	}
	unit := new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(cur.Exponent())), nil))
	var values []*big.Rat
	for _, l := range labels {
		v, ok := axisValue(l)
		if !ok {
			t.Fatalf("axis label %q is not an amount", l)
		}
		if units := new(big.Rat).Mul(v, unit); !units.IsInt() {
			t.Errorf("axis label %q has more digits than %s has (%d)", l, cur.Upper(), cur.Exponent())
		}
		values = append(values, v)
	}
	if !slices.Contains(labels, "0") {
		t.Errorf("axis labels %q: the baseline 0 is not labelled", labels)
	}
	// Labels are drawn top down: each step down is the same round amount.
	step := new(big.Rat).Sub(values[0], values[1])
	for i := 1; i+1 < len(values); i++ {
		if d := new(big.Rat).Sub(values[i], values[i+1]); d.Cmp(step) != 0 {
			t.Errorf("axis labels %q: uneven or repeated steps (%s then %s)", labels, step.FloatString(6), d.FloatString(6))
			break
		}
	}
	if !roundStep(step) {
		t.Errorf("axis labels %q: step %s is not 1, 2, 2.5 or 5 times a power of ten", labels, step.FloatString(6))
	}
	// Every bar is within the axis.
	lo, hi := values[len(values)-1], values[0]
	for _, m := range minor {
		v := new(big.Rat).Quo(new(big.Rat).SetInt64(m), unit)
		if v.Cmp(lo) < 0 || v.Cmp(hi) > 0 {
			t.Errorf("day of %s is outside the axis %q", FormatMoney(m, cur), labels)
		}
	}
}

// TestRevenueAxisOfHugeAmounts: the axis is laid out in int64 minor units, and a day's amount may
// be anything an int64 holds (a source's figure is taken as it comes). Near its limits the step
// search gave up at a step of 10^17 minor units: 94 labels for one day of MaxInt64, and the axis's
// top, 93 steps of 10^17, overflowed to a negative maximum ("-92,000,000,000M" read ten times;
// for a week from MinInt64 to MaxInt64, a label count of -1).
func TestRevenueAxisOfHugeAmounts(t *testing.T) {
	for _, tt := range []struct {
		name  string
		cur   money.Currency
		minor []int64
	}{
		{"JPY, 9e17", money.JPY, []int64{900_000_000_000_000_000, 1}},
		{"USD, MaxInt64", money.USD, []int64{math.MaxInt64}},
		{"USD, MinInt64", money.USD, []int64{math.MinInt64, 0}},
		{"JPY, both ends", money.JPY, []int64{math.MinInt64, math.MaxInt64}},
		{"KWD, 4e18 and a refund", money.KWD, []int64{4_000_000_000_000_000_000, -3}},
	} {
		t.Run(tt.name, func(t *testing.T) { checkRevenueAxis(t, tt.cur, tt.minor) })
	}
	for _, most := range []int64{900_000_000_000_000_000, math.MaxInt64} {
		ax := countAxis(most)
		if ax.LabelCount < 2 || ax.LabelCount > maxAxisSteps+1 || *ax.Max < float64(most) {
			t.Errorf("visitors axis for %d: %d labels up to %g", most, ax.LabelCount, *ax.Max)
		}
	}
}

var svgText = regexp.MustCompile(`<text[^>]*font-size:([0-9.]+)px[^>]*>([^<]*)</text>`)

// revenueAxisLabels draws the revenue chart as SVG with the report's options and reads the value
// axis's labels off it, top down: the texts in the axis labels' size that are not day ticks.
func revenueAxisLabels(t *testing.T, d Data) []string {
	t.Helper()
	p := charts.NewPainter(charts.PainterOptions{OutputFormat: charts.ChartOutputSVG, Width: 1000, Height: 432})
	if err := p.BarChart(revenueChartOption(d)); err != nil {
		t.Fatal(err)
	}
	svg, err := p.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	ticks := dayTicks(d.Days)
	var out []string
	var axisSize string
	for _, m := range svgText.FindAllStringSubmatch(string(svg), -1) {
		size, text := m[1], m[2]
		if slices.Contains(ticks, text) {
			axisSize = size // the day ticks come after the value axis, in the same size
			break
		}
		out = append(out, text)
		_ = size
	}
	if axisSize == "" {
		t.Fatalf("no day ticks in the chart")
	}
	// The legend comes first.
	return slices.DeleteFunc(out, func(s string) bool { return strings.HasPrefix(s, "Revenue (") })
}

// axisValue reads "1.5k", "-2M", "12,345.5" as a number.
func axisValue(l string) (*big.Rat, bool) {
	mult := int64(1)
	switch {
	case strings.HasSuffix(l, "k"):
		mult, l = 1000, strings.TrimSuffix(l, "k")
	case strings.HasSuffix(l, "M"):
		mult, l = 1_000_000, strings.TrimSuffix(l, "M")
	}
	v, ok := new(big.Rat).SetString(strings.ReplaceAll(l, ",", ""))
	if !ok {
		return nil, false
	}
	return v.Mul(v, new(big.Rat).SetInt64(mult)), true
}

func roundStep(step *big.Rat) bool {
	if step.Sign() <= 0 {
		return false
	}
	s := new(big.Rat).Set(step)
	ten := new(big.Rat).SetInt64(10)
	for s.Cmp(ten) >= 0 {
		s.Quo(s, ten)
	}
	for s.Cmp(big.NewRat(1, 1)) < 0 {
		s.Mul(s, ten)
	}
	for _, r := range []*big.Rat{big.NewRat(1, 1), big.NewRat(2, 1), big.NewRat(5, 2), big.NewRat(5, 1)} {
		if s.Cmp(r) == 0 {
			return true
		}
	}
	return false
}

// TestVisitorsAxisCountsWholeVisitors: the visitors chart's value axis counts people, so a small
// shop's week (0 to 3 visitors a day) is labelled in whole visitors, each label once; it read
// "0, 0.8, 1.6, 2.4, 3.2". Larger counts keep the short form ("1.5k").
func TestVisitorsAxisCountsWholeVisitors(t *testing.T) {
	for _, visitors := range [][]int64{{1, 3, 0, 2, 1, 0, 2}, {0, 0, 0, 0, 0, 0, 1}, {1200, 5400, 980, 2300, 7100, 40, 3}} {
		days := make([]Day, len(visitors))
		for i, v := range visitors {
			days[i] = Day{Date: time.Date(2026, 6, 8+i, 0, 0, 0, 0, time.UTC).Format(time.DateOnly), HasTraffic: true, Visitors: v, NewVisitors: v / 2}
		}
		d := Data{Currency: money.USD, Days: days}
		p := charts.NewPainter(charts.PainterOptions{OutputFormat: charts.ChartOutputSVG, Width: 1000, Height: 492})
		if err := p.LineChart(visitorsChartOption(d)); err != nil {
			t.Fatal(err)
		}
		svg, err := p.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		var labels []string
		for _, m := range svgText.FindAllStringSubmatch(string(svg), -1) {
			if slices.Contains(dayTicks(days), m[2]) {
				break
			}
			if m[2] != "Visitors" && m[2] != "New visitors" {
				labels = append(labels, m[2])
			}
		}
		t.Logf("visitors %v: axis %q", visitors, labels)
		seen := map[string]bool{}
		for _, l := range labels {
			v, ok := axisValue(l)
			if !ok || !v.IsInt() {
				t.Errorf("visitors %v: axis label %q is not a whole number of visitors", visitors, l)
			}
			if seen[l] {
				t.Errorf("visitors %v: axis label %q twice", visitors, l)
			}
			seen[l] = true
		}
		if !seen["0"] {
			t.Errorf("visitors %v: axis %q has no 0", visitors, labels)
		}
	}
}

// TestRevenueBarLabelRoundedToAMillionSaysSo: a bar of 999,950 major units rounds to a million,
// labelled "1M", not "1,000k".
func TestRevenueBarLabelRoundedToAMillionSaysSo(t *testing.T) {
	for _, tt := range []struct {
		minor int64
		cur   money.Currency
		want  string
	}{
		{99_995_000, money.USD, "1M"}, {-99_995_000, money.USD, "-1M"}, {99_994_999, money.USD, "999.9k"},
		{999_950, money.JPY, "1M"}, {999_950_000, money.KWD, "1M"}, {1_000_000, money.JPY, "1M"},
	} {
		if got := amountLabel(tt.minor, tt.cur); got != tt.want {
			t.Errorf("%s: bar label %q, want %q", FormatMoney(tt.minor, tt.cur), got, tt.want)
		}
	}
}
