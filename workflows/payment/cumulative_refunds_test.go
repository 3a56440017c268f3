package payment

import (
	"fmt"
	"time"

	"paysplit/internal/payment"
	"paysplit/internal/split"
)

// Thirty Stripe refunds of one cent each, of a payment of 110.00 split 9.70 to the platform,
// 4.85 to the affiliate and 95.45 to the vendor. Each refund was split by what the legs still
// had, the largest share taking the cent: the vendor gave back all thirty and the platform kept
// its whole commission. From code path 23 the legs' refunds together are their shares of the 30
// cents refunded (2.65, 1.32 and 26.03 to the cent: 3, 1 and 26); runs before keep the old way.
func (s *workflowSuite) TestManyPartialRefundsAreSharedAsOne() {
	tests := []struct {
		codePath int
		want     map[split.Party]int64
	}{
		{codePathDecisionBasis, map[split.Party]int64{split.PartyPlatform: 0, split.PartyAffiliate: 0, split.PartyVendor: 30}},
		{codePathCumulativeRefunds, map[split.Party]int64{split.PartyPlatform: 3, split.PartyAffiliate: 1, split.PartyVendor: 26}},
	}
	for _, tt := range tests {
		s.Run(fmt.Sprint("code path ", tt.codePath), func() {
			s.SetupTest()
			signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
			for i := int64(1); i <= 30; i++ {
				signalAt(s.env, time.Duration(i)*time.Minute, SignalEvent, Event{ID: fmt.Sprint("evt_re", i), Kind: EventRefund,
					RefundID: fmt.Sprint("re_", i), Amount: 1, AmountRefunded: i})
			}
			in := testInput()
			in.CodePath = tt.codePath
			s.env.ExecuteWorkflow(Workflow, in)
			rec := result(s.T(), s.env)
			s.checkBooks(rec)

			s.EqualValues(30, rec.Refunded)
			s.Equal(payment.StatusPartiallyRefunded, rec.Status)
			got := map[split.Party]int64{}
			for _, l := range rec.Legs {
				got[l.Party] += l.Refunded
			}
			s.Equal(tt.want, got, "what each leg gave back of the 30 cents")
		})
	}
}
