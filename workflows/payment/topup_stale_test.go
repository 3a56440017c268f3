package payment

import (
	"time"

	"paysplit/internal/payment"
)

// A held top-up due outlives what it was for no more (code path 13): a cancel undoes the payment's
// payouts, so the vendor's held top-up of a failed refund is owed to nobody, and the payment is
// compensated, not left payout_failed on a due whose retry would send nothing.
func (s *workflowSuite) TestHeldTopUpEndsWithACancel() {
	s.w.holds["a1"] = "affiliate not registered"
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	signalAt(s.env, 10*time.Minute, SignalEvent, refundAt("evt_r1", 1100, 10))
	s.holdPayee(15*time.Minute, movedAway)
	signalAt(s.env, 20*time.Minute, SignalEvent, refundFailedAt("evt_f1", "re_1", 1100, 20))
	signalAt(s.env, 30*time.Minute, SignalAdmin, AdminCommand{Action: ActionCancel, Actor: "ops"})
	rec := s.run()
	s.Equal(payment.StatusCompensated, rec.Status, rec.Reason)
	s.False(rec.HasDues())
}

// A held correction top-up (120), then a refund and its failure: the failed refund's top-up
// (955), sent once the payee is fixed, pays what the held one was for too. The held due goes; the
// payment is paid, not payout_failed until an admin's retry that would send nothing.
func (s *workflowSuite) TestHeldTopUpPaidByALaterTopUpGoes() {
	s.taxRules()
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	s.holdPayee(30*time.Second, movedAway)
	signalAt(s.env, time.Minute, SignalEvent, correction("correction-v4", 4))
	signalAt(s.env, 10*time.Minute, SignalEvent, refundAt("evt_r1", 1100, 10))
	s.holdPayee(15*time.Minute, "")
	signalAt(s.env, 20*time.Minute, SignalEvent, refundFailedAt("evt_f1", "re_1", 1100, 20))
	rec := s.run()
	s.EqualValues(vendorCut, s.w.sentToPayee("v1"))
	s.Equal(payment.StatusPaid, rec.Status, rec.Reason)
	s.False(rec.HasDues())
}
