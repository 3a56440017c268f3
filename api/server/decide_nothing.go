package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"paysplit/activities"
	"paysplit/internal/money"
	ipayment "paysplit/internal/payment"
	"paysplit/internal/split"
	"paysplit/internal/store"
	"paysplit/internal/storefront"
	"paysplit/workflows/payment"
)

// comesToNothing refuses an admin's decision that the payment's run is certain to answer with the
// same hold or park, read in the decision's lock (decideOnSave's still) from the stored payment
// and what its run reads for it: 202 told the admin a decision was sent that could only come to
// nothing, and not what to do instead. Only certainties refuse: a payee registered, or an order
// delivered by the shop, before the lock was taken is seen, and the decision goes through.
func comesToNothing(ctx context.Context, tx *store.Store, action payment.AdminAction, r ipayment.Record, party split.Party) error {
	switch action {
	case payment.ActionRelease:
		return releaseOfUnregistered(ctx, tx, r, party)
	case payment.ActionRetry:
		return retryOfMetadataNotAddingUp(ctx, tx, r)
	}
	return nil
}

// releaseOfUnregistered is 409 payee_not_registered when the release names held legs (party, or
// all) and it can come to nothing: every held leg of the payment, named or not, has something to
// send and a payee nobody registered. The run checks a released leg's payee before it pays it,
// and holds it again as "not registered"; then (code path 20) it asks every held leg's payee at
// once, so a release naming one party pays another held leg whose payee can receive now, and
// settles one a refund left nothing to send: such a release is taken. So is one while a top-up is
// held for its payee on any leg: the same ask sends it (askHeldDues). While a leg is held a retry
// of it is refused (invalid_state): the release is the admin's one way to have it sent now, where
// the run's own asks back off to a day (none with PAYMENT_HOLD_RECHECK_EVERY 0) and only Stripe
// has Connect events.
func releaseOfUnregistered(ctx context.Context, tx *store.Store, r ipayment.Record, party split.Party) error {
	if slices.ContainsFunc(r.Legs, func(l ipayment.Leg) bool {
		return slices.ContainsFunc(l.Dues, func(d ipayment.Due) bool { return d.Held })
	}) {
		return nil
	}
	var unregistered []ipayment.Leg
	for _, l := range r.Legs {
		if l.State != ipayment.LegHeld {
			continue
		}
		if l.Remaining() <= 0 {
			return nil // settled without the check, by the release or by the ask after it
		}
		// The payee check's own lookup (the exact ID, else the client's one twin of it in case).
		switch _, err := tx.RegisteredPayee(ctx, r.Order.ClientID, l.PayeeID); {
		case err == nil:
			return nil
		case !errors.Is(err, store.ErrNotFound):
			return err
		}
		if party == "" || l.Party == party {
			unregistered = append(unregistered, l)
		}
	}
	if len(unregistered) == 0 {
		return nil
	}
	// Where the payment's rail pays the payee: registered without it, the leg is held again
	// ("has no Stripe connected account", "has no PayPal receiver").
	at := "stripe_account"
	if r.Provider == activities.ProviderPayPal {
		at = "paypal_receiver"
	}
	var what []string
	for _, l := range unregistered {
		what = append(what, fmt.Sprintf("%s %q (PUT /api/v1/admin/payees/%s with client_id %q, kind %q and its %s)", l.Party, l.PayeeID, l.PayeeID, r.Order.ClientID, l.Party, at))
	}
	return errorf(http.StatusConflict, "payee_not_registered", fmt.Sprintf(
		"a release would hold the payment again: its payee is not registered; register %s, then release it, or cancel the payment",
		strings.Join(what, " and ")))
}

// retryOfMetadataNotAddingUp is 409 order_does_not_add_up for a parked payment whose order, read
// whole from its capture's own metadata, does not add up to what was captured: a retry reads the
// same metadata again (the capture's), and the split refuses it again. Certain only while the shop
// delivered no order for it (orders are never deleted, so the parked order was the metadata's):
// one the shop delivered since is what a retry splits.
//
// The stored payment says it, not the park's reason (whose wording changed with extras, and may
// again): not split, its order one read whole (a platform, as the metadata's required fields and a
// shop's order have; a payment parked for what its metadata lacks keeps only the client, order and
// vendor its capture names) and well formed, whose total (ipayment.Order.Total, the split's own
// sum) is not the gross. Whatever else parked it (no split rule, an unknown payee), the split
// refuses that order once it is reached.
func retryOfMetadataNotAddingUp(ctx context.Context, tx *store.Store, r ipayment.Record) error {
	o := r.Order
	if r.Status != ipayment.StatusNeedsAttention || r.Split() || o.ClientID == "" || o.OrderID == "" || o.Platform == "" || len(o.Lines) > 0 ||
		(r.Provider == "stripe" && r.CodePath < payment.CodePathISOUnits) {
		return nil
	}
	total, ok := o.Total()
	if !ok || total == r.Gross {
		return nil
	}
	switch _, err := tx.GetOrder(ctx, o.ClientID, o.OrderID); {
	case err == nil:
		return nil
	case !errors.Is(err, store.ErrNotFound):
		return err
	}
	return errorf(http.StatusConflict, "order_does_not_add_up", fmt.Sprintf(
		"a retry would park the payment again: the order %s in its payment metadata adds up to %s (subtotal - discount + tax + shipping + extras), not the %s captured, and a retry reads the same metadata; %s",
		o.OrderID, money.Format(total, r.Currency), money.Format(r.Gross, r.Currency), unblockingOrder(o)))
}

// unblockingOrder says what unblocks a payment whose metadata's order does not add up: an order
// the shop delivers for it (then a retry), or a cancel. TikTok Shop delivers none (its pushes
// carry status changes only, and its orders are never stored), so only the cancel is left.
func unblockingOrder(o ipayment.Order) string {
	if strings.EqualFold(o.Platform, storefront.TikTok) {
		return "TikTok Shop delivers no order to split instead, so cancel the payment"
	}
	return fmt.Sprintf("have the shop deliver order %s (its order webhook), then retry, or cancel the payment", o.OrderID)
}
