package split

import (
	"fmt"
	"slices"
	"strings"

	"paysplit/internal/money"
)

// computeLines splits a multi-vendor order: each vendor's lines are treated as an order of their
// own (their subtotal, discount and tax, plus a share of the order's shipping and of its extras
// in proportion to their net amount, largest remainder), split under the same rule, so every vendor is paid on its
// own lines' net amount and commission never touches another vendor's money. The platform's and
// the affiliate's shares are the sums of the per-vendor shares; a minimum or maximum platform fee
// applies per vendor part. An affiliate that is one of the order's vendors takes no share of any
// part (selfReferral). Legs: platform, one per vendor in order of first appearance, affiliate.
func computeLines(o Order, r Rule) (Split, error) {
	cur, err := o.validate()
	if err != nil {
		return Split{}, err
	}
	parts, err := vendorParts(o)
	if err != nil {
		return Split{}, err
	}
	if o.AffiliateIsVendor || selfReferral(o.AffiliateID, parts) {
		for i := range parts {
			parts[i].AffiliateID = ""
		}
	}
	out := Split{Currency: cur, Gross: o.Gross, RuleVersion: r.Version}
	var platform, affiliate int64
	var vendors []Leg
	for _, p := range parts {
		s, err := Compute(p, r)
		if err != nil {
			return Split{}, fmt.Errorf("vendor %s: %w", p.VendorID, err)
		}
		out.CommissionBase += s.CommissionBase
		for _, l := range s.Legs {
			switch l.Party {
			case PartyPlatform:
				platform += l.Amount
			case PartyAffiliate:
				affiliate += l.Amount
			default:
				vendors = append(vendors, l)
			}
		}
	}
	out.Legs = append([]Leg{{Party: PartyPlatform, PayeeID: string(PartyPlatform), Amount: platform}}, vendors...)
	if o.AffiliateID != "" {
		out.Legs = append(out.Legs, Leg{Party: PartyAffiliate, PayeeID: o.AffiliateID, Amount: affiliate})
	}
	return out, nil
}

// selfReferral says whether the order's affiliate is one of its vendors. A payee has one kind and
// is paid only as that kind (activities.ResolvePayee), so an affiliate leg to a vendor is held for
// good, an admin's release held again, its share paid to nobody; and a vendor that refers a cart
// is no third party to pay for it. The share is left where no affiliate leaves it: with the
// vendors. The affiliate leg stays, at 0, so the split keeps its shape. IDs are compared without
// regard to case, as payees are found (store.RegisteredPayeeID): "Acme" is the vendor "acme".
func selfReferral(affiliate string, parts []Order) bool {
	return affiliate != "" && slices.ContainsFunc(parts, func(p Order) bool { return strings.EqualFold(p.VendorID, affiliate) })
}

// vendorParts groups the lines by vendor and gives each group its share of the shipping and of
// the extras.
func vendorParts(o Order) ([]Order, error) {
	var parts []Order
	index := map[string]int{}
	var sub, tax, disc int64
	for i, l := range o.Lines {
		if l.VendorID == "" {
			return nil, fmt.Errorf("order lines[%d] vendor_id is empty: %w", i, ErrMissingVendor)
		}
		if l.Subtotal < 0 || l.Tax < 0 || l.Discount < 0 {
			return nil, fmt.Errorf("order lines[%d] has a negative amount: %w", i, ErrNegativeAmount)
		}
		j, ok := index[l.VendorID]
		if !ok {
			j = len(parts)
			index[l.VendorID] = j
			parts = append(parts, Order{Currency: o.Currency, VendorID: l.VendorID, AffiliateID: o.AffiliateID})
		}
		p := &parts[j]
		// Sums of parts never exceed the validated order totals, so they cannot overflow
		// unless the lines themselves don't add up, which the check below reports.
		p.Subtotal, p.Tax, p.Discount = p.Subtotal+l.Subtotal, p.Tax+l.Tax, p.Discount+l.Discount
		sub, tax, disc = sub+l.Subtotal, tax+l.Tax, disc+l.Discount
		if sub < 0 || tax < 0 || disc < 0 {
			return nil, fmt.Errorf("order lines overflow: %w", money.ErrOverflow)
		}
	}
	if sub != o.Subtotal || tax != o.Tax || disc != o.Discount {
		return nil, fmt.Errorf("%w: lines add up to subtotal %d, tax %d, discount %d; the order says %d, %d, %d",
			ErrComponentsMismatch, sub, tax, disc, o.Subtotal, o.Tax, o.Discount)
	}
	weights := make([]int64, len(parts))
	var total int64
	for i, p := range parts {
		if p.Discount > p.Subtotal {
			return nil, fmt.Errorf("vendor %s discount %d > subtotal %d: %w", p.VendorID, p.Discount, p.Subtotal, ErrDiscountExceedsSubtotal)
		}
		weights[i] = p.Subtotal - p.Discount
		total += weights[i]
	}
	if total == 0 {
		for i := range weights {
			weights[i] = 1 // nothing to weigh by: share shipping evenly
		}
	}
	shipping, err := money.AllocateLargestRemainder(o.Shipping, weights)
	if err != nil {
		return nil, fmt.Errorf("share shipping: %w", err)
	}
	// Extras (a tip, duties, fees) are shared as shipping is: the order's, not one line's.
	extras, err := money.AllocateLargestRemainder(o.Extras, weights)
	if err != nil {
		return nil, fmt.Errorf("share extras: %w", err)
	}
	for i := range parts {
		parts[i].Shipping, parts[i].Extras = shipping[i], extras[i]
		parts[i].Gross = parts[i].Subtotal - parts[i].Discount + parts[i].Tax + parts[i].Shipping + parts[i].Extras
	}
	return parts, nil
}
