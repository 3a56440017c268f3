package split

import (
	"math"
	"math/big"
	"slices"
	"strings"
	"testing"

	"paysplit/internal/money"
)

// FuzzCompute feeds arbitrary orders and rules. gross is derived from the
// components unless that overflows or the input asks to use its own, so
// most inputs reach the arithmetic instead of stopping at the mismatch check.
func FuzzCompute(f *testing.F) {
	f.Add("usd", int64(10000), int64(1000), int64(810), int64(500), int64(0), false,
		int64(1000), int64(250), int64(0), int64(0), false, false, true)
	f.Add("JPY", int64(1), int64(0), int64(0), int64(0), int64(0), false,
		int64(1000), int64(0), int64(5), int64(0), false, false, false)
	f.Add("kwd", int64(12345), int64(345), int64(0), int64(1000), int64(0), false,
		int64(275), int64(50), int64(0), int64(0), false, true, true)
	f.Add("usd", int64(math.MaxInt64), int64(0), int64(0), int64(0), int64(0), false,
		int64(10000), int64(0), int64(0), int64(0), true, true, false)
	f.Add("xyz", int64(-1), int64(2), int64(3), int64(4), int64(5), true,
		int64(-1), int64(10001), int64(-1), int64(-1), true, false, true)
	f.Fuzz(func(t *testing.T, cur string, subtotal, discount, tax, shipping, gross int64, ownGross bool,
		platformBps, affiliateBps, minFee, maxFee int64, onTax, onShipping, withAffiliate bool) {
		o := Order{Currency: money.Currency(cur), Subtotal: subtotal, Discount: discount, Tax: tax,
			Shipping: shipping, Gross: gross, VendorID: "v"}
		if withAffiliate {
			o.AffiliateID = "a"
		}
		if !ownGross {
			if g, err := money.AddInt(subtotal, -discount); err == nil && discount != math.MinInt64 {
				if g, err = money.AddInt(g, tax); err == nil {
					if g, err = money.AddInt(g, shipping); err == nil {
						o.Gross = g
					}
				}
			}
		}
		r := Rule{Version: 1, PlatformBps: platformBps, AffiliateBps: affiliateBps, MinPlatformFee: minFee,
			MaxPlatformFee: maxFee, CommissionOnTax: onTax, CommissionOnShipping: onShipping}
		_, err := checkCompute(t, o, r)
		if err != nil && !wrapsSentinel(err, isComputeSentinel) {
			t.Fatalf("error wraps no sentinel: %v", err)
		}
	})
}

// FuzzAllocateRefund feeds arbitrary leg balances (up to four) and amounts.
func FuzzAllocateRefund(f *testing.F) {
	f.Add(int64(900), int64(9185), int64(225), int64(0), uint8(3), int64(1031))
	f.Add(int64(105), int64(995), int64(0), int64(0), uint8(2), int64(1))
	f.Add(int64(math.MaxInt64), int64(1), int64(0), int64(0), uint8(2), int64(1))
	f.Add(int64(0), int64(0), int64(0), int64(0), uint8(0), int64(0))
	f.Add(int64(-1), int64(5), int64(7), int64(9), uint8(4), int64(-3))
	f.Fuzz(func(t *testing.T, a, b, c, d int64, n uint8, amount int64) {
		remaining := []int64{a, b, c, d}[:n%5]
		parts, err := checkRefund(t, remaining, amount)
		if err != nil {
			return
		}
		// Whatever is left after this refund must still be refundable in full.
		rest := make([]int64, len(remaining))
		var left int64
		for i := range remaining {
			rest[i] = remaining[i] - parts[i]
			left += rest[i]
		}
		if _, err := checkRefund(t, rest, left); err != nil {
			t.Fatalf("refunding the rest %v: %v", rest, err)
		}
	})
}

// FuzzAllocateRefundCumulative feeds three legs and a sequence of refunds (each a fraction of
// what is left, so sequences reach the end): every refund stays within what each leg has, and
// the last returns exactly what is left.
func FuzzAllocateRefundCumulative(f *testing.F) {
	f.Add(int64(100), int64(900), int64(0), uint64(1), uint8(200))
	f.Add(int64(1000), int64(8500), int64(500), uint64(0x0123456789abcdef), uint8(30))
	f.Add(int64(math.MaxInt64/2), int64(math.MaxInt64/2), int64(1), uint64(7), uint8(5))
	f.Fuzz(func(t *testing.T, a, b, c int64, seed uint64, steps uint8) {
		legs := []int64{a, b, c}
		var gross int64
		for _, l := range legs {
			if l < 0 {
				return
			}
			var err error
			if gross, err = money.AddInt(gross, l); err != nil {
				return
			}
		}
		refunded := make([]int64, len(legs))
		var done int64
		for range steps {
			left := gross - done
			amount := int64(seed % uint64(min(left, 1000)+1))
			seed = seed*6364136223846793005 + 1442695040888963407
			parts := checkCumulativeRefund(t, legs, refunded, amount)
			for i, p := range parts {
				refunded[i] += p
			}
			done += amount
		}
		parts := checkCumulativeRefund(t, legs, refunded, gross-done)
		for i, p := range parts {
			if p != legs[i]-refunded[i] {
				t.Fatalf("last refund part %d = %d, leg has %d left", i, p, legs[i]-refunded[i])
			}
		}
	})
}

// FuzzComputeLines feeds multi-vendor orders of three lines (two or three vendors, amounts up to
// the int64 limits) and any rule: a split either fails with a sentinel or pays every unit of the
// gross, no leg negative, commissions within the commission base, each vendor at least its own
// lines' tax (unless the rule takes commission on tax), and the affiliate nothing when it is one of the vendors.
func FuzzComputeLines(f *testing.F) {
	f.Add(int64(4000), int64(400), int64(500), int64(3000), int64(300), int64(0), int64(2000), int64(200), int64(0), int64(900),
		int64(1000), int64(500), int64(100), int64(0), false, false, uint8(1), uint8(0))
	f.Add(int64(math.MaxInt64/4), int64(0), int64(math.MaxInt64/4), int64(math.MaxInt64/4), int64(1), int64(0), int64(1), int64(0), int64(0), int64(math.MaxInt64/4),
		int64(10000), int64(0), int64(0), int64(0), true, true, uint8(2), uint8(2))
	f.Add(int64(1), int64(0), int64(1), int64(0), int64(0), int64(0), int64(0), int64(0), int64(0), int64(1),
		int64(0), int64(10000), int64(5), int64(0), false, true, uint8(1), uint8(3))
	f.Fuzz(func(t *testing.T, s1, t1, d1, s2, t2, d2, s3, t3, d3, shipping int64,
		platformBps, affiliateBps, minFee, maxFee int64, onTax, onShipping bool, third, affiliate uint8) {
		vendors := []string{"va", "vb", []string{"va", "vb", "vc"}[third%3]}
		o := Order{Currency: "usd", Shipping: shipping, AffiliateID: []string{"", "aff", "va", "VB"}[affiliate%4], Lines: []Line{
			{VendorID: vendors[0], Subtotal: s1, Tax: t1, Discount: d1},
			{VendorID: vendors[1], Subtotal: s2, Tax: t2, Discount: d2},
			{VendorID: vendors[2], Subtotal: s3, Tax: t3, Discount: d3},
		}}
		sum := func(a ...int64) (int64, bool) {
			var s int64
			for _, v := range a {
				var err error
				if s, err = money.AddInt(s, v); err != nil {
					return 0, false
				}
			}
			return s, true
		}
		var ok [3]bool
		o.Subtotal, ok[0] = sum(s1, s2, s3)
		o.Tax, ok[1] = sum(t1, t2, t3)
		o.Discount, ok[2] = sum(d1, d2, d3)
		if ok != [3]bool{true, true, true} {
			return
		}
		// A third of what is charged beyond the goods is extras (a tip, duties, fees), never
		// commissioned whatever the rule.
		if o.Shipping > 0 {
			o.Extras = o.Shipping / 3
			o.Shipping -= o.Extras
		}
		g, err := Total(o.Subtotal, o.Discount, o.Tax, o.Shipping, o.Extras)
		if err != nil {
			return
		}
		o.Gross = g
		r := Rule{Version: 1, PlatformBps: platformBps, AffiliateBps: affiliateBps, MinPlatformFee: minFee,
			MaxPlatformFee: maxFee, CommissionOnTax: onTax, CommissionOnShipping: onShipping}
		s, err := Compute(o, r)
		if err != nil {
			if !wrapsSentinel(err, isComputeSentinel) {
				t.Fatalf("error wraps no sentinel: %v", err)
			}
			return
		}
		total := new(big.Int)
		taxBy := map[string]int64{}
		for _, l := range o.Lines {
			taxBy[l.VendorID] += l.Tax
		}
		for _, l := range s.Legs {
			if l.Amount < 0 {
				t.Fatalf("negative leg %+v in %+v", l, s)
			}
			total.Add(total, big.NewInt(l.Amount))
			if l.Party == PartyVendor && !onTax && l.Amount < taxBy[l.PayeeID] {
				t.Fatalf("vendor %s paid %d, less than its tax %d", l.PayeeID, l.Amount, taxBy[l.PayeeID])
			}
			if l.Party == PartyAffiliate && l.Amount != 0 && slices.ContainsFunc(vendors, func(v string) bool { return strings.EqualFold(v, l.PayeeID) }) {
				t.Fatalf("affiliate %s is a vendor and took %d", l.PayeeID, l.Amount)
			}
		}
		if total.Cmp(big.NewInt(o.Gross)) != 0 {
			t.Fatalf("legs %v sum to %s, gross %d", s.Legs, total, o.Gross)
		}
		p, _ := s.Leg(PartyPlatform)
		a, _ := s.Leg(PartyAffiliate)
		if p.Amount+a.Amount > s.CommissionBase {
			t.Fatalf("commissions %d + %d exceed base %d", p.Amount, a.Amount, s.CommissionBase)
		}
		if s.CommissionBase > o.Gross-o.Extras {
			t.Fatalf("commission base %d takes in extras: gross %d, extras %d", s.CommissionBase, o.Gross, o.Extras)
		}
	})
}
