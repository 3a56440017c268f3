package split

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPayableInExamples pins the rounding by hand (unit 100: whole forints in HUF's minor units).
func TestPayableInExamples(t *testing.T) {
	tests := []struct {
		name string
		in   legs // platform, vendor[, affiliate]
		unit int64
		want legs
	}{
		// vendor 9185 needs 15 more, affiliate 225 needs 75: the platform's 900 gives both.
		{name: "the platform makes up each payee's last unit", in: legs{900, 9185, 225}, unit: 100, want: legs{810, 9200, 300}},
		{name: "whole amounts stay as they are", in: legs{1000, 9000, 300}, unit: 100, want: legs{1000, 9000, 300}},
		// vendor 9990 needs 10, the platform has 5: the vendor's 90 go to the platform.
		{name: "a platform share too small keeps the fraction", in: legs{5, 9990}, unit: 100, want: legs{95, 9900}},
		// vendor 10050 needs 50 (platform 60 → 10), then the affiliate's 40 fraction cannot be made
		// up from 10 and goes to the platform.
		{name: "the platform gives while it has", in: legs{60, 10050, 240}, unit: 100, want: legs{50, 10100, 200}},
		{name: "a rail that pays every minor unit", in: legs{33, 954, 12}, unit: 1, want: legs{33, 954, 12}},
		{name: "no unit", in: legs{33, 954, 12}, unit: 0, want: legs{33, 954, 12}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := splitOf(tt.in)
			got := s.PayableIn(tt.unit)
			assert.Equal(t, tt.want, amounts(got))
			assert.Equal(t, s.Sum(), got.Sum(), "the legs still sum to the gross")
			assert.Equal(t, tt.in, amounts(s), "the split it was called on is unchanged")
		})
	}
}

// Each vendor of a multi-vendor order is made whole in leg order, then the affiliate.
func TestPayableInMultiVendor(t *testing.T) {
	s, err := Compute(twoVendorOrder(), Rule{Version: 2, PlatformBps: 1000, AffiliateBps: 500})
	require.NoError(t, err)
	require.Equal(t, legs{850, 5857, 3168, 425}, amounts(s))
	// A needs 43 (850 → 807), B 32 (→ 775), the affiliate 75 (→ 700).
	assert.Equal(t, legs{700, 5900, 3200, 500}, amounts(s.PayableIn(100)))
}

func TestPayableInWithoutAPlatformLegIsUnchanged(t *testing.T) {
	s := Split{Gross: 150, Legs: []Leg{{Party: PartyVendor, PayeeID: "v1", Amount: 150}}}
	assert.Equal(t, s, s.PayableIn(100))
}

// TestPayableInProperty: over random valid splits, every payee leg
// is whole, no leg is negative, the sum is the gross, and each payee gets within a unit of its
// split, never less unless the platform had too little to make it up.
func TestPayableInProperty(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	for range propertyRuns {
		o, r := randValid(rng)
		s, err := Compute(o, r)
		require.NoError(t, err)
		unit := []int64{10, 100, 1000}[rng.IntN(3)]
		got := s.PayableIn(unit)
		require.Equal(t, s.Gross, got.Sum())
		require.Len(t, got.Legs, len(s.Legs))
		platform, _ := got.Leg(PartyPlatform)
		require.GreaterOrEqual(t, platform.Amount, int64(0))
		for i, l := range got.Legs {
			if l.Party == PartyPlatform {
				continue
			}
			require.Zero(t, l.Amount%unit, "leg %d of %+v is whole", i, got)
			require.GreaterOrEqual(t, l.Amount, int64(0))
			d := l.Amount - s.Legs[i].Amount
			require.Less(t, d, unit)
			require.Greater(t, d, -unit)
			if d < 0 {
				require.Less(t, platform.Amount-(-d), unit, "a payee is paid less only where the platform could not make it up")
			}
		}
	}
}

func splitOf(amounts legs) Split {
	parties := []Party{PartyPlatform, PartyVendor, PartyAffiliate}
	s := Split{}
	for i, a := range amounts {
		s.Legs = append(s.Legs, Leg{Party: parties[i], PayeeID: string(parties[i]), Amount: a})
		s.Gross += a
	}
	return s
}

func amounts(s Split) legs {
	var out legs
	for _, l := range s.Legs {
		out = append(out, l.Amount)
	}
	return out
}
