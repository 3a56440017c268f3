package store_test

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"paysplit/internal/payment"
	"paysplit/internal/store"
)

// the lines of a multi-vendor order must add up to the order. Sums that wrap around
// int64 must not pass that check: here the lines total 2^64 (MaxInt64 + MaxInt64 + 2), which
// wraps to 0, the order's subtotal.
func TestValidateOrderRejectsOverflowingLines(t *testing.T) {
	o := payment.Order{
		ClientID: "c1", OrderID: "o1", Currency: "usd", Platform: "shopify", Subtotal: 0,
		Lines: []payment.OrderLine{
			{VendorID: "v1", Subtotal: math.MaxInt64},
			{VendorID: "v2", Subtotal: math.MaxInt64},
			{VendorID: "v3", Subtotal: 2},
		},
	}
	err := store.ValidateOrder(o)
	require.ErrorIs(t, err, store.ErrInvalid, "lines of 2^64 accepted as adding up to a subtotal of 0")
}
