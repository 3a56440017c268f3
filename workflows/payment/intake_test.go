package payment

import (
	"time"

	"paysplit/activities"
	"paysplit/internal/payment"
)

// A payment waits for its order and an admin cancels it through the API (numbered: decision 0,
// Checked) as the order's webhook comes, the cancel first: through code path 23 the run's wait,
// blocked on its signals, took the first that came, the cancel, and the payment was cancelled
// before anything was paid. Code path 24 changes only commands sent without a number (and notes
// those it drops): the API's cancel, and the Temporal UI's made while the run asked the order's
// wait, are taken as before. It failed on code path 24 as merged, where the signal noted as it
// came was left to the wait's next round, which kept it for after the order's event:
//
//	Not equal: expected: "cancelled" actual: "paid"
func (s *workflowSuite) TestACancelThatCameBeforeTheOrderIsTakenFirst() {
	for _, tt := range []struct {
		name     string
		codePath int
		cancel   map[string]any
	}{
		{"the API's, code path 23", codePathCumulativeRefunds, map[string]any{"Action": "cancel", "Actor": "ops", "Checked": true}},
		{"the API's", CurrentCodePath, map[string]any{"Action": "cancel", "Actor": "ops", "Checked": true}},
		{"the Temporal UI's", CurrentCodePath, map[string]any{"Action": "cancel", "Actor": "ops"}},
	} {
		s.Run(tt.name, func() {
			s.SetupTest()
			known := false
			s.w.enrich = func(activities.EnrichInput) activities.EnrichOutput {
				if !known {
					return activities.EnrichOutput{Missing: []string{"order_id"}}
				}
				return activities.EnrichOutput{Order: payment.Order{ClientID: "acme", OrderID: "o-1", VendorID: "v1", AffiliateID: "a1", Subtotal: gross}}
			}
			signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
			s.env.RegisterDelayedCallback(func() {
				known = true
				// One workflow task takes both, the cancel first, as a worker is given them.
				s.env.SignalWorkflowSkippingWorkflowTask(SignalAdmin, tt.cancel)
				s.env.SignalWorkflow(SignalEvent, Event{ID: "order-shopify-o-1", Kind: EventOrderReady})
			}, 90*time.Second)
			in := testInput()
			in.CodePath = tt.codePath
			s.env.ExecuteWorkflow(Workflow, in)
			rec := result(s.T(), s.env)

			s.Equal(payment.StatusCancelled, rec.Status, rec.Reason)
			s.Contains(rec.Reason, "cancelled by ops while waiting for its order metadata")
			s.Zero(s.w.sentToPayee("v1"))
			s.Zero(s.w.sentToPayee("a1"))
		})
	}
}

// Two admins retry the vendor's refused payout from the Temporal UI at once: the run takes the
// first, and the second comes as the retry's payout is made (the run asks no decision), so it is
// dropped, and from code path 24 the payment's reason says so. A run that closes before another
// wait reads it (no settle window; a payment compensated, which waits no more) dropped it unsaid:
// through code path 23 the SDK logged a signal left unread as the run closed, and intake took
// even that log line away. It failed before:
//
//	"vendor payout failed (insufficient platform balance); cancelled by ops" does not contain
//	"ops2's cancel, sent while the run asked no decision, not taken"
func (s *workflowSuite) TestACommandLeftUnreadAsTheRunClosesIsNoted() {
	for _, tt := range []struct {
		name   string
		second map[string]any
		want   payment.Status
		reason string
	}{
		{"paid, no settle window", map[string]any{"Action": "retry", "Actor": "ops2"}, payment.StatusPaid, ""},
		{"compensated", map[string]any{"Action": "cancel", "Actor": "ops2"}, payment.StatusCompensated, "vendor payout failed"},
	} {
		s.Run(tt.name, func() {
			s.SetupTest()
			s.w.failNext["vendor"] = []error{rejected("insufficient platform balance")}
			first := map[string]any{"Action": "retry", "Actor": "ops"}
			if tt.want == payment.StatusCompensated {
				first = map[string]any{"Action": "cancel", "Actor": "ops"}
			}
			signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
			s.env.RegisterDelayedCallback(func() {
				s.env.SignalWorkflow(SignalAdmin, first)
				s.env.SignalWorkflow(SignalAdmin, tt.second)
			}, time.Hour)
			in := testInput()
			in.Settings.SettleWindow = 0
			s.env.ExecuteWorkflow(Workflow, in)
			rec := result(s.T(), s.env)

			s.Equal(tt.want, rec.Status, rec.Reason)
			s.Contains(rec.Reason, tt.reason, "the payment's own reason kept")
			s.Contains(rec.Reason, "ops2's "+tt.second["Action"].(string)+", sent while the run asked no decision, not taken")
		})
	}
}
