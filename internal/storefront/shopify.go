package storefront

import (
	"encoding/json"
	"fmt"
	"strings"

	"paysplit/internal/money"
	"paysplit/internal/payment"
)

// Shopify webhook topics we act on.
const (
	ShopifyOrdersPaid    = "orders/paid"
	ShopifyOrdersCreate  = "orders/create"
	ShopifyRefundsCreate = "refunds/create"
)

// shopifyOrder is the part of Shopify's order webhook payload (the REST Admin API Order) that
// splits need. Customer, addresses, client_details, payment details and the like have no field
// here, so they are never even decoded.
type shopifyOrder struct {
	ID              flexID            `json:"id"`
	Currency        string            `json:"currency"`
	FinancialStatus string            `json:"financial_status"`
	CancelledAt     *string           `json:"cancelled_at"`
	TaxesIncluded   bool              `json:"taxes_included"`
	LineItems       []shopifyLine     `json:"line_items"`
	ShippingLines   []shopifyShipping `json:"shipping_lines"`
	DiscountCodes   []struct {
		Code string `json:"code"`
	} `json:"discount_codes"`
	NoteAttributes []struct {
		Name  string `json:"name"`
		Value flexID `json:"value"`
	} `json:"note_attributes"`
}

type shopifyAmount struct {
	Amount decimal `json:"amount"`
}

type shopifyTax struct {
	Price decimal `json:"price"`
}

type shopifyLine struct {
	Vendor              string          `json:"vendor"`
	Price               decimal         `json:"price"`
	Quantity            int64           `json:"quantity"`
	TotalDiscount       decimal         `json:"total_discount"`
	DiscountAllocations []shopifyAmount `json:"discount_allocations"`
	TaxLines            []shopifyTax    `json:"tax_lines"`
}

type shopifyShipping struct {
	Price               decimal         `json:"price"`
	DiscountAllocations []shopifyAmount `json:"discount_allocations"`
	TaxLines            []shopifyTax    `json:"tax_lines"`
}

type shopifyRefund struct {
	OrderID      flexID `json:"order_id"`
	Transactions []struct {
		Kind     string  `json:"kind"`
		Status   string  `json:"status"`
		Amount   decimal `json:"amount"`
		Currency string  `json:"currency"`
	} `json:"transactions"`
}

// affiliateAttributes are the order note attributes (cart attributes) a storefront theme or app
// sets to name the affiliate or referral code behind an order, matched without regard to case.
var affiliateAttributes = []string{"affiliate_id", "affiliate", "referral_code", "referral", "ref"}

// ParseShopify reads one Shopify webhook. orders/paid and orders/create carry the whole order;
// refunds/create only changes the status of an order stored before. Other topics are ignored.
func ParseShopify(clientID, topic string, body []byte) (Result, error) {
	res := Result{Topic: topic}
	switch topic {
	case ShopifyOrdersPaid, ShopifyOrdersCreate:
		var so shopifyOrder
		if err := json.Unmarshal(body, &so); err != nil {
			return Result{}, malformed(Shopify, err)
		}
		o, err := so.normalize(clientID)
		if err != nil {
			return Result{}, err
		}
		res.Orders = []Order{o}
	case ShopifyRefundsCreate:
		var r shopifyRefund
		if err := json.Unmarshal(body, &r); err != nil {
			return Result{}, malformed(Shopify, err)
		}
		u, err := r.normalize()
		if err != nil {
			return Result{}, err
		}
		res.Updates = []StatusUpdate{u}
	default:
		res.Ignored = true
	}
	return res, nil
}

func (so shopifyOrder) normalize(clientID string) (Order, error) {
	o := Order{Order: payment.Order{ClientID: clientID, OrderID: string(so.ID), Platform: Shopify}}
	if err := validID("order id", o.OrderID); err != nil {
		return Order{}, err
	}
	cur, err := parseCurrency(so.Currency)
	if err != nil {
		return Order{}, err
	}
	o.Currency = cur
	var vendors vendorLines
	for i, li := range so.LineItems {
		if li.Quantity < 0 {
			return Order{}, fmt.Errorf("%w: line_items[%d] has a negative quantity", ErrInvalidOrder, i)
		}
		if li.Quantity == 0 {
			continue // removed by an order edit: nothing sold, nobody to pay
		}
		sub, tax, disc, err := li.amounts(i, cur, so.TaxesIncluded)
		if err != nil {
			return Order{}, err
		}
		if strings.TrimSpace(li.Vendor) == "" {
			return Order{}, fmt.Errorf("%w: line_items[%d] has no vendor", ErrInvalidOrder, i)
		}
		vendor, err := PayeeID(clientID, li.Vendor)
		if err != nil {
			return Order{}, err
		}
		if err := vendors.add(vendor, sub, tax, disc); err != nil {
			return Order{}, err
		}
	}
	if err := finish(&o.Order, &vendors); err != nil {
		return Order{}, err
	}
	for i, sl := range so.ShippingLines {
		ship, err := sl.amount(i, cur, so.TaxesIncluded)
		if err != nil {
			return Order{}, err
		}
		if o.Shipping, err = add("shipping", o.Shipping, ship); err != nil {
			return Order{}, err
		}
	}
	for _, na := range so.NoteAttributes {
		for _, name := range affiliateAttributes {
			if o.AffiliateID == "" && strings.EqualFold(strings.TrimSpace(na.Name), name) && strings.TrimSpace(string(na.Value)) != "" {
				if o.AffiliateID, err = PayeeID(clientID, string(na.Value)); err != nil {
					return Order{}, err
				}
			}
		}
	}
	codes := make([]string, 0, len(so.DiscountCodes))
	for _, dc := range so.DiscountCodes {
		codes = append(codes, dc.Code)
	}
	o.ReferralCodes = referralCodes(clientID, codes)
	o.Status = status(so.FinancialStatus)
	if so.CancelledAt != nil && *so.CancelledAt != "" {
		o.Status = "cancelled"
	}
	return o, nil
}

// amounts of one line: subtotal is price × quantity before discounts and without tax (when the
// shop's prices include tax, the line's tax is taken out), discount is what Shopify allocated to
// the line from line and order discounts, tax is the line's tax lines.
func (li shopifyLine) amounts(i int, cur money.Currency, taxesIncluded bool) (subtotal, tax, disc int64, err error) {
	field := fmt.Sprintf("line_items[%d]", i)
	price, err := li.Price.nonNegative(field+".price", cur)
	if err != nil {
		return 0, 0, 0, err
	}
	if subtotal, err = money.MulDivFloor(price, li.Quantity, 1); err != nil {
		return 0, 0, 0, fmt.Errorf("%w: %s: price × quantity: %v", ErrInvalidOrder, field, err)
	}
	for j, t := range li.TaxLines {
		v, err := t.Price.nonNegative(fmt.Sprintf("%s.tax_lines[%d].price", field, j), cur)
		if err != nil {
			return 0, 0, 0, err
		}
		if tax, err = add(field+" tax", tax, v); err != nil {
			return 0, 0, 0, err
		}
	}
	if len(li.DiscountAllocations) > 0 {
		for j, d := range li.DiscountAllocations {
			v, err := d.Amount.nonNegative(fmt.Sprintf("%s.discount_allocations[%d].amount", field, j), cur)
			if err != nil {
				return 0, 0, 0, err
			}
			if disc, err = add(field+" discount", disc, v); err != nil {
				return 0, 0, 0, err
			}
		}
	} else if disc, err = li.TotalDiscount.nonNegative(field+".total_discount", cur); err != nil {
		return 0, 0, 0, err
	}
	if taxesIncluded {
		if subtotal, err = sub(field, subtotal, tax); err != nil {
			return 0, 0, 0, err
		}
	}
	if subtotal < 0 || disc > subtotal {
		return 0, 0, 0, fmt.Errorf("%w: %s: discount or tax exceeds the line's price", ErrInvalidOrder, field)
	}
	return subtotal, tax, disc, nil
}

// amount of one shipping line: its price less shipping discounts, plus its tax unless the price
// already includes it. Shipping tax is counted with shipping, not with the vendors' line tax.
func (sl shopifyShipping) amount(i int, cur money.Currency, taxesIncluded bool) (int64, error) {
	field := fmt.Sprintf("shipping_lines[%d]", i)
	ship, err := sl.Price.nonNegative(field+".price", cur)
	if err != nil {
		return 0, err
	}
	for j, d := range sl.DiscountAllocations {
		v, err := d.Amount.nonNegative(fmt.Sprintf("%s.discount_allocations[%d].amount", field, j), cur)
		if err != nil {
			return 0, err
		}
		if ship, err = sub(field, ship, v); err != nil {
			return 0, err
		}
	}
	if !taxesIncluded {
		for j, t := range sl.TaxLines {
			v, err := t.Price.nonNegative(fmt.Sprintf("%s.tax_lines[%d].price", field, j), cur)
			if err != nil {
				return 0, err
			}
			if ship, err = add(field, ship, v); err != nil {
				return 0, err
			}
		}
	}
	if ship < 0 {
		return 0, fmt.Errorf("%w: %s: discounts exceed the shipping price", ErrInvalidOrder, field)
	}
	return ship, nil
}

func (r shopifyRefund) normalize() (StatusUpdate, error) {
	u := StatusUpdate{OrderID: string(r.OrderID), Status: "partially_refunded"}
	if err := validID("order_id", u.OrderID); err != nil {
		return StatusUpdate{}, err
	}
	for i, t := range r.Transactions {
		if t.Kind != "refund" || t.Status != "success" {
			continue
		}
		cur, err := parseCurrency(t.Currency)
		if err != nil {
			return StatusUpdate{}, err
		}
		if u.Currency != "" && u.Currency != cur {
			return StatusUpdate{}, fmt.Errorf("%w: refund transactions in %s and %s", ErrInvalidOrder, u.Currency.Upper(), cur.Upper())
		}
		u.Currency = cur
		v, err := t.Amount.nonNegative(fmt.Sprintf("transactions[%d].amount", i), cur)
		if err != nil {
			return StatusUpdate{}, err
		}
		if u.Refunded, err = add("refunded", u.Refunded, v); err != nil {
			return StatusUpdate{}, err
		}
	}
	return u, nil
}
