package money

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseCurrency(t *testing.T) {
	tests := []struct {
		in      string
		want    Currency
		wantErr bool
	}{
		{in: "usd", want: USD},
		{in: "USD", want: USD},
		{in: "Jpy", want: JPY},
		{in: "kwd", want: KWD},
		{in: "", wantErr: true},
		{in: "xyz", wantErr: true},
		{in: " usd", wantErr: true},
		{in: "usd ", wantErr: true},
		{in: "us", wantErr: true},
		{in: "usdd", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseCurrency(tc.in)
			if tc.wantErr {
				require.ErrorIs(t, err, ErrUnknownCurrency)
				assert.Contains(t, err.Error(), `"`+tc.in+`"`, "error should name the input")
				assert.Empty(t, got)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestExponent(t *testing.T) {
	tests := map[Currency]int{
		"usd": 2, "eur": 2, "gbp": 2, "cad": 2, "aud": 2, "chf": 2, "sek": 2,
		"nok": 2, "dkk": 2, "nzd": 2, "sgd": 2, "hkd": 2, "mxn": 2, "brl": 2,
		"inr": 2, "pln": 2,
		"jpy": 0, "krw": 0, "vnd": 0, "clp": 0, "isk": 0,
		"kwd": 3, "bhd": 3, "omr": 3, "jod": 3, "tnd": 3, "iqd": 3, "lyd": 3,
		"ugx": 0, "xof": 0, "xaf": 0, "xpf": 0, "pyg": 0, "uyi": 0,
		"clf": 4, "uyw": 4, // ISO 4217's two four-digit codes
		"USD": 2, "JPY": 0, "KWD": 3, // conversions from upper case still resolve
		"xyz": -1, "": -1,
	}
	for c, want := range tests {
		assert.Equal(t, want, c.Exponent(), "exponent of %q", c)
		assert.Equal(t, want >= 0, c.Known(), "known %q", c)
	}
}

func TestExponentTableIsLowercaseISO(t *testing.T) {
	for c, e := range exponents {
		require.Len(t, c, 3, "code %q", c)
		for _, r := range c {
			require.True(t, r >= 'a' && r <= 'z', "code %q must be lowercase ASCII", c)
		}
		require.Contains(t, []int{0, 2, 3, 4}, e, "exponent of %q", c)
		got, err := ParseCurrency(c.Upper())
		require.NoError(t, err)
		require.Equal(t, c, got)
	}
}

func TestUpper(t *testing.T) {
	assert.Equal(t, "USD", USD.Upper())
	assert.Equal(t, "KWD", Currency("kwd").Upper())
}
