package money

import "testing"

func TestFeeProblem(t *testing.T) {
	for _, tt := range []struct {
		name        string
		fee         int64
		feeCurrency string
		cur         Currency
		max         int64
		want        string
	}{
		{"within", 349, "usd", "usd", 11000, ""},
		{"the currency in capitals", 433, "USD", "usd", 11000, ""},
		{"all of it", 11000, "usd", "usd", 11000, ""},
		{"another currency", 59, "EUR", "usd", 1000, "fee in eur, the payment in usd"},
		{"above what it is taken from", 1001, "usd", "usd", 1000, "fee 1001 outside 0..1000"},
		{"negative", -1, "usd", "usd", 1000, "fee -1 outside 0..1000"},
	} {
		if got := FeeProblem(tt.fee, tt.feeCurrency, tt.cur, tt.max); got != tt.want {
			t.Errorf("%s: FeeProblem = %q, want %q", tt.name, got, tt.want)
		}
	}
}
