package payment_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"paysplit/internal/payment"
	"paysplit/internal/split"
)

// An order's extras (a tip, duties, fees) are in its total and reach the split apart from
// shipping, where no rule commissions them; an order recorded before extras existed (history,
// stored records) decodes unchanged, and one without extras encodes as it did.
func TestOrderExtras(t *testing.T) {
	old := `{"client_id":"c","order_id":"o","vendor_id":"v","platform":"shopify","subtotal":10000,"tax":800,"shipping":3500,"discount":0}`
	var o payment.Order
	require.NoError(t, json.Unmarshal([]byte(old), &o))
	require.Zero(t, o.Extras)
	b, err := json.Marshal(o)
	require.NoError(t, err)
	require.JSONEq(t, old, string(b))
	require.NotContains(t, string(b), "extras")

	o.Shipping, o.Extras = 1000, 2500
	total, ok := o.Total()
	require.True(t, ok)
	require.EqualValues(t, 14300, total, "extras are in what the order asks to be paid")
	so := o.SplitOrder("usd", total)
	require.Equal(t, split.Order{Currency: "usd", Gross: 14300, Subtotal: 10000, Tax: 800, Shipping: 1000, Extras: 2500, VendorID: "v"}, so)
	s, err := split.Compute(so, split.Rule{PlatformBps: 1000, CommissionOnShipping: true})
	require.NoError(t, err)
	require.EqualValues(t, 11000, s.CommissionBase, "shipping commissioned as the rule says, extras never")

	o.Extras = -1
	_, ok = o.Total()
	require.False(t, ok)
}

// previousOrder is payment.Order as the release before extras (6fa8359) decodes and encodes it:
// its worker takes the orders in workflow histories and in stored records (payments.state)
// during a rolling deploy without worker versioning and after a rollback, which makes the running
// payments its own again.
type previousOrder struct {
	ClientID    string              `json:"client_id"`
	OrderID     string              `json:"order_id"`
	VendorID    string              `json:"vendor_id"`
	AffiliateID string              `json:"affiliate_id,omitempty"`
	Platform    string              `json:"platform"`
	Subtotal    int64               `json:"subtotal"`
	Tax         int64               `json:"tax"`
	Shipping    int64               `json:"shipping"`
	Discount    int64               `json:"discount"`
	Currency    string              `json:"currency,omitempty"`
	Lines       []payment.OrderLine `json:"lines,omitempty"`
}

// An order with extras, as this release encodes it, is read whole by the previous release (its
// extras in shipping, as it stored them itself) and an order that release encodes again (without
// the extras key it does not know) is read whole by this one: whichever release splits, corrects
// or saves a payment, its order adds up to its capture. Until the extras were encoded in shipping
// too, the previous release read an order with a tip short by the tip, and its split refused the
// payment (subtotal - discount + tax + shipping does not equal gross): parked, a correction refused,
// the stored record short of its extras for good.
func TestOrderExtrasReadWholeByThePreviousRelease(t *testing.T) {
	o := payment.Order{ClientID: "c", OrderID: "o", VendorID: "v", Platform: "shopify", Subtotal: 10000, Discount: 500,
		Tax: 800, Shipping: 1000, Extras: 2500, Lines: []payment.OrderLine{{VendorID: "v", Subtotal: 10000, Tax: 800, Discount: 500}}}
	gross, ok := o.Total()
	require.True(t, ok)
	b, err := json.Marshal(o)
	require.NoError(t, err)

	var prev previousOrder
	require.NoError(t, json.Unmarshal(b, &prev))
	require.EqualValues(t, gross, prev.Subtotal-prev.Discount+prev.Tax+prev.Shipping,
		"the previous release reads an order with extras whole, as its split checks it against the capture")

	var back payment.Order
	require.NoError(t, json.Unmarshal(b, &back))
	require.Equal(t, o, back, "this release reads its own order as it was")

	again, err := json.Marshal(prev)
	require.NoError(t, err)
	var fromPrev payment.Order
	require.NoError(t, json.Unmarshal(again, &fromPrev))
	total, ok := fromPrev.Total()
	require.True(t, ok)
	require.EqualValues(t, gross, total, "an order the previous release encoded again: whole, its extras in shipping")

	var bad payment.Order
	require.Error(t, json.Unmarshal([]byte(`{"subtotal":100,"shipping":10,"extras":20}`), &bad),
		"extras beyond the shipping they are part of add up to nothing any release wrote")
}
