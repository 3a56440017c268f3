package payment

import (
	"errors"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/temporal"

	"paysplit/internal/payment"
	"paysplit/internal/split"
	"paysplit/workflows/searchattr"
)

// holdRecheckInput asks for code path path with held legs asked about every hour.
func (s *workflowSuite) runWithHoldRecheck(path int) payment.Record {
	in := testInput()
	in.Provider = s.provider
	in.CodePath = path
	in.Settings.HoldRecheckEvery = time.Hour
	s.env.ExecuteWorkflow(Workflow, in)
	rec := result(s.T(), s.env)
	s.Equal(rec, s.w.saved[len(s.w.saved)-1], "the stored state is the final state")
	s.checkBooks(rec)
	return rec
}

// payeeChecks is how often the run asked where payee is paid.
func (s *workflowSuite) payeeChecks(payee string) int {
	s.w.mu.Lock()
	defer s.w.mu.Unlock()
	return s.w.calls["payee:"+payee]
}

// savesAt counts the saves made by the time after, into *n.
func (s *workflowSuite) savesAt(after time.Duration, n *int) {
	s.env.RegisterDelayedCallback(func() {
		s.w.mu.Lock()
		defer s.w.mu.Unlock()
		*n = len(s.w.saved)
	}, after)
}

// A payee an admin fixes after its leg was held (registered, its account enabled) is paid by the
// run itself at its next ask (code path 19): no admin releases the payment, no Connect event is
// needed (PayPal has none), and one that came before the hold was saved is not missed.
func (s *workflowSuite) TestHeldLegPaidOnceItsPayeeCanReceive() {
	s.w.holds["v1"] = "Stripe account acct_v1 cannot receive transfers (transfers capability inactive)"
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	s.holdPayee(90*time.Minute, "") // enabled after the first ask, at 1 h
	start := s.env.Now()

	rec := s.runWithHoldRecheck(CurrentCodePath)

	s.Equal(payment.StatusPaid, rec.Status)
	s.EqualValues(vendorCut, s.w.sent("acct_v1"), "paid once, in full")
	s.EqualValues(affiliateCut, s.w.sent("acct_a1"))
	vendor := rec.Leg(split.PartyVendor)
	s.Equal(payment.LegTransferred, vendor.State)
	// Asked at 1 h (still held) and 1 + 2 h (it can): paid at the second ask, not before.
	paidAfter := vendor.SentAt.Sub(start)
	s.GreaterOrEqual(paidAfter, 3*time.Hour, "the wait doubles after an ask that found it held")
	s.Less(paidAfter, 3*time.Hour+time.Minute)
	s.Equal(5, s.payeeChecks("v1"), "the first payout's check, the ask once the hold is saved (code path 20), two asks, and the release's check before sending")
}

// A payee that never becomes able to receive is asked about less and less often, up to once a
// day, and an ask that finds it as before writes nothing: a leg held for months keeps a small
// history and no stream of saves. An admin's cancel is still taken while it waits.
func (s *workflowSuite) TestHeldLegAskedLessOftenTheLongerItIsHeld() {
	s.w.holds["v1"] = `vendor "v1" is not registered`
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	var savedBefore, savedAfter int
	s.savesAt(30*time.Minute, &savedBefore)
	s.savesAt(72*time.Hour, &savedAfter)
	signalAt(s.env, 72*time.Hour+time.Minute, SignalAdmin, AdminCommand{Action: ActionCancel, Actor: "ops"})

	rec := s.runWithHoldRecheck(CurrentCodePath)

	s.Equal(payment.StatusCompensated, rec.Status)
	s.Zero(s.w.sent("acct_v1"))
	// Asks at 1, 3, 7, 15, 31 and 55 h; the next would be at 79 h.
	s.Equal(1+1+6, s.payeeChecks("v1"), "the first payout's check, the ask once the hold is saved and six asks in three days")
	s.Positive(savedBefore)
	s.Equal(savedBefore, savedAfter, "an ask that finds the payee as before saves nothing")
}

// A hold whose reason changes (the admin registered the payee, whose account cannot receive yet)
// shows the reason it has now; once the account can receive, the leg is paid.
func (s *workflowSuite) TestHeldLegShowsItsReasonNow() {
	s.w.holds["v1"] = `vendor "v1" is not registered`
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	const now = "Stripe account acct_v1 cannot receive transfers (transfers capability pending)"
	s.holdPayee(2*time.Hour, now)
	s.holdPayee(5*time.Hour, "")

	rec := s.runWithHoldRecheck(CurrentCodePath)

	s.Equal(payment.StatusPaid, rec.Status)
	s.EqualValues(vendorCut, s.w.sent("acct_v1"))
	var reasons []string
	for _, saved := range s.w.saved {
		if l := saved.Leg(split.PartyVendor); l != nil && l.State == payment.LegHeld && (len(reasons) == 0 || reasons[len(reasons)-1] != l.Reason) {
			reasons = append(reasons, l.Reason)
		}
	}
	s.Equal([]string{`vendor "v1" is not registered`, now}, reasons, "the reason saved at the ask after it changed")
}

// An ask that gets no answer (Postgres or the provider away past the step's retries) leaves the
// leg held for the next ask: the run neither fails nor sits in a step an admin cannot reach.
func (s *workflowSuite) TestHeldLegAskedAgainAfterAnAskWithoutAnswer() {
	s.w.holds["v1"] = "Stripe account acct_v1 cannot receive transfers (transfers capability inactive)"
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	s.holdPayee(30*time.Minute, "")
	s.env.RegisterDelayedCallback(func() { s.w.setDown(stepResolvePayee, true) }, 50*time.Minute)
	s.env.RegisterDelayedCallback(func() { s.w.setDown(stepResolvePayee, false) }, 2*time.Hour)
	start := s.env.Now()

	rec := s.runWithHoldRecheck(CurrentCodePath)

	s.Equal(payment.StatusPaid, rec.Status)
	s.EqualValues(vendorCut, s.w.sent("acct_v1"))
	s.Positive(s.w.calls["down:"+stepResolvePayee], "the ask at 1 h got no answer")
	s.GreaterOrEqual(rec.Leg(split.PartyVendor).SentAt.Sub(start), 3*time.Hour, "paid at the next ask")
}

// A run on an older code path waits for an admin or a Connect event as it did: it asks nothing.
func (s *workflowSuite) TestHeldLegOnAnOlderPathWaitsForAnAdmin() {
	s.w.holds["v1"] = "Stripe account acct_v1 cannot receive transfers (transfers capability inactive)"
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	s.holdPayee(30*time.Minute, "")
	signalAt(s.env, 48*time.Hour, SignalAdmin, AdminCommand{Action: ActionRelease, Actor: "ops"})
	start := s.env.Now()

	rec := s.runWithHoldRecheck(codePathClientBeforeSplit)

	s.Equal(payment.StatusPaid, rec.Status)
	s.Equal(2, s.payeeChecks("v1"), "the first payout's check and the release's")
	s.GreaterOrEqual(rec.Leg(split.PartyVendor).SentAt.Sub(start), 48*time.Hour, "paid on the admin's release")
}

// A leg held while its transfer is in doubt is released by an ask as by an admin's release: the
// provider is asked under the key with the amount first sent, never sent under a new key.
func (s *workflowSuite) TestHeldLegInDoubtReleasedByAnAskKeepsItsKey() {
	lost := madeButLost{errors.New("connection reset")}
	s.w.failNext["vendor"] = []error{lost, lost, lost}
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	s.holdAndRetryAt(time.Hour, "Stripe account acct_v1 cannot receive transfers")
	s.holdPayee(90*time.Minute, "")

	rec := s.runWithHoldRecheck(CurrentCodePath)

	s.Equal(payment.StatusPaid, rec.Status)
	s.EqualValues(vendorCut, s.w.sent("acct_v1"), "made once")
	key := wfID + "/transfer/vendor-v1/0"
	s.Equal(key, rec.Leg(split.PartyVendor).TransferKey)
	for _, in := range s.requestsUnder(key) {
		s.EqualValues(vendorCut, in.Amount, "asked with the amount first sent")
	}
	s.Len(s.requestsUnder(wfID+"/transfer/vendor-v1/1"), 0, "no new key")
}

// A held leg a refund left nothing to send is settled at the next ask without asking its payee,
// which may never be able to receive: the refunded payment does not wait for an admin.
func (s *workflowSuite) TestHeldLegRefundedInFullSettlesAtTheNextAsk() {
	s.w.holds["v1"] = `vendor "v1" is not registered`
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	signalAt(s.env, 30*time.Minute, SignalEvent, refundEvent("evt_r1", gross))
	start := s.env.Now()

	rec := s.runWithHoldRecheck(CurrentCodePath)

	s.Equal(payment.StatusRefunded, rec.Status)
	vendor := rec.Leg(split.PartyVendor)
	s.Equal(payment.LegNothingDue, vendor.State)
	s.Zero(s.w.sent("acct_v1"))
	s.Equal(2, s.payeeChecks("v1"), "the first payout's check and the ask once the hold is saved; after the refund nothing to send, nobody to ask")
	s.Less(s.env.Now().Sub(start), 2*time.Hour+time.Minute, "settled at the first ask (1 h), then closed after its settle window (1 h)")
}

// Of two legs held, an ask that finds one payee able to receive pays that leg alone: the payment
// stays held, saying why, for the other (an admin's release and cancel, and a Connect event's,
// are taken only by a held payment), in the store and in its PaymentStatus search attribute; it
// ends paid once the other payee can receive too.
func (s *workflowSuite) TestHeldLegsTheOtherStaysHeldAfterAnAskPaysOne() {
	s.w.holds["v1"] = `vendor "v1" is not registered`
	s.w.holds["a1"] = `affiliate "a1" is not registered`
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	s.holdPayee(90*time.Minute, "")
	s.holdPayeeOf("a1", 20*time.Hour, "")
	var status string
	s.env.OnUpsertTypedSearchAttributes(mock.Anything).Run(func(args mock.Arguments) {
		if v, ok := args.Get(0).(temporal.SearchAttributes).GetKeyword(searchattr.PaymentStatus); ok {
			status = v
		}
	})
	var statusAt10h string
	s.env.RegisterDelayedCallback(func() { statusAt10h = status }, 10*time.Hour)
	resting := s.lastSavedAt(10 * time.Hour)

	rec := s.runWithHoldRecheck(CurrentCodePath)

	s.Equal(payment.LegTransferred, resting.Leg(split.PartyVendor).State, "the vendor paid at the ask at 3 h")
	s.Equal(payment.LegHeld, resting.Leg(split.PartyAffiliate).State)
	s.Equal(payment.StatusHeld, resting.Status, "stored while the affiliate's leg is held (reason %q)", resting.Reason)
	s.Equal(`affiliate leg held: affiliate "a1" is not registered`, resting.Reason)
	s.Equal(string(payment.StatusHeld), statusAt10h, "PaymentStatus while the affiliate's leg is held")
	s.Equal(payment.StatusPaid, rec.Status)
	s.Equal(string(payment.StatusPaid), status)
	s.EqualValues(vendorCut, s.w.sent("acct_v1"))
	s.EqualValues(affiliateCut, s.w.sent("acct_a1"))
}

// A top-up held for its payee (a correction's, here) when the settle window ends is asked about
// as a held leg is (code path 19): the run stays open, asks after HoldRecheckEvery, backing off,
// and sends it once the payee can receive. It waited for an admin's retry or a Connect event
// (PayPal has none) once the window, and the automatic retries of dues in it, were over.
func (s *workflowSuite) TestHeldTopUpAskedAboutAfterTheSettleWindow() {
	s.taxRules()
	in := testInput()
	in.Settings.HoldRecheckEvery = time.Hour
	in.Settings.DueRetryEvery = 10 * time.Minute
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	s.holdPayee(30*time.Second, movedAway)
	signalAt(s.env, time.Minute, SignalEvent, correction("correction-v4", 4))
	s.holdPayee(5*time.Hour, "") // after the settle window (1 h)
	var savedBefore, savedAfter int
	s.savesAt(90*time.Minute, &savedBefore)
	s.savesAt(4*time.Hour, &savedAfter)

	s.env.ExecuteWorkflow(Workflow, in)
	rec := result(s.T(), s.env)

	s.checkBooks(rec)
	s.paidTopUpOnce(rec)
	s.Empty(legOf(s.T(), rec, split.PartyVendor).Dues)
	s.Equal(savedBefore, savedAfter, "an ask that finds the payee as before saves nothing")
}

// A top-up held while another leg is held is asked about with it (code path 19): the vendor gets
// its failed refund's share back once it can receive, not once the affiliate's leg is released (a
// retry of its dues, the admin API refuses while a leg is held).
func (s *workflowSuite) TestHeldTopUpWhileALegIsHeldAskedAboutWithIt() {
	s.w.holds["a1"] = `affiliate "a1" is not registered`
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	signalAt(s.env, 10*time.Minute, SignalEvent, refundAt("evt_r1", 1100, 10))
	s.holdPayee(15*time.Minute, movedAway)
	signalAt(s.env, 20*time.Minute, SignalEvent, refundFailedAt("evt_f1", "re_1", 1100, 20))
	s.holdPayee(30*time.Minute, "")
	s.holdPayeeOf("a1", 20*time.Hour, "")
	var vendorAt10h int64
	s.env.RegisterDelayedCallback(func() { vendorAt10h = s.w.sentToPayee("v1") }, 10*time.Hour)

	rec := s.runWithHoldRecheck(CurrentCodePath)

	s.EqualValues(vendorCut, vendorAt10h, "the vendor's top-up sent at an ask while the affiliate's leg is held")
	s.Equal(payment.StatusPaid, rec.Status, rec.Reason)
	s.EqualValues(vendorCut, s.w.sentToPayee("v1"))
	s.EqualValues(affiliateCut, s.w.sentToPayee("a1"))
	s.Empty(legOf(s.T(), rec, split.PartyVendor).Dues)
}

// A dispute opened and closed (won) while a leg is held leaves the payment held (code path 19):
// the dispute is on the record (Disputed, OpenDisputes) and in the reason while open, but the
// status stays what an admin's release or cancel, a Connect event's release and held_leg_age
// read. It was disputed, then paid once the dispute closed, with the leg still held.
func (s *workflowSuite) TestHeldLegStaysHeldThroughADispute() {
	s.w.holds["v1"] = `vendor "v1" is not registered`
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	signalAt(s.env, 10*time.Minute, SignalEvent, disputeOpened("evt_d1", "dp_1"))
	open := s.lastSavedAt(15 * time.Minute)
	signalAt(s.env, 20*time.Minute, SignalEvent, Event{ID: "evt_d2", Kind: EventDisputeClosed, DisputeID: "dp_1", DisputeStatus: "won", Amount: gross})
	closed := s.lastSavedAt(30 * time.Minute)
	s.holdPayee(2*time.Hour, "")

	rec := s.runWithHoldRecheck(CurrentCodePath)

	s.True(open.Disputed)
	s.Equal(payment.StatusHeld, open.Status, "while the dispute is open (reason %q)", open.Reason)
	s.Equal(`vendor leg held: vendor "v1" is not registered; dispute dp_1 opened`, open.Reason)
	s.False(closed.Disputed)
	s.Equal(payment.StatusHeld, closed.Status, "once it closed (reason %q)", closed.Reason)
	s.Equal(`vendor leg held: vendor "v1" is not registered`, closed.Reason)
	s.Equal(payment.StatusPaid, rec.Status, rec.Reason)
	s.EqualValues(vendorCut, s.w.sent("acct_v1"))
}

// Stripe refuses a transfer to an account it restricted after the check before the transfer: the
// leg is held, as the check would have held it, and paid once the account can receive, under a
// new key (the refused one cannot pay). Before, the refusal was a failure: the payment waited for
// an admin's decision and, without one, compensated every leg.
func (s *workflowSuite) TestTransferRefusedBecauseTheAccountCannotReceiveIsHeld() {
	s.w.failNext["vendor"] = []error{rejected("Your destination account needs to have at least one of the following capabilities enabled: transfers")}
	s.w.holdOnRefusal = map[string]string{"v1": "Stripe account acct_v1 cannot receive transfers (transfers capability restricted)"}
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	s.holdPayee(2*time.Hour, "")

	rec := s.runWithHoldRecheck(CurrentCodePath)

	s.Equal(payment.StatusPaid, rec.Status)
	s.EqualValues(vendorCut, s.w.sent("acct_v1"))
	s.Len(s.requestsUnder(wfID+"/transfer/vendor-v1/0"), 1, "the refused attempt")
	s.Len(s.requestsUnder(wfID+"/transfer/vendor-v1/1"), 1, "paid under a new key")
	for _, saved := range s.w.saved {
		s.NotEqual(payment.StatusPayoutFailed, saved.Status, "held, never failed")
	}
	s.Empty(s.w.reversals, "nothing compensated")
	s.Equal(1, s.w.calls["payee-fresh:v1"], "the ask after the refusal does not take the provider's yes of a minute ago")
}

// A refusal while the payee can still receive (the platform's balance short) stays a failure for
// an admin, who retries it.
func (s *workflowSuite) TestTransferRefusedWhileThePayeeCanReceiveFails() {
	s.w.failNext["vendor"] = []error{rejected("insufficient platform balance")}
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	signalAt(s.env, time.Hour, SignalAdmin, AdminCommand{Action: ActionRetry, Actor: "ops"})

	rec := s.runWithHoldRecheck(CurrentCodePath)

	s.Equal(payment.StatusPaid, rec.Status)
	var failed bool
	for _, saved := range s.w.saved {
		failed = failed || saved.Status == payment.StatusPayoutFailed
	}
	s.True(failed, "parked as payout_failed for the admin")
	s.Len(s.requestsUnder(wfID+"/transfer/vendor-v1/1"), 1, "the admin's retry under a new key")
}
