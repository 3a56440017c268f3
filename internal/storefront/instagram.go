package storefront

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"paysplit/internal/money"
	"paysplit/internal/payment"
)

// MetaOrdersField is the webhook field whose changes carry commerce orders. Meta batches changes
// of several objects in one delivery; changes of other fields are skipped.
const MetaOrdersField = "commerce_orders"

// metaEnvelope is Meta's webhook body: {"object": ..., "entry": [{"id", "time", "changes": [...]}]}.
type metaEnvelope struct {
	Object string `json:"object"`
	Entry  []struct {
		ID      flexID `json:"id"`
		Time    int64  `json:"time"`
		Changes []struct {
			Field string          `json:"field"`
			Value json.RawMessage `json:"value"`
		} `json:"changes"`
	} `json:"entry"`
}

// metaOrder is the Graph API CommerceOrder, as far as splits need it: buyer_details and
// shipping_address have no field here and are never decoded. A change that carries only the ID
// and state updates the order's status; one that carries estimated_payment_details and items is
// a whole order.
type metaOrder struct {
	ID          flexID `json:"id"`
	OrderStatus struct {
		State string `json:"state"`
	} `json:"order_status"`
	EstimatedPaymentDetails *struct {
		Subtotal struct {
			Items    metaAmount `json:"items"`
			Shipping metaAmount `json:"shipping"`
		} `json:"subtotal"`
		Tax         metaAmount `json:"tax"`
		TotalAmount metaAmount `json:"total_amount"`
	} `json:"estimated_payment_details"`
	Items struct {
		Data []struct {
			Quantity int64 `json:"quantity"`
		} `json:"data"`
	} `json:"items"`
	PromotionDetails struct {
		Data []struct {
			CouponCode string `json:"coupon_code"`
		} `json:"data"`
	} `json:"promotion_details"`
}

type metaAmount struct {
	Amount   decimal `json:"amount"`
	Currency string  `json:"currency"`
}

// ParseInstagram reads one Meta commerce webhook delivery. Instagram and Facebook Shops sell for
// one seller per shop, so an order's vendor is the shop: the payee ID made from the entry's ID
// (the Page or commerce account the order belongs to).
//
// Meta batches the changes of several orders in one delivery and never sends a delivery answered
// 2xx again, so a change that cannot be read is named in Result.Refused and the others are read:
// refusing the whole batch for it lost every other order in it. Only a delivery with nothing
// readable is refused as a whole, with the first change's error and, in Result.Refused, every
// change's: the caller records each for an admin, as Meta will not send the batch again.
func ParseInstagram(clientID string, body []byte) (Result, error) {
	return ParseInstagramOf(clientID, body, "")
}

// ParseInstagramOf reads a Meta delivery for a client bound to page (its CanonicalShop form; ""
// when the client is not bound: every entry is its own, as ParseInstagram). One Meta app signs
// every Page's deliveries alike, and a batch may hold entries of several Pages, so the binding is
// checked per entry: the commerce_orders changes of an entry naming another Page (or none) are
// not read, not even to refuse them (another shop's order is not the client's to record), and
// each is named in Result.Foreign. The bound Page's changes are read as ever, whatever else the
// batch holds. A batch with no change of the bound Page is Ignored with its Foreign changes;
// the caller answers it as from another shop.
func ParseInstagramOf(clientID string, body []byte, page string) (Result, error) {
	var env metaEnvelope
	if err := json.Unmarshal(body, &env); err != nil {
		return Result{}, malformed(Instagram, err)
	}
	res := Result{Topic: env.Object + "/" + MetaOrdersField}
	var firstErr error
	var pages []string
	for _, e := range env.Entry {
		own := page == "" || metaPageOf(string(e.ID)) == page
		for _, ch := range e.Changes {
			if ch.Field != MetaOrdersField {
				continue
			}
			if !own {
				res.Foreign = append(res.Foreign, ForeignChange{Shop: string(e.ID), OrderID: metaChangeID(ch.Value)})
				continue
			}
			if !slices.Contains(pages, string(e.ID)) {
				pages = append(pages, string(e.ID))
			}
			o, u, err := metaChange(clientID, string(e.ID), unixTime(e.Time), ch.Value)
			switch {
			case err != nil:
				if firstErr == nil {
					firstErr = err
				}
				res.Refused = append(res.Refused, Refusal{OrderID: metaChangeID(ch.Value), Reason: err})
			case o != nil:
				res.Orders = append(res.Orders, *o)
			default:
				res.Updates = append(res.Updates, *u)
			}
		}
	}
	// For the log: the Page (or Pages) the changes read came from, which an admin binds by.
	res.Shop = strings.Join(pages, ",")
	if len(res.Orders) == 0 && len(res.Updates) == 0 {
		if firstErr != nil {
			return Result{Topic: res.Topic, Shop: res.Shop, Refused: res.Refused, Foreign: res.Foreign}, firstErr
		}
		res.Ignored = true
	}
	return res, nil
}

// metaPageOf is an entry's ID in its CanonicalShop form, "" when no binding could name it.
func metaPageOf(id string) string {
	p, err := CanonicalShop(Instagram, id)
	if err != nil {
		return ""
	}
	return p
}

// metaChange reads one commerce_orders change: a whole order, or a status change of one.
func metaChange(clientID, shopID string, at time.Time, value json.RawMessage) (*Order, *StatusUpdate, error) {
	var mo metaOrder
	if err := json.Unmarshal(value, &mo); err != nil {
		return nil, nil, malformed(Instagram, fmt.Errorf("%s value: %w", MetaOrdersField, err))
	}
	// Every change is timed by its entry's time: a status change carries no last_updated, and
	// times of two clocks are never compared.
	if mo.EstimatedPaymentDetails == nil {
		u := StatusUpdate{OrderID: string(mo.ID), Status: status(mo.OrderStatus.State), ShopTime: at}
		if err := validID("order id", u.OrderID); err != nil {
			return nil, nil, err
		}
		if u.Status == "" {
			return nil, nil, fmt.Errorf("%w: order %s has no order_status.state", ErrInvalidOrder, u.OrderID)
		}
		return nil, &u, nil
	}
	o, err := mo.normalize(clientID, shopID)
	if err != nil {
		return nil, nil, err
	}
	o.ShopTime = at
	return &o, nil, nil
}

// metaChangeID is the order ID a change names, as far as it names a valid one ("" otherwise).
func metaChangeID(value json.RawMessage) string {
	var ids struct {
		ID flexID `json:"id"`
	}
	if json.Unmarshal(value, &ids) != nil || !idPattern.MatchString(string(ids.ID)) {
		return ""
	}
	return string(ids.ID)
}

// normalize maps estimated_payment_details: items subtotal, shipping and tax as Meta lists them,
// and as discount whatever the promotions took off, i.e. what the parts exceed the total by.
func (mo metaOrder) normalize(clientID, shopID string) (Order, error) {
	d := mo.EstimatedPaymentDetails
	o := Order{Order: payment.Order{ClientID: clientID, OrderID: string(mo.ID), Platform: Instagram}, Status: status(mo.OrderStatus.State)}
	if err := validID("order id", o.OrderID); err != nil {
		return Order{}, err
	}
	cur, err := parseCurrency(d.TotalAmount.Currency)
	if err != nil {
		return Order{}, err
	}
	o.Currency = cur
	amount := func(field string, a metaAmount) (int64, error) {
		if a.Currency != "" {
			if c, err := parseCurrency(a.Currency); err != nil || c != cur {
				return 0, fmt.Errorf("%w: %s is in %q, the order in %s", ErrInvalidOrder, field, a.Currency, cur.Upper())
			}
		}
		return a.Amount.nonNegative(field, cur)
	}
	if o.Subtotal, err = amount("subtotal.items", d.Subtotal.Items); err != nil {
		return Order{}, err
	}
	if o.Shipping, err = amount("subtotal.shipping", d.Subtotal.Shipping); err != nil {
		return Order{}, err
	}
	if o.Tax, err = amount("tax", d.Tax); err != nil {
		return Order{}, err
	}
	total, err := amount("total_amount", d.TotalAmount)
	if err != nil {
		return Order{}, err
	}
	parts, err := add("subtotal + shipping + tax", o.Subtotal, o.Shipping, o.Tax)
	if err != nil {
		return Order{}, err
	}
	if o.Discount = parts - total; o.Discount < 0 || o.Discount > o.Subtotal {
		return Order{}, fmt.Errorf("%w: order %s: total %s does not fit subtotal, shipping and tax", ErrInvalidOrder, o.OrderID, money.Format(total, cur))
	}
	if len(mo.Items.Data) == 0 {
		return Order{}, fmt.Errorf("%w: order %s has no items", ErrInvalidOrder, o.OrderID)
	}
	if shopID == "" {
		return Order{}, fmt.Errorf("%w: order %s: entry has no id", ErrInvalidOrder, o.OrderID)
	}
	if o.VendorID, err = PayeeID(clientID, shopID); err != nil {
		return Order{}, err
	}
	codes := make([]string, 0, len(mo.PromotionDetails.Data))
	for _, p := range mo.PromotionDetails.Data {
		codes = append(codes, p.CouponCode)
	}
	o.ReferralCodes = referralCodes(clientID, codes)
	return o, nil
}
