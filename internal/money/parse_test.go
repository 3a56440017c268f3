package money

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseAmount(t *testing.T) {
	tests := []struct {
		in      string
		cur     Currency
		want    int64
		wantErr error
	}{
		{in: "12.34", cur: USD, want: 1234},
		{in: "12.3", cur: USD, want: 1230},
		{in: "12", cur: USD, want: 1200},
		{in: "0.05", cur: USD, want: 5},
		{in: "-0.05", cur: USD, want: -5},
		{in: "-0", cur: USD, want: 0},
		{in: "007.10", cur: USD, want: 710},
		{in: "1000", cur: JPY, want: 1000},
		{in: "1.234", cur: KWD, want: 1234},
		{in: "0.001", cur: BHD, want: 1},
		{in: "39485.6547", cur: "clf", want: 394856547},
		{in: "1.5", cur: "uyw", want: 15000},
		{in: "1.23456", cur: "clf", wantErr: ErrInvalidAmount},
		{in: "1.5", cur: "uyi", wantErr: ErrInvalidAmount},
		{in: "1.5", cur: "USD", want: 150},
		{in: "92233720368547758.07", cur: USD, want: math.MaxInt64},
		{in: "-92233720368547758.08", cur: USD, want: math.MinInt64},
		{in: "9223372036854775807", cur: JPY, want: math.MaxInt64},
		{in: "-9223372036854775808", cur: JPY, want: math.MinInt64},

		{in: "92233720368547758.08", cur: USD, wantErr: ErrOverflow},
		{in: "-92233720368547758.09", cur: USD, wantErr: ErrOverflow},
		{in: "9223372036854775808", cur: JPY, wantErr: ErrOverflow},
		{in: "100000000000000000", cur: USD, wantErr: ErrOverflow},
		{in: "99999999999999999999999", cur: JPY, wantErr: ErrOverflow},
		{in: "12.345", cur: USD, wantErr: ErrInvalidAmount},
		{in: "12.340", cur: USD, wantErr: ErrInvalidAmount},
		{in: "1000.0", cur: JPY, wantErr: ErrInvalidAmount},
		{in: "1.2345", cur: KWD, wantErr: ErrInvalidAmount},
		{in: "", cur: USD, wantErr: ErrInvalidAmount},
		{in: "-", cur: USD, wantErr: ErrInvalidAmount},
		{in: "--1", cur: USD, wantErr: ErrInvalidAmount},
		{in: "+1", cur: USD, wantErr: ErrInvalidAmount},
		{in: ".5", cur: USD, wantErr: ErrInvalidAmount},
		{in: "-.5", cur: USD, wantErr: ErrInvalidAmount},
		{in: "5.", cur: USD, wantErr: ErrInvalidAmount},
		{in: "1.2.3", cur: USD, wantErr: ErrInvalidAmount},
		{in: "1,000.00", cur: USD, wantErr: ErrInvalidAmount},
		{in: "1_000", cur: USD, wantErr: ErrInvalidAmount},
		{in: "1e3", cur: USD, wantErr: ErrInvalidAmount},
		{in: " 1.00", cur: USD, wantErr: ErrInvalidAmount},
		{in: "1.00 ", cur: USD, wantErr: ErrInvalidAmount},
		{in: "abc", cur: USD, wantErr: ErrInvalidAmount},
		{in: "١٢", cur: USD, wantErr: ErrInvalidAmount},
		{in: "12.34", cur: "xyz", wantErr: ErrUnknownCurrency},
		{in: "12.34", cur: "", wantErr: ErrUnknownCurrency},
	}
	for _, tc := range tests {
		t.Run(string(tc.cur)+"/"+tc.in, func(t *testing.T) {
			got, err := ParseAmount(tc.in, tc.cur)
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				assert.Contains(t, err.Error(), tc.in, "error should quote the input")
				assert.Zero(t, got)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

// TestParseFormatRoundTrip checks that the number Format prints parses back
// to the same minor units in every currency precision.
func TestParseFormatRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, c := range []Currency{USD, JPY, KWD} {
		for range 5000 {
			amount := randInt64(rng)
			text := Format(amount, c)
			number, ok := strings.CutSuffix(text, " "+c.Upper())
			require.True(t, ok, "format %q lacks currency suffix", text)
			got, err := ParseAmount(number, c)
			require.NoError(t, err, "parse %q", number)
			require.Equal(t, amount, got, "round trip of %q", number)
		}
	}
}
