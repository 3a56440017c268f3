package server

import (
	"context"
	"errors"
	"time"

	"go.temporal.io/sdk/temporal"

	ipayment "paysplit/internal/payment"
	"paysplit/internal/store"
	"paysplit/workflows/payment"
	"paysplit/workflows/searchattr"
)

// startAttributes are the search attributes a payment's run starts with when an event other than
// its capture starts it (a refund, a dispute, an admin's retry or resolve after the run closed):
// those of the stored payment, its status as the store holds it, so admins find the follow-up run
// in the Temporal UI by client, vendor, order and status as they found the first. The run sets
// them only as they change (the split, a new status), and a follow-up run resumes a payment whose
// split and status are already made. A payment not stored yet (a refund before its capture) is
// awaiting its capture, as the run saves it. Ignored when the signal reaches an open run.
func (s *Server) startAttributes(ctx context.Context, workflowID string) temporal.SearchAttributes {
	if s.deps.Store == nil {
		return temporal.SearchAttributes{}
	}
	// A short read: the event's signal, on the same deadline, matters more than its attributes.
	rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	rec, err := s.deps.Store.GetPayment(rctx, workflowID)
	if errors.Is(err, store.ErrNotFound) {
		return temporal.NewSearchAttributes(searchattr.PaymentStatus.ValueSet(string(ipayment.StatusAwaitingCapture)))
	}
	if err != nil {
		// The event matters more than its run's attributes: started without them, as before.
		s.deps.Logger.Warn("payment search attributes not read; the run starts without them", "workflow_id", workflowID, "error", err)
		return temporal.SearchAttributes{}
	}
	return temporal.NewSearchAttributes(recordAttributes(rec)...)
}

// captureAttributes are the search attributes a payment's first run starts with, from its capture:
// the client, vendor and order its metadata names, when it names them, and the amount. The run
// sets them from the order it splits (the same, or the storefront's when the metadata had none),
// so a payment that parks or waits for its order before its split is found by them too.
func captureAttributes(ev payment.Event) temporal.SearchAttributes {
	// No PaymentStatus: nothing is stored for the payment until the run's first save, and the run
	// sets it with its first status (a run held up before, as by a database outage, shows none).
	out := []temporal.SearchAttributeUpdate{
		searchattr.AmountMinor.ValueSet(ev.Amount),
		searchattr.Currency.ValueSet(string(ev.Currency)),
	}
	for key, name := range map[temporal.SearchAttributeKeyKeyword]string{
		searchattr.ClientID: "client_id", searchattr.VendorID: "vendor_id", searchattr.OrderID: "order_id",
	} {
		if v := ev.Metadata[name]; v != "" {
			out = append(out, key.ValueSet(v))
		}
	}
	return temporal.NewSearchAttributes(out...)
}

// recordAttributes are a stored payment's search attributes, as its runs set them: the order's
// and the amount's once it was split; before its split, those the record knows (code path 18
// keeps the client, order and vendor its capture names; a captured payment has its amount).
func recordAttributes(rec ipayment.Record) []temporal.SearchAttributeUpdate {
	out := []temporal.SearchAttributeUpdate{searchattr.PaymentStatus.ValueSet(string(rec.Status))}
	if !rec.Split() {
		for key, v := range map[temporal.SearchAttributeKeyKeyword]string{
			searchattr.ClientID: rec.Order.ClientID, searchattr.VendorID: rec.Order.VendorID, searchattr.OrderID: rec.Order.OrderID,
		} {
			if v != "" {
				out = append(out, key.ValueSet(v))
			}
		}
		if rec.Gross > 0 && rec.Currency != "" {
			out = append(out, searchattr.AmountMinor.ValueSet(rec.Gross), searchattr.Currency.ValueSet(string(rec.Currency)))
		}
		return out
	}
	return append(out,
		searchattr.ClientID.ValueSet(rec.Order.ClientID),
		searchattr.VendorID.ValueSet(rec.Order.VendorID),
		searchattr.OrderID.ValueSet(rec.Order.OrderID),
		searchattr.AmountMinor.ValueSet(rec.Gross),
		searchattr.Currency.ValueSet(string(rec.Currency)),
	)
}
