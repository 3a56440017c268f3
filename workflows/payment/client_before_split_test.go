package payment

import (
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/temporal"

	"paysplit/activities"
	"paysplit/internal/payment"
	"paysplit/workflows/searchattr"
)

// A payment not split yet, waiting for its order or parked for its metadata, is its client's: the
// store files it under the client its record names (the admin's search and stuck payments by
// client, the client's revenue "not split yet"), and admins find it in the Temporal UI by
// `ClientId = 'x'`. From code path 18 the record keeps the client, order and vendor its capture
// names when Enrich knows the client (Named), and the run sets the search attributes it does not
// carry yet, and Currency and AmountMinor, an unknown client's payment too. Before, a payment parked for its metadata was no client's, and a run whose capture came
// after its start (a refund first: started without the capture's attributes) had no ClientId while
// it waited for its order.
func (s *workflowSuite) TestPaymentNotSplitYetKeepsItsClient() {
	named := payment.Order{ClientID: "acme", OrderID: "o-1", VendorID: "v1"}
	waiting := activities.EnrichOutput{Missing: []string{"subtotal", "platform"}, Named: named}
	parked := activities.EnrichOutput{Problem: `metadata platform "ebay" is not one of shopify, woocommerce, tiktok, instagram`, Named: named}
	unknown := activities.EnrichOutput{Problem: `unknown client "acme"`}
	// The attributes the API starts a capture's run with: those its metadata names.
	fromCapture := temporal.NewSearchAttributes(searchattr.ClientID.ValueSet("acme"), searchattr.OrderID.ValueSet("o-1"),
		searchattr.VendorID.ValueSet("v1"), searchattr.AmountMinor.ValueSet(gross), searchattr.Currency.ValueSet("usd"))
	tests := []struct {
		name     string
		codePath int
		enrich   activities.EnrichOutput
		// started says the capture started the run, with the attributes the API gives it; else it
		// comes by signal to a run started without them (as after a refund that came first).
		started bool
		status  payment.Status
		// order is the record's order while the run waits; attrs the order and amount attributes
		// it upserted.
		order payment.Order
		attrs map[string]any
	}{
		{"waiting for its order, its capture after the start", codePathClientBeforeSplit, waiting, false, payment.StatusAwaitingMetadata,
			named, amounted(map[string]any{"ClientId": "acme", "OrderId": "o-1", "VendorId": "v1"})},
		{"parked for its metadata, its capture after the start", codePathClientBeforeSplit, parked, false, payment.StatusNeedsAttention,
			named, amounted(map[string]any{"ClientId": "acme", "OrderId": "o-1", "VendorId": "v1"})},
		// The run carries them from its start: nothing to upsert.
		{"parked for its metadata, started by its capture", codePathClientBeforeSplit, parked, true, payment.StatusNeedsAttention,
			named, map[string]any{}},
		{"waiting for its order, started by its capture", codePathClientBeforeSplit, waiting, true, payment.StatusAwaitingMetadata,
			named, map[string]any{}},
		// An unknown client's payment is no client's; its amount is still the capture's.
		{"parked for an unknown client", codePathClientBeforeSplit, unknown, false, payment.StatusNeedsAttention,
			payment.Order{}, amounted(map[string]any{})},
		{"waiting for its order, code path 17", codePathPollPastDeadline, waiting, false, payment.StatusAwaitingMetadata,
			payment.Order{}, map[string]any{}},
		{"parked for its metadata, code path 17", codePathPollPastDeadline, parked, false, payment.StatusNeedsAttention,
			payment.Order{}, map[string]any{}},
	}
	for _, tt := range tests {
		s.Run(tt.name, func() {
			s.SetupTest()
			s.w.enrich = func(activities.EnrichInput) activities.EnrichOutput { return tt.enrich }
			attrs := s.orderAttributesUpserted()
			in := testInput()
			in.CodePath = tt.codePath
			if tt.started {
				first := captureEvent("evt_1", gross)
				in.First = &first
				s.Require().NoError(s.env.SetTypedSearchAttributesOnStart(fromCapture))
			} else {
				signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
			}
			resting := s.lastSavedAt(5 * time.Minute)
			signalAt(s.env, 6*time.Minute, SignalAdmin, AdminCommand{Action: ActionCancel, Actor: "ops"})
			s.env.ExecuteWorkflow(Workflow, in)
			rec := result(s.T(), s.env)

			s.Equal(tt.status, resting.Status, resting.Reason)
			s.Equal(tt.order, resting.Order, "the stored record's client, order and vendor while the run rests")
			s.Equal(tt.attrs, attrs, "ClientId, OrderId, VendorId, Currency and AmountMinor the run upserted")
			s.Equal(payment.StatusCancelled, rec.Status, rec.Reason)
			s.Equal(tt.order, rec.Order, "cancelled, it is still its client's")
			s.Empty(rec.Legs)
		})
	}
}

// amounted adds the capture's currency and amount to the attributes a run upserts.
func amounted(attrs map[string]any) map[string]any {
	attrs["Currency"], attrs["AmountMinor"] = "usd", int64(gross)
	return attrs
}

// orderAttributesUpserted collects the ClientId, OrderId, VendorId, Currency and AmountMinor the
// run upserts, the latest of each.
func (s *workflowSuite) orderAttributesUpserted() map[string]any {
	attrs := map[string]any{}
	s.env.OnUpsertTypedSearchAttributes(mock.Anything).Run(func(args mock.Arguments) {
		sa := args.Get(0).(temporal.SearchAttributes)
		for _, key := range []temporal.SearchAttributeKeyKeyword{searchattr.ClientID, searchattr.OrderID, searchattr.VendorID, searchattr.Currency} {
			if v, ok := sa.GetKeyword(key); ok {
				attrs[key.GetName()] = v
			}
		}
		if v, ok := sa.GetInt64(searchattr.AmountMinor); ok {
			attrs[searchattr.AmountMinor.GetName()] = v
		}
	})
	return attrs
}

// lastSavedAt is the record the run last saved by workflow time at (filled in then).
func (s *workflowSuite) lastSavedAt(at time.Duration) *payment.Record {
	var rec payment.Record
	s.env.RegisterDelayedCallback(func() {
		s.w.mu.Lock()
		defer s.w.mu.Unlock()
		rec = s.w.saved[len(s.w.saved)-1]
	}, at)
	return &rec
}
