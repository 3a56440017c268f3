package split

import (
	"fmt"
	"slices"
	"strings"

	"paysplit/internal/money"
)

// Party is who a leg pays.
type Party string

const (
	PartyPlatform  Party = "platform"
	PartyVendor    Party = "vendor"
	PartyAffiliate Party = "affiliate"
)

// Leg is one party's share of a payment in minor units.
type Leg struct {
	Party   Party  `json:"party"`
	PayeeID string `json:"payee_id"`
	Amount  int64  `json:"amount"`
}

// Split is the result of Compute. Legs are ordered platform, vendor, then
// affiliate when present, and always sum to Gross.
type Split struct {
	Currency       money.Currency `json:"currency"`
	Gross          int64          `json:"gross"`
	CommissionBase int64          `json:"commission_base"`
	RuleVersion    int            `json:"rule_version"`
	Legs           []Leg          `json:"legs"`
	// PayoutUnit is the smallest amount its payees can be paid in, when PayableIn made it so
	// (100 for PayPal in HUF); 0 means any.
	PayoutUnit int64 `json:"payout_unit,omitempty"`
}

// Compute divides o according to r. See the package comment for who
// receives rounding leftovers and why. An order with Lines is split per
// vendor (see computeLines).
func Compute(o Order, r Rule) (Split, error) {
	if len(o.Lines) > 0 {
		return computeLines(o, r)
	}
	cur, err := o.validate()
	if err != nil {
		return Split{}, err
	}
	if err := r.Validate(); err != nil {
		return Split{}, fmt.Errorf("rule %q v%d: %w", r.ClientID, r.Version, err)
	}
	if o.VendorID == "" {
		return Split{}, fmt.Errorf("order vendor_id is empty: %w", ErrMissingVendor)
	}

	base := o.commissionBase(r)
	var affiliate int64
	if o.AffiliateID != "" && !strings.EqualFold(o.AffiliateID, o.VendorID) && !o.AffiliateIsVendor {
		// Without an affiliate the share is simply not taken, so it stays
		// with the vendor rather than being reassigned to the platform. A vendor
		// (this order's, referring its own sale, or another's) is no affiliate (see
		// selfReferral; payee IDs match without regard to case): its leg stays, at 0.
		if affiliate, err = money.MulDivFloor(base, r.AffiliateBps, bpsDenominator); err != nil {
			return Split{}, fmt.Errorf("affiliate commission: %w", err)
		}
	}
	platform, err := money.MulDivFloor(base, r.PlatformBps, bpsDenominator)
	if err != nil {
		return Split{}, fmt.Errorf("platform commission: %w", err)
	}
	if r.boundsApply(cur) {
		if platform < r.MinPlatformFee {
			platform = r.MinPlatformFee
		}
		if r.MaxPlatformFee > 0 && platform > r.MaxPlatformFee {
			platform = r.MaxPlatformFee
		}
	}
	// A minimum fee on a tiny order must not eat into the affiliate's share
	// or into tax, shipping and extras, which are never the platform's money.
	platform = min(platform, base-affiliate)

	legs := []Leg{
		{Party: PartyPlatform, PayeeID: string(PartyPlatform), Amount: platform},
		{Party: PartyVendor, PayeeID: o.VendorID, Amount: o.Gross - platform - affiliate},
	}
	if o.AffiliateID != "" {
		legs = append(legs, Leg{Party: PartyAffiliate, PayeeID: o.AffiliateID, Amount: affiliate})
	}
	return Split{Currency: cur, Gross: o.Gross, CommissionBase: base, RuleVersion: r.Version, Legs: legs}, nil
}

// Leg returns the first leg paying p.
func (s Split) Leg(p Party) (Leg, bool) {
	for _, l := range s.Legs {
		if l.Party == p {
			return l, true
		}
	}
	return Leg{}, false
}

// Sum adds the leg amounts. Legs from Compute are non-negative and sum to
// Gross, so this cannot overflow for them; use CheckedSum on a Split that
// came from elsewhere (JSON, a database) before trusting it.
func (s Split) Sum() int64 {
	var total int64
	for _, l := range s.Legs {
		total += l.Amount
	}
	return total
}

// CheckedSum is Sum with overflow detection, for Splits of unknown origin.
func (s Split) CheckedSum() (int64, error) {
	var total int64
	for i, l := range s.Legs {
		var err error
		if total, err = money.AddInt(total, l.Amount); err != nil {
			return 0, fmt.Errorf("split legs[%d] (%s): %w", i, l.Party, err)
		}
	}
	return total, nil
}

// Amounts lists the leg amounts in leg order, the shape AllocateRefund takes.
func (s Split) Amounts() []int64 {
	out := make([]int64, len(s.Legs))
	for i, l := range s.Legs {
		out[i] = l.Amount
	}
	return out
}

// PayableIn makes every payee leg a multiple of unit minor units, for a rail that pays only whole
// units (PayPal takes HUF and TWD without decimals). The platform's leg, which is kept rather than
// paid out, evens the fractions out: it makes up the rest of a payee's last unit where its share
// can, so a payee is not paid less than its split and the platform takes no more than its rate;
// where its share cannot, the payee's fraction is left to the platform. The legs still sum to
// Gross. A unit of 1 or less, or a split without a platform leg, is returned as it is.
func (s Split) PayableIn(unit int64) Split {
	p := slices.IndexFunc(s.Legs, func(l Leg) bool { return l.Party == PartyPlatform })
	if unit <= 1 || p < 0 {
		return s
	}
	amounts := make([]int64, len(s.Legs))
	for i, l := range s.Legs {
		amounts[i] = l.Amount
	}
	evenOut(amounts, nil, p, unit)
	legs := slices.Clone(s.Legs)
	for i := range legs {
		legs[i].Amount = amounts[i]
	}
	s.Legs, s.PayoutUnit = legs, unit
	return s
}

// evenOut makes every part but the platform's a multiple of unit, the platform's part evening
// them out: a part is rounded up, taking from the platform's, where the platform's has that much
// and the part stays within its bound; else down, the platform's taking the fraction where it
// stays within its bound; else it is left as it is. bounds nil means no bounds. The sum is kept.
func evenOut(parts, bounds []int64, platform int, unit int64) {
	within := func(i int, v int64) bool { return bounds == nil || v <= bounds[i] }
	for i := range parts {
		frac := parts[i] % unit
		if i == platform || frac == 0 {
			continue
		}
		switch up := unit - frac; {
		case parts[platform] >= up && within(i, parts[i]+up):
			parts[i] += up
			parts[platform] -= up
		case within(platform, parts[platform]+frac):
			parts[i] -= frac
			parts[platform] += frac
		}
	}
}
