package payment

import (
	"time"

	"paysplit/activities"
	"paysplit/internal/payment"
)

// A Stripe bank debit (ACH, SEPA) counts from when Stripe submitted it, which Enrich reads on the
// charge's balance transaction (its CapturedAt), days before payment_intent.succeeded: the record's
// captured_at and the time its split rule is looked up at are that, whether Prepare read the order
// with the capture or an Enrich step did once the order came; until then, and when Stripe says no
// earlier time, the event's time stands. Enrich is given the event's bounds to judge it by.
func (s *workflowSuite) TestDebitCountsFromItsSubmission() {
	ev := captureEvent("evt_1", gross)
	ev.IntentCreated = ev.OccurredAt.Add(-50 * time.Hour)
	submitted := ev.OccurredAt.Add(-40 * time.Hour)
	for _, tt := range []struct {
		name         string
		missingFirst bool
		stripeSays   time.Time
		want         time.Time
		steps        [3]int // prepare, enrich, split
	}{
		{"read with the capture (Prepare)", false, submitted, submitted, [3]int{1, 0, 0}},
		{"read once the order came (an Enrich step)", true, submitted, submitted, [3]int{1, 1, 1}},
		{"no earlier time from Stripe: the event's", false, time.Time{}, ev.OccurredAt, [3]int{1, 0, 0}},
	} {
		s.Run(tt.name, func() {
			s.SetupTest()
			var asked []activities.EnrichInput
			s.w.enrich = func(in activities.EnrichInput) activities.EnrichOutput {
				asked = append(asked, in)
				if tt.missingFirst && len(asked) == 1 {
					return activities.EnrichOutput{Missing: []string{"vendor_id"}}
				}
				return activities.EnrichOutput{CapturedAt: tt.stripeSays, Order: payment.Order{ClientID: "acme", OrderID: "o-1", VendorID: "v1",
					AffiliateID: "a1", Platform: "shopify", Subtotal: 10000, Tax: 800, Shipping: 500, Discount: 300}}
			}
			signalAt(s.env, 0, SignalEvent, ev)
			rec := s.run()

			s.Equal(payment.StatusPaid, rec.Status, rec.Reason)
			s.True(rec.CapturedAt.Equal(tt.want), "captured at %s, want %s", rec.CapturedAt, tt.want)
			s.Equal([]time.Time{tt.want}, s.w.splitAt, "the split rule is looked up at the same time")
			c := s.w.calls
			s.Equal(tt.steps, [3]int{c["step:prepare"], c["step:enrich"], c["step:split"]}, "prepare, enrich, split steps")
			s.NotEmpty(asked)
			for _, in := range asked {
				s.True(in.EventAt.Equal(ev.OccurredAt) && in.IntentCreated.Equal(ev.IntentCreated), "Enrich is given the event's bounds: %+v", in)
			}
			if tt.missingFirst {
				s.Equal(payment.StatusAwaitingMetadata, s.w.saved[0].Status)
				s.True(s.w.saved[0].CapturedAt.Equal(ev.OccurredAt), "the event's time until Stripe's is read")
			}
		})
	}
}
