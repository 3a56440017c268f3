package storefront

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"paysplit/internal/money"
	"paysplit/internal/payment"
)

// WooCommerce webhook topics we act on (X-WC-Webhook-Topic).
const (
	WooOrderCreated = "order.created"
	WooOrderUpdated = "order.updated"
)

// wooOrder is the part of the WooCommerce REST API v3 order (the body of order.* webhooks) that
// splits need. billing, shipping (the address), customer_note, customer_ip_address and payment
// fields have no field here and are never decoded.
type wooOrder struct {
	ID            flexID        `json:"id"`
	Number        flexID        `json:"number"`
	Status        string        `json:"status"`
	ModifiedGMT   string        `json:"date_modified_gmt"`
	Currency      string        `json:"currency"`
	DiscountTotal decimal       `json:"discount_total"`
	ShippingTotal decimal       `json:"shipping_total"`
	ShippingTax   decimal       `json:"shipping_tax"`
	CartTax       decimal       `json:"cart_tax"`
	Total         decimal       `json:"total"`
	MetaData      []wooMeta     `json:"meta_data"`
	LineItems     []wooLine     `json:"line_items"`
	FeeLines      []wooFee      `json:"fee_lines"`
	CouponLines   []wooCoupon   `json:"coupon_lines"`
	ShippingLines []wooShipping `json:"shipping_lines"`
}

type wooMeta struct {
	Key   string          `json:"key"`
	Value json.RawMessage `json:"value"`
}

type wooLine struct {
	// Quantity is a number, not always a whole one: stores selling by weight or length filter
	// woocommerce_stock_amount to a float. Only its sign is read; the amounts are the line's.
	Quantity flexID    `json:"quantity"`
	Subtotal decimal   `json:"subtotal"`
	Total    decimal   `json:"total"`
	TotalTax decimal   `json:"total_tax"`
	MetaData []wooMeta `json:"meta_data"`
}

type wooFee struct {
	Total    decimal `json:"total"`
	TotalTax decimal `json:"total_tax"`
}

type wooCoupon struct {
	Code string `json:"code"`
}

type wooShipping struct {
	Total decimal `json:"total"`
}

// Where a WooCommerce store says who sold a line. Line item meta first: `_vendor_id` is what WCFM
// writes and what our store plugin must write for other marketplace plugins; then order meta:
// Dokan splits a multi-vendor cart into one sub-order per vendor and marks each with
// `_dokan_vendor_id`, so such an order has a single vendor.
var (
	wooLineVendorKeys  = []string{"_vendor_id", "vendor_id"}
	wooOrderVendorKeys = []string{"_dokan_vendor_id", "_vendor_id", "vendor_id"}
	wooAffiliateKeys   = []string{"_affiliate_id", "affiliate_id", "_referral_code", "referral_code"}
)

// metaValue finds the first of keys with a non-empty string or number value.
func metaValue(meta []wooMeta, keys []string) string {
	for _, k := range keys {
		for _, m := range meta {
			if m.Key != k {
				continue
			}
			v := bytes.TrimSpace(m.Value)
			var s string
			if json.Unmarshal(v, &s) == nil && strings.TrimSpace(s) != "" {
				return strings.TrimSpace(s)
			}
			var n json.Number
			if json.Unmarshal(v, &n) == nil {
				return n.String()
			}
		}
	}
	return ""
}

// ParseWooCommerce reads one WooCommerce webhook. order.created and order.updated carry the whole
// order; other topics are ignored.
func ParseWooCommerce(clientID, topic string, body []byte) (Result, error) {
	res := Result{Topic: topic}
	if topic != WooOrderCreated && topic != WooOrderUpdated {
		res.Ignored = true
		return res, nil
	}
	var wo wooOrder
	if err := json.Unmarshal(body, &wo); err != nil {
		return Result{}, malformed(WooCommerce, err)
	}
	o, err := wo.normalize(clientID)
	if err != nil {
		return Result{}, err
	}
	res.Orders = []Order{o}
	return res, nil
}

// normalize maps WooCommerce's totals. Line subtotal and total are before and after discounts and
// exclude tax whatever the store's tax display. The order's cart_tax (items and fees) and
// discount_total are what the customer paid, so they are the order's tax and discount, shared
// between vendors in proportion to their lines' own tax and discount (WooCommerce may round tax
// per order rather than per line, which leaves the lines a cent apart from the order).
// shipping_total is shipping and shipping_tax is tax (addShippingTax); fees, with their tax, are
// extras (never commissioned, not even by a rule that commissions shipping); a negative fee is a
// discount.
func (wo wooOrder) normalize(clientID string) (Order, error) {
	// The order number is what WooCommerce's Stripe and PayPal plugins put in the payment's
	// order_id; it is the post ID unless a sequential-numbers plugin renumbers orders.
	id := string(wo.Number)
	if id == "" {
		id = string(wo.ID)
	}
	o := Order{Order: payment.Order{ClientID: clientID, OrderID: id, Platform: WooCommerce}, Status: status(wo.Status)}
	if err := validID("order number", id); err != nil {
		return Order{}, err
	}
	cur, err := parseCurrency(wo.Currency)
	if err != nil {
		return Order{}, err
	}
	o.Currency = cur
	orderVendor := metaValue(wo.MetaData, wooOrderVendorKeys)

	var vendors vendorLines
	for i, li := range wo.LineItems {
		if strings.HasPrefix(strings.TrimSpace(string(li.Quantity)), "-") {
			return Order{}, fmt.Errorf("%w: line_items[%d] has a negative quantity", ErrInvalidOrder, i)
		}
		field := fmt.Sprintf("line_items[%d]", i)
		subtotal, err := li.Subtotal.nonNegative(field+".subtotal", cur)
		if err != nil {
			return Order{}, err
		}
		total, err := li.Total.nonNegative(field+".total", cur)
		if err != nil {
			return Order{}, err
		}
		tax, err := li.TotalTax.nonNegative(field+".total_tax", cur)
		if err != nil {
			return Order{}, err
		}
		if total > subtotal {
			return Order{}, fmt.Errorf("%w: %s: total exceeds subtotal", ErrInvalidOrder, field)
		}
		vendorRef := metaValue(li.MetaData, wooLineVendorKeys)
		if vendorRef == "" {
			vendorRef = orderVendor
		}
		if vendorRef == "" {
			return Order{}, fmt.Errorf("%w: %s has no vendor (line meta _vendor_id or order meta _dokan_vendor_id)", ErrInvalidOrder, field)
		}
		vendor, err := PayeeID(clientID, vendorRef)
		if err != nil {
			return Order{}, err
		}
		if err := vendors.add(vendor, subtotal, tax, subtotal-total); err != nil {
			return Order{}, err
		}
	}
	shippingTax, err := wo.orderTotals(&o.Order, &vendors, cur)
	if err != nil {
		return Order{}, err
	}
	if err := finish(&o.Order, &vendors); err != nil {
		return Order{}, err
	}
	if err := addShippingTax(&o.Order, shippingTax); err != nil {
		return Order{}, err
	}
	if ref := metaValue(wo.MetaData, wooAffiliateKeys); ref != "" {
		if o.AffiliateID, err = PayeeID(clientID, ref); err != nil {
			return Order{}, err
		}
	}
	codes := make([]string, 0, len(wo.CouponLines))
	for _, c := range wo.CouponLines {
		codes = append(codes, c.Code)
	}
	o.ReferralCodes = referralCodes(clientID, codes)
	if o.ShopTime, err = shopTime("date_modified_gmt", wo.ModifiedGMT); err != nil {
		return Order{}, err
	}
	if err := wo.checkTotal(&o.Order, cur); err != nil {
		return Order{}, err
	}
	return o, nil
}

// orderTotals replaces the vendors' summed tax and discount with the order's own, shared in
// proportion, and sets shipping and extras. It answers the shipping's tax, which the caller counts
// as tax once the lines are final (addShippingTax).
func (wo wooOrder) orderTotals(o *payment.Order, v *vendorLines, cur money.Currency) (int64, error) {
	discount, err := wo.DiscountTotal.nonNegative("discount_total", cur)
	if err != nil {
		return 0, err
	}
	cartTax, err := wo.CartTax.nonNegative("cart_tax", cur)
	if err != nil {
		return 0, err
	}
	shipping, err := wo.ShippingTotal.nonNegative("shipping_total", cur)
	if err != nil {
		return 0, err
	}
	shippingTax, err := wo.ShippingTax.nonNegative("shipping_tax", cur)
	if err != nil {
		return 0, err
	}
	var fees, feeTax, feeDiscount int64
	for i, f := range wo.FeeLines {
		total, err := f.Total.minor(fmt.Sprintf("fee_lines[%d].total", i), cur)
		if err != nil {
			return 0, err
		}
		tax, err := f.TotalTax.minor(fmt.Sprintf("fee_lines[%d].total_tax", i), cur)
		if err != nil {
			return 0, err
		}
		if total < 0 {
			// WooCommerce's cart takes a negative fee as a discount ("so it works as a true
			// discount", its tax spread over the items): off the vendors' lines, and its tax,
			// already in cart_tax, off theirs.
			if feeDiscount, err = add("negative fees", feeDiscount, -total); err != nil {
				return 0, err
			}
			continue
		}
		// A fee (gift wrap, a payment surcharge, a handling fee) is no vendor's sale and no
		// shipping: an extra, with its tax, as a shipping line's tax counts with its shipping.
		if fees, err = add("fees", fees, total, tax); err != nil {
			return 0, err
		}
		if feeTax, err = add("fee tax", feeTax, tax); err != nil {
			return 0, err
		}
	}
	if fees < 0 {
		return 0, fmt.Errorf("%w: order %s: fee tax takes the fees below zero", ErrInvalidOrder, o.OrderID)
	}
	o.Shipping, o.Extras = shipping, fees
	// cart_tax includes the fees' tax, which went to the extras with the fees.
	lineTax, err := sub("cart_tax", cartTax, feeTax)
	if err != nil || lineTax < 0 {
		return 0, fmt.Errorf("%w: order %s: fee tax exceeds cart_tax", ErrInvalidOrder, o.OrderID)
	}
	if err := v.share(lineTax, func(l *payment.OrderLine) *int64 { return &l.Tax }, func(l *payment.OrderLine) int64 { return l.Subtotal - l.Discount }); err != nil {
		return 0, fmt.Errorf("%w: order %s: tax: %v", ErrInvalidOrder, o.OrderID, err)
	}
	if err := v.share(discount, func(l *payment.OrderLine) *int64 { return &l.Discount }, func(l *payment.OrderLine) int64 { return l.Subtotal }); err != nil {
		return 0, fmt.Errorf("%w: order %s: discount: %v", ErrInvalidOrder, o.OrderID, err)
	}
	if err := v.discountMore(feeDiscount); err != nil {
		return 0, fmt.Errorf("%w: order %s: negative fees: %v", ErrInvalidOrder, o.OrderID, err)
	}
	return shippingTax, nil
}

// discountMore takes a further discount off the vendors' lines in proportion to what each still
// sells for (subtotal − discount); more than they sell for is refused.
func (v *vendorLines) discountMore(extra int64) error {
	if extra == 0 {
		return nil
	}
	weights := make([]int64, len(v.order))
	var net int64
	for i, id := range v.order {
		l := v.by[id]
		weights[i] = max(l.Subtotal-l.Discount, 0)
		var err error
		if net, err = money.AddInt(net, weights[i]); err != nil {
			return err
		}
	}
	if extra > net {
		return fmt.Errorf("%d exceed what the items sell for (%d)", extra, net)
	}
	parts, err := money.AllocateLargestRemainder(extra, weights)
	if err != nil {
		return err
	}
	for i, id := range v.order {
		v.by[id].Discount += parts[i]
	}
	return nil
}

// share sets field on every vendor line so that they sum to total, in proportion to what the
// lines had (or to fallback when they had nothing, e.g. a discount WooCommerce did not spread).
func (v *vendorLines) share(total int64, field func(*payment.OrderLine) *int64, fallback func(*payment.OrderLine) int64) error {
	weights := make([]int64, len(v.order))
	var sum int64
	for i, id := range v.order {
		weights[i] = *field(v.by[id])
		var err error
		if sum, err = money.AddInt(sum, weights[i]); err != nil {
			return err
		}
	}
	if sum == total {
		return nil
	}
	if sum == 0 {
		for i, id := range v.order {
			weights[i] = max(fallback(v.by[id]), 0)
		}
	}
	parts, err := money.AllocateLargestRemainder(total, weights)
	if err != nil {
		return err
	}
	for i, id := range v.order {
		*field(v.by[id]) = parts[i]
	}
	return nil
}

// checkTotal refuses an order whose parts do not make the total the customer paid: its payment
// could never be split, and a mismatch means the store sent something this mapping misreads. One
// minor unit either way in an order with tax is WooCommerce's rounding, not a misreading: with
// "Round tax at subtotal level" it keeps cart and shipping tax unrounded and rounds only the total,
// while the payload prints each tax rounded on its own (woocommerce/woocommerce#25720), so the
// parts come to a cent more or less than the total. That cent is the tax's: it is taken off (or
// put on) the vendor line with the most tax, and the order adds up to what was paid.
func (wo wooOrder) checkTotal(o *payment.Order, cur money.Currency) error {
	if strings.TrimSpace(string(wo.Total)) == "" {
		return nil
	}
	total, err := wo.Total.nonNegative("total", cur)
	if err != nil {
		return err
	}
	got, err := add("total", o.Subtotal, -o.Discount, o.Tax, o.Shipping, o.Extras)
	if err != nil {
		return err
	}
	if diff := total - got; (diff == 1 || diff == -1) && o.Tax > 0 {
		o.Tax += diff
		if len(o.Lines) > 0 {
			most := 0
			for i, l := range o.Lines {
				if l.Tax > o.Lines[most].Tax {
					most = i
				}
			}
			o.Lines[most].Tax += diff
		}
		return nil
	}
	if got != total {
		return fmt.Errorf("%w: order %s: subtotal − discount + tax + shipping + fees is %s, but total is %s",
			ErrInvalidOrder, o.OrderID, money.Format(got, cur), money.Format(total, cur))
	}
	return nil
}
