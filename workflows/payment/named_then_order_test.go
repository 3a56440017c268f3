package payment

import (
	"fmt"
	"time"

	"paysplit/activities"
	"paysplit/internal/payment"
)

// A refund comes first, then the capture, whose order is not there yet (the record keeps the client
// the capture names from code path 18), then the order: the split is the order's, with none of
// what the capture named left over (another vendor, no affiliate), and the refund that waited is
// applied as on code path 17.
func (s *workflowSuite) TestNamedClientGivesWayToItsOrder() {
	order := payment.Order{ClientID: "acme", OrderID: "o-1", VendorID: "v1", AffiliateID: "a1", Platform: "shopify",
		Subtotal: 10000, Tax: 800, Shipping: 500, Discount: 300}
	got := map[int]payment.Record{}
	for _, codePath := range []int{codePathPollPastDeadline, codePathClientBeforeSplit} {
		s.Run(fmt.Sprintf("code path %d", codePath), func() {
			s.SetupTest()
			ready := false
			s.w.enrich = func(activities.EnrichInput) activities.EnrichOutput {
				if !ready {
					return activities.EnrichOutput{Missing: []string{"subtotal"}, Named: payment.Order{ClientID: "acme", OrderID: "o-1", VendorID: "v-named"}}
				}
				return activities.EnrichOutput{Order: order}
			}
			in := testInput()
			in.CodePath = codePath
			signalAt(s.env, time.Second, SignalEvent, refundEvent("evt_r1", 1000))
			signalAt(s.env, 2*time.Second, SignalEvent, captureEvent("evt_1", gross))
			s.env.RegisterDelayedCallback(func() {
				ready = true
				s.env.SignalWorkflow(SignalEvent, Event{ID: "order-shopify-o1", Kind: EventOrderReady})
			}, 30*time.Second)
			s.env.ExecuteWorkflow(Workflow, in)
			rec := result(s.T(), s.env)
			s.Equal(payment.StatusPartiallyRefunded, rec.Status, rec.Reason)
			s.Equal(order, rec.Order, "the order's, nothing the capture named")
			s.EqualValues(1000, rec.Refunded, "the refund that came first")
			got[codePath] = rec
		})
	}
	a, b := got[codePathPollPastDeadline], got[codePathClientBeforeSplit]
	for _, legs := range [][]payment.Leg{a.Legs, b.Legs} {
		for i := range legs {
			legs[i].SentAt = time.Time{} // when it was sent, not what
		}
	}
	s.Equal(a.Legs, b.Legs, "the same split and payouts on both paths")
	s.Equal(a.Refunded, b.Refunded)
}
