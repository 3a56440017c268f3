package report

import (
	"strings"
	"testing"
	"time"

	"paysplit/internal/money"
)

// TestRevenueBarLabelsKeepTheCurrencysDigits: page 2's storefront revenue chart labels each
// day's bar with its amount. Below 1,000 major units the label is the amount itself, so it must be
// the figure the text shows: a KWD day of 12.345 dinars (3 decimals) labelled "12.345", as
// FormatMoney prints it, not rounded to cents; larger amounts are thousands or millions to a tenth.
func TestRevenueBarLabelsKeepTheCurrencysDigits(t *testing.T) {
	for _, tt := range []struct {
		cur    money.Currency
		minor  []int64
		labels []string
	}{
		{money.KWD, []int64{12345, 999999, 1000000, 7, 1234567, 1_250_000_000}, []string{"12.345", "999.999", "1k", "0.007", "1.2k", "1.3M"}},
		{money.USD, []int64{1005, 1050, 99999, 100000, 123456789}, []string{"10.05", "10.50", "999.99", "1k", "1.2M"}},
		{money.JPY, []int64{999, 1000, 1049, 1050}, []string{"999", "1k", "1k", "1.1k"}},
	} {
		days := make([]Day, len(tt.minor))
		for i, m := range tt.minor {
			days[i] = Day{Date: time.Date(2026, 6, 8+i, 0, 0, 0, 0, time.UTC).Format(time.DateOnly), HasRevenue: true, Revenue: m}
		}
		opt := revenueChartOption(Data{Currency: tt.cur, Days: days})
		label := opt.SeriesList[0].Label.ValueFormatter
		for i, v := range opt.SeriesList[0].Values {
			if got := label(v); got != tt.labels[i] {
				t.Errorf("%s day of %d minor units (%s): bar label %q, want %q", tt.cur.Upper(), tt.minor[i], FormatMoney(tt.minor[i], tt.cur), got, tt.labels[i])
			}
			if tt.minor[i] < 1000*int64(pow10(tt.cur.Exponent())) {
				if text := strings.TrimPrefix(FormatMoney(tt.minor[i], tt.cur), tt.cur.Upper()+" "); label(v) != text {
					t.Errorf("%s: bar label %q, the report's text %q", tt.cur.Upper(), label(v), text)
				}
			}
		}
	}
}

func pow10(n int) int {
	out := 1
	for range n {
		out *= 10
	}
	return out
}
