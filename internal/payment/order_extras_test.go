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
