package payment

import (
	"time"

	"go.temporal.io/sdk/temporal"

	"paysplit/activities"
	"paysplit/internal/payment"
	"paysplit/internal/split"
)

// A payee check the provider refuses for good (Stripe answers 403 for an account that revoked
// the platform's access; a rail not configured) holds the leg with the refusal as its reason, for
// the asks, an admin's release or cancel (code path 21), as a top-up's check does. Before, the
// refusal ended the run with an error: the payment stayed paying_out with its other legs paid
// and no run to release, cancel or compensate it.
func (s *workflowSuite) TestPayeeCheckRefusedHoldsTheLeg() {
	refusal := temporal.NewNonRetryableApplicationError("retrieve account acct_v1: The provided key does not have access to account 'acct_v1'",
		activities.ErrTypeRejected, nil)
	s.w.payeeErrs = map[string]error{"v1": refusal}
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	held := s.lastSavedAt(30 * time.Minute)
	s.env.RegisterDelayedCallback(func() {
		s.w.mu.Lock()
		defer s.w.mu.Unlock()
		delete(s.w.payeeErrs, "v1") // the payee connected its account again
	}, 90*time.Minute)

	rec := s.runWithHoldRecheck(CurrentCodePath)

	s.Equal(payment.StatusHeld, held.Status, held.Reason)
	s.Contains(held.Reason, "the payee could not be checked: retrieve account acct_v1")
	s.Equal(payment.LegHeld, legOf(s.T(), *held, split.PartyVendor).State)
	s.Equal(payment.LegTransferred, legOf(s.T(), *held, split.PartyAffiliate).State, "the other leg is paid meanwhile")
	s.Equal(payment.StatusPaid, rec.Status, rec.Reason)
	s.EqualValues(vendorCut, s.w.sent("acct_v1"), "paid once its payee can be checked")
}
