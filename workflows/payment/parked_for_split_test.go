package payment

import (
	"time"

	"paysplit/internal/payment"
	"paysplit/internal/split"
)

// A payment whose order is had but whose split is refused (no rule in force for the client) parks
// not split yet, its record naming the order's client, so the store files it under that client.
// From code path 18 a run its capture did not start (a refund first) sets ClientId, OrderId,
// VendorId, Currency and AmountMinor when it waits or parks not split; it did so for a payment
// waiting for its order or parked for its metadata, and not for one parked for its split, which
// `ClientId = 'x'` in the Temporal UI missed while the admin's search by client listed it.
func (s *workflowSuite) TestPaymentParkedForItsSplitCarriesItsClient() {
	tests := []struct {
		name     string
		codePath int
		attrs    map[string]any
	}{
		{"code path 18", codePathClientBeforeSplit, amounted(map[string]any{"ClientId": "acme", "OrderId": "o-1", "VendorId": "v1"})},
		{"code path 17", codePathPollPastDeadline, map[string]any{}},
	}
	for _, tt := range tests {
		s.Run(tt.name, func() {
			s.SetupTest()
			s.w.rules = map[int]split.Rule{} // no rule in force: the split is refused
			attrs := s.orderAttributesUpserted()
			in := testInput()
			in.CodePath = tt.codePath
			signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross)) // a run its capture did not start
			resting := s.lastSavedAt(5 * time.Minute)
			signalAt(s.env, 6*time.Minute, SignalAdmin, AdminCommand{Action: ActionCancel, Actor: "ops"})
			s.env.ExecuteWorkflow(Workflow, in)
			rec := result(s.T(), s.env)

			s.Equal(payment.StatusNeedsAttention, resting.Status, resting.Reason)
			s.Equal("acme", resting.Order.ClientID, "the record names the order's client: the store files it under it")
			s.Equal(tt.attrs, attrs, "ClientId, OrderId, VendorId, Currency and AmountMinor the run upserted")
			s.Equal(payment.StatusCancelled, rec.Status, rec.Reason)
			s.Empty(rec.Legs)
		})
	}
}
