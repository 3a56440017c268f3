package storefront_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paysplit/internal/payment"
	"paysplit/internal/storefront"
)

// A normalized order encodes as one object with the shop's fields beside the order's, and reads
// back whole: payment.Order's own encoding (extras in shipping), promoted through the embedding,
// would stand for the whole Order and drop the status, the shop's time and the referral codes.
func TestOrderJSONKeepsTheShopsFields(t *testing.T) {
	o := storefront.Order{
		Order:  payment.Order{ClientID: "c", OrderID: "o", VendorID: "v", Platform: storefront.Shopify, Subtotal: 1000, Shipping: 300, Extras: 200},
		Status: "paid", ShopTime: time.Date(2026, 11, 28, 4, 0, 0, 0, time.UTC), ReferralCodes: []string{"friend"},
	}
	b, err := json.Marshal(o)
	require.NoError(t, err)
	var fields map[string]any
	require.NoError(t, json.Unmarshal(b, &fields))
	require.Equal(t, "paid", fields["Status"])
	require.EqualValues(t, 500, fields["shipping"], "shipping encoded with its extras, as payment.Order encodes it")
	var back storefront.Order
	require.NoError(t, json.Unmarshal(b, &back))
	require.Equal(t, o, back)
}

// Inside a slice, a map and behind a pointer the order encodes and reads back the same way: the
// shop's fields kept, the extras taken back out of shipping.
func TestOrderJSONInContainers(t *testing.T) {
	o := storefront.Order{
		Order: payment.Order{ClientID: "c", OrderID: "o", VendorID: "v", Platform: storefront.WooCommerce, Subtotal: 1000,
			Tax: 100, Shipping: 300, Extras: 200, Currency: "eur", Lines: []payment.OrderLine{{VendorID: "v", Subtotal: 1000, Tax: 100}}},
		Status: "processing", ShopTime: time.Date(2026, 11, 28, 4, 0, 0, 0, time.UTC), ReferralCodes: []string{"a", "b"},
	}
	type holder struct {
		List  []storefront.Order
		ByID  map[string]*storefront.Order
		Ptr   *storefront.Order
		Value storefront.Order
	}
	in := holder{List: []storefront.Order{o, {}}, ByID: map[string]*storefront.Order{"o": &o}, Ptr: &o, Value: o}
	b, err := json.Marshal(in)
	require.NoError(t, err)
	var out holder
	require.NoError(t, json.Unmarshal(b, &out))
	require.Equal(t, in, out)
	var ptr map[string]any
	require.NoError(t, json.Unmarshal(b, &struct{ Ptr *map[string]any }{&ptr}))
	require.EqualValues(t, 500, ptr["shipping"], "behind a pointer too, payment.Order's encoding")
	require.Equal(t, "processing", ptr["Status"])
}
