package money

import (
	"errors"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFormat(t *testing.T) {
	tests := []struct {
		amount int64
		cur    Currency
		want   string
	}{
		{1234, USD, "12.34 USD"},
		{1000, JPY, "1000 JPY"},
		{1234, KWD, "1.234 KWD"},
		{-5, USD, "-0.05 USD"},
		{0, USD, "0.00 USD"},
		{0, JPY, "0 JPY"},
		{5, KWD, "0.005 KWD"},
		{-1000, KWD, "-1.000 KWD"},
		{100, "EUR", "1.00 EUR"},
		{math.MaxInt64, USD, "92233720368547758.07 USD"},
		{math.MinInt64, USD, "-92233720368547758.08 USD"},
		{math.MinInt64, JPY, "-9223372036854775808 JPY"},
		{1234, "xyz", `1234 minor units of unknown currency "XYZ"`},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			assert.Equal(t, tc.want, Format(tc.amount, tc.cur))
			assert.Equal(t, tc.want, Money{Amount: tc.amount, Currency: tc.cur}.String())
		})
	}
}

func TestAddSub(t *testing.T) {
	usd := func(a int64) Money { return Money{Amount: a, Currency: USD} }

	got, err := usd(1050).Add(usd(-50))
	require.NoError(t, err)
	assert.Equal(t, usd(1000), got)

	got, err = usd(1050).Sub(usd(2000))
	require.NoError(t, err)
	assert.Equal(t, usd(-950), got)

	got, err = usd(1).Add(Money{Amount: 1, Currency: "USD"})
	require.NoError(t, err, "letter case must not make the same currency mismatch")
	assert.Equal(t, usd(2), got)

	_, err = usd(1).Add(Money{Amount: 1, Currency: EUR})
	require.ErrorIs(t, err, ErrCurrencyMismatch)
	assert.Contains(t, err.Error(), `"eur"`)

	_, err = usd(1).Sub(Money{Amount: 1, Currency: JPY})
	require.ErrorIs(t, err, ErrCurrencyMismatch)

	_, err = usd(math.MaxInt64).Add(usd(1))
	require.ErrorIs(t, err, ErrOverflow)

	_, err = usd(math.MinInt64).Sub(usd(1))
	require.ErrorIs(t, err, ErrOverflow)
}

func TestDecimalRoundTripsWithParseAmount(t *testing.T) {
	for _, tc := range []struct {
		amount int64
		cur    Currency
		want   string
	}{{1234, "usd", "12.34"}, {5, "usd", "0.05"}, {-5, "eur", "-0.05"}, {1000, "jpy", "1000"}, {1234, "kwd", "1.234"}, {0, "bhd", "0.000"}, {394856547, "clf", "39485.6547"}, {-5, "uyw", "-0.0005"}} {
		got, err := Decimal(tc.amount, tc.cur)
		if err != nil || got != tc.want {
			t.Fatalf("Decimal(%d, %s) = %q, %v; want %q", tc.amount, tc.cur, got, err, tc.want)
		}
		back, err := ParseAmount(got, tc.cur)
		if err != nil || back != tc.amount {
			t.Fatalf("ParseAmount(%q) = %d, %v; want %d", got, back, err, tc.amount)
		}
	}
	if _, err := Decimal(1, "xyz"); !errors.Is(err, ErrUnknownCurrency) {
		t.Fatalf("unknown currency: %v", err)
	}
}
