package server

import (
	"testing"

	"github.com/stretchr/testify/require"

	ipayment "paysplit/internal/payment"
	"paysplit/internal/split"
	"paysplit/workflows/payment"
)

// TestRetryOfMetadataWithExtrasNotAddingUp: comesToNothing's retry check with `extras` in the
// metadata's sum. A payment this release parked because its order, extras counted, does not add up
// is refused (409), the total it states counting the extras, as the split's did. The stored order
// decides, not the park's wording: one a previous release's worker parked (its reason without
// "+ extras", its order without extras) is refused alike, as its capture's metadata had no extras
// (the previous API dropped the key) and a retry reads the same metadata. The one case where that
// is wrong (a plugin sending extras before every worker was upgraded) is README's: retry it from
// the Temporal UI.
func TestRetryOfMetadataWithExtrasNotAddingUp(t *testing.T) {
	const client = "extrasaddco"
	st, ctx := storeWithClient(t, client)
	parked := func(orderID, reason string, extras int64) ipayment.Record {
		return ipayment.Record{WorkflowID: "stripe:" + orderID, Provider: "stripe", Currency: "usd", Gross: 11000, Status: ipayment.StatusNeedsAttention,
			Reason: reason, CodePath: payment.CurrentCodePath, Order: ipayment.Order{ClientID: client, OrderID: orderID, VendorID: client + "-vendor",
				Platform: "shopify", Subtotal: 9000, Tax: 800, Shipping: 500, Discount: 300, Extras: extras}}
	}
	this := "split: " + split.ErrComponentsMismatch.Error() + ": subtotal 9000 - discount 300 + tax 800 + shipping 500 + extras 200 = 10200, gross 11000"
	previous := "split: subtotal - discount + tax + shipping does not equal gross: subtotal 9000 - discount 300 + tax 800 + shipping 500 = 10000, gross 11000"

	ae := requireConflict(t, retryOfMetadataNotAddingUp(ctx, st, parked("o-this", this, 200)), "order_does_not_add_up")
	require.Contains(t, ae.Message, "adds up to 102.00 USD (subtotal - discount + tax + shipping + extras)")
	require.Contains(t, ae.Message, "not the 110.00 USD captured")

	ae = requireConflict(t, retryOfMetadataNotAddingUp(ctx, st, parked("o-previous", previous, 0)), "order_does_not_add_up")
	require.Contains(t, ae.Message, "adds up to 100.00 USD (subtotal - discount + tax + shipping + extras)")
}
