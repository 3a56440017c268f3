package payment

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/suite"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"paysplit/activities"
	"paysplit/internal/ledger"
	"paysplit/internal/payment"
	"paysplit/internal/split"
)

const wfID = "payment-stripe-pi_1"

// The order in every test: subtotal 10000, tax 800, shipping 500, discount 300 → gross 11000,
// commission base 9700; platform 10% = 970, affiliate 5% = 485, vendor the rest = 9545.
const (
	gross        = 11000
	platformCut  = 970
	affiliateCut = 485
	vendorCut    = 9545
)

type workflowSuite struct {
	suite.Suite
	testsuite.WorkflowTestSuite
	env *testsuite.TestWorkflowEnvironment
	w   *world
	// provider is the payment's provider: stripe unless a test sets it; the world answers alike.
	provider string
	// codePath is the code path run asks for: CurrentCodePath unless a test sets it.
	codePath int
}

func TestWorkflow(t *testing.T) { suite.Run(t, new(workflowSuite)) }

func (s *workflowSuite) SetupTest() {
	s.env = s.NewTestWorkflowEnvironment()
	s.env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: wfID})
	s.w = newWorld(s.T())
	s.w.install(s.env)
	s.provider = "stripe"
	s.codePath = 0
}

func (s *workflowSuite) run() payment.Record {
	rec := s.runInDoubt()
	s.checkBooks(rec)
	return rec
}

// runInDoubt runs the workflow without checking its books against the world: a movement made
// whose answer was lost is the world's and not yet the books'.
func (s *workflowSuite) runInDoubt() payment.Record {
	in := testInput()
	in.Provider = s.provider
	if s.codePath != 0 {
		in.CodePath = s.codePath
	}
	s.env.ExecuteWorkflow(Workflow, in)
	rec := result(s.T(), s.env)
	s.Equal(rec, s.w.saved[len(s.w.saved)-1], "the stored state is the final state")
	return rec
}

// checkBooks holds after every test: each payee's ledger payable equals what the split still
// owes them minus what was sent net of reversals, and the provider balance is what is left.
func (s *workflowSuite) checkBooks(rec payment.Record) {
	var netSent int64
	for _, l := range rec.Legs {
		if l.Party == split.PartyPlatform {
			s.Equal(-(l.Amount - l.Refunded), s.w.balance(ledger.PlatformRevenue), "platform revenue")
			continue
		}
		sent := s.w.sentToPayee(l.PayeeID)
		s.Equal(l.Transferred-l.Reversed, sent, "%s: recorded vs sent", l.Party)
		s.Equal(-(l.Remaining() - sent), s.w.balance(l.Account()), "%s payable", l.Party)
		netSent += sent
	}
	if rec.Split() {
		s.Equal(rec.Gross-rec.Fee+rec.FeeReturned-rec.DisputeFees-rec.Refunded-rec.DisputeLossBeyondRefunds-netSent, s.w.balance(ledger.ProviderBalance(rec.Provider)), "provider balance")
		s.Equal(rec.Fee-rec.FeeReturned+rec.DisputeFees, s.w.balance(ledger.ProcessingFees(rec.Provider)), "the platform's fee expense")
		s.Equal(rec.DisputeLossBeyondRefunds, s.w.balance(ledger.DisputeLosses(rec.Provider)), "the platform's dispute losses")
	}
	s.checkEntryIDs(rec)
}

// checkEntryIDs: the record names the journal entries that booked its capture and its legs'
// transfers, whichever step booked them.
func (s *workflowSuite) checkEntryIDs(rec payment.Record) {
	if e, ok := s.w.entries[wfID+"/capture"]; ok {
		s.Equal(e.ID, rec.CaptureEntryID, "capture entry")
	}
	if e, ok := s.w.entries[wfID+"/fee"]; ok {
		s.Equal(e.ID, rec.FeeEntryID, "fee entry")
	}
	for _, l := range rec.Legs {
		if e, ok := s.w.entries[wfID+"/transfer/"+l.Name()]; ok {
			s.Equal(e.ID, l.TransferEntryID, "%s transfer entry", l.Name())
		}
	}
}

// On today's code path a payment that settles in one go books its capture and transfers with its
// final save: one step; the code path before it posts each entry and saves after.
func (s *workflowSuite) TestBookingStepsByCodePath() {
	tests := []struct {
		codePath                      int
		postEntry, saveAndBook, saves int
		// load, prepare, enrich, split: the steps that read the payment, its order and its split.
		reads [4]int
	}{
		// The capture comes with the start.
		{codePath: codePathOneTask, postEntry: 3, saves: 1, reads: [4]int{1, 0, 1, 1}},
		{codePath: codePathBookWithSave, saveAndBook: 1, saves: 1, reads: [4]int{0, 1, 0, 0}},
	}
	for _, tt := range tests {
		s.Run(fmt.Sprint("code path ", tt.codePath), func() {
			s.SetupTest()
			in := testInput()
			in.CodePath, in.Settings.SettleWindow = tt.codePath, 0
			signalAt(s.env, 0, SignalEvent, captureEvent("evt_1", gross))
			s.env.ExecuteWorkflow(Workflow, in)
			rec := result(s.T(), s.env)
			c := s.w.calls
			s.Equal(tt.reads, [4]int{c["step:load"], c["step:prepare"], c["step:enrich"], c["step:split"]}, "load, prepare, enrich, split steps")
			s.Equal(payment.StatusPaid, rec.Status)
			s.Equal(rec, s.w.saved[len(s.w.saved)-1], "the stored state is the final state")
			s.checkBooks(rec)
			s.Len(s.w.entries, 3, "capture and two transfers")
			s.NotZero(rec.CaptureEntryID)
			s.Equal(tt.postEntry, s.w.calls["post-entry"], "PostEntry steps")
			s.Equal(tt.saveAndBook, s.w.calls["save-and-book"], "SaveAndBook steps")
			s.Equal(tt.saves, s.w.calls["save"], "saves")
		})
	}
}

// The provider's processing fee, said by the event (PayPal) or read from the charge (Stripe), is
// the platform's expense: the legs keep their shares of the gross, the provider balance is the
// gross less the fee, and the fee entry is booked in the same step as the capture, on both paths.
func (s *workflowSuite) TestProcessingFeeIsThePlatformsExpense() {
	tests := []struct {
		name              string
		codePath          int
		eventFee, charged int64
		want              int64
	}{
		{"read from the charge, one step", codePathBookWithSave, 0, 349, 349},
		{"said by the event, one step", codePathBookWithSave, 433, 0, 433},
		{"read from the charge, posted entry by entry", codePathOneTask, 0, 349, 349},
		{"not known", codePathBookWithSave, 0, 0, 0},
	}
	for _, tt := range tests {
		s.Run(tt.name, func() {
			s.SetupTest()
			s.w.fee = tt.charged
			in := testInput()
			in.CodePath, in.Settings.SettleWindow = tt.codePath, 0
			ev := captureEvent("evt_1", gross)
			ev.Fee = tt.eventFee
			signalAt(s.env, 0, SignalEvent, ev)
			s.env.ExecuteWorkflow(Workflow, in)
			rec := result(s.T(), s.env)
			s.Equal(payment.StatusPaid, rec.Status)
			s.Equal(tt.want, rec.Fee)
			s.checkBooks(rec)
			s.EqualValues(vendorCut, s.w.transfers[wfID+"/transfer/vendor-v1/0"].Amount, "the vendor's share is of the gross")
			s.EqualValues(-platformCut, s.w.balance(ledger.PlatformRevenue), "the fee is no less revenue, but an expense")
			fee, booked := s.w.entries[wfID+"/fee"]
			if tt.want == 0 {
				s.False(booked, "no fee entry without a fee")
				s.Len(s.w.entries, 3)
				return
			}
			s.Require().True(booked)
			s.ElementsMatch([]ledger.Posting{{Account: "processing_fees:stripe", Amount: tt.want}, {Account: "provider:stripe", Amount: -tt.want}}, fee.Postings)
			s.Len(s.w.entries, 4, "capture, fee and two transfers")
			if tt.codePath == codePathBookWithSave {
				s.Equal(1, s.w.calls["save-and-book"], "booked with the save, no step of its own")
			}
		})
	}
}

// A split refused at the first step (no rule in force at capture) parks the payment as the
// ComputeSplit step's refusal did; the admin's retry after adding the rule splits it with a step.
func (s *workflowSuite) TestNoRuleInForceParksUntilAnAdminRetries() {
	delete(s.w.rules, 3)
	signalAt(s.env, 0, SignalEvent, captureEvent("evt_1", gross)) // with the start: Prepare reads the split
	s.env.RegisterDelayedCallback(func() {
		s.w.mu.Lock()
		defer s.w.mu.Unlock()
		s.w.rules[3] = split.Rule{ClientID: "acme", Version: 3, PlatformBps: 1000, AffiliateBps: 500}
	}, 30*time.Minute)
	signalAt(s.env, time.Hour, SignalAdmin, AdminCommand{Action: ActionRetry, Actor: "ops"})
	rec := s.run()

	s.Equal(payment.StatusPaid, rec.Status)
	var parked bool
	for _, saved := range s.w.saved {
		parked = parked || (saved.Status == payment.StatusNeedsAttention && saved.Reason == "no such rule")
	}
	s.True(parked, "parked with the refusal's reason")
	c := s.w.calls
	s.Equal([3]int{1, 1, 1}, [3]int{c["step:prepare"], c["step:enrich"], c["step:split"]},
		"Prepare read the refusal; the retry enriched and split in steps of their own")
	s.EqualValues(vendorCut, s.w.sent("acct_v1"))
}

// An unbooked transfer is booked before the payment waits: while an admin decides about the
// refused affiliate payout, the books already show the capture and the vendor's transfer.
func (s *workflowSuite) TestTransfersAreBookedBeforeTheRunWaits() {
	s.w.failNext["affiliate"] = []error{rejected("insufficient platform balance")}
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	var duringWait []string
	s.env.RegisterDelayedCallback(func() {
		s.w.mu.Lock()
		defer s.w.mu.Unlock()
		for k := range s.w.entries {
			duringWait = append(duringWait, k)
		}
	}, 30*time.Minute)
	signalAt(s.env, time.Hour, SignalAdmin, AdminCommand{Action: ActionRetry, Actor: "ops"})
	rec := s.run()

	s.Equal(payment.StatusPaid, rec.Status)
	s.ElementsMatch([]string{wfID + "/capture", wfID + "/transfer/vendor-v1"}, duringWait)
	s.Zero(s.w.calls["post-entry"], "no entry needed a step of its own")
}

func (s *workflowSuite) TestHappyPathPaysEachPayeeOnce() {
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	signalAt(s.env, 2*time.Second, SignalEvent, captureEvent("evt_1", gross)) // duplicate delivery
	signalAt(s.env, 3*time.Second, SignalEvent, captureEvent("evt_2", gross)) // replay with a new event ID
	rec := s.run()

	s.Equal(payment.StatusPaid, rec.Status)
	s.Equal(3, rec.RuleVersion)
	s.EqualValues(9700, rec.CommissionBase)
	s.Len(s.w.transfers, 2)
	vendor := s.w.transfers[wfID+"/transfer/vendor-v1/0"]
	s.EqualValues(vendorCut, vendor.Amount)
	s.Equal("acct_v1", vendor.Destination)
	s.Equal("ch_1", vendor.SourceTransaction)
	s.Equal("o-1", vendor.TransferGroup)
	s.Equal(wfID, vendor.Metadata["workflow_id"])
	s.EqualValues(affiliateCut, s.w.transfers[wfID+"/transfer/affiliate-a1/0"].Amount)
	s.EqualValues(platformCut, legOf(s.T(), rec, split.PartyPlatform).Amount)
	s.Equal(payment.LegRetained, legOf(s.T(), rec, split.PartyPlatform).State)
	s.Len(s.w.entries, 3, "capture + two transfers")
	s.EqualValues(platformCut, s.w.balance(ledger.ProviderBalance("stripe")))
	s.Empty(s.w.reversals)
}

// A capture that starts its run comes in the input (code path 8): the run pays without a
// signal, in its first workflow task, and a re-delivery of the same event by signal is taken once.
func (s *workflowSuite) TestCaptureInTheInputPaysWithoutASignal() {
	tests := []struct {
		name     string
		codePath int
		wantPaid bool
	}{
		{name: "code path 8 takes it", codePath: codePathStartWithCapture, wantPaid: true},
		{name: "a path before leaves it to the signal, which never comes", codePath: codePathPayableRefunds},
	}
	for _, tt := range tests {
		s.Run(tt.name, func() {
			s.SetupTest()
			in := testInput()
			in.CodePath = tt.codePath
			first := captureEvent("evt_1", gross)
			in.First = &first
			if tt.wantPaid {
				signalAt(s.env, time.Minute, SignalEvent, captureEvent("evt_1", gross)) // a re-delivery
			}
			s.env.ExecuteWorkflow(Workflow, in)
			rec := result(s.T(), s.env)
			if !tt.wantPaid {
				s.Equal(payment.StatusNeedsAttention, rec.Status, "no capture without its signal on the old path")
				s.Contains(rec.Reason, "no capture event")
				s.Empty(s.w.transfers)
				return
			}
			s.checkBooks(rec)
			s.Equal(payment.StatusPaid, rec.Status)
			s.Len(s.w.transfers, 2, "each payee once")
			s.EqualValues(vendorCut, s.w.transfers[wfID+"/transfer/vendor-v1/0"].Amount)
		})
	}
}

func (s *workflowSuite) TestFailingSecondLegCompensatesFirst() {
	s.w.failNext["affiliate"] = []error{rejected("account closed")}
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	rec := s.run() // no admin decision: the decision timeout compensates

	s.Equal(payment.StatusCompensated, rec.Status)
	s.Contains(rec.Reason, "account closed")
	vendor := legOf(s.T(), rec, split.PartyVendor)
	s.Equal(payment.LegReversed, vendor.State)
	rev, ok := s.w.reversals[wfID+"/compensate/vendor-v1"]
	s.Require().True(ok, "the vendor transfer is reversed")
	s.EqualValues(vendorCut, rev.Amount)
	s.Equal("tr_"+wfID+"/transfer/vendor-v1/0", rev.TransferID)
	s.Equal(payment.LegCancelled, legOf(s.T(), rec, split.PartyAffiliate).State)
	s.Zero(s.w.sent("acct_v1"))
	s.EqualValues(gross, s.w.balance(ledger.ProviderBalance("stripe")), "the money is back in the platform balance")
}

// compensatedWithReversalDue runs a payment whose affiliate transfer Stripe refuses and which an
// admin cancels, while Stripe refuses to take the vendor's transfer back: compensated, with the
// vendor's reversal due.
func (s *workflowSuite) compensatedWithReversalDue() payment.Record {
	s.w.failNext["affiliate"] = []error{rejected("account closed")}
	s.w.failBack["vendor"] = []error{rejected("insufficient funds in the destination account")}
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	signalAt(s.env, time.Hour, SignalAdmin, AdminCommand{Action: ActionCancel, Actor: "ops@agency"})
	return s.run()
}

// followUp readies a follow-up run of the stored payment rec (its run closed), in the same world.
func (s *workflowSuite) followUp(rec payment.Record) {
	s.w.stored = &rec
	s.env = s.NewTestWorkflowEnvironment()
	s.env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: wfID})
	s.w.install(s.env)
}

// A compensation whose reversal Stripe refuses leaves it due (payout_failed, the vendor owing its
// transfer back); the admin's retry, in a follow-up run, takes it back, and the payment is
// compensated again, not paid: nobody keeps a share.
func (s *workflowSuite) TestCompensationsReversalDueThenRetried() {
	due := s.compensatedWithReversalDue()

	s.Equal(payment.StatusPayoutFailed, due.Status)
	s.Contains(due.Reason, "vendor reversal of 95.45 USD failed")
	s.Contains(due.Compensated, "cancelled by ops@agency")
	s.Len(legOf(s.T(), due, split.PartyVendor).Dues, 1)

	// The run closed; the retry starts a follow-up run from the stored state.
	s.followUp(due)
	signalAt(s.env, time.Second, SignalEvent, retryDues(1))
	rec := s.run()

	s.Equal(payment.StatusCompensated, rec.Status)
	s.Contains(rec.Reason, "cancelled by ops@agency")
	s.Empty(legOf(s.T(), rec, split.PartyVendor).Dues)
	s.EqualValues(vendorCut, s.w.reversals[wfID+"/compensate.a1/vendor-v1"].Amount)
	s.Zero(s.w.sent("acct_v1"))
	s.EqualValues(gross, s.w.balance(ledger.ProviderBalance("stripe")), "the money is back in the platform balance")
}

// A compensated payment whose vendor reversal is due stays compensated for what follows: a refund
// takes back everything the vendor still holds (the reversal due then has nothing left to do), a
// refund that fails pays nobody again, and the retry leaves it compensated.
func (s *workflowSuite) TestCompensatedPaymentPaysNobodyAgain() {
	due := s.compensatedWithReversalDue()
	s.Require().Equal(payment.StatusPayoutFailed, due.Status)

	s.followUp(due)
	signalAt(s.env, time.Second, SignalEvent, refundAt("evt_r1", 1100, 10))
	signalAt(s.env, time.Minute, SignalEvent, refundFailedAt("evt_f1", "re_1", 1100, 20))
	signalAt(s.env, 2*time.Minute, SignalEvent, retryDues(1))
	rec := s.run()

	s.Equal(payment.StatusCompensated, rec.Status)
	s.Zero(rec.Refunded)
	s.Empty(legOf(s.T(), rec, split.PartyVendor).Dues)
	s.EqualValues(vendorCut, s.w.reversals[wfID+"/refund/1100/vendor-v1"].Amount, "the refund took back all the vendor held")
	s.NotContains(s.w.reversals, wfID+"/compensate.a1/vendor-v1", "nothing left for the reversal due")
	s.NotContains(s.w.transfers, wfID+"/refund-failed/re_1/vendor-v1", "the failed refund paid nobody again")
	s.Zero(s.w.sent("acct_v1"))
	s.Zero(s.w.sent("acct_a1"))
}

func (s *workflowSuite) TestAdminCancelCompensatesAtOnce() {
	s.w.failNext["affiliate"] = []error{rejected("account closed")}
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	signalAt(s.env, time.Hour, SignalAdmin, AdminCommand{Action: ActionCancel, Actor: "ops@agency"})
	rec := s.run()

	s.Equal(payment.StatusCompensated, rec.Status)
	s.Contains(rec.Reason, "cancelled by ops@agency")
	s.Len(s.w.reversals, 1)
	s.Zero(s.w.sent("acct_v1"))
}

func (s *workflowSuite) TestAdminRetryAfterRejectionUsesANewKey() {
	s.w.failNext["affiliate"] = []error{rejected("insufficient platform balance")}
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	signalAt(s.env, time.Hour, SignalAdmin, AdminCommand{Action: ActionRetry, Actor: "ops"})
	rec := s.run()

	s.Equal(payment.StatusPaid, rec.Status)
	aff := legOf(s.T(), rec, split.PartyAffiliate)
	s.Equal(1, aff.Attempt)
	s.Equal(wfID+"/transfer/affiliate-a1/1", aff.TransferKey, "Stripe would replay a refusal for the old key")
	s.Len(s.w.transfers, 2)
	s.EqualValues(affiliateCut, s.w.sent("acct_a1"))
	s.Empty(s.w.reversals)
}

func (s *workflowSuite) TestAdminRetryAfterUnknownOutcomeKeepsTheKey() {
	lost := errors.New("connection reset")
	s.w.failNext["vendor"] = []error{lost, lost, lost} // every attempt of the retry policy
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	signalAt(s.env, time.Hour, SignalAdmin, AdminCommand{Action: ActionRetry, Actor: "ops"})
	rec := s.run()

	s.Equal(payment.StatusPaid, rec.Status)
	vendor := legOf(s.T(), rec, split.PartyVendor)
	s.Equal(0, vendor.Attempt)
	s.Equal(wfID+"/transfer/vendor-v1/0", vendor.TransferKey, "a retry after an unknown outcome must reuse the key")
	s.EqualValues(vendorCut, s.w.sent("acct_v1"))
	s.Equal(5, s.w.calls["transfer"], "three failed attempts and the admin's retry for the vendor, one affiliate call")
}

// The transfer was made but its answers were lost; a refund comes while the leg waits for an
// admin. The retry keeps the key, so it must keep the amount the key was first sent with (the
// provider answers that key with the transfer it made, or refuses another amount under it, after
// which a new key would pay twice); the refund's share is then taken back.
func (s *workflowSuite) TestRetryAfterUnknownOutcomeKeepsTheAmountThroughARefund() {
	lost := madeButLost{errors.New("connection reset")}
	s.w.failNext["vendor"] = []error{lost, lost, lost}
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	signalAt(s.env, 30*time.Minute, SignalEvent, refundEvent("evt_r1", 1100))
	signalAt(s.env, time.Hour, SignalAdmin, AdminCommand{Action: ActionRetry, Actor: "ops"})
	rec := s.run()

	s.Equal(payment.StatusPartiallyRefunded, rec.Status)
	vendor := legOf(s.T(), rec, split.PartyVendor)
	s.Equal(wfID+"/transfer/vendor-v1/0", vendor.TransferKey)
	s.EqualValues(vendorCut, s.w.transfers[wfID+"/transfer/vendor-v1/0"].Amount, "the key's first amount")
	s.True(s.w.transfers[wfID+"/transfer/vendor-v1/0"].Asked, "the retry looks for what the key made")
	s.False(s.w.transfers[wfID+"/transfer/affiliate-a1/0"].Asked, "a first send has nothing to look for")
	s.Equal(wfID+"/transfer/affiliate-a1/0", s.w.transfers[wfID+"/transfer/affiliate-a1/0"].Metadata[activities.MetaIdempotencyKey])
	s.EqualValues(955, s.w.reversals[wfID+"/refund/1100/vendor-v1"].Amount, "the refund's share, taken back")
	s.EqualValues(vendor.Remaining(), s.w.sent("acct_v1"), "the payee holds its share after the refund, once")
	s.Empty(vendor.Reason)
}

// A refund told before the payout shrinks the first transfer, whose outcome is then unknown; the
// refund fails before an admin retries. The retry asks with the key's first amount, as it must,
// and the payee gets the rest of its restored share as a top-up.
func (s *workflowSuite) TestRetryAfterUnknownOutcomeTopsUpAFailedRefund() {
	lost := madeButLost{errors.New("connection reset")}
	s.w.failNext["vendor"] = []error{lost, lost, lost}
	signalAt(s.env, time.Millisecond, SignalEvent, refundAt("evt_r1", 1100, 0))
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	signalAt(s.env, 30*time.Minute, SignalEvent, refundFailedAt("evt_f1", "re_1", 1100, 20))
	signalAt(s.env, time.Hour, SignalAdmin, AdminCommand{Action: ActionRetry, Actor: "ops"})
	rec := s.run()

	s.Equal(payment.StatusPaid, rec.Status)
	s.Zero(rec.Refunded)
	vendor := legOf(s.T(), rec, split.PartyVendor)
	s.Empty(vendor.Reason)
	s.EqualValues(vendorCut-955, s.w.transfers[wfID+"/transfer/vendor-v1/0"].Amount, "the key's first amount, after the refund")
	s.EqualValues(955, s.w.transfers[wfID+"/refund-failed/re_1/vendor-v1"].Amount, "the share the failed refund gave back")
	s.EqualValues(vendorCut, s.w.sent("acct_v1"))
	s.EqualValues(affiliateCut, s.w.sent("acct_a1"), "paid before the failure, topped up by it")
}

// Cancelled after an unknown outcome: the transfer may have been made, so compensation asks the
// provider with the same key and amount, learns it was, books it and takes it back.
func (s *workflowSuite) TestCancelAfterUnknownOutcomeTakesBackWhatWasMade() {
	lost := madeButLost{errors.New("connection reset")}
	s.w.failNext["vendor"] = []error{lost, lost, lost}
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	signalAt(s.env, time.Hour, SignalAdmin, AdminCommand{Action: ActionCancel, Actor: "ops"})
	rec := s.run()

	s.Equal(payment.StatusCompensated, rec.Status)
	vendor := legOf(s.T(), rec, split.PartyVendor)
	s.EqualValues(vendorCut, vendor.Transferred, "the transfer made, learnt and booked")
	s.EqualValues(vendorCut, vendor.Reversed)
	s.Zero(s.w.sent("acct_v1"), "and taken back")
	s.EqualValues(vendorCut, s.w.reversals[wfID+"/compensate/vendor-v1"].Amount)
}

// heldInDoubt runs a payment whose vendor transfer was made with every answer lost; at the
// admin's retry an hour later the payee can no longer receive, so the leg is held in doubt, and
// then comes an hour after that.
func (s *workflowSuite) heldInDoubt(then AdminCommand) payment.Record {
	lost := madeButLost{errors.New("connection reset")}
	s.w.failNext["vendor"] = []error{lost, lost, lost}
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	s.holdAndRetryAt(time.Hour, "Stripe account acct_v1 cannot receive transfers")
	signalAt(s.env, 2*time.Hour, SignalAdmin, then)
	return s.run()
}

// holdAndRetryAt makes the vendor's payee unable to receive (reason) at after, and retries then:
// the vendor's leg is held.
func (s *workflowSuite) holdAndRetryAt(after time.Duration, reason string) {
	s.env.RegisterDelayedCallback(func() {
		s.w.mu.Lock()
		s.w.holds["v1"] = reason
		s.w.mu.Unlock()
		s.env.SignalWorkflow(SignalAdmin, AdminCommand{Action: ActionRetry, Actor: "ops"})
	}, after)
}

// Still in doubt when the payee's account can no longer receive: the leg is held, and a cancel
// then asks the provider with the same key and amount, books what was made and takes it back.
func (s *workflowSuite) TestHeldAfterUnknownOutcomeStaysInDoubt() {
	rec := s.heldInDoubt(AdminCommand{Action: ActionCancel, Actor: "ops"})

	s.Equal(payment.StatusCompensated, rec.Status)
	s.Zero(s.w.sent("acct_v1"), "what was made was taken back")
	s.EqualValues(vendorCut, s.w.reversals[wfID+"/compensate/vendor-v1"].Amount)
}

func (s *workflowSuite) TestPartialRefundBeforePayoutShrinksTransfers() {
	// Both arrive in one batch, the refund first: it is applied after the split and before any
	// transfer.
	signalAt(s.env, time.Second, SignalEvent, refundEvent("evt_r1", 1100))
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	rec := s.run()

	s.Equal(payment.StatusPartiallyRefunded, rec.Status)
	s.EqualValues(1100, rec.Refunded)
	var refunded int64
	for _, l := range rec.Legs {
		refunded += l.Refunded
		s.LessOrEqual(l.Refunded, l.Amount)
	}
	s.EqualValues(1100, refunded, "the refund is split exactly")
	s.EqualValues(97, legOf(s.T(), rec, split.PartyPlatform).Refunded, "10% of the platform's 970")
	s.Empty(s.w.reversals, "nothing had been sent, so nothing is reversed")
	vendor := legOf(s.T(), rec, split.PartyVendor)
	s.Equal(vendor.Amount-vendor.Refunded, s.w.transfers[wfID+"/transfer/vendor-v1/0"].Amount)
}

// A refund whose event comes after its capture's, even in the same batch, is taken once the legs
// are paid (code path 16): a workflow task given again has the events that came during its first
// attempt from its start, and that attempt's payouts stand; taken before them, the refund would
// change what they send (TestRefundDuringThePayoutOfAClosingRun in api/server). Before path 16
// the refund here shrank the transfers.
func (s *workflowSuite) TestRefundAfterItsCaptureInOneBatchIsTakenAfterThePayout() {
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	signalAt(s.env, time.Second, SignalEvent, refundEvent("evt_r1", 1100))
	rec := s.run()

	s.Equal(payment.StatusPartiallyRefunded, rec.Status)
	s.EqualValues(1100, rec.Refunded)
	vendor := legOf(s.T(), rec, split.PartyVendor)
	s.Equal(vendor.Amount, s.w.transfers[wfID+"/transfer/vendor-v1/0"].Amount, "the vendor's whole share was sent")
	s.Equal(vendor.Refunded, s.w.reversals[wfID+"/refund/1100/vendor-v1"].Amount, "and the refund's part taken back")
	s.Equal(vendor.Amount-vendor.Refunded, vendor.Transferred-vendor.Reversed)
}

func (s *workflowSuite) TestPartialThenFullRefundAfterPayout() {
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	signalAt(s.env, 10*time.Minute, SignalEvent, refundEvent("evt_r1", 1100))
	signalAt(s.env, 11*time.Minute, SignalEvent, refundEvent("evt_r1", 1100)) // duplicate
	signalAt(s.env, 12*time.Minute, SignalEvent, refundEvent("evt_r0", 0))    // older event, out of order
	signalAt(s.env, 20*time.Minute, SignalEvent, refundEvent("evt_r2", gross))
	rec := s.run()

	s.Equal(payment.StatusRefunded, rec.Status)
	// 1100 over what remains (970, 9545, 485): 97, 954.5, 48.5; the odd unit goes to the vendor.
	s.EqualValues(955, s.w.reversals[wfID+"/refund/1100/vendor-v1"].Amount)
	s.EqualValues(48, s.w.reversals[wfID+"/refund/1100/affiliate-a1"].Amount)
	s.Len(s.w.reversals, 4, "two refunds × two paid payees")
	for _, l := range rec.Legs {
		s.Equal(l.Amount, l.Refunded, "%s fully refunded", l.Party)
		if l.Party != split.PartyPlatform {
			s.Equal(payment.LegReversed, l.State)
			s.Equal(l.Transferred, l.Reversed)
		}
	}
	s.Zero(s.w.balance(ledger.ProviderBalance("stripe")))
	s.Zero(s.w.balance(ledger.PlatformRevenue))
}

// A provider that gives part of its fee back with a refund (PayPal) has it booked once per refund,
// with the refund's own booking, and never more than the fee booked at capture.
func (s *workflowSuite) TestRefundsGiveBackPartOfTheFee() {
	capture := captureEvent("evt_1", gross)
	capture.Fee = 433
	refund := func(event, id string, amount, fee int64) Event {
		return Event{ID: event, Kind: EventRefund, ChargeID: "ch_1", RefundID: id, Amount: amount, Fee: fee}
	}
	signalAt(s.env, time.Second, SignalEvent, capture)
	signalAt(s.env, 10*time.Minute, SignalEvent, refund("evt_r1", "R1", 1100, 38))
	signalAt(s.env, 11*time.Minute, SignalEvent, refund("evt_r1b", "R1", 1100, 38)) // the same refund, told again
	signalAt(s.env, 20*time.Minute, SignalEvent, refund("evt_r2", "R2", gross-1100, 500))
	rec := s.run()

	s.Equal(payment.StatusRefunded, rec.Status)
	s.EqualValues(433, rec.Fee)
	s.EqualValues(433, rec.FeeReturned, "38, then what was left of the fee (395), not the 500 the second refund said")
	s.Equal([]string{"R1", "R2"}, rec.FeeReturns)
	s.Equal([]ledger.Posting{{Account: "provider:stripe", Amount: 38}, {Account: "processing_fees:stripe", Amount: -38}},
		s.w.entries[wfID+"/fee/return/R1"].Postings)
	s.EqualValues(395, s.w.entries[wfID+"/fee/return/R2"].Postings[0].Amount)
	s.Zero(s.w.balance(ledger.ProcessingFees("stripe")), "the whole fee came back")
	s.Zero(s.w.balance(ledger.ProviderBalance("stripe")), "refunded in full, payees reversed, fee returned: nothing left")
}

func (s *workflowSuite) TestRefundBeforeCapture() {
	signalAt(s.env, time.Second, SignalEvent, refundEvent("evt_r1", 5000))
	signalAt(s.env, 5*time.Minute, SignalEvent, captureEvent("evt_1", gross))
	rec := s.run()

	s.Equal(payment.StatusPartiallyRefunded, rec.Status)
	s.EqualValues(5000, rec.Refunded)
	s.Empty(s.w.reversals)
	var sent int64
	for _, tr := range s.w.transfers {
		sent += tr.Amount
	}
	s.Equal(gross-5000-(platformCut-legOf(s.T(), rec, split.PartyPlatform).Refunded), sent)
}

func (s *workflowSuite) TestFullRefundBeforeCapturePaysNothing() {
	signalAt(s.env, time.Second, SignalEvent, refundEvent("evt_r1", gross))
	signalAt(s.env, time.Minute, SignalEvent, captureEvent("evt_1", gross))
	rec := s.run()

	s.Equal(payment.StatusRefunded, rec.Status)
	s.Empty(s.w.transfers)
	s.Equal(payment.LegNothingDue, legOf(s.T(), rec, split.PartyVendor).State)
}

func (s *workflowSuite) TestRefundWithoutCaptureParks() {
	signalAt(s.env, time.Second, SignalEvent, refundEvent("evt_r1", 100))
	rec := s.run()
	s.Equal(payment.StatusNeedsAttention, rec.Status)
	s.Contains(rec.Reason, "no capture event")
	s.Empty(s.w.entries)
}

// A capture that comes after its refund's run needed attention (code path 9): the run, still
// open, splits and pays it with the early refund applied; a path before had closed the run, so the
// capture is never taken.
func (s *workflowSuite) TestLateCaptureAfterRefundIsPaid() {
	tests := []struct {
		name     string
		codePath int
		captured time.Duration // after the start; CaptureWait is an hour
		wantPaid bool
	}{
		{name: "a day late, code path 9", codePath: codePathLateCapture, captured: 25 * time.Hour, wantPaid: true},
		{name: "a day late, code path 8 closed the run", codePath: codePathStartWithCapture, captured: 25 * time.Hour},
		{name: "after the late wait too", codePath: codePathLateCapture, captured: time.Hour + 31*24*time.Hour},
	}
	for _, tt := range tests {
		s.Run(tt.name, func() {
			s.SetupTest()
			in := testInput()
			in.CodePath = tt.codePath
			signalAt(s.env, time.Second, SignalEvent, refundEvent("evt_r1", 5000))
			signalAt(s.env, tt.captured, SignalEvent, captureEvent("evt_1", gross))
			start := s.env.Now()
			s.env.ExecuteWorkflow(Workflow, in)
			rec := result(s.T(), s.env)
			s.True(slices.ContainsFunc(s.w.saved, func(r payment.Record) bool { return r.Status == payment.StatusNeedsAttention }),
				"saved as needing attention once CaptureWait passed")
			if !tt.wantPaid {
				s.Equal(payment.StatusNeedsAttention, rec.Status)
				s.Contains(rec.Reason, "no capture event")
				if tt.codePath >= codePathLateCapture {
					s.Contains(rec.Reason, "a capture that comes by "+start.Add(time.Hour+30*24*time.Hour).UTC().Format(time.RFC3339)+" is still split and paid")
				} else {
					s.NotContains(rec.Reason, "still split and paid", "a closed run takes no capture")
				}
				s.Empty(s.w.transfers)
				s.Empty(s.w.entries)
				return
			}
			s.checkBooks(rec)
			s.Less(s.env.Now().Sub(start), tt.captured+2*time.Hour, "paid when the capture came (and settled an hour later), not at the end of the wait")
			s.Equal(payment.StatusPartiallyRefunded, rec.Status, "the refund that came first is applied")
			s.Empty(rec.Reason, "the reason it needed attention is gone")
			s.EqualValues(gross, rec.Gross)
			s.EqualValues(5000, rec.Refunded)
			var sent int64
			for _, tr := range s.w.transfers {
				sent += tr.Amount
			}
			s.Equal(gross-5000-(platformCut-legOf(s.T(), rec, split.PartyPlatform).Refunded), sent, "payees paid their shares less the refund")
			s.Empty(s.w.reversals, "nothing was sent before the refund was known")
		})
	}
}

// An admin's cancel ends the wait for a late capture (code path 9); a retry does not.
func (s *workflowSuite) TestLateCaptureWaitCancelledByAdmin() {
	signalAt(s.env, time.Second, SignalEvent, refundEvent("evt_r1", 5000))
	signalAt(s.env, 2*time.Hour, SignalAdmin, AdminCommand{Action: ActionRetry, Actor: "ops@example.com"})
	signalAt(s.env, 3*time.Hour, SignalAdmin, AdminCommand{Action: ActionCancel, Actor: "ops@example.com"})
	start := s.env.Now()
	s.env.ExecuteWorkflow(Workflow, testInput())
	rec := result(s.T(), s.env)
	s.Equal(payment.StatusCancelled, rec.Status)
	s.Contains(rec.Reason, "cancelled by ops@example.com while waiting for its capture")
	s.Equal(payment.StatusCancelled, s.w.saved[len(s.w.saved)-1].Status, "the cancel is saved")
	s.Less(s.env.Now().Sub(start), 4*time.Hour, "ended by the cancel, not by the wait")
	s.Empty(s.w.transfers)
	s.Empty(s.w.entries)
}

func (s *workflowSuite) TestHeldLegReleasedByAdmin() {
	s.w.holds["v1"] = "Stripe account acct_v1 cannot receive transfers"
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	s.env.RegisterDelayedCallback(func() {
		s.w.mu.Lock()
		delete(s.w.holds, "v1") // the admin fixed the account
		s.w.mu.Unlock()
		s.env.SignalWorkflow(SignalAdmin, AdminCommand{Action: ActionRelease, Party: split.PartyVendor, Actor: "ops"})
	}, 48*time.Hour)
	var sawHeld bool
	rec := s.run()
	for _, saved := range s.w.saved {
		if saved.Status == payment.StatusHeld && saved.Leg(split.PartyVendor).State == payment.LegHeld {
			sawHeld = true
		}
	}
	s.True(sawHeld, "the vendor leg was held first")
	s.Equal(payment.StatusPaid, rec.Status)
	s.EqualValues(vendorCut, s.w.sent("acct_v1"))
	s.EqualValues(affiliateCut, s.w.sent("acct_a1"), "the affiliate was not held back by the vendor")
}

func (s *workflowSuite) TestMissingMetadataParksThenCancel() {
	s.w.enrich = func(activities.EnrichInput) activities.EnrichOutput {
		return activities.EnrichOutput{Missing: []string{"vendor_id"}}
	}
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	signalAt(s.env, 2*time.Hour, SignalAdmin, AdminCommand{Action: ActionCancel, Actor: "ops"})
	rec := s.run()

	s.Equal(payment.StatusCancelled, rec.Status)
	s.Contains(rec.Reason, "vendor_id")
	var parked bool
	for _, saved := range s.w.saved {
		parked = parked || saved.Status == payment.StatusNeedsAttention
	}
	s.True(parked)
	s.Empty(s.w.transfers)
	s.Empty(s.w.entries)
}

// An admin who knows a payment's order will never come cancels it while it waits for the order
// (code path 17): before, the command was dropped until the wait ended and the payment parked.
func (s *workflowSuite) TestCancelWhileWaitingForTheOrder() {
	s.w.enrich = func(activities.EnrichInput) activities.EnrichOutput {
		return activities.EnrichOutput{Missing: []string{"order_id"}}
	}
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	signalAt(s.env, 90*time.Second, SignalAdmin, AdminCommand{Action: ActionCancel, Actor: "admin:ops"})
	rec := s.run()

	s.Equal(payment.StatusCancelled, rec.Status)
	s.Contains(rec.Reason, "admin:ops while waiting for its order metadata")
	for _, saved := range s.w.saved {
		s.NotEqual(payment.StatusNeedsAttention, saved.Status, "cancelled while it waited, not once parked")
	}
	s.Empty(s.w.transfers)
	s.Empty(s.w.entries)
}

func (s *workflowSuite) TestUnknownClientParksAndRetrySucceeds() {
	known := false
	s.w.enrich = func(in activities.EnrichInput) activities.EnrichOutput {
		if !known {
			return activities.EnrichOutput{Problem: `unknown client "acme"`}
		}
		return activities.EnrichOutput{Order: payment.Order{ClientID: "acme", OrderID: "o-1", VendorID: "v1", Subtotal: gross}}
	}
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	s.env.RegisterDelayedCallback(func() {
		known = true
		s.env.SignalWorkflow(SignalAdmin, AdminCommand{Action: ActionRetry, Actor: "ops"})
	}, time.Hour)
	rec := s.run()
	s.Equal(payment.StatusPaid, rec.Status)
	s.Len(rec.Legs, 2, "no affiliate on this order")
	s.EqualValues(gross-1100, s.w.sent("acct_v1"))
}

func (s *workflowSuite) TestLostDisputeReversesLikeARefund() {
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	signalAt(s.env, time.Minute, SignalEvent, Event{ID: "evt_d1", Kind: EventDisputeCreated, DisputeID: "dp_1", Amount: gross})
	signalAt(s.env, 30*time.Minute, SignalEvent, Event{ID: "evt_d2", Kind: EventDisputeClosed, DisputeID: "dp_1", DisputeStatus: "lost", Amount: gross})
	signalAt(s.env, 31*time.Minute, SignalEvent, Event{ID: "evt_d3", Kind: EventDisputeClosed, DisputeID: "dp_1", DisputeStatus: "lost", Amount: gross})
	rec := s.run()

	s.Equal(payment.StatusRefunded, rec.Status)
	s.False(rec.Disputed)
	s.EqualValues(gross, rec.Refunded)
	s.Zero(s.w.sent("acct_v1"))
	s.Zero(s.w.sent("acct_a1"))
}

// A provider's cumulative refunded amount counts refunds only: a refund told after a lost dispute
// (PayPal: a reversal, then the seller refunds more, or the two events cross) is applied on top of
// what the dispute took, and told again it changes nothing.
func (s *workflowSuite) TestRefundAfterLostDisputeIsApplied() {
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	signalAt(s.env, 10*time.Minute, SignalEvent, Event{ID: "evt_d1", Kind: EventDisputeClosed, DisputeID: "dp_1", DisputeStatus: "lost", Amount: 3000})
	signalAt(s.env, 20*time.Minute, SignalEvent, refundEvent("evt_r1", 2000))
	signalAt(s.env, 21*time.Minute, SignalEvent, refundEvent("evt_r1b", 2000)) // the same total, told again
	signalAt(s.env, 22*time.Minute, SignalEvent, refundEvent("evt_r0", 0))     // an older one, late
	rec := s.run()

	s.EqualValues(5000, rec.Refunded, "the dispute's 3000 and the refund's 2000")
	s.EqualValues(3000, rec.DisputesLost)
	s.Equal(payment.StatusPartiallyRefunded, rec.Status)
	s.booksHold(rec, 5000)
}

// booksHold checks that the legs' refund shares add up to what was refunded and that the
// provider's balance holds what was neither refunded nor paid out.
func (s *workflowSuite) booksHold(rec payment.Record, refunded int64) {
	var shares int64
	for _, l := range rec.Legs {
		shares += l.Refunded
	}
	s.EqualValues(refunded, shares, "the legs' shares of the refunds")
	s.EqualValues(gross-rec.Fee-refunded-s.w.sent("acct_v1")-s.w.sent("acct_a1"), s.w.balance(ledger.ProviderBalance("stripe")),
		"the provider holds what was neither refunded nor paid out")
}

// refundAt is Stripe's charge.refunded as of minutes after the capture (its event's created).
func refundAt(id string, cumulative int64, minutes int) Event {
	e := refundEvent(id, cumulative)
	e.OccurredAt = captureEvent("", 0).OccurredAt.Add(time.Duration(minutes) * time.Minute)
	return e
}

// refundFailedAt is Stripe's charge.refund.updated of a refund that failed, minutes after the capture.
func refundFailedAt(id, refundID string, amount int64, minutes int) Event {
	return Event{ID: id, Kind: EventRefundFailed, RefundID: refundID, Amount: amount,
		OccurredAt: captureEvent("", 0).OccurredAt.Add(time.Duration(minutes) * time.Minute)}
}

// A refund that failed after it was made is undone once: the money is the platform's again, the
// legs get their shares back and the payees already paid are paid them again; an event from
// before the failure, told late, does not redo it, and a later refund is taken under keys of its
// own.
func (s *workflowSuite) TestFailedRefundIsUndone() {
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	signalAt(s.env, 10*time.Minute, SignalEvent, refundAt("evt_r1", 1100, 10))
	signalAt(s.env, 20*time.Minute, SignalEvent, refundFailedAt("evt_f1", "re_1", 1100, 20))
	signalAt(s.env, 21*time.Minute, SignalEvent, refundFailedAt("evt_f1b", "re_1", 1100, 21)) // refund.failed, the same refund
	signalAt(s.env, 22*time.Minute, SignalEvent, refundAt("evt_r1_late", 1100, 10))           // from before the failure
	signalAt(s.env, 30*time.Minute, SignalEvent, refundAt("evt_r2", 500, 30))                 // a new refund: 500 stands
	rec := s.run()

	s.EqualValues(500, rec.Refunded)
	s.Equal(payment.StatusPartiallyRefunded, rec.Status)
	s.Equal([]payment.FailedRefund{{ID: "re_1", Amount: 1100, At: refundFailedAt("", "", 0, 20).OccurredAt}}, rec.FailedRefunds)
	undo := s.w.entries[wfID+"/refund-failed/re_1"]
	s.Equal(ledger.Posting{Account: ledger.ProviderBalance("stripe"), Amount: 1100}, undo.Postings[0], "the money is back")
	s.EqualValues(955, s.w.transfers[wfID+"/refund-failed/re_1/vendor-v1"].Amount, "the vendor's share paid again")
	s.EqualValues(48, s.w.transfers[wfID+"/refund-failed/re_1/affiliate-a1"].Amount)
	s.Contains(s.w.entries, wfID+"/refund/500.f1", "the new refund's own key: refund/500 may be taken already")
	for _, p := range []split.Party{split.PartyVendor, split.PartyAffiliate} {
		leg := legOf(s.T(), rec, p)
		s.Empty(leg.Reason, p)
		s.Equal(payment.LegTransferred, leg.State, p)
		s.EqualValues(leg.Remaining(), s.w.sent("acct_"+leg.PayeeID), "%s holds its share of what stands", p)
	}
	s.booksHold(rec, 500)
}

// Refunds told one at a time (a refund ID and its amount, no cumulative figure): a failed one
// that was applied is undone by its own amount; one told failed first is never applied.
func (s *workflowSuite) TestFailedRefundToldOneAtATime() {
	one := func(id, refundID string, amount int64) Event {
		return Event{ID: id, Kind: EventRefund, RefundID: refundID, Amount: amount}
	}
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	signalAt(s.env, 10*time.Minute, SignalEvent, one("evt_a", "re_a", 1100))
	signalAt(s.env, 11*time.Minute, SignalEvent, one("evt_b", "re_b", 500))
	signalAt(s.env, 20*time.Minute, SignalEvent, refundFailedAt("evt_fa", "re_a", 1100, 20))
	signalAt(s.env, 21*time.Minute, SignalEvent, refundFailedAt("evt_fc", "re_c", 300, 21))
	signalAt(s.env, 22*time.Minute, SignalEvent, one("evt_c", "re_c", 300))
	rec := s.run()

	s.EqualValues(500, rec.Refunded, "re_b stands; re_a undone; re_c never applied")
	s.Equal(payment.StatusPartiallyRefunded, rec.Status)
	for _, p := range []split.Party{split.PartyVendor, split.PartyAffiliate} {
		leg := legOf(s.T(), rec, p)
		s.EqualValues(leg.Remaining(), s.w.sent("acct_"+leg.PayeeID), "%s holds its share of what stands", p)
	}
	s.booksHold(rec, 500)
}

// Refunds, some of which fail later, told by Stripe's events in any order (each event says the
// charge's amount_refunded as of its own time, which no longer counts refunds failed by then):
// whatever the order, once every event is in the payment stands at what was refunded and did not
// fail, and the books hold (checkBooks: each payee holds its share of what stands). The capture
// may come after some of them. A refund may fail in the second it was made and be made again in
// that second (code path 25).
//
// Each set is told twice: as before, and with what each charge.refunded's figure moved from
// (Stripe's previous_attributes.amount_refunded, read from code path 26).
func (s *workflowSuite) TestRefundFailuresInAnyOrder() {
	for try := range int64(200) {
		seed, withPrevious := try/2, try%2 == 1
		s.SetupTest()
		rng := rand.New(rand.NewPCG(uint64(seed), 7))
		type refund struct {
			amount      int64
			made, fails int // minutes after the capture; fails 0: it stands
		}
		var refunds []refund
		var total, stands int64
		for k := range 1 + rng.IntN(4) {
			a := int64(100 + rng.IntN(3000))
			if rng.IntN(5) == 0 {
				a = gross - total // the rest: refunded in full, unless some fail
			}
			if a <= 0 || total+a > gross {
				break
			}
			r := refund{amount: a, made: 10 * (k + 1)}
			if rng.IntN(5) < 2 {
				r.fails = r.made + rng.IntN(41) // in the second it was made, or later
				if rng.IntN(3) == 0 {
					r.fails = r.made // a refund refused at once: its retry is asked below
				}
			} else {
				stands += a
			}
			total += a
			refunds = append(refunds, r)
			if r.fails == r.made && total+a <= gross && rng.IntN(2) == 0 {
				// Made again at once (a merchant's retry), in the second the first failed: the
				// same figure in another event (code path 25). It may fail too, later.
				retry := refund{amount: a, made: r.made}
				if rng.IntN(5) < 2 {
					retry.fails = r.made + 1 + rng.IntN(40)
				} else {
					stands += a
				}
				total += a
				refunds = append(refunds, retry)
			}
		}
		var events []Event
		for k, r := range refunds {
			var told int64 // the charge's amount_refunded at r.made
			for j, o := range refunds[:k+1] {
				if o.fails == 0 || o.fails > r.made || j == k {
					told += o.amount
				}
			}
			e := refundAt(fmt.Sprintf("evt_r%d", k), told, r.made)
			if withPrevious {
				e.PreviousRefunded = new(int64)
				*e.PreviousRefunded = told - r.amount
			}
			events = append(events, e)
			if r.fails > 0 {
				f := refundFailedAt(fmt.Sprintf("evt_f%d", k), fmt.Sprintf("re_%d", k), r.amount, r.fails)
				f.RefundMade = refundAt("", 0, r.made).OccurredAt
				events = append(events, f)
			}
		}
		rng.Shuffle(len(events), func(i, j int) { events[i], events[j] = events[j], events[i] })
		if len(events) > 0 {
			events = append(events, events[rng.IntN(len(events))]) // a re-delivery
		}
		// The capture comes first or after some of them (those wait for the split).
		captureAt := time.Duration(rng.IntN(len(events)+1))*time.Minute + 30*time.Second
		signalAt(s.env, captureAt, SignalEvent, captureEvent("evt_1", gross))
		for i, e := range events {
			signalAt(s.env, time.Duration(i+1)*time.Minute, SignalEvent, e)
		}
		rec := s.run()
		s.Require().EqualValues(stands, rec.Refunded, "seed %d (previous amounts told: %t): refunds %+v told as %+v, the capture at %s",
			seed, withPrevious, refunds, events, captureAt)
	}
}

// Refunded in full before the payout, the payment paid nobody; the refund fails: each payee is
// paid its whole share then, as a payout is (the payee checked first), in the run that was
// settling or in a follow-up run.
func (s *workflowSuite) TestFullRefundBeforePayoutFailed() {
	signalAt(s.env, time.Millisecond, SignalEvent, refundAt("evt_r1", gross, 0))
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	signalAt(s.env, 30*time.Minute, SignalEvent, refundFailedAt("evt_f1", "re_1", gross, 20))
	rec := s.run()

	s.Equal(payment.StatusPaid, rec.Status)
	s.EqualValues(vendorCut, s.w.transfers[wfID+"/transfer/vendor-v1/0"].Amount, "the leg's own payout")
	s.EqualValues(vendorCut, s.w.sent("acct_v1"))
	s.EqualValues(affiliateCut, s.w.sent("acct_a1"))
	s.Equal(payment.LegTransferred, legOf(s.T(), rec, split.PartyVendor).State)
}

// A refund fails whose own charge.refunded never came (a lost webhook): the figures the payment
// has are all from before it was made, so none counted it and nothing is undone; the refund of
// 500 they told stands.
func (s *workflowSuite) TestFailedRefundNoFigureCounted() {
	failed := refundFailedAt("evt_f1", "re_1", 300, 30)
	failed.RefundMade = refundAt("", 0, 20).OccurredAt
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	signalAt(s.env, 10*time.Minute, SignalEvent, refundAt("evt_r0", 500, 10))
	signalAt(s.env, 30*time.Minute, SignalEvent, failed)
	rec := s.run()

	s.EqualValues(500, rec.Refunded)
	s.NotContains(s.w.entries, wfID+"/refund-failed/re_1", "nothing undone")
	s.booksHold(rec, 500)
}

// A failure told before its refund's own event leaves nothing to undo, and that event, when it
// comes, refunds nothing: the refund never stood.
func (s *workflowSuite) TestRefundFailureToldBeforeItsRefund() {
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	signalAt(s.env, 10*time.Minute, SignalEvent, refundFailedAt("evt_f1", "re_1", 1100, 20))
	signalAt(s.env, 20*time.Minute, SignalEvent, refundAt("evt_r1", 1100, 10))
	signalAt(s.env, 30*time.Minute, SignalEvent, refundAt("evt_r2", 0, 25))
	rec := s.run()

	s.Zero(rec.Refunded)
	s.Equal(payment.StatusPaid, rec.Status)
	s.Empty(s.w.reversals)
	s.EqualValues(vendorCut, s.w.sent("acct_v1"))
	s.NotContains(s.w.entries, wfID+"/refund-failed/re_1", "nothing to undo, nothing booked")
}

// A full refund that failed pays every payee back in full; refunded in full again, the money is
// taken back from those new transfers, as the first ones have nothing left.
func (s *workflowSuite) TestFullRefundFailedThenMadeAgain() {
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	signalAt(s.env, 10*time.Minute, SignalEvent, refundAt("evt_r1", gross, 10))
	signalAt(s.env, 20*time.Minute, SignalEvent, refundFailedAt("evt_f1", "re_1", gross, 20))
	signalAt(s.env, 30*time.Minute, SignalEvent, refundAt("evt_r2", gross, 30))
	rec := s.run()

	s.Equal(payment.StatusRefunded, rec.Status)
	s.EqualValues(gross, rec.Refunded)
	vendor := legOf(s.T(), rec, split.PartyVendor)
	s.Empty(vendor.Reason)
	s.Equal(payment.LegReversed, vendor.State)
	s.Equal([]payment.TopUp{{TransferID: "tr_" + wfID + "/refund-failed/re_1/vendor-v1", Amount: vendorCut, Reversed: vendorCut}}, vendor.TopUps)
	s.EqualValues(vendorCut, s.w.reversals[wfID+"/refund/"+strconv.Itoa(gross)+".f1.t1/vendor-v1"].Amount, "taken from the new transfer")
	s.Zero(s.w.sent("acct_v1"))
	s.Zero(s.w.sent("acct_a1"))
	s.EqualValues(-rec.Fee, s.w.balance(ledger.ProviderBalance("stripe")), "all of it went back; the fee stays spent")
}

// A dispute's fees are booked once per balance transaction, whichever of its events says them and
// in whatever order: the fee when funds are withdrawn, its return (negative) when they are
// reinstated with the fee.
func (s *workflowSuite) TestDisputeFeesAreBookedOnceEach() {
	withdrawn := map[string]int64{"txn_w": 1500}
	both := map[string]int64{"txn_w": 1500, "txn_r": -1500}
	dispute := func(id string, kind EventKind, status string, fees map[string]int64) Event {
		return Event{ID: id, Kind: kind, DisputeID: "dp_1", DisputeStatus: status, Amount: gross, DisputeFees: fees}
	}
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	signalAt(s.env, time.Minute, SignalEvent, dispute("evt_d1", EventDisputeCreated, "needs_response", withdrawn))
	signalAt(s.env, 30*time.Minute, SignalEvent, dispute("evt_d2", EventDisputeClosed, "won", both))
	signalAt(s.env, 31*time.Minute, SignalEvent, dispute("evt_d1b", EventDisputeCreated, "needs_response", withdrawn)) // told again, late
	rec := s.run()

	s.Equal(payment.StatusPaid, rec.Status, "won: nothing taken back")
	s.Zero(rec.DisputeFees, "the fee came back with the funds")
	s.Equal([]string{"txn_w", "txn_r"}, rec.DisputeFeeIDs)
	s.Equal([]ledger.Posting{{Account: "processing_fees:stripe", Amount: 1500}, {Account: "provider:stripe", Amount: -1500}}, s.w.entries[wfID+"/fee/dispute/txn_w"].Postings)
	s.Equal([]ledger.Posting{{Account: "processing_fees:stripe", Amount: -1500}, {Account: "provider:stripe", Amount: 1500}}, s.w.entries[wfID+"/fee/dispute/txn_r"].Postings)
}

func (s *workflowSuite) TestFollowUpRunResumesStoredPayment() {
	// The first run closed after paying out; a late refund starts a new run with the same ID.
	stored := payment.Record{
		WorkflowID: wfID, Provider: "stripe", PaymentID: "pi_1", ChargeID: "ch_1", Currency: "usd", Gross: gross,
		Order: payment.Order{ClientID: "acme", OrderID: "o-1", VendorID: "v1", AffiliateID: "a1"}, Status: payment.StatusPaid,
		Legs: []payment.Leg{
			{Party: split.PartyPlatform, PayeeID: "platform", Amount: platformCut, State: payment.LegRetained},
			{Party: split.PartyVendor, PayeeID: "v1", Amount: vendorCut, Transferred: vendorCut, TransferID: "tr_" + wfID + "/transfer/vendor-v1/0", State: payment.LegTransferred},
			{Party: split.PartyAffiliate, PayeeID: "a1", Amount: affiliateCut, Transferred: affiliateCut, TransferID: "tr_" + wfID + "/transfer/affiliate-a1/0", State: payment.LegTransferred},
		},
	}
	s.w.stored = &stored
	// What the first run sent and booked, so the books can be checked across both runs.
	s.w.transfers[wfID+"/transfer/vendor-v1/0"] = activities.TransferInput{Destination: "acct_v1", Amount: vendorCut}
	s.w.transfers[wfID+"/transfer/affiliate-a1/0"] = activities.TransferInput{Destination: "acct_a1", Amount: affiliateCut}
	s.w.entries["capture"] = ledger.Entry{Postings: []ledger.Posting{{Account: "provider:stripe", Amount: gross},
		{Account: ledger.PlatformRevenue, Amount: -platformCut}, {Account: ledger.VendorPayable("v1"), Amount: -vendorCut}, {Account: ledger.AffiliatePayable("a1"), Amount: -affiliateCut}}}
	s.w.entries["tv"] = ledger.Entry{Postings: []ledger.Posting{{Account: ledger.VendorPayable("v1"), Amount: vendorCut}, {Account: "provider:stripe", Amount: -vendorCut}}}
	s.w.entries["ta"] = ledger.Entry{Postings: []ledger.Posting{{Account: ledger.AffiliatePayable("a1"), Amount: affiliateCut}, {Account: "provider:stripe", Amount: -affiliateCut}}}
	signalAt(s.env, time.Second, SignalEvent, refundEvent("evt_r1", gross))
	rec := s.run()

	s.Equal(payment.StatusRefunded, rec.Status)
	s.Len(s.w.transfers, 2, "no new transfer in a follow-up run")
	s.Zero(s.w.sent("acct_v1"))
}

// taxRules makes rule v3 take commission on tax by mistake and v4 the rule it should have been.
func (s *workflowSuite) taxRules() {
	s.w.rules[3] = split.Rule{ClientID: "acme", Version: 3, PlatformBps: 1000, AffiliateBps: 500, CommissionOnTax: true}
	s.w.rules[4] = split.Rule{ClientID: "acme", Version: 4, PlatformBps: 1000, AffiliateBps: 500}
}

// correction is an admin's request to re-split the payment under a rule version.
func correction(id string, version int) Event {
	return Event{ID: id, Kind: EventCorrection, RuleVersion: version, Actor: "finance"}
}

func (s *workflowSuite) TestCorrectionMovesCommissionWronglyTakenOnTax() {
	// Rule v3 wrongly took commission on tax: base 9700 + 800 → platform 1050, affiliate 525.
	s.taxRules()
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	signalAt(s.env, time.Minute, SignalEvent, correction("correction-v4", 4))
	signalAt(s.env, 2*time.Minute, SignalEvent, correction("correction-v4-again", 4))
	rec := s.run()

	s.Equal(payment.StatusPaid, rec.Status)
	s.Equal(4, rec.RuleVersion)
	s.EqualValues(platformCut, legOf(s.T(), rec, split.PartyPlatform).Amount)
	s.EqualValues(vendorCut, legOf(s.T(), rec, split.PartyVendor).Amount)
	s.EqualValues(affiliateCut, legOf(s.T(), rec, split.PartyAffiliate).Amount)
	s.EqualValues(9425, s.w.transfers[wfID+"/transfer/vendor-v1/0"].Amount, "paid under the wrong rule first")
	s.EqualValues(120, s.w.transfers[wfID+"/correction/v4/vendor-v1"].Amount, "the vendor's missing share is topped up")
	s.EqualValues(40, s.w.reversals[wfID+"/correction/v4/affiliate-a1"].Amount, "the affiliate's excess is reversed")
	s.EqualValues(vendorCut, s.w.sent("acct_v1"))
	s.EqualValues(affiliateCut, s.w.sent("acct_a1"))
	s.Len(s.w.transfers, 3, "the repeated correction changed nothing")
	s.Contains(rec.Reason, "already uses that version")
}

// A correction's top-up is a transfer of its own: refunded in full afterwards, the payee gives
// back what the first transfer has left from it, and the rest from the top-up, which the provider
// would refuse to take from the first transfer.
func (s *workflowSuite) TestRefundAfterCorrectionTakesBackTheTopUp() {
	s.taxRules()
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	signalAt(s.env, time.Minute, SignalEvent, correction("correction-v4", 4))
	signalAt(s.env, 10*time.Minute, SignalEvent, refundEvent("evt_r1", 1100))
	signalAt(s.env, 20*time.Minute, SignalEvent, refundEvent("evt_r2", gross))
	rec := s.run()

	s.Equal(payment.StatusRefunded, rec.Status)
	vendor := legOf(s.T(), rec, split.PartyVendor)
	s.Empty(vendor.Reason, "every reversal went through")
	s.Equal(payment.LegReversed, vendor.State)
	s.Equal([]payment.TopUp{{TransferID: "tr_" + wfID + "/correction/v4/vendor-v1", Amount: 120, Reversed: 120}}, vendor.TopUps)
	s.EqualValues(9425-955, s.w.reversals[wfID+"/refund/"+strconv.Itoa(gross)+"/vendor-v1"].Amount, "what the first transfer had left")
	s.EqualValues(120, s.w.reversals[wfID+"/refund/"+strconv.Itoa(gross)+".t1/vendor-v1"].Amount, "the rest from the top-up")
	s.Zero(s.w.sent("acct_v1"))
	s.Zero(s.w.sent("acct_a1"))
	s.Zero(s.w.balance(ledger.ProviderBalance("stripe")), "all of it went back")
}

// Under rule v3 the affiliate's share was 0, so nothing was ever sent to it; corrected to v4,
// which gives it 5 %, it is paid as a payout is (its payee checked, its own transfer key), not
// topped up to no destination (code path 4).
func (s *workflowSuite) TestCorrectionPaysALegThatWasNeverSent() {
	s.w.rules[3] = split.Rule{ClientID: "acme", Version: 3, PlatformBps: 1000}
	s.w.rules[4] = split.Rule{ClientID: "acme", Version: 4, PlatformBps: 1000, AffiliateBps: 500}
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	signalAt(s.env, time.Minute, SignalEvent, correction("correction-v4", 4))
	rec := s.run()

	s.Equal(payment.StatusPaid, rec.Status)
	affiliate := legOf(s.T(), rec, split.PartyAffiliate)
	s.Empty(affiliate.Reason)
	s.EqualValues(affiliateCut, affiliate.Amount)
	paid := s.w.transfers[wfID+"/transfer/affiliate-a1/0"]
	s.EqualValues(affiliateCut, paid.Amount)
	s.Equal("acct_a1", paid.Destination, "the payee checked, as for any payout")
	s.EqualValues(affiliateCut, s.w.sent("acct_a1"))
	s.EqualValues(vendorCut, s.w.sent("acct_v1"), "the vendor's excess taken back")
}

// retryDues is an admin's retry of a payment's dues, as the API sends it.
func retryDues(n int) Event {
	return Event{ID: fmt.Sprintf("due-retry-%d", n), Kind: EventRetryDues, Actor: "finance"}
}

// failAt makes a party's next calls of a kind (s.w.failNext: transfers, s.w.failBack: reversals)
// fail with errs from the given time on.
func (s *workflowSuite) failAt(after time.Duration, calls map[string][]error, party string, errs ...error) {
	s.env.RegisterDelayedCallback(func() {
		s.w.mu.Lock()
		defer s.w.mu.Unlock()
		calls[party] = errs
	}, after)
}

// A correction's top-up the provider refuses is due on the leg, the payment payout_failed with
// the reason, the payee's payable still owing it; the admin's retry sends it under a new key
// (the refused one would be answered with the refusal), and a retry sent twice acts once.
func (s *workflowSuite) TestRefusedTopUpIsDueUntilRetried() {
	s.taxRules()
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	s.failAt(time.Minute-time.Millisecond, s.w.failNext, "vendor", rejected("insufficient funds in Stripe account"))
	signalAt(s.env, time.Minute, SignalEvent, correction("correction-v4", 4))
	var due payment.Record
	s.env.RegisterDelayedCallback(func() { due = s.w.saved[len(s.w.saved)-1] }, 2*time.Minute)
	signalAt(s.env, 3*time.Minute, SignalEvent, correction("correction-v3", 3))
	var refused payment.Record
	s.env.RegisterDelayedCallback(func() { refused = s.w.saved[len(s.w.saved)-1] }, 4*time.Minute)
	signalAt(s.env, 10*time.Minute, SignalEvent, retryDues(1))
	signalAt(s.env, 11*time.Minute, SignalEvent, retryDues(1))
	rec := s.run()

	s.Equal(payment.StatusPayoutFailed, due.Status, "a payee is owed money")
	s.Contains(due.Reason, "vendor correction: top-up of 1.20 USD failed: insufficient funds")
	s.Contains(refused.Reason, "correction to rule v3 refused: a top-up or reversal is due on it", "no correction over a top-up due")
	s.Equal(4, refused.RuleVersion)
	dueLeg := legOf(s.T(), due, split.PartyVendor)
	s.Equal([]payment.Due{{Kind: payment.DueTopUp, Cause: wfID + "/correction/v4", What: "correction", Amount: 120, Refused: true,
		Reason: dueLeg.Reason, Meta: map[string]string{"correction": "true"}, Destination: "acct_v1"}}, dueLeg.Dues)

	s.Equal(payment.StatusPaid, rec.Status)
	s.Empty(rec.Reason)
	s.Equal(1, rec.DueRetries, "the retry sent twice was taken once")
	vendor := legOf(s.T(), rec, split.PartyVendor)
	s.Empty(vendor.Dues)
	s.Empty(vendor.Reason)
	s.EqualValues(120, s.w.transfers[wfID+"/correction/v4.a1/vendor-v1"].Amount, "sent again under a key of its own")
	s.EqualValues(vendorCut, s.w.sent("acct_v1"))
	s.Len(s.w.transfers, 3, "the first two transfers and the retry: the refused top-up was never made")
}

// An admin's retry signal from the Temporal UI, while the run is still open in its settle window,
// sends the movements due as the API's event does.
func (s *workflowSuite) TestRetrySignalSendsHasDues() {
	s.taxRules()
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	s.failAt(time.Minute-time.Millisecond, s.w.failNext, "vendor", rejected("insufficient funds in Stripe account"))
	signalAt(s.env, time.Minute, SignalEvent, correction("correction-v4", 4))
	signalAt(s.env, 10*time.Minute, SignalAdmin, AdminCommand{Action: ActionRetry, Actor: "ops"})
	rec := s.run()

	s.Equal(payment.StatusPaid, rec.Status)
	s.Equal(1, rec.DueRetries)
	s.EqualValues(120, s.w.transfers[wfID+"/correction/v4.a1/vendor-v1"].Amount)
	s.EqualValues(vendorCut, s.w.sent("acct_v1"))
}

// Any mix of refusals, lost answers, refunds and refunds that fail around a correction's top-up,
// the refunds' reversals, the failed refunds' top-ups and the retries: once a last retry goes
// through, nothing is due, the vendor holds exactly its share after the refunds that stand (never
// paid twice, nothing taken back twice), and the books agree (run's checkBooks).
func (s *workflowSuite) TestDuesInAnyOrder() {
	lost := madeButLost{errors.New("connection reset")}
	down := errors.New("stripe 500")
	failures := [][]error{
		{rejected("insufficient funds")},
		{lost, lost, lost},
		{down, down, down},
		{lost, down, down},
		nil,
	}
	for seed := range int64(100) {
		s.SetupTest()
		s.taxRules()
		rng := rand.New(rand.NewPCG(uint64(seed), 11))
		signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
		first := failures[rng.IntN(len(failures)-1)]
		s.failAt(time.Minute-time.Millisecond, s.w.failNext, "vendor", first...)
		signalAt(s.env, time.Minute, SignalEvent, correction("correction-v4", 4))
		type made struct {
			id             string
			amount, minute int64
		}
		var standing []made // refunds made and not failed
		var refunded int64  // their sum: Stripe's amount_refunded
		var plan []string
		for k := range 1 + rng.IntN(7) {
			minute := int64(2 + k)
			at := time.Duration(minute) * time.Minute
			switch step := rng.IntN(5); {
			case step < 2 && refunded < gross:
				inc := min(gross-refunded, int64(100+rng.IntN(4000)))
				standing = append(standing, made{fmt.Sprintf("re_%d", k), inc, minute})
				refunded += inc
				f := rng.IntN(len(failures))
				s.failAt(at-time.Millisecond, s.w.failBack, "vendor", failures[f]...)
				signalAt(s.env, at, SignalEvent, refundAt(fmt.Sprintf("evt_r%d", k), refunded, int(minute)))
				plan = append(plan, fmt.Sprintf("refund %d (to %d), its reversals with failures %d", inc, refunded, f))
			case step == 2 && len(standing) > 0:
				// The newest refund fails: its shares are paid again, by top-ups that may fail too.
				r := standing[len(standing)-1]
				standing, refunded = standing[:len(standing)-1], refunded-r.amount
				f := rng.IntN(len(failures))
				s.failAt(at-time.Millisecond, s.w.failNext, "vendor", failures[f]...)
				e := refundFailedAt(fmt.Sprintf("evt_f%d", k), r.id, r.amount, int(minute))
				e.RefundMade = refundAt("", 0, int(r.minute)).OccurredAt
				signalAt(s.env, at, SignalEvent, e)
				plan = append(plan, fmt.Sprintf("refund %s of %d failed, its top-ups with failures %d", r.id, r.amount, f))
			default:
				f := rng.IntN(len(failures))
				s.failAt(at-time.Millisecond, s.w.failNext, "vendor", failures[f]...)
				s.failAt(at-time.Millisecond, s.w.failBack, "vendor", failures[rng.IntN(len(failures))]...)
				signalAt(s.env, at, SignalAdmin, AdminCommand{Action: ActionRetry, Actor: "ops"})
				plan = append(plan, fmt.Sprintf("retry with failures %d", f))
			}
		}
		s.failAt(20*time.Minute-time.Millisecond, s.w.failNext, "vendor")
		s.failAt(20*time.Minute-time.Millisecond, s.w.failBack, "vendor")
		signalAt(s.env, 20*time.Minute, SignalAdmin, AdminCommand{Action: ActionRetry, Actor: "ops"})
		rec := s.run()

		why := fmt.Sprintf("seed %d: first %v, then %v", seed, first, plan)
		vendor := legOf(s.T(), rec, split.PartyVendor)
		s.Require().Empty(vendor.Dues, why)
		s.Require().Empty(vendor.Reason, why)
		s.Require().False(rec.Status == payment.StatusPayoutFailed, why)
		s.Require().EqualValues(refunded, rec.Refunded, why)
		s.Require().EqualValues(vendor.Remaining(), s.w.sent("acct_v1"), why)
	}
}

// A refund's share the connected account cannot give back (Stripe refuses the reversal: the
// payee's balance is short) is due on the leg, the payee's payable owing it, the payment
// payout_failed; the admin's retry takes it back under a new key.
func (s *workflowSuite) TestRefusedReversalIsDueUntilRetried() {
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	s.failAt(time.Minute-time.Millisecond, s.w.failBack, "vendor", rejected("insufficient funds in the destination account"))
	signalAt(s.env, time.Minute, SignalEvent, refundEvent("evt_r1", 1100))
	var due payment.Record
	s.env.RegisterDelayedCallback(func() { due = s.w.saved[len(s.w.saved)-1] }, 2*time.Minute)
	signalAt(s.env, 10*time.Minute, SignalEvent, retryDues(1))
	rec := s.run()

	s.Equal(payment.StatusPayoutFailed, due.Status)
	s.Contains(due.Reason, "vendor reversal of 9.55 USD failed: insufficient funds")
	dueLeg := legOf(s.T(), due, split.PartyVendor)
	s.Equal([]payment.Due{{Kind: payment.DueReversal, Cause: wfID + "/refund/1100", Amount: 955, Refused: true, Reason: dueLeg.Reason,
		TransferID: "tr_" + wfID + "/transfer/vendor-v1/0"}}, dueLeg.Dues)
	s.NotEmpty(s.w.reversals[wfID+"/refund/1100/affiliate-a1"], "the other legs went ahead")

	s.Equal(payment.StatusPartiallyRefunded, rec.Status)
	vendor := legOf(s.T(), rec, split.PartyVendor)
	s.Empty(vendor.Dues)
	s.Empty(vendor.Reason)
	s.EqualValues(955, s.w.reversals[wfID+"/refund/1100.a1/vendor-v1"].Amount, "taken back under a key of its own")
	s.EqualValues(vendor.Remaining(), s.w.sent("acct_v1"))
}

// A reversal the rail can never make (a completed PayPal payout cannot be pulled back) is not
// due: no retry could make it. The payee owes its share in the books, with the reason.
func (s *workflowSuite) TestReversalTheRailCannotMakeIsNotDue() {
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	s.failAt(time.Minute-time.Millisecond, s.w.failBack, "vendor",
		temporal.NewNonRetryableApplicationError("PayPal payout cannot be reversed", activities.ErrTypeCannotReverse, nil))
	signalAt(s.env, time.Minute, SignalEvent, refundEvent("evt_r1", 1100))
	rec := s.run()

	s.Equal(payment.StatusPartiallyRefunded, rec.Status)
	vendor := legOf(s.T(), rec, split.PartyVendor)
	s.Empty(vendor.Dues)
	s.Contains(vendor.Reason, "cannot be reversed")
	s.EqualValues(vendorCut, s.w.sent("acct_v1"), "the payee keeps the payout and owes its share")
}

// A reversal whose answers were lost is due with its outcome unknown; the retry asks under the
// same key and amount (the provider may have forgotten the key: asked, it looks first), so the
// share is taken back once.
func (s *workflowSuite) TestReversalInDoubtIsAskedAgainWithItsKey() {
	lost := madeButLost{errors.New("connection reset")}
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	s.failAt(time.Minute-time.Millisecond, s.w.failBack, "vendor", lost, lost, lost)
	signalAt(s.env, time.Minute, SignalEvent, refundEvent("evt_r1", 1100))
	signalAt(s.env, 10*time.Minute, SignalAdmin, AdminCommand{Action: ActionRetry, Actor: "ops"})
	rec := s.run()

	s.Equal(payment.StatusPartiallyRefunded, rec.Status)
	vendor := legOf(s.T(), rec, split.PartyVendor)
	s.Empty(vendor.Dues)
	s.EqualValues(955, vendor.Reversed)
	back := s.w.reversals[wfID+"/refund/1100/vendor-v1"]
	s.EqualValues(955, back.Amount)
	s.True(back.Asked)
	s.Equal(wfID+"/refund/1100/vendor-v1", back.Metadata[activities.MetaIdempotencyKey])
	s.NotContains(s.w.reversals, wfID+"/refund/1100.a1/vendor-v1")
	s.EqualValues(vendor.Remaining(), s.w.sent("acct_v1"))
}

// With automatic retries on, a run in its settle window retries its movements due by itself
// every DueRetryEvery, timed from when the due arose: refused at the first, made at the second.
func (s *workflowSuite) TestDuesRetriedAutomaticallyInTheSettleWindow() {
	s.taxRules()
	in := testInput()
	in.Settings.DueRetryEvery = 10 * time.Minute
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	s.failAt(time.Minute-time.Millisecond, s.w.failNext, "vendor", rejected("insufficient funds"), rejected("insufficient funds"))
	signalAt(s.env, time.Minute, SignalEvent, correction("correction-v4", 4))
	var first payment.Record
	s.env.RegisterDelayedCallback(func() { first = s.w.saved[len(s.w.saved)-1] }, 15*time.Minute)
	s.env.ExecuteWorkflow(Workflow, in)
	rec := result(s.T(), s.env)
	s.checkBooks(rec)

	s.Equal(payment.StatusPayoutFailed, first.Status, "the first automatic retry was refused too")
	s.Equal(1, first.DueRetries)
	s.Equal(payment.StatusPaid, rec.Status)
	s.Equal(2, rec.DueRetries)
	s.EqualValues(120, s.w.transfers[wfID+"/correction/v4.a2/vendor-v1"].Amount, "made at the second automatic retry")
	s.EqualValues(vendorCut, s.w.sent("acct_v1"))
}

// paypalRefundAndItsFailure is a PayPal refund of 11.00 that gave 0.38 of the fee back, and the
// same refund told FAILED ten minutes later.
func paypalRefundAndItsFailure() (refund, failed Event) {
	refund = Event{ID: "WH-REF", Kind: EventRefund, RefundID: "REF1", Amount: 1100, AmountRefunded: 1100, Fee: 38,
		OccurredAt: captureEvent("", 0).OccurredAt.Add(10 * time.Minute)}
	failed = refundFailedAt("WH-REF-FAILED", "REF1", 1100, 20)
	failed.Fee, failed.RefundMade = 38, refund.OccurredAt
	return refund, failed
}

// A refund told one at a time with the fee it gave back (PayPal's) fails afterwards: the refund
// is undone and so is its fee return, once; the refund told again later, as it was before it
// failed, gives back neither money nor fee.
func (s *workflowSuite) TestFailedRefundTakesItsFeeReturnBack() {
	s.w.fee = 433
	refund, failed := paypalRefundAndItsFailure()
	stale := refund
	stale.ID = "WH-REF-AGAIN"
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	signalAt(s.env, time.Minute, SignalEvent, refund)
	signalAt(s.env, 2*time.Minute, SignalEvent, failed)
	signalAt(s.env, 3*time.Minute, SignalEvent, failed)
	signalAt(s.env, 4*time.Minute, SignalEvent, stale)
	rec := s.run()

	s.Equal(payment.StatusPaid, rec.Status)
	s.Zero(rec.Refunded)
	s.Zero(rec.FeeReturned, "the fee return was taken back with the refund")
	s.Equal([]string{"REF1"}, rec.FeeReturnsUndone)
	s.Equal([]ledger.Posting{{Account: "processing_fees:stripe", Amount: 38}, {Account: "provider:stripe", Amount: -38}},
		s.w.entries[wfID+"/fee/return/REF1/undone"].Postings)
	s.EqualValues(433, s.w.balance(ledger.ProcessingFees("stripe")), "the platform bears the whole fee again")
}

// The refund's failure told before the refund itself: the refund, when it is told, gives back
// neither money nor the fee it states.
func (s *workflowSuite) TestRefundToldAfterItFailedReturnsNoFee() {
	s.w.fee = 433
	refund, failed := paypalRefundAndItsFailure()
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	signalAt(s.env, time.Minute, SignalEvent, failed)
	signalAt(s.env, 2*time.Minute, SignalEvent, refund)
	rec := s.run()

	s.Equal(payment.StatusPaid, rec.Status)
	s.Zero(rec.Refunded)
	s.Zero(rec.FeeReturned)
	s.NotContains(s.w.entries, wfID+"/fee/return/REF1")
	s.EqualValues(433, s.w.balance(ledger.ProcessingFees("stripe")))
}

// A failed refund's top-up refused twice: the second retry's key is the cause's .a2, and a refund
// between the retries lowers what is sent to what the payee is still owed.
func (s *workflowSuite) TestTopUpRetriedAfterARefundSendsWhatIsStillOwed() {
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	signalAt(s.env, time.Minute, SignalEvent, refundAt("evt_r1", 1100, 10))
	s.failAt(2*time.Minute-time.Millisecond, s.w.failNext, "vendor", rejected("account restricted"))
	signalAt(s.env, 2*time.Minute, SignalEvent, refundFailedAt("evt_f1", "re_1", 1100, 20))
	s.failAt(3*time.Minute-time.Millisecond, s.w.failNext, "vendor", rejected("account restricted"))
	signalAt(s.env, 3*time.Minute, SignalEvent, retryDues(1))
	signalAt(s.env, 4*time.Minute, SignalEvent, refundAt("evt_r2", 550, 40))
	signalAt(s.env, 5*time.Minute, SignalEvent, retryDues(2))
	rec := s.run()

	s.Equal(payment.StatusPartiallyRefunded, rec.Status)
	s.Equal(2, rec.DueRetries)
	vendor := legOf(s.T(), rec, split.PartyVendor)
	s.Empty(vendor.Dues)
	s.Empty(vendor.Reason)
	s.NotContains(s.w.transfers, wfID+"/refund-failed/re_1/vendor-v1", "refused")
	s.NotContains(s.w.transfers, wfID+"/refund-failed/re_1.a1/vendor-v1", "refused again")
	owedBefore := int64(vendorCut - (vendorCut - 955)) // the failed refund gave back the vendor's 955
	sent := s.w.transfers[wfID+"/refund-failed/re_1.a2/vendor-v1"].Amount
	s.Positive(sent)
	s.Less(sent, owedBefore, "the second refund took part of what was owed")
	s.EqualValues(vendor.Remaining()-(vendorCut-955), sent)
	s.EqualValues(vendor.Remaining(), s.w.sent("acct_v1"), "the payee holds its share, no more")
}

// A top-up whose answers were lost is due with its outcome unknown: the retry asks again under
// the same key and amount (the provider made it, so it answers with that transfer: paid once),
// and what a refund took meanwhile is taken back from the top-up after.
func (s *workflowSuite) TestTopUpInDoubtIsAskedAgainWithItsKey() {
	s.taxRules()
	lost := madeButLost{errors.New("connection reset")}
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	s.failAt(time.Minute-time.Millisecond, s.w.failNext, "vendor", lost, lost, lost)
	signalAt(s.env, time.Minute, SignalEvent, correction("correction-v4", 4))
	var due payment.Record
	s.env.RegisterDelayedCallback(func() { due = s.w.saved[len(s.w.saved)-1] }, 2*time.Minute)
	signalAt(s.env, 5*time.Minute, SignalEvent, refundEvent("evt_r1", 1100))
	signalAt(s.env, 10*time.Minute, SignalEvent, retryDues(1))
	rec := s.run()

	s.Equal(payment.StatusPayoutFailed, due.Status)
	dueLeg := legOf(s.T(), due, split.PartyVendor)
	s.Require().Len(dueLeg.Dues, 1)
	s.False(dueLeg.Dues[0].Refused, "the outcome is unknown")

	s.Equal(payment.StatusPartiallyRefunded, rec.Status)
	vendor := legOf(s.T(), rec, split.PartyVendor)
	s.Empty(vendor.Dues)
	s.EqualValues(120, s.w.transfers[wfID+"/correction/v4/vendor-v1"].Amount, "the same key, the same amount")
	s.NotContains(s.w.transfers, wfID+"/correction/v4.a1/vendor-v1", "no new key: that could pay twice")
	s.True(s.w.transfers[wfID+"/correction/v4/vendor-v1"].Asked, "asked: the provider may have forgotten the key by now")
	s.Equal(wfID+"/correction/v4/vendor-v1", s.w.transfers[wfID+"/correction/v4/vendor-v1"].Metadata[activities.MetaIdempotencyKey])
	s.EqualValues(955, s.w.reversals[wfID+"/refund/1100/vendor-v1"].Amount, "the refund's whole share: the top-up in doubt counts as made")
	s.NotContains(s.w.reversals, wfID+"/correction/v4.t1/vendor-v1", "nothing left to take back after it")
	s.EqualValues(vendor.Remaining(), s.w.sent("acct_v1"))
}

// Corrected to v4, back to v3, then to v4 again: the last would reuse v4's keys, which the
// provider and the ledger answer with what they did the first time, so it is refused.
func (s *workflowSuite) TestCorrectionToAVersionAgainIsRefused() {
	s.taxRules()
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	signalAt(s.env, time.Minute, SignalEvent, correction("c1", 4))
	signalAt(s.env, 2*time.Minute, SignalEvent, correction("c2", 3))
	signalAt(s.env, 3*time.Minute, SignalEvent, correction("c3", 4))
	rec := s.run()

	s.Equal(3, rec.RuleVersion, "the last correction did not happen")
	s.Equal([]int{4, 3}, rec.CorrectedTo)
	s.Contains(rec.Reason, "corrected to v4 before")
	s.EqualValues(9425, s.w.sent("acct_v1"), "back to v3's share")
	s.EqualValues(legOf(s.T(), rec, split.PartyVendor).Amount, s.w.sent("acct_v1"), "the books and the payee agree")
}

func (s *workflowSuite) TestCorrectionRefusedForRefundedPayment() {
	s.w.rules[4] = split.Rule{ClientID: "acme", Version: 4, PlatformBps: 500}
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	signalAt(s.env, time.Minute, SignalEvent, refundEvent("evt_r1", 100))
	signalAt(s.env, 2*time.Minute, SignalEvent, correction("correction-v4", 4))
	rec := s.run()
	s.Equal(3, rec.RuleVersion)
	s.Contains(rec.Reason, "corrected by hand")
	s.Len(s.w.transfers, 2)
}

func (s *workflowSuite) TestOrderArrivingLaterWakesThePayment() {
	var ready bool
	var calls []time.Time
	s.w.enrich = func(in activities.EnrichInput) activities.EnrichOutput {
		calls = append(calls, s.env.Now())
		if !ready {
			return activities.EnrichOutput{Missing: []string{"vendor_id", "subtotal"}}
		}
		return activities.EnrichOutput{Order: payment.Order{ClientID: "acme", OrderID: "o-1", VendorID: "v1", AffiliateID: "a1", Subtotal: 10000, Tax: 800, Shipping: 500, Discount: 300}}
	}
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	s.env.RegisterDelayedCallback(func() {
		ready = true
		s.env.SignalWorkflow(SignalEvent, Event{ID: "order-shopify-d1", Kind: EventOrderReady})
	}, 10*time.Second)
	start := s.env.Now()
	rec := s.run()

	s.Equal(payment.StatusPaid, rec.Status)
	s.Require().Len(calls, 2)
	s.Less(calls[1].Sub(start), time.Minute, "the order woke the payment before its next poll")
	s.EqualValues(vendorCut, s.w.sent("acct_v1"))
}

func (s *workflowSuite) TestMultiVendorOrderPaysEachVendorOnItsLines() {
	s.w.enrich = func(activities.EnrichInput) activities.EnrichOutput {
		return activities.EnrichOutput{Order: payment.Order{ClientID: "acme", OrderID: "o-2", AffiliateID: "a1", Platform: "shopify",
			Subtotal: 10000, Tax: 800, Shipping: 500, Discount: 300, Lines: []payment.OrderLine{
				{VendorID: "v1", Subtotal: 7000, Tax: 560, Discount: 300},
				{VendorID: "v2", Subtotal: 3000, Tax: 240},
			}}}
	}
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	signalAt(s.env, time.Hour, SignalEvent, refundEvent("evt_r1", gross))
	rec := s.run()

	s.Require().Len(rec.Legs, 4, "platform, two vendors, affiliate")
	v1, v2 := s.w.transfers[wfID+"/transfer/vendor-v1/0"], s.w.transfers[wfID+"/transfer/vendor-v2/0"]
	// v1: net 6700, shipping 500·6700/9700 = 345.36… → 345, platform 670, affiliate 335.
	s.EqualValues(6700+560+345-670-335, v1.Amount)
	// v2: net 3000, shipping 155, platform 300, affiliate 150.
	s.EqualValues(3000+240+155-300-150, v2.Amount)
	s.EqualValues(335+150, s.w.transfers[wfID+"/transfer/affiliate-a1/0"].Amount)
	s.Equal(payment.StatusRefunded, rec.Status)
	s.Zero(s.w.sent("acct_v1"))
	s.Zero(s.w.sent("acct_v2"))
}

// Stripe counts ISK in hundredths of a króna. Code path 10 keeps a payment's amounts in ISO units
// whichever way an event came (the API converts since then; one before it did not), and a run
// from before goes on in Stripe's units, taking the new API's events back into them, so its
// movements are sent as they always were (StripeUnits).
func (s *workflowSuite) TestStripeUnitsByCodePath() {
	tests := []struct {
		name              string
		codePath          int
		iso               bool  // the events come from the API that converts
		capture, refunded int64 // as the events carry them
		wantGross, wantRe int64
	}{
		{"path 10, events in ISO units", codePathISOUnits, true, 11000, 1100, 11000, 1100},
		{"path 10, events from an API before it", codePathISOUnits, false, 1100000, 110000, 11000, 1100},
		{"path 9, events from its own API", codePathLateCapture, false, 1100000, 110000, 1100000, 110000},
		{"path 9, events from the API that converts", codePathLateCapture, true, 11000, 1100, 1100000, 110000},
	}
	for _, tt := range tests {
		s.Run(tt.name, func() {
			s.SetupTest()
			s.w.enrich = func(in activities.EnrichInput) activities.EnrichOutput {
				return activities.EnrichOutput{Order: payment.Order{ClientID: "acme", OrderID: "o-1", VendorID: "v1", Platform: "shopify", Subtotal: in.Gross}}
			}
			c := captureEvent("evt_1", tt.capture)
			c.Currency, c.ISOUnits = "isk", tt.iso
			r := refundEvent("evt_r1", tt.refunded)
			r.Currency, r.ISOUnits = "isk", tt.iso
			signalAt(s.env, time.Second, SignalEvent, c)
			signalAt(s.env, 10*time.Minute, SignalEvent, r)
			in := testInput()
			in.CodePath = tt.codePath
			s.env.ExecuteWorkflow(Workflow, in)
			rec := result(s.T(), s.env)
			s.checkBooks(rec)
			s.EqualValues(tt.wantGross, rec.Gross)
			s.EqualValues(tt.wantRe, rec.Refunded)
			s.NotEmpty(s.w.transfers)
			for key, tr := range s.w.transfers {
				s.Equal(tt.codePath < codePathISOUnits, tr.StripeUnits, "transfer %s", key)
			}
			s.NotEmpty(s.w.reversals, "the refund came after the payout")
			for key, rv := range s.w.reversals {
				s.Equal(tt.codePath < codePathISOUnits, rv.StripeUnits, "reversal %s", key)
			}
		})
	}
}
