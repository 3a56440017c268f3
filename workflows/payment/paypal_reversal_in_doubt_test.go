package payment

import (
	"errors"
	"time"

	"paysplit/internal/payment"
	"paysplit/internal/split"
)

// A reversal given back while a leg's transfer, asked after the reversal for what it had left, is
// in doubt: the leg is skipped then (its transfer will settle it); confirmed made, it is short of
// the share the reversal gave back, which is sent as the reversal's top-up, as to the legs paid.
func (s *workflowSuite) TestPayPalReversalGivenBackWhileALegIsInDoubtPaysItsShare() {
	s.provider = "paypal"
	lost := madeButLost{errors.New("connection reset")}
	s.w.failNext["vendor"] = []error{lost, lost, lost}
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	signalAt(s.env, time.Second/2, SignalEvent, ppReversed("REV1", 5000))
	signalAt(s.env, 50*time.Minute, SignalEvent, ppResolved("PP-A", paypalSellerFavour))
	signalAt(s.env, time.Hour, SignalAdmin, resolve(true, "tr_"+vendorKey))
	rec := s.run()

	s.Contains(s.w.transfers, wfID+"/refund-failed/REV1/vendor-v1", "the vendor's share as the reversal's top-up")
	s.Zero(rec.DisputesLost)
	s.Zero(rec.Refunded)
	s.Equal(payment.StatusPaid, rec.Status)
	for _, p := range []split.Party{split.PartyVendor, split.PartyAffiliate} {
		leg := legOf(s.T(), rec, p)
		s.EqualValues(leg.Amount, s.w.sentToPayee(leg.PayeeID), "%s: paid its whole share", p)
	}
}
