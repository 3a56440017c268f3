package split

import (
	"fmt"

	"paysplit/internal/money"
)

// Order is the captured amount and how it breaks down. All amounts are
// minor units of Currency and must satisfy
// Gross = Subtotal - Discount + Tax + Shipping + Extras.
type Order struct {
	Currency    money.Currency `json:"currency"`
	Gross       int64          `json:"gross"`
	Subtotal    int64          `json:"subtotal"`
	Tax         int64          `json:"tax"`
	Shipping    int64          `json:"shipping"`
	Discount    int64          `json:"discount"`
	VendorID    string         `json:"vendor_id"`
	AffiliateID string         `json:"affiliate_id,omitempty"`
	// AffiliateIsVendor says the affiliate is a payee registered as a vendor (of another order):
	// a payee is paid only as its kind, so it takes no affiliate share (see selfReferral), its leg
	// stays at 0. The caller knows the payees; the order's own vendors are recognized here.
	AffiliateIsVendor bool `json:"affiliate_is_vendor,omitempty"`
	// Lines divide a multi-vendor order by vendor; they must add up to the order's subtotal, tax
	// and discount. Empty means the whole order is VendorID's.
	Lines []Line `json:"lines,omitempty"`
	// Extras is what the customer paid that is neither a vendor's sale, its tax, nor shipping: a
	// tip, import duties, a checkout's fees (with their tax). No rule commissions it, not even
	// one with CommissionOnShipping: it goes to the vendor whole, as uncommissioned shipping does.
	// Omitted when zero, so orders recorded before it existed decode and encode unchanged.
	Extras int64 `json:"extras,omitempty"`
}

// Line is one vendor's part of an order.
type Line struct {
	VendorID string `json:"vendor_id"`
	Subtotal int64  `json:"subtotal"`
	Tax      int64  `json:"tax"`
	Discount int64  `json:"discount"`
}

// validate returns the normalized currency or the first problem with o.
// The components must reconcile with the gross exactly: a split of an order
// that does not add up would pay out money nobody can account for.
func (o Order) validate() (money.Currency, error) {
	cur, err := money.ParseCurrency(string(o.Currency))
	if err != nil {
		return "", fmt.Errorf("order currency: %w", err)
	}
	for _, f := range []struct {
		name string
		v    int64
	}{{"gross", o.Gross}, {"subtotal", o.Subtotal}, {"tax", o.Tax}, {"shipping", o.Shipping}, {"discount", o.Discount}, {"extras", o.Extras}} {
		if f.v < 0 {
			return "", fmt.Errorf("order %s %d: %w", f.name, f.v, ErrNegativeAmount)
		}
	}
	if o.Discount > o.Subtotal {
		return "", fmt.Errorf("order discount %d > subtotal %d: %w", o.Discount, o.Subtotal, ErrDiscountExceedsSubtotal)
	}
	sum, err := Total(o.Subtotal, o.Discount, o.Tax, o.Shipping, o.Extras)
	if err != nil {
		return "", fmt.Errorf("%w: subtotal %d - discount %d + tax %d + shipping %d + extras %d overflows (gross %d): %w",
			ErrComponentsMismatch, o.Subtotal, o.Discount, o.Tax, o.Shipping, o.Extras, o.Gross, err)
	}
	if sum != o.Gross {
		return "", fmt.Errorf("%w: subtotal %d - discount %d + tax %d + shipping %d + extras %d = %d, gross %d",
			ErrComponentsMismatch, o.Subtotal, o.Discount, o.Tax, o.Shipping, o.Extras, sum, o.Gross)
	}
	return cur, nil
}

// Total is what an order's parts ask the customer to pay, subtotal - discount + tax + shipping +
// extras, the sum a split checks against the gross; an error when it overflows.
func Total(subtotal, discount, tax, shipping, extras int64) (int64, error) {
	sum := subtotal - discount
	var err error
	for _, v := range []int64{tax, shipping, extras} {
		if sum, err = money.AddInt(sum, v); err != nil {
			return 0, err
		}
	}
	return sum, nil
}

// commissionBase is what the percentages apply to. Tax and shipping are
// excluded by default because they are pass-through money the vendor owes
// to tax authorities and carriers, not revenue to take a cut of. Extras are
// excluded always: no rule names a tip, duties or a checkout's fee, and a
// rule that says "shipping" does not say them.
// It never exceeds Gross, so no overflow is possible after validate.
func (o Order) commissionBase(r Rule) int64 {
	base := o.Subtotal - o.Discount
	if r.CommissionOnTax {
		base += o.Tax
	}
	if r.CommissionOnShipping {
		base += o.Shipping
	}
	return base
}
