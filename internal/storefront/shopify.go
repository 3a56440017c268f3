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
//
// Currencies. `currency` is the shop's currency, `presentment_currency` "the currency that the
// customer used at checkout" (REST Admin API Order resource,
// https://shopify.dev/docs/api/admin-rest/latest/resources/order). On a multi-currency store the
// two differ: the plain amount fields (`price`, `total_discount`, `amount`, ...) are in the shop's
// currency and each field's `<field>_set` is a MoneyBag holding the same amount in both,
// `{"shop_money": {...}, "presentment_money": {"amount": "0.93", "currency_code": "EUR"}}`
// ("presentmentMoney: Amount in the customer's selected currency",
// https://shopify.dev/docs/api/admin-graphql/2025-04/objects/moneybag). The customer is charged,
// and the shop's Stripe or PayPal payment made, in the presentment currency, so that is the
// order's currency here and every amount is read from its `_set.presentment_money`; see
// shopifyMoney.
type shopifyOrder struct {
	ID                  flexID  `json:"id"`
	Currency            string  `json:"currency"`
	PresentmentCurrency string  `json:"presentment_currency"`
	FinancialStatus     string  `json:"financial_status"`
	UpdatedAt           string  `json:"updated_at"`
	CancelledAt         *string `json:"cancelled_at"`
	TaxesIncluded       bool    `json:"taxes_included"`
	// DutiesIncluded: the line prices include the duties (a market pricing duties in, Shopify
	// Markets' INCLUDE_DUTIES_IN_PRICE), so total_price does not add them again.
	DutiesIncluded bool              `json:"duties_included"`
	LineItems      []shopifyLine     `json:"line_items"`
	ShippingLines  []shopifyShipping `json:"shipping_lines"`
	// Duties and additional fees charged at checkout: in total_price, what the customer paid,
	// but on no line item or shipping line (null when the order has none).
	DutiesSet         *shopifyMoneySet `json:"original_total_duties_set"`
	AdditionalFeesSet *shopifyMoneySet `json:"original_total_additional_fees_set"`
	DiscountCodes     []struct {
		Code string `json:"code"`
	} `json:"discount_codes"`
	NoteAttributes []struct {
		Name  string `json:"name"`
		Value flexID `json:"value"`
	} `json:"note_attributes"`
}

// shopifyMoneySet is a `<field>_set` MoneyBag. Only presentment_money is decoded: shop_money is
// the shop's bookkeeping in a currency the customer did not pay in.
type shopifyMoneySet struct {
	PresentmentMoney *struct {
		Amount       decimal `json:"amount"`
		CurrencyCode string  `json:"currency_code"`
	} `json:"presentment_money"`
}

type shopifyAmount struct {
	Amount    decimal          `json:"amount"`
	AmountSet *shopifyMoneySet `json:"amount_set"`
}

type shopifyTax struct {
	Price    decimal          `json:"price"`
	PriceSet *shopifyMoneySet `json:"price_set"`
}

type shopifyLine struct {
	Vendor              string           `json:"vendor"`
	Price               decimal          `json:"price"`
	PriceSet            *shopifyMoneySet `json:"price_set"`
	Quantity            int64            `json:"quantity"`
	TotalDiscount       decimal          `json:"total_discount"`
	TotalDiscountSet    *shopifyMoneySet `json:"total_discount_set"`
	DiscountAllocations []shopifyAmount  `json:"discount_allocations"`
	TaxLines            []shopifyTax     `json:"tax_lines"`
	// Duties on the line: a REST Duty is its own MoneyBag (shop_money, presentment_money).
	Duties []shopifyDuty `json:"duties"`
	// TipPaymentGateway is present, if only as null, on a tip's line and on no other ("Present
	// only on tips", REST Order resource): a tip sells nothing and has no vendor.
	TipPaymentGateway present `json:"tip_payment_gateway"`
}

type shopifyDuty struct {
	ShopMoney *struct {
		Amount decimal `json:"amount"`
	} `json:"shop_money"`
	shopifyMoneySet
}

// present records that a key was in the object, whatever its value (null included): encoding/json
// calls UnmarshalJSON for every key it finds, and never for one that is missing.
type present bool

func (p *present) UnmarshalJSON([]byte) error {
	*p = true
	return nil
}

type shopifyShipping struct {
	Price               decimal          `json:"price"`
	PriceSet            *shopifyMoneySet `json:"price_set"`
	DiscountAllocations []shopifyAmount  `json:"discount_allocations"`
	TaxLines            []shopifyTax     `json:"tax_lines"`
}

// shopifyMoney reads an order's amounts in the order's currency: the customer's (presentment)
// currency when the order names one, the shop's otherwise.
type shopifyMoney struct {
	cur  money.Currency // the order's currency
	shop money.Currency // the currency of the plain amount fields; "" when the order names none
	// sets: the plain fields are in another currency than the order (a multi-currency order), so
	// every non-zero amount must come from its _set; mixing currencies is refused.
	sets bool
}

func (so shopifyOrder) money() (shopifyMoney, error) {
	if so.PresentmentCurrency == "" {
		// Older payloads, and orders of shops that sell in one currency only.
		cur, err := parseCurrency(so.Currency)
		return shopifyMoney{cur: cur, shop: cur}, err
	}
	cur, err := money.ParseCurrency(so.PresentmentCurrency)
	if err != nil {
		return shopifyMoney{}, fmt.Errorf("%w: presentment_currency: %v", ErrInvalidOrder, err)
	}
	m := shopifyMoney{cur: cur}
	if so.Currency != "" {
		if m.shop, err = parseCurrency(so.Currency); err != nil {
			return shopifyMoney{}, err
		}
	}
	m.sets = m.shop != cur
	return m, nil
}

// read is one amount: field's _set.presentment_money when the payload has it (its currency_code
// must be the order's), else the plain field when that is in the order's currency. On a
// multi-currency order a missing _set is accepted only for a plain amount of zero, which is zero
// in every currency; anything else is refused rather than read in the shop's currency.
func (m shopifyMoney) read(field string, plain decimal, set *shopifyMoneySet) (int64, error) {
	if set != nil && set.PresentmentMoney != nil {
		pm := set.PresentmentMoney
		if c, err := money.ParseCurrency(pm.CurrencyCode); err != nil || c != m.cur {
			return 0, fmt.Errorf("%w: %s_set.presentment_money is in %q, not the order's currency %s", ErrInvalidOrder, field, pm.CurrencyCode, m.cur.Upper())
		}
		return pm.Amount.nonNegative(field+"_set.presentment_money.amount", m.cur)
	}
	if !m.sets {
		return plain.nonNegative(field, m.cur)
	}
	shop := m.shop
	if shop == "" {
		shop = m.cur // zero is zero whatever the exponent
	}
	if v, err := plain.minor(field, shop); err == nil && v == 0 {
		return 0, nil
	}
	shopCur := "an unnamed currency"
	if m.shop != "" {
		shopCur = "the shop's currency " + m.shop.Upper()
	}
	return 0, fmt.Errorf("%w: %s_set.presentment_money is missing: the order is in %s, %s is in %s", ErrInvalidOrder, field, m.cur.Upper(), field, shopCur)
}

// taxes adds up the tax lines of a line item or a shipping line (field names it in errors).
func (m shopifyMoney) taxes(field string, ts []shopifyTax) (int64, error) {
	var total int64
	for j, t := range ts {
		v, err := m.read(fmt.Sprintf("%s.tax_lines[%d].price", field, j), t.Price, t.PriceSet)
		if err != nil {
			return 0, err
		}
		if total, err = add(field+" tax", total, v); err != nil {
			return 0, err
		}
	}
	return total, nil
}

// discounts adds up the discount allocations of a line item or a shipping line.
func (m shopifyMoney) discounts(field string, ds []shopifyAmount) (int64, error) {
	var total int64
	for j, d := range ds {
		v, err := m.read(fmt.Sprintf("%s.discount_allocations[%d].amount", field, j), d.Amount, d.AmountSet)
		if err != nil {
			return 0, err
		}
		if total, err = add(field+" discount", total, v); err != nil {
			return 0, err
		}
	}
	return total, nil
}

// shopifyRefund is a refunds/create body (REST Admin API Refund). Its transactions are the money
// given back, each with its `amount` and "the currency used for the payment" (Transaction
// resource, https://shopify.dev/docs/api/admin-rest/latest/resources/transaction): on a
// multi-currency order that is the presentment currency, the one the customer paid and the order
// is stored in ("For multi-currency orders, the currency property is required when creating
// refund and capture transactions. The value should be the presentment currency from the order",
// same page). Shopify's own sample refund shows it, a shop in CAD refunding a USD transaction
// (`"currency": "USD"` beside `amount_set` with CAD shop_money and USD presentment_money,
// https://shopify.dev/docs/api/admin-rest/latest/resources/refund); amounts in the shop's currency
// come only when an API reader asks with in_shop_currency=true, which a webhook does not. So the
// transaction's own currency is the refund's, and the caller compares it with the order's.
type shopifyRefund struct {
	OrderID      flexID `json:"order_id"`
	CreatedAt    string `json:"created_at"`
	Transactions []struct {
		Kind     string  `json:"kind"`
		Status   string  `json:"status"`
		Amount   decimal `json:"amount"`
		Currency string  `json:"currency"`
	} `json:"transactions"`
}

// affiliateAttributes are the order note attributes (cart attributes) a storefront theme or app
// sets to name the affiliate or referral code behind an order, matched without regard to case and
// taken in this order of precedence (the first name the order has with a value).
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
	m, err := so.money()
	if err != nil {
		return Order{}, err
	}
	o.Currency = m.cur
	var vendors vendorLines
	var tips, includedDuties int64
	for i, li := range so.LineItems {
		if li.Quantity < 0 {
			return Order{}, fmt.Errorf("%w: line_items[%d] has a negative quantity", ErrInvalidOrder, i)
		}
		// The quantity as ordered: current_quantity (REST 2024-01) also takes out units removed
		// or refunded after payment, which the capture still holds; an order edited before its
		// capture therefore does not add up to the capture and waits for an admin.
		if li.Quantity == 0 {
			continue // nothing sold, nobody to pay
		}
		if li.TipPaymentGateway {
			// The customer's tip: in the total paid, but no vendor's sale and no shipping: an
			// extra (payment.Order.Extras), as duties and fees are, never commissioned.
			tip, err := li.tip(i, m)
			if err != nil {
				return Order{}, err
			}
			if tips, err = add("tips", tips, tip); err != nil {
				return Order{}, err
			}
			continue
		}
		sub, tax, disc, err := li.amounts(i, m, so.TaxesIncluded)
		if err != nil {
			return Order{}, err
		}
		if so.DutiesIncluded {
			// As a taxes-included line's tax: the duties in its price are not the vendor's sale.
			d, err := li.duties(i, m)
			if err != nil {
				return Order{}, err
			}
			if sub, err = takeOut(i, sub, disc, d); err != nil {
				return Order{}, err
			}
			if includedDuties, err = add("duties", includedDuties, d); err != nil {
				return Order{}, err
			}
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
	var shippingTax int64
	for i, sl := range so.ShippingLines {
		ship, tax, err := sl.amount(i, m, so.TaxesIncluded)
		if err != nil {
			return Order{}, err
		}
		if o.Shipping, err = add("shipping", o.Shipping, ship); err != nil {
			return Order{}, err
		}
		if shippingTax, err = add("shipping tax", shippingTax, tax); err != nil {
			return Order{}, err
		}
	}
	if err := addShippingTax(&o.Order, shippingTax); err != nil {
		return Order{}, err
	}
	if err := so.dutiesAndFees(&o.Order, m, includedDuties); err != nil {
		return Order{}, err
	}
	if o.Extras, err = add("duties, fees and tips", o.Extras, tips); err != nil {
		return Order{}, err
	}
	// The names in their order, then the attributes: an explicit affiliate_id wins over a
	// generic ref whatever order the cart set them in, as WooCommerce's meta keys do (metaValue).
	for _, name := range affiliateAttributes {
		for _, na := range so.NoteAttributes {
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
	if o.ShopTime, err = shopTime("updated_at", so.UpdatedAt); err != nil {
		return Order{}, err
	}
	return o, nil
}

// dutiesAndFees adds the order's duties and additional fees to its extras. The customer paid
// them (they are in total_price), so an order without them falls short of its payment, which the
// split then parks; they are neither what the vendors sold nor shipping, so, like WooCommerce's
// fee lines, they are not commissioned, even by a rule that commissions shipping. The amounts as charged at checkout (original_*), as the payment was.
// Duties included in the line prices (duties_included) are in total_price once, through the
// lines: only those taken out of the lines (included) are added, never the order's total again.
func (so shopifyOrder) dutiesAndFees(o *payment.Order, m shopifyMoney, included int64) error {
	duties, err := m.read("original_total_duties", "", so.DutiesSet)
	if err != nil {
		return err
	}
	if so.DutiesIncluded {
		duties = included
	}
	fees, err := m.read("original_total_additional_fees", "", so.AdditionalFeesSet)
	if err != nil {
		return err
	}
	o.Extras, err = add("duties and fees", o.Extras, duties, fees)
	return err
}

// tip is what a tip line adds to the order: its price × quantity (a tip is neither taxed nor
// discounted).
func (li shopifyLine) tip(i int, m shopifyMoney) (int64, error) {
	field := fmt.Sprintf("line_items[%d]", i)
	price, err := m.read(field+".price", li.Price, li.PriceSet)
	if err != nil {
		return 0, err
	}
	v, err := money.MulDivFloor(price, li.Quantity, 1)
	if err != nil {
		return 0, fmt.Errorf("%w: %s: tip price × quantity: %v", ErrInvalidOrder, field, err)
	}
	return v, nil
}

// duties adds up a line's duties.
func (li shopifyLine) duties(i int, m shopifyMoney) (int64, error) {
	var total int64
	for j, d := range li.Duties {
		var plain decimal
		if d.ShopMoney != nil {
			plain = d.ShopMoney.Amount
		}
		v, err := m.read(fmt.Sprintf("line_items[%d].duties[%d]", i, j), plain, &d.shopifyMoneySet)
		if err != nil {
			return 0, err
		}
		if total, err = add("duties", total, v); err != nil {
			return 0, err
		}
	}
	return total, nil
}

// takeOut is a line's subtotal without the duties its price includes; what is left must still
// cover the line's discount.
func takeOut(i int, subtotal, disc, duties int64) (int64, error) {
	field := fmt.Sprintf("line_items[%d]", i)
	left, err := sub(field, subtotal, duties)
	if err != nil {
		return 0, err
	}
	if left < 0 || disc > left {
		return 0, fmt.Errorf("%w: %s: duties and discount exceed the line's price", ErrInvalidOrder, field)
	}
	return left, nil
}

// amounts of one line: subtotal is price × quantity before discounts and without tax (when the
// shop's prices include tax, the line's tax is taken out), discount is what Shopify allocated to
// the line from line and order discounts, tax is the line's tax lines.
func (li shopifyLine) amounts(i int, m shopifyMoney, taxesIncluded bool) (subtotal, tax, disc int64, err error) {
	field := fmt.Sprintf("line_items[%d]", i)
	price, err := m.read(field+".price", li.Price, li.PriceSet)
	if err != nil {
		return 0, 0, 0, err
	}
	if subtotal, err = money.MulDivFloor(price, li.Quantity, 1); err != nil {
		return 0, 0, 0, fmt.Errorf("%w: %s: price × quantity: %v", ErrInvalidOrder, field, err)
	}
	if tax, err = m.taxes(field, li.TaxLines); err != nil {
		return 0, 0, 0, err
	}
	if len(li.DiscountAllocations) > 0 {
		disc, err = m.discounts(field, li.DiscountAllocations)
	} else {
		disc, err = m.read(field+".total_discount", li.TotalDiscount, li.TotalDiscountSet)
	}
	if err != nil {
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

// amount of one shipping line: its price less shipping discounts and, when the price includes
// it, less its tax; and its tax, which is the order's tax, not shipping (addShippingTax).
func (sl shopifyShipping) amount(i int, m shopifyMoney, taxesIncluded bool) (ship, tax int64, err error) {
	field := fmt.Sprintf("shipping_lines[%d]", i)
	if ship, err = m.read(field+".price", sl.Price, sl.PriceSet); err != nil {
		return 0, 0, err
	}
	disc, err := m.discounts(field, sl.DiscountAllocations)
	if err != nil {
		return 0, 0, err
	}
	if tax, err = m.taxes(field, sl.TaxLines); err != nil {
		return 0, 0, err
	}
	if ship, err = sub(field, ship, disc); err != nil {
		return 0, 0, err
	}
	if taxesIncluded {
		if ship, err = sub(field, ship, tax); err != nil {
			return 0, 0, err
		}
	}
	if ship < 0 {
		return 0, 0, fmt.Errorf("%w: %s: discounts or tax exceed the shipping price", ErrInvalidOrder, field)
	}
	return ship, tax, nil
}

func (r shopifyRefund) normalize() (StatusUpdate, error) {
	u := StatusUpdate{OrderID: string(r.OrderID), Status: "partially_refunded"}
	if err := validID("order_id", u.OrderID); err != nil {
		return StatusUpdate{}, err
	}
	var err error
	if u.ShopTime, err = shopTime("created_at", r.CreatedAt); err != nil {
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
