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
// is refused (409), the total it states counting the extras, as the split's did, and its sum says
// so. One a previous release's worker parked (a rolling deploy or a rollback: it drops the key it
// does not know and finds the order short by the extras) is taken: a retry run by this release's
// worker reads the same metadata with its extras, and splits it. Its reason, the previous split's
// refusal, is not this release's ErrComponentsMismatch ("+ extras" was added to it), so the check
// leaves it alone; the order it recorded says no extras.
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

	require.NoError(t, retryOfMetadataNotAddingUp(ctx, st, parked("o-previous", previous, 0)),
		"a worker of this release reads the extras the previous one dropped")
}
