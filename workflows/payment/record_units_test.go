package payment

import (
	"time"

	"paysplit/activities"
	"paysplit/internal/money"
	"paysplit/internal/payment"
	"paysplit/internal/split"
)

// A Stripe payment in MGA (or ISK/UGX) run before code path 10 keeps its amounts in Stripe's own
// units, and so does its stored record. Its run closes after the settle window; a refund told
// later starts a follow-up run on CurrentCodePath, which must count in the record's units (code
// path 12: Record.CodePath), not take them for ISO units and apply the API's ISO-unit refund
// unconverted (an MGA refund of a tenth refunded it all and took back a tenth of the vendor's part).
func (s *workflowSuite) TestFollowUpOfPreISOUnitsPaymentCountsInItsUnits() {
	tests := []struct {
		name             string
		cur              money.Currency
		gross            int64 // in Stripe's units, as the pre-path-10 run stored it
		refundStripe     int64 // the charge's amount_refunded as Stripe says it
		wantRefunded     int64 // in the record's (Stripe's) units
		wantVendorStripe int64 // what Stripe must take back from the vendor, in Stripe's units
	}{
		// 5000 Ar, 10% refunded (500 Ar): the vendor's 4500 Ar share gives back 450 Ar.
		{"mga", "mga", 5000, 500, 500, 450},
		// 11000 ISK (Stripe: 1100000), 10% refunded (110000): the vendor gives back 9900 (990 ISK).
		{"isk", "isk", 1100000, 110000, 110000, 99000},
	}
	for _, tt := range tests {
		s.Run(tt.name, func() {
			s.SetupTest()
			platform := tt.gross / 10
			vendor := tt.gross - platform
			trKey := wfID + "/transfer/vendor-v1/0"
			stored := payment.Record{
				CodePath: 9, WorkflowID: wfID, Provider: "stripe", PaymentID: "pi_1", ChargeID: "ch_1", Currency: tt.cur, Gross: tt.gross,
				Order: payment.Order{ClientID: "acme", OrderID: "o-1", VendorID: "v1"}, Status: payment.StatusPaid,
				Legs: []payment.Leg{
					{Party: split.PartyPlatform, PayeeID: "platform", Amount: platform, State: payment.LegRetained},
					{Party: split.PartyVendor, PayeeID: "v1", Amount: vendor, Transferred: vendor, TransferID: "tr_" + trKey,
						TransferKey: trKey, TransferAmount: vendor, State: payment.LegTransferred},
				},
			}
			s.w.stored = &stored
			s.w.transfers[trKey] = activities.TransferInput{Destination: "acct_v1", Amount: vendor, Currency: tt.cur, StripeUnits: true}

			// Today's API: charge.refunded, converted to ISO units (stripeToEvent).
			iso, err := money.FromStripe(tt.refundStripe, tt.cur)
			s.Require().NoError(err)
			ev := refundEvent("evt_r1", iso)
			ev.Currency, ev.ISOUnits = tt.cur, true
			signalAt(s.env, time.Second, SignalEvent, ev)

			in := testInput() // CodePath: CurrentCodePath, as deliver() starts every run
			s.env.ExecuteWorkflow(Workflow, in)
			rec := result(s.T(), s.env)

			s.EqualValues(tt.wantRefunded, rec.Refunded, "refunded, in the units the record counts in")
			s.Equal(payment.StatusPartiallyRefunded, rec.Status)
			var got int64 = -1
			for _, rv := range s.w.reversals {
				got = rv.Amount
				if !rv.StripeUnits {
					got, err = money.ToStripe(rv.Amount, tt.cur)
					s.Require().NoError(err)
				}
			}
			s.EqualValues(tt.wantVendorStripe, got, "what Stripe is asked to take back from the vendor (Stripe units)")
		})
	}
}

// A dispute lost on a payment already refunded in full (the customer disputes after the refund;
// the issuer rules against the merchant) has nothing left to take: the payment is refunded, not
// left "disputed" for good (code path 12).
func (s *workflowSuite) TestLostDisputeAfterFullRefundClosesTheDispute() {
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	signalAt(s.env, 10*time.Minute, SignalEvent, refundEvent("evt_r1", gross))
	signalAt(s.env, 20*time.Minute, SignalEvent, Event{ID: "evt_d1", Kind: EventDisputeCreated, DisputeID: "dp_1", Amount: gross})
	signalAt(s.env, 30*time.Minute, SignalEvent, Event{ID: "evt_d2", Kind: EventDisputeClosed, DisputeID: "dp_1", DisputeStatus: "lost", Amount: gross})
	rec := s.run()

	s.False(rec.Disputed, "the dispute is closed")
	s.Equal(payment.StatusRefunded, rec.Status, "no dispute is open: the payment is refunded, not disputed")
}

// TestRecordSaysItsCodePath: the first save stamps the record with the run's code path, and a
// later run of the payment keeps it, so the units its amounts are in stay known.
func (s *workflowSuite) TestRecordSaysItsCodePath() {
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	rec := s.run()
	s.Equal(CurrentCodePath, rec.CodePath)
	s.NotEmpty(s.w.saved, "the payment was saved")
	for _, saved := range s.w.saved {
		s.Equal(CurrentCodePath, saved.CodePath, "every save says the path")
	}
}
