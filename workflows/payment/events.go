package payment

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/workflow"

	"paysplit/activities"
	"paysplit/internal/ledger"
	"paysplit/internal/money"
	"paysplit/internal/payment"
	"paysplit/internal/split"
)

// waitFor says what ends a wait besides its timeout.
type waitFor int

const (
	// untilAdmin ends the wait at an admin command.
	untilAdmin waitFor = 1 << iota
	// untilOrder ends the wait when the payment's order arrives, as a retry by the order.
	untilOrder
	// untilDues ends the wait when an event leaves a movement due, so its automatic retry can
	// be timed.
	untilDues
	// untilNoHeldDues ends the wait once no top-up is held for its payee any more (an admin's
	// retry or an event paid them), so a run kept open for held top-ups closes then, not at its
	// next ask (code path 19).
	untilNoHeldDues
	// untilNothingToSend ends the wait for a decision on a failed payout (decide) once an event
	// left the leg (decidingLeg) nothing to send (code path 21).
	untilNothingToSend
	// untilNoDues ends the wait once no movement is due any more (an admin's retry paid them, a
	// refund left them nothing to send), so the automatic retries of a due that arises later are
	// timed, and paced, from it (code path 25), not from a wait the ones before had backed off to.
	untilNoDues
	// untilRestored ends the settle window's wait when an event made a leg pending again, for
	// payRestored to pay it (code path 25).
	untilRestored
)

// wait blocks until what `until` names happens, or until timeout (0 = none), handling provider
// events as they arrive. Admin commands that come when none is expected are logged and dropped,
// so a stray "retry" cannot act later by surprise (from code path 24 a retry or cancel is also
// said in the payment's reason).
func (r *run) wait(timeout time.Duration, until waitFor) (cmd AdminCommand, timedOut bool) {
	r.bookBeforeRest()
	r.flushAttributes()
	wantAdmin := until&untilAdmin != 0
	r.startWaiting(wantAdmin)
	defer r.stopWaiting()
	ctx, cancel := workflow.WithCancel(r.ctx)
	defer cancel()
	fired := false
	var timer workflow.Future
	if timeout > 0 {
		timer = workflow.NewTimer(ctx, timeout)
	}
	for {
		var ev *Event
		r.intake() // signals that came as an event was taken: adminBeforeEvents counts them
		got := r.adminBeforeEvents(ctx, wantAdmin)
		cancelled := false
		if got == nil {
			ev, got, cancelled = r.selectSignal(ctx, timer, &fired)
		}
		switch {
		case (cancelled || fired) && r.in.CodePath >= codePathClosing && r.ctx.Err() != nil:
			return r.cancelledWhileWaiting(), false
		case ev != nil:
			r.handleEvent(*ev)
			if r.orderArrived && until&untilOrder != 0 {
				r.orderArrived = false
				return AdminCommand{Action: ActionRetry, Actor: "order webhook"}, false
			}
			if until&untilDues != 0 && r.rec.HasDues() {
				return AdminCommand{}, false
			}
			if r.restoredPending(until) {
				return AdminCommand{}, false
			}
		case got != nil && !got.Action.known() && r.in.CodePath >= codePathDisputeLoss:
			// A typo sent from the Temporal UI, or an action of a newer build: before code path
			// 13 anything but cancel was taken as a retry, which sends money. Nothing is done;
			// the run goes on waiting.
			r.log.Warn("admin command ignored: unknown action", "Action", got.Action, "Actor", got.Actor)
		case got != nil && wantAdmin && r.madeOnAnother(*got):
			r.dropStale(*got, true)
		case got != nil && wantAdmin:
			r.log.Info("admin command", "Action", got.Action, "Party", got.Party, "Actor", got.Actor)
			if got.Action != ActionResolve {
				r.answered() // a resolve is no answer to the decision: the run asks it still
			}
			return *got, false
		case got != nil && got.Action == ActionRetry && r.rec.HasDues() && r.retriesDues(*got):
			// A retry from the Temporal UI while the run is open, taken as the API's event is.
			r.handleEvent(Event{Kind: EventRetryDues, Actor: got.Actor})
		case got != nil && r.in.CodePath >= codePathUIDecision && got.Action != ActionResolve && got.Action != ActionRelease:
			// Made on a decision the run has left (the API's), or sent while it asked none: said
			// in the reason, as one made on another decision is. A release that finds nothing held
			// has nothing to do (a Connect event's, the leg paid by an ask meanwhile): logged.
			r.dropStale(*got, false)
		case got != nil:
			r.log.Warn("admin command ignored: nothing is waiting for one", "Action", got.Action, "Status", r.rec.Status)
		case fired:
			return AdminCommand{}, true
		}
		if r.in.CodePath >= codePathSignalsAtRest {
			// The run rests again: what admins filter on in the Temporal UI must be what the
			// event just taken made it, not wait for the wait to end.
			r.flushAttributes()
		}
		if until&untilNothingToSend != 0 && r.nothingToSend(r.decidingLeg) {
			return AdminCommand{}, false // a refund took what the failed payout was to send
		}
		if until&untilNoHeldDues != 0 && !r.hasHeldDues() {
			return AdminCommand{}, false // what it waited to ask about was paid meanwhile
		}
		if until&untilNoDues != 0 && !r.rec.HasDues() {
			return AdminCommand{}, false
		}
		if r.capture != nil && !r.rec.Split() && (!wantAdmin && r.rec.Status == payment.StatusAwaitingCapture || r.lateCapture) {
			return AdminCommand{}, false // the capture came: stop waiting for it
		}
	}
}

// askKind is the kind of decision a run asks admins for (run.asking).
type askKind int

const (
	// askOther is any decision but the two below (a payout refused for good, a late capture
	// awaited), or none: each is a new one.
	askOther askKind = iota
	// askHold is a decision on the payment's held legs: release or cancel.
	askHold
	// askPark is a decision on a payment parked before its split: retry or cancel.
	askPark
)

// askDecision moves the payment's decision number on (code path 22) as the run is about to save a
// new decision it asks admins for: a leg held, a payout refused for good, a park, a late capture
// awaited. A command made on the number before (AdminCommand.Decision) is then not taken. A hold
// while the run asks on held legs, or a park while it asks on its park, is the same decision:
// the number stays, and a release or cancel (a retry or cancel) made on it is taken.
func (r *run) askDecision(kind askKind) {
	r.intake() // what came before was sent on what the payment showed then
	r.unanswered = true
	if kind != askOther && kind == r.asking {
		return
	}
	r.asking = kind
	if r.in.CodePath >= codePathDecisionBasis {
		r.rec.Decision++
	}
	if kind == askHold {
		r.holdAsked = r.rec.Decision
	}
}

// madeOnAnother reports whether an admin's retry, cancel or release was made on another decision
// than the one the run asks now (code path 22): it came while the run was busy, or late, and was
// meant for what the payment showed then (a hold, an earlier refusal). A command without a number
// (the Temporal UI: Decision 0, not Checked) and a resolve (its Key says what it is about) are
// not. One the API made on a payment before its first decision (0, Checked) is, once the run
// asked one: a cancel made as the payment waited for its order is no decision on a refused payout.
// Nor is a release made on the decision on held legs still held (holdAsked).
func (r *run) madeOnAnother(cmd AdminCommand) bool {
	if cmd.came == cameBusy || cmd.came == cameResting {
		return true // sent from the Temporal UI while the run asked no decision (code path 24)
	}
	if r.in.CodePath < codePathDecisionBasis || !cmd.checked() || cmd.Action == ActionResolve || cmd.Decision == r.rec.Decision {
		return false
	}
	// A release made on the hold the run still has legs held for, since another decision was
	// asked (a refused payout, retried): the run waits on those legs again, or the release is an
	// ask of them while it waits for the other decision (decide). It checks the payee again before
	// anything is sent.
	return cmd.Action != ActionRelease || cmd.Decision != r.holdAsked || r.heldLegs() == 0
}

// staleMark starts the note a payment's reason gets when a command made on another decision is
// dropped (dropStale); the reason before it is what the payment waits for.
const staleMark = "; dropped: "

// dropStale drops a command made on another decision (madeOnAnother), or one that reached the run
// as it waits for none (asking false, code path 24), and says so in the payment's reason, saved, so
// the admin who sent it (answered 202) reads that it was not taken and decides on what the payment
// shows now; the wait goes on.
func (r *run) dropStale(cmd AdminCommand, asking bool) {
	r.log.Warn("admin command ignored: made on another decision", "Action", cmd.Action, "Actor", cmd.Actor,
		"MadeOn", cmd.Decision, "Decision", r.rec.Decision, "Asking", asking, "Came", cmd.came)
	var made string
	switch cmd.came {
	case cameNoted:
		made = fmt.Sprintf("made on decision %d", cmd.Decision)
	case cameAsked:
		made = fmt.Sprintf("sent on decision %d", cmd.Decision)
	case cameBusy, cameResting:
		made = "sent while the run asked no decision"
	}
	now := fmt.Sprintf("the payment now waits for decision %d", r.rec.Decision)
	if !asking {
		now = "the payment waits for no decision now"
	}
	base, mark := withoutStaleNote(r.rec.Reason), staleMark
	if base == "" {
		mark = strings.TrimPrefix(staleMark, "; ") // a paid payment's reason says nothing else
	}
	r.rec.Reason = fmt.Sprintf("%s%s%s's %s, %s, not taken: %s; decide on what it shows",
		base, mark, cmp.Or(cmd.Actor, "an admin"), cmd.Action, made, now)
	if err := r.save(); err != nil {
		r.log.Warn("dropped admin command not saved in the reason", "Error", err)
	}
}

// withoutStaleNote is a payment's reason without the note of a dropped command (dropStale).
func withoutStaleNote(reason string) string {
	if strings.HasPrefix(reason, strings.TrimPrefix(staleMark, "; ")) {
		return ""
	}
	base, _, _ := strings.Cut(reason, staleMark)
	return base
}

// retriesDues reports whether an admin's retry that reaches the run while it waits for no decision
// is taken as a retry of the payment's movements due, as the API sends one (an event): any before
// code path 22; one without a number (the Temporal UI) before code path 24; from it one sent from
// the Temporal UI while the run so waited. A numbered one was made on a decision the run has left.
func (r *run) retriesDues(cmd AdminCommand) bool {
	switch {
	case r.in.CodePath < codePathDecisionBasis:
		return true
	case r.in.CodePath < codePathUIDecision:
		return !cmd.checked()
	}
	return cmd.came == cameResting
}

// adminBeforeEvents is, from code path 16, the admin command a payment not split yet, waiting for
// one, takes before the events waiting with it: an admin's retry (it splits and pays the payment); any other command
// is kept (deferredAdmin) until those events are taken, or the payment is split. A workflow task
// given again (Temporal refused to close the run with a signal it had not seen; a worker died)
// has from its start the retry and the events that came while its first attempt paid out, whose
// transfers stand: a refund taken before the retry was applied before the payout, which sent less
// under the keys the first attempt had sent (in full: nothing, and the first attempt's transfer
// stayed with the payee, unknown to the payment). A cancel goes after the events instead: one of
// them may be what the first attempt split and paid on (the order the payment waited for). A
// split payment's selector looks at the admin channel first (selectSignal); it takes a command
// kept meanwhile first too.
func (r *run) adminBeforeEvents(ctx workflow.Context, wantAdmin bool) *AdminCommand {
	if r.in.CodePath < codePathAnyOrder {
		return nil
	}
	if kept := r.deferredAdmin; kept != nil {
		if !r.rec.Split() && r.events.Len() > 0 {
			return nil
		}
		r.deferredAdmin = nil
		return kept
	}
	if !wantAdmin || r.rec.Split() || r.events.Len() == 0 || r.admin.Len() == 0 {
		return nil // a wait that takes no command drops it as it comes
	}
	var a AdminCommand
	if !r.receive(ctx, r.admin, &a) {
		return nil
	}
	if a.Action == ActionRetry {
		return &a
	}
	r.deferredAdmin = &a
	return nil
}

// selectSignal waits for the next event, admin command, timer or cancellation of the wait.
func (r *run) selectSignal(ctx workflow.Context, timer workflow.Future, fired *bool) (ev *Event, got *AdminCommand, cancelled bool) {
	sel := workflow.NewSelector(ctx)
	takeEvent := func(c workflow.ReceiveChannel, _ bool) {
		var e Event
		if r.receive(ctx, c, &e) {
			ev = &e
		}
	}
	takeAdmin := func(c workflow.ReceiveChannel, _ bool) {
		var a AdminCommand
		if r.receive(ctx, c, &a) {
			got = &a
		}
	}
	if r.signals != nil {
		// First (code path 24): a signal is noted with what the run asks as it comes, before an
		// event that came with it changes that. The wait's loop empties the signal channel before
		// each select, and a select does not block while r.admin holds a command: this fires only
		// once the wait blocked, and the first signal it noted is the first that came, which the
		// wait takes now, as it took the signal channel's first before code path 24. Left to the
		// next round, it went behind the events that came with it in the same workflow task
		// (adminBeforeEvents): a cancel sent as a parked payment's order came was kept, and the
		// payment was split and paid.
		sel.AddReceive(r.signals, func(workflow.ReceiveChannel, bool) {
			if r.intake(); r.admin.Len() > 0 {
				takeAdmin(r.admin, true)
			}
		})
	}
	// A selector takes the first ready channel in the order added. Both are ready together
	// when a workflow task given again (Temporal refused to close the run with a signal it
	// had not seen; a worker died) has from its start an admin's release or retry and an
	// event that came while the first attempt paid it out: the events first, a refund
	// changed what the leg was sent under the key the first attempt had sent (in full:
	// nothing, and that transfer stayed the payee's, unknown to the payment). From code path
	// 16 a split payment takes the admin's command first, so the events that come with it are
	// taken once its payout is done, as the first attempt took them.
	if r.in.CodePath >= codePathAnyOrder && r.rec.Split() {
		sel.AddReceive(r.admin, takeAdmin)
		sel.AddReceive(r.events, takeEvent)
	} else {
		sel.AddReceive(r.events, takeEvent)
		sel.AddReceive(r.admin, takeAdmin)
	}
	if timer != nil {
		sel.AddFuture(timer, func(workflow.Future) { *fired = true })
	}
	if r.in.CodePath >= codePathClosing {
		sel.AddReceive(ctx.Done(), func(workflow.ReceiveChannel, bool) { cancelled = true })
	}
	sel.Select(ctx)
	return ev, got, cancelled
}

// receive takes the signal the selector found on c into valuePtr, and says whether it decoded.
// From codePathSignalsAtRest a payload that does not decode is dropped (the SDK logs it) and the
// wait goes on; before, Receive dropped it and blocked, in the selector's callback, until a
// payload that decodes came, and nothing else was taken meanwhile.
func (r *run) receive(ctx workflow.Context, c workflow.ReceiveChannel, valuePtr any) bool {
	if r.in.CodePath < codePathSignalsAtRest {
		c.Receive(ctx, valuePtr)
		return true
	}
	if !c.ReceiveAsync(valuePtr) {
		r.log.Warn("signal dropped: its payload does not decode", "Signal", c.Name())
		return false
	}
	return true
}

// cancelledWhileWaiting takes the workflow's cancellation (code path 11) as an admin's cancel:
// the run goes on, on a context the cancellation no longer reaches, to cancel or compensate and
// save, and r.cancelled tells the waits that take no admin command to stop.
func (r *run) cancelledWhileWaiting() AdminCommand {
	r.log.Info("workflow cancelled while waiting", "Status", r.rec.Status)
	r.cancelled = true
	r.ctx, _ = workflow.NewDisconnectedContext(r.ctx)
	return AdminCommand{Action: ActionCancel, Actor: cancelActor}
}

// cancelActor is who cancels when the workflow itself is cancelled.
const cancelActor = "a cancellation of the workflow"

// drainEvents handles every event already delivered, without blocking.
func (r *run) drainEvents() {
	for {
		var e Event
		if !r.events.ReceiveAsync(&e) {
			return
		}
		r.handleEvent(e)
	}
}

// drainToCapture takes the events that came with the start as drainEvents does, but from code
// path 16 stops at a capture of a payment not split yet: the events after it are taken once its
// payout is done. A workflow task given again (a worker died mid-payout; Temporal refused to close
// the run with a signal it had not seen) has from its start the events that came during its first
// attempt, whose payouts stand; taken before the payout, a refund sent less than that attempt
// did, or nothing, and the transfer it made stayed with the payee, unknown to the payment.
func (r *run) drainToCapture() {
	for r.in.CodePath < codePathAnyOrder || r.capture == nil || r.rec.Split() {
		var e Event
		if !r.events.ReceiveAsync(&e) {
			return
		}
		r.handleEvent(e)
	}
}

// refuseUnknownKind fails the workflow task of a run told an event of a kind this build does not
// know: a newer API sent it during a deploy, and the provider was answered 200. Dropped, it would
// never be applied, and the newer build the run moves to could not replay a history in which it
// was not; the panic fails the task before anything is recorded (see refuseUnknownCodePath), so
// a build that knows the kind takes it.
func refuseUnknownKind(k EventKind) {
	if !k.known() {
		panic(fmt.Sprintf("payment workflow: an event of kind %q, which this worker does not know; a newer worker takes it", k))
	}
}

// handleEvent applies one provider event. Events are deduplicated by ID; refunds are applied as a
// cumulative amount, so replays and reordering cannot refund twice.
func (r *run) handleEvent(e Event) {
	// A resolve is taken as often as it comes (code path 11): it acts only on what is still in
	// doubt under its key, so twice is harmless, and one sent again after its check at the
	// provider failed must be checked again, not dropped as seen.
	if r.in.CodePath >= codePathDisputeLoss {
		refuseUnknownKind(e.Kind)
	}
	again := e.Kind == EventResolveDue && r.in.CodePath >= codePathClosing
	if e.ID != "" && !again {
		if r.seen[e.ID] {
			return
		}
		r.seen[e.ID] = true
	}
	switch e.Kind {
	case EventCapture:
		if r.capture == nil && !r.rec.Split() {
			e = r.inRunUnits(e)
			r.capture = &e
		}
		return
	case EventOrderReady:
		r.orderArrived = !r.rec.Split()
		return
	}
	if !r.rec.Split() {
		r.pending = append(r.pending, e)
		return
	}
	if r.in.CodePath >= codePathDecisionKept {
		// Its steps go on if the workflow is cancelled meanwhile (code path 21): the event is
		// taken (its ID seen, the provider answered), so cut half way it was never applied, and no
		// follow-up run comes for it. The wait the run is in sees the cancellation after it.
		ctx := r.ctx
		r.ctx, _ = workflow.NewDisconnectedContext(ctx)
		defer func() { r.ctx = ctx }()
	}
	if err := r.apply(e); err != nil {
		r.log.Error("event not applied", "Kind", e.Kind, "EventID", e.ID, "Error", err)
	}
}

// applyPending applies the refunds and disputes that arrived before the split.
func (r *run) applyPending() error {
	pending := r.pending
	r.pending = nil
	for _, e := range pending {
		if err := r.apply(e); err != nil {
			return err
		}
	}
	return nil
}

func (r *run) apply(e Event) error {
	e = r.inRunUnits(e)
	switch e.Kind {
	case EventRefund:
		if err := r.returnFee(e); err != nil {
			return err
		}
		if r.in.CodePath >= codePathDisputeLoss && r.rec.Provider == activities.ProviderPayPal && e.RefundID != "" {
			// PayPal's total_refunded_amount counts its reversals too (a reversal is a refund
			// resource of its own, whose total holds it), while a reversal is applied as a lost
			// dispute: taken on top, a refund after a reversal took the reversal from the payees a
			// second time. Each PayPal refund is applied once by its own amount, whatever order
			// the refunds and reversals are told in.
			e.AmountRefunded = 0
		}
		if e.AmountRefunded == 0 && e.RefundID != "" {
			// The provider told only this refund's amount: apply it once per refund ID.
			if slices.Contains(r.rec.AppliedRefunds, e.RefundID) || r.isFailedRefund(e.RefundID) {
				return nil // applied already, or failed before it was told
			}
			r.rec.AppliedRefunds = append(r.rec.AppliedRefunds, e.RefundID)
			return r.refundAfterLostDisputes(r.rec.Refunded+e.Amount, "dispute-loss/refund/"+e.RefundID, func() int64 { return r.rec.Refunded + e.Amount },
				"refund/"+e.RefundID)
		}
		// The provider's figure leaves out refunds that had failed by the event's time, which
		// may be told later: figures are kept and weighed again with every failure.
		fig := payment.RefundFigure{At: e.OccurredAt, Refunded: e.AmountRefunded}
		if r.in.CodePath >= codePathRefundFailedBySecond {
			// Kept per event: a figure told again by another event in its second is a refund
			// made again after a failure (payment.Record.RefundsStandingBySecond). The same event
			// sent again is kept once.
			fig.Event = e.ID
		}
		if r.in.CodePath >= codePathRefundMoves && e.PreviousRefunded != nil && *e.PreviousRefunded >= 0 && *e.PreviousRefunded < e.AmountRefunded {
			// Refunds only add: a figure not above the one it moved from says nothing of its refund.
			fig.Added = e.AmountRefunded - *e.PreviousRefunded
		}
		if !slices.Contains(r.rec.RefundFigures, fig) {
			r.rec.RefundFigures = append(r.rec.RefundFigures, fig)
		}
		target := e.AmountRefunded
		if len(r.rec.FailedRefunds) > 0 {
			// A figure from before a failure (a late or re-sent event) must not redo the refund.
			target = r.refundsStanding()
		}
		return r.refundAfterLostDisputes(r.refundsTarget(target), "dispute-loss/refunded/"+strings.TrimPrefix(r.refundKey(target), r.key("refund/")),
			func() int64 { return r.refundsTarget(target) }, "refund")
	case EventRefundFailed:
		return r.refundFailed(e)
	case EventCorrection:
		return r.correct(e)
	case EventRetryDues:
		return r.retryDues(e)
	case EventResolveDue:
		return r.resolveDue(e)
	case EventDisputeCreated:
		if err := r.bookDisputeFees(e); err != nil {
			return err
		}
		r.attributeReversals(e)
		if !slices.Contains(r.rec.ClosedDisputes, e.DisputeID) { // not the late news of one already closed
			if r.in.CodePath >= codePathAnyOrder && !slices.Contains(r.rec.OpenDisputes, e.DisputeID) {
				r.rec.OpenDisputes = append(r.rec.OpenDisputes, e.DisputeID)
			}
			r.rec.Disputed = true
			if held := r.heldLegReason(); held != "" {
				// A leg held stays the payment's status (code path 19): disputed, an admin could
				// neither release nor cancel it, and the dispute's close made it paid.
				r.setStatus(payment.StatusHeld, held+"; dispute "+e.DisputeID+" opened")
			} else if failed := r.failedLegReason(); failed != "" {
				// A payout failed waits for an admin's decision (code path 21): disputed, the admin
				// API refused the decision, and the timeout compensated every payee.
				r.setStatus(payment.StatusPayoutFailed, failed+"; dispute "+e.DisputeID+" opened")
			} else {
				r.setStatus(payment.StatusDisputed, "dispute "+e.DisputeID+" opened")
			}
		}
		return r.save()
	case EventDisputeClosed:
		givenBack := "" // the won dispute a reversal told late was given back by
		if err := r.bookDisputeFees(e); err != nil {
			return err
		}
		if e.DisputeStatus != "lost" {
			r.attributeReversals(e)
		}
		if !slices.Contains(r.rec.ClosedDisputes, e.DisputeID) {
			r.rec.ClosedDisputes = append(r.rec.ClosedDisputes, e.DisputeID)
		}
		r.rec.Disputed = false
		if r.in.CodePath >= codePathAnyOrder {
			// A payment can have several disputes (a charge disputed again, PayPal cases on one
			// capture): closing one leaves it disputed while another is open. Before code path 16
			// any close cleared it: the payment showed settled with a dispute open, and a
			// correction, refused while disputed, moved money between its payees.
			r.rec.OpenDisputes = slices.DeleteFunc(slices.Clone(r.rec.OpenDisputes), func(d string) bool { return d == e.DisputeID })
			r.rec.Disputed = len(r.rec.OpenDisputes) > 0
		}
		if held := r.heldLegReason(); held != "" && r.rec.Status == payment.StatusHeld && !r.rec.Disputed {
			r.setStatus(payment.StatusHeld, held) // no dispute open now
		}
		if failed := r.failedLegReason(); failed != "" && r.rec.Status == payment.StatusPayoutFailed && !r.rec.Disputed {
			r.setStatus(payment.StatusPayoutFailed, failed) // no dispute open now
		}
		if e.DisputeStatus == "lost" && !slices.Contains(r.rec.LostDisputes, e.DisputeID) {
			r.rec.LostDisputes = append(r.rec.LostDisputes, e.DisputeID)
			took := max(0, min(e.Amount, r.rec.Gross-r.rec.Refunded)) // what refundTo will take
			r.rec.DisputesLost += took
			if r.in.CodePath >= codePathChargebackWon && r.rec.Provider == activities.ProviderPayPal {
				// PayPal's "lost" is a reversal (its dispute events close as their outcome): kept,
				// to be given back if its dispute is won.
				rev := payment.Reversal{ID: e.DisputeID, Took: took, Beyond: max(0, e.Amount-took)}
				rev.Dispute, rev.Unattributed = r.reversalDispute(e.DisputeID)
				if rev.Dispute == "" && !rev.Unattributed {
					// Made before a dispute's win and told after it: that win returned its funds.
					rev.Dispute = r.wonAfter(e.OccurredAt)
					givenBack = rev.Dispute
				}
				if rev.Unattributed {
					r.log.Warn("PayPal reversal of no one dispute: not given back by any dispute won", "Reversal", e.DisputeID, "Payment", r.rec.PaymentID)
				}
				r.rec.Reversals = append(r.rec.Reversals, rev)
			}
			if err := r.bookDisputeLoss(e, e.Amount-took); err != nil {
				return err
			}
			if took > 0 || r.in.CodePath < codePathRecordUnits {
				if err := r.refundTo(r.rec.Refunded+e.Amount, "dispute/"+e.DisputeID); err != nil || givenBack == "" {
					return err
				}
				return r.reinstateReversals(givenBack)
			}
			// Nothing left to take (refunded in full before): the dispute is closed all the same.
		}
		if r.rec.Status == payment.StatusDisputed {
			r.setSettled()
		}
		if r.rec.Provider == activities.ProviderPayPal && r.paypalFundsBack(e.DisputeID, e.DisputeStatus) {
			if !slices.ContainsFunc(r.rec.WonDisputes, func(w payment.DisputeWon) bool { return w.ID == e.DisputeID }) {
				r.rec.WonDisputes = append(r.rec.WonDisputes, payment.DisputeWon{ID: e.DisputeID, At: e.OccurredAt})
			}
			// Decided for the buyer before, won on the seller's appeal: decided, it owns no
			// reversal told later (counted still, it made the next chargeback's unattributed).
			r.rec.BuyerWonDisputes = slices.DeleteFunc(r.rec.BuyerWonDisputes, func(d string) bool { return d == e.DisputeID })
			return r.reinstateReversals(e.DisputeID)
		}
		if givenBack != "" {
			return r.reinstateReversals(givenBack)
		}
		if r.in.CodePath >= codePathChargebackWon && r.rec.Provider == activities.ProviderPayPal && slices.Contains(paypalForBuyer, e.DisputeStatus) &&
			!slices.Contains(r.rec.BuyerWonDisputes, e.DisputeID) {
			r.rec.BuyerWonDisputes = append(r.rec.BuyerWonDisputes, e.DisputeID)
		}
		if r.in.CodePath >= codePathBuyerCanceled && r.rec.Provider == activities.ProviderPayPal &&
			(slices.Contains(paypalUnsaid, e.DisputeStatus) || e.DisputeStatus == paypalCanceledByBuyer) &&
			slices.ContainsFunc(r.rec.Reversals, func(rev payment.Reversal) bool { return rev.Dispute == e.DisputeID && !rev.Reinstated }) {
			r.log.Warn("PayPal dispute closed with an outcome not known to return its reversal's funds: the reversal stands; check the capture in PayPal",
				"Dispute", e.DisputeID, "Outcome", e.DisputeStatus, "Payment", r.rec.PaymentID)
		}
		return r.save()
	}
	return nil
}

// paypalSellerFavour is the status of a PayPal dispute resolved for the seller (its outcome_code,
// lowercased by the webhook).
const paypalSellerFavour = "resolved_seller_favour"

// paypalCanceledByBuyer is the status of a PayPal dispute the buyer withdrew (outcome_code
// CANCELED_BY_BUYER, "The customer canceled the dispute": developer.paypal.com/api/
// customer-disputes/v1/definitions/dispute_outcome; the SDKs generated from that spec, e.g.
// PayPal-NET-SDK's v1/CustomerDisputes/DisputeOutcome.cs, carry the same text for each code). The
// claim is dropped, so the funds stay the seller's: PayPal holds a disputed payment's funds "until
// the dispute, claim, or chargeback is resolved" and then releases them (paypal.com smarthelp
// faq665), and a chargeback is "completed or canceled" by the card issuer (paypal.com selfhelp
// faq1692), a cancelled one undoing the reversal PayPal made when it came (the classic
// Canceled_Reversal; REST tells it only as this outcome, as it tells a win).
const paypalCanceledByBuyer = "canceled_by_buyer"

// paypalUnsaid are the outcomes PayPal's documentation does not say return a reversal's funds
// to the seller: RESOLVED_WITH_PAYOUT ("PayPal provided the merchant or customer with protection
// and the case is resolved": either may have been paid, and by PayPal, not from the reversal)
// and DENIED ("The dispute was denied"). A reversal of theirs stands, as it did: given back, funds
// PayPal kept would be paid to the payees out of the platform's, while one PayPal did return
// shows in reconciliation (PayPal's balance above the books). From code path 27 the run warns.
var paypalUnsaid = []string{"resolved_with_payout", "denied"}

// paypalFundsBack says whether a PayPal dispute closed with the status leaves its reversal's
// funds with the seller, to be given back: a win (code path 26) and, from code path 27, a dispute
// the buyer cancelled, handled alike in every respect (the reversals it owns, one made before
// it and told after, one told before any dispute). Runs of code path 26 kept a reversal whose
// dispute the buyer cancelled: the payees stayed reversed and the platform kept their shares.
// A cancel told of a dispute already decided for the buyer (or accepted) returns nothing: the
// buyer has the funds, and only the seller's win on appeal undoes that ruling.
func (r *run) paypalFundsBack(dispute, status string) bool {
	switch status {
	case paypalSellerFavour:
		return r.in.CodePath >= codePathChargebackWon
	case paypalCanceledByBuyer:
		return r.in.CodePath >= codePathBuyerCanceled && !slices.Contains(r.rec.BuyerWonDisputes, dispute)
	}
	return false
}

// paypalForBuyer are the statuses of a PayPal dispute closed for the buyer: resolved in their
// favour, or accepted by the seller (outcome ACCEPTED: the seller conceded the claim, its funds
// go to the buyer all the same, the reversal told after it closed).
var paypalForBuyer = []string{"resolved_buyer_favour", "accepted"}

// reversalDispute is the dispute a PayPal reversal (PAYMENT.CAPTURE.REVERSED, which names none)
// is taken to be for: the one dispute open or decided for the buyer (a claim's funds are taken
// when it is so decided, its reversal told after) when it came; none ("") when there was none,
// the first dispute told after it then taken (a chargeback's reversal told before its dispute);
// or unattributed when there were several. A dispute won returns its own reversal's funds only:
// taken for another (an inquiry won before any money moved, a claim won while a chargeback
// stood), the payees were paid again with money PayPal never gave back.
func (r *run) reversalDispute(reversal string) (dispute string, unattributed bool) {
	var could []string
	for _, d := range append(slices.Clone(r.rec.OpenDisputes), r.rec.BuyerWonDisputes...) {
		if d != reversal && !slices.Contains(could, d) {
			could = append(could, d)
		}
	}
	switch len(could) {
	case 0:
		return "", false
	case 1:
		return could[0], false
	}
	return "", true
}

// wonAfter is the one PayPal dispute won after a reversal made at made, told after the win: ""
// when there is none or several, or made is not known.
func (r *run) wonAfter(made time.Time) string {
	var after []string
	for _, w := range r.rec.WonDisputes {
		if !made.IsZero() && !w.At.IsZero() && made.Before(w.At) {
			after = append(after, w.ID)
		}
	}
	if len(after) != 1 {
		return ""
	}
	return after[0]
}

// attributeReversals takes the PayPal reversals told while no dispute was known to be the first
// dispute told after them (its creation or its resolution, whichever comes first).
func (r *run) attributeReversals(e Event) {
	if r.in.CodePath < codePathChargebackWon || r.rec.Provider != activities.ProviderPayPal ||
		slices.Contains(r.rec.OpenDisputes, e.DisputeID) || slices.Contains(r.rec.ClosedDisputes, e.DisputeID) {
		return
	}
	for i := range r.rec.Reversals {
		if rev := &r.rec.Reversals[i]; rev.Dispute == "" && !rev.Unattributed && !rev.Reinstated {
			rev.Dispute = e.DisputeID
		}
	}
}

// reinstateReversals gives back, once each, the PayPal reversals a dispute won had taken (those
// reversalDispute, wonAfter and attributeReversals took to be its own). PayPal returns the
// reversed funds to the balance: the loss booked beyond refunds is taken back, the rest comes off
// the disputes lost and goes back to the legs (payees already paid get theirs again), as a won
// dispute leaves a Stripe charge.
func (r *run) reinstateReversals(dispute string) error {
	for i := range r.rec.Reversals {
		rev := &r.rec.Reversals[i]
		if rev.Reinstated || rev.Dispute != dispute {
			continue
		}
		rev.Reinstated = true
		// Took and Beyond are as of the reversal: a refund told after it (made before) moved part
		// of what it took to the loss beyond refunds, a refund failed since moved it back, another
		// reversal took on top. PayPal returns the reversal's whole amount; taken back as if it had
		// never come, it first comes off the loss beyond refunds (which a reversal adds to last),
		// and only the rest goes back to the legs.
		total := rev.Took + rev.Beyond
		back := min(total, r.rec.DisputeLossBeyondRefunds)
		if back > 0 {
			err := r.bookLossBeyondRefunds("dispute-loss-back/"+rev.ID, fmt.Sprintf("reversal %s of %s given back: dispute %s won", rev.ID, r.rec.PaymentID, dispute), -back)
			if err != nil {
				return fmt.Errorf("take back the loss of reversal %s: %w", rev.ID, err)
			}
		}
		took := min(total-back, r.rec.DisputesLost)
		if took <= 0 {
			continue
		}
		r.rec.DisputesLost -= took
		// Keyed as a refund undone (a PayPal reversal is a refund resource of its own, so its ID
		// is no refund's): reconciliation counts the entry with the payment's refunds and the
		// top-ups with its payouts, as it does a failed refund's.
		if err := r.unrefund(r.rec.Refunded-took, took, reversalGivenBack(*rev)); err != nil {
			return err
		}
	}
	return r.save()
}

// reversalGivenBack is the reinstatement of a PayPal reversal whose dispute was won.
func reversalGivenBack(rev payment.Reversal) reinstatement {
	return reinstatement{key: "refund-failed/" + rev.ID, what: fmt.Sprintf("reversal %s given back: dispute %s won", rev.ID, rev.Dispute),
		meta: map[string]string{"reversal_reinstated": rev.ID, "dispute": rev.Dispute}}
}

// refundAfterLostDisputes applies a refund whose target (the payment's whole refunded amount with
// it, lost disputes included) is past the gross: lost disputes took what the refund gives back.
// Told after the dispute, the refund was made before it (a provider refuses to refund a disputed
// charge; either way the money left the provider's balance twice), so from code path 16 that
// part of what the disputes took is moved from the disputes lost to the platform's loss beyond
// refunds, booked under <wf>/<lossCause> (dispute-loss/refunded/<figure>, or /refund/<refund ID>
// when refunds are told one by one), and the refund is applied with what the disputes then leave:
// the outcome told in order. retarget gives the target again once the disputes lost changed.
func (r *run) refundAfterLostDisputes(target int64, lossCause string, retarget func() int64, cause string) error {
	shift := min(target-r.rec.Gross, r.rec.DisputesLost)
	if r.in.CodePath < codePathAnyOrder || shift <= 0 {
		return r.refundTo(target, cause)
	}
	err := r.bookLossBeyondRefunds(lossCause, fmt.Sprintf("%s of %s told after a lost dispute, which took the %d it had given back", cause, r.rec.PaymentID, shift), shift)
	if err != nil {
		return fmt.Errorf("book loss of the disputes beyond %s: %w", cause, err)
	}
	r.rec.DisputesLost -= shift
	before := r.rec.Refunded
	if err := r.refundTo(retarget(), cause); err != nil || r.rec.Refunded != before {
		return err // refundTo saved
	}
	return r.save()
}

// refundsTarget is the payment's whole refunded amount for a provider's figure of its refunds.
func (r *run) refundsTarget(refunds int64) int64 {
	if r.in.CodePath >= codePathPartsApart {
		return refunds + r.rec.DisputesLost // the provider's figure counts its refunds only
	}
	return refunds
}

// refundFailed undoes, once, a refund the provider could not make: the money is back in the
// platform's balance, so the refunded amount comes down to what stands and the legs' shares go
// back to them (payees already paid get theirs again, through a transfer of its own).
func (r *run) refundFailed(e Event) error {
	if e.RefundID == "" || e.Amount <= 0 || r.isFailedRefund(e.RefundID) {
		return nil
	}
	r.rec.FailedRefunds = append(r.rec.FailedRefunds, payment.FailedRefund{ID: e.RefundID, Amount: e.Amount, Made: e.RefundMade, At: e.OccurredAt})
	if err := r.unreturnFee(e); err != nil {
		return err
	}
	if err := r.reclaimDisputeLoss(e); err != nil {
		return err
	}
	if slices.Contains(r.rec.AppliedRefunds, e.RefundID) {
		// Told one refund at a time (no cumulative figure): this one was applied; undo it.
		return r.unrefundTo(r.rec.Refunded-e.Amount, e.RefundID, e.Amount)
	}
	if len(r.rec.RefundFigures) == 0 {
		// No cumulative figure told (none yet, or refunds told one at a time): this refund was
		// not applied, and when its own event comes it is skipped as failed.
		return r.save()
	}
	// A failure told before any figure counted its refund leaves nothing to undo: the figure,
	// when it comes, counts the refund made and failed alike.
	target := r.refundsTarget(r.refundsStanding())
	return r.unrefundTo(target, e.RefundID, e.Amount)
}

// refundsStanding is what is refunded now as the provider's figures and the failures tell it, read
// by the second from code path 25 (payment.Record.RefundsStandingBySecond) and with what each
// figure's refund added from code path 26 (payment.Record.RefundsStandingByMoves).
func (r *run) refundsStanding() int64 {
	if r.in.CodePath >= codePathRefundMoves {
		return r.rec.RefundsStandingByMoves()
	}
	if r.in.CodePath >= codePathRefundFailedBySecond {
		return r.rec.RefundsStandingBySecond()
	}
	return r.rec.RefundsStanding()
}

// isFailedRefund reports whether a refund was told failed.
func (r *run) isFailedRefund(refundID string) bool {
	return slices.ContainsFunc(r.rec.FailedRefunds, func(f payment.FailedRefund) bool { return f.ID == refundID })
}

// unrefundTo brings the cumulative refunded amount down to target (never below what lost
// disputes took, never by more than limit, the failed refund's amount), in proportion to what
// each leg gave up, booked as a new entry.
func (r *run) unrefundTo(target int64, refundID string, limit int64) error {
	return r.unrefund(target, limit, refundFailed(refundID))
}

// refundFailed is the reinstatement of a refund that failed.
func refundFailed(refundID string) reinstatement {
	return reinstatement{key: "refund-failed/" + refundID, what: "refund " + refundID + " failed",
		meta: map[string]string{"refund_failed": refundID}, refundID: refundID}
}

// reinstatement says why refunded money comes back to the legs: key under the run's (its entry's,
// and its top-ups' as <key>/<leg>), what in words, meta on the top-ups; refundID for a refund
// failed (its entry's description).
type reinstatement struct {
	key, what string
	meta      map[string]string
	refundID  string
}

// unrefund is unrefundTo for any cause.
func (r *run) unrefund(target, limit int64, why reinstatement) error {
	amount := min(r.rec.Refunded-max(target, r.rec.DisputesLost), limit)
	if amount <= 0 {
		return r.save()
	}
	given := make([]int64, len(r.rec.Legs))
	for i, l := range r.rec.Legs {
		given[i] = l.Refunded
	}
	alloc, err := r.allocateRefund(given, amount)
	if err != nil {
		return fmt.Errorf("allocate failed refund of %d: %w", amount, err)
	}
	key := r.key(why.key)
	postings := []ledger.Posting{{Account: ledger.ProviderBalance(r.rec.Provider), Amount: amount}}
	for i, l := range r.rec.Legs {
		if alloc[i] > 0 {
			postings = append(postings, ledger.Posting{Account: l.Account(), Amount: -alloc[i]})
		}
	}
	description := fmt.Sprintf("%s: %d on %s", why.what, amount, r.rec.PaymentID)
	if why.refundID != "" {
		description = fmt.Sprintf("refund %s of %d on %s failed", why.refundID, amount, r.rec.PaymentID)
	}
	if _, err := r.post(key, description, postings); err != nil {
		return err
	}
	for i := range r.rec.Legs {
		r.rec.Legs[i].Refunded -= alloc[i]
	}
	r.rec.Refunded -= amount
	if r.compensated() {
		// Its payouts were undone: the restored shares stay owed on the payables, as the rest.
		return r.save()
	}
	restored := false
	for i := range r.rec.Legs {
		leg := &r.rec.Legs[i]
		switch {
		case leg.NeverSent() && leg.Remaining() > 0:
			// Nothing was ever sent to it: it is paid as any leg is (the payee checked, a hold
			// honoured), by payRestored.
			leg.State, leg.Reason, restored = payment.LegPending, "", true
		case leg.State == payment.LegTransferred || leg.State == payment.LegReversed || leg.State == payment.LegNothingDue:
			if due := leg.Shortfall(); due > 0 {
				r.payAgain(i, due, why)
			}
		} // any other leg is not sent yet: its transfer will send what is now due
	}
	if restored {
		r.setStatus(payment.StatusPayingOut, "")
	} else {
		r.resettle()
	}
	return r.save()
}

// payAgain sends a payee the share a failed refund (or a PayPal reversal given back) gave back to
// it, as a top-up under that cause's key (<wf>/refund-failed/<refund or reversal>/<leg>).
func (r *run) payAgain(i int, amount int64, why reinstatement) {
	r.topUp(i, amount, payment.Due{Cause: r.key(why.key), What: why.what, Meta: why.meta}, false)
}

// returnFee books the part of the processing fee a refund gave back (PayPal's), once per refund and
// never beyond the fee booked, as an entry kept for the refund's own booking step.
func (r *run) returnFee(e Event) error {
	amount := min(e.Fee, r.rec.Fee-r.rec.FeeReturned)
	if amount <= 0 || e.RefundID == "" || slices.Contains(r.rec.FeeReturns, e.RefundID) {
		return nil
	}
	if r.in.CodePath >= codePathDues && r.isFailedRefund(e.RefundID) {
		return nil // told again after it failed: it gave nothing back
	}
	err := r.book("", r.key("fee/return/"+e.RefundID), fmt.Sprintf("fee returned with refund %s of %s", e.RefundID, r.rec.PaymentID), []ledger.Posting{
		{Account: ledger.ProviderBalance(r.rec.Provider), Amount: amount},
		{Account: ledger.ProcessingFees(r.rec.Provider), Amount: -amount},
	})
	if err != nil {
		return err
	}
	r.rec.FeeReturned += amount
	r.rec.FeeReturns = append(r.rec.FeeReturns, e.RefundID)
	return nil
}

// unreturnFee takes back the fee a refund gave back when that refund fails (PayPal's, whose failed
// refund states the fee it had returned), once per refund and never beyond what was returned, as
// an entry kept for the failure's own booking step (code path 5).
func (r *run) unreturnFee(e Event) error {
	amount := min(e.Fee, r.rec.FeeReturned)
	if r.in.CodePath < codePathDues || amount <= 0 || !slices.Contains(r.rec.FeeReturns, e.RefundID) ||
		slices.Contains(r.rec.FeeReturnsUndone, e.RefundID) {
		return nil
	}
	err := r.book("", r.key("fee/return/"+e.RefundID+"/undone"), fmt.Sprintf("fee return of failed refund %s of %s taken back", e.RefundID, r.rec.PaymentID), []ledger.Posting{
		{Account: ledger.ProcessingFees(r.rec.Provider), Amount: amount},
		{Account: ledger.ProviderBalance(r.rec.Provider), Amount: -amount},
	})
	if err != nil {
		return err
	}
	r.rec.FeeReturned -= amount
	r.rec.FeeReturnsUndone = append(r.rec.FeeReturnsUndone, e.RefundID)
	return nil
}

// bookDisputeFees books the fees of a dispute's balance transactions not booked yet, each once by
// its ID (a dispute fee is the platform's expense; a returned one, negative, takes it back), as
// entries kept for the dispute's own save.
func (r *run) bookDisputeFees(e Event) error {
	ids := slices.Sorted(maps.Keys(e.DisputeFees)) // map order is random: the entries' is not
	for _, id := range ids {
		fee := e.DisputeFees[id]
		if fee == 0 || slices.Contains(r.rec.DisputeFeeIDs, id) {
			continue
		}
		err := r.book("", r.key("fee/dispute/"+id), fmt.Sprintf("dispute %s fee (%s) on %s", e.DisputeID, id, r.rec.PaymentID), r.feePostings(fee))
		if err != nil {
			return err
		}
		r.rec.DisputeFees += fee
		r.rec.DisputeFeeIDs = append(r.rec.DisputeFeeIDs, id)
	}
	return nil
}

// bookDisputeLoss books, once per lost dispute (the caller takes each once, by its ID), what the
// provider took for it beyond what the payment still had (code path 13): a dispute on a charge
// refunded before is taken from the platform's balance all the same. The payees gave their
// shares back with the refund, so the platform bears it (dispute_losses:<provider>); the entry
// is kept for the dispute's own save or refund entry.
func (r *run) bookDisputeLoss(e Event, excess int64) error {
	if r.in.CodePath < codePathDisputeLoss || excess <= 0 {
		return nil
	}
	err := r.bookLossBeyondRefunds("dispute-loss/"+e.DisputeID, fmt.Sprintf("dispute %s lost: %d taken beyond what %s had left after refunds", e.DisputeID, excess, r.rec.PaymentID), excess)
	if err != nil {
		return fmt.Errorf("book loss of dispute %s: %w", e.DisputeID, err)
	}
	return nil
}

// bookLossBeyondRefunds moves amount from the provider's balance to the platform's dispute losses
// (back when negative), in an entry of its own under the run's key for cause, and keeps the
// record's DisputeLossBeyondRefunds with it.
func (r *run) bookLossBeyondRefunds(cause, description string, amount int64) error {
	err := r.book("", r.key(cause), description, []ledger.Posting{
		{Account: ledger.DisputeLosses(r.rec.Provider), Amount: amount},
		{Account: ledger.ProviderBalance(r.rec.Provider), Amount: -amount},
	})
	if err == nil {
		r.rec.DisputeLossBeyondRefunds += amount
	}
	return err
}

// reclaimDisputeLoss takes back, as far as it goes, the loss a dispute was booked beyond the
// refunds when one of those refunds fails (code path 13): the dispute took the payment beyond
// what the refunds had left, counting this refund; failed, that much of the dispute took the
// payees' shares, which the legs had already given up, not the platform's money. The money the
// provider gives back for the failed refund goes to the loss, the lost disputes count it, and
// only what is left (unrefundTo, never below what lost disputes took) is given back to the legs.
// Before, the legs were given it all and the payees paid again for a sale the buyer took back.
func (r *run) reclaimDisputeLoss(e Event) error {
	back := min(e.Amount, r.rec.DisputeLossBeyondRefunds)
	if r.in.CodePath < codePathDisputeLoss || back <= 0 {
		return nil
	}
	err := r.bookLossBeyondRefunds("dispute-loss-back/"+e.RefundID, fmt.Sprintf("refund %s of %s failed: %d of the disputes' loss beyond refunds was the payees' shares", e.RefundID, r.rec.PaymentID, back), -back)
	if err != nil {
		return fmt.Errorf("take back dispute loss for failed refund %s: %w", e.RefundID, err)
	}
	r.rec.DisputesLost += back
	return nil
}

// allocateRefund splits amount over the legs within bounds (what each still has, or gave up), in
// proportion; from code path 7 the payees' parts are kept in the split's payout unit where the
// platform's part can even them out.
func (r *run) allocateRefund(bounds []int64, amount int64) ([]int64, error) {
	if r.in.CodePath < codePathPayableRefunds {
		return split.AllocateRefund(bounds, amount)
	}
	platform := slices.IndexFunc(r.rec.Legs, func(l payment.Leg) bool { return l.Party == split.PartyPlatform })
	return split.AllocateRefundPayable(bounds, amount, platform, r.rec.PayoutUnit)
}

// allocateNewRefund splits a refund of amount over the legs: before code path 23 in proportion
// to what each still has, each refund on its own; from it so that each leg's refunds together are
// its share of all the payment's refunds (split.AllocateRefundCumulative), the payees' parts kept
// in the payout unit as allocateRefund keeps them.
func (r *run) allocateNewRefund(amount int64) ([]int64, error) {
	if r.in.CodePath < codePathCumulativeRefunds {
		remaining := make([]int64, len(r.rec.Legs))
		for i, l := range r.rec.Legs {
			remaining[i] = l.Remaining()
		}
		return r.allocateRefund(remaining, amount)
	}
	legs, refunded := make([]int64, len(r.rec.Legs)), make([]int64, len(r.rec.Legs))
	for i, l := range r.rec.Legs {
		legs[i], refunded[i] = l.Amount, l.Refunded
	}
	platform := slices.IndexFunc(r.rec.Legs, func(l payment.Leg) bool { return l.Party == split.PartyPlatform })
	return split.AllocateRefundCumulativePayable(legs, refunded, amount, platform, r.rec.PayoutUnit)
}

// refundTo brings the cumulative refunded amount up to target: the refund is split over the legs
// (allocateNewRefund: from code path 23 so that each leg's refunds are its share of all refunded,
// before in proportion to what each still has), booked, and taken back from payees already paid.
func (r *run) refundTo(target int64, cause string) error {
	target = min(target, r.rec.Gross)
	delta := target - r.rec.Refunded
	if delta <= 0 {
		return nil
	}
	alloc, err := r.allocateNewRefund(delta)
	if err != nil {
		return fmt.Errorf("allocate refund of %d: %w", delta, err)
	}
	key := r.refundKey(target)
	postings := []ledger.Posting{{Account: ledger.ProviderBalance(r.rec.Provider), Amount: -delta}}
	for i, l := range r.rec.Legs {
		if alloc[i] > 0 {
			postings = append(postings, ledger.Posting{Account: l.Account(), Amount: alloc[i]})
		}
	}
	if _, err := r.post(key, fmt.Sprintf("%s of %d on %s", cause, delta, r.rec.PaymentID), postings); err != nil {
		return err
	}
	for i := range r.rec.Legs {
		r.rec.Legs[i].Refunded += alloc[i]
	}
	r.rec.Refunded = target
	for i := range r.rec.Legs {
		leg := &r.rec.Legs[i]
		if leg.State != payment.LegTransferred {
			continue // not sent yet: the transfer will send only what remains
		}
		if owed := -r.shortfall(leg); owed > 0 {
			if err := r.reverseLeg(i, owed, key); err != nil {
				return err
			}
		}
	}
	r.resettle()
	return r.save()
}

// resettle gives a payment whose refunded amount changed its settled status, unless its payout
// is still under way (which sets the status when it ends).
func (r *run) resettle() {
	switch r.rec.Status {
	case payment.StatusPayingOut:
		return
	case payment.StatusHeld:
		// A held leg waits for an admin's release; a payment held only by top-ups due (code path
		// 14) is settled.
		if r.in.CodePath < codePathOutageProof || r.heldLegs() > 0 {
			return
		}
	case payment.StatusPayoutFailed:
		// A leg's payout waits for an admin; a payment failed only by movements due is settled.
		if slices.ContainsFunc(r.rec.Legs, func(l payment.Leg) bool { return l.State == payment.LegFailed }) {
			return
		}
	}
	r.setSettled()
}

// refundKey names the refund that brings the refunded amount to target in idempotency keys.
func (r *run) refundKey(target int64) string {
	// After a failure the refunded amount can come back to a figure it had: a key of its own. So
	// it can after a PayPal reversal given back (code path 26, the only runs with reversals):
	// keyed by the figure alone, the refund's entry was the earlier one's (the ledger kept that,
	// the books short of this) and its reversals of the payees reused that one's keys. Both count
	// in one suffix, which reconciliation reads (internal/recon refundCause).
	if n := len(r.rec.FailedRefunds) + r.reversalsGivenBack(); n > 0 {
		return r.key(fmt.Sprintf("refund/%d.f%d", target, n))
	}
	return r.key(fmt.Sprintf("refund/%d", target))
}

// reversalsGivenBack counts the PayPal reversals given back.
func (r *run) reversalsGivenBack() (n int) {
	for _, rev := range r.rec.Reversals {
		if rev.Reinstated {
			n++
		}
	}
	return n
}

// reverseLeg takes amount back from a paid payee and books it; prefix names the cause in the
// idempotency keys (<prefix>/<leg>). From code path 3 on, what the first transfer has not left is
// taken from the leg's correction top-ups, newest first, each under <prefix>.t<n>/<leg>; what a
// transfer has left leaves out the reversals due from it in doubt (Leg.TransferLeft).
//
// Before code path 5 a part not taken back stops the rest, which waits with it for an admin. From
// it each part not taken back is due on its own while the others go ahead, and no transfer is
// asked for more than it has left: what remains belongs to a top-up in doubt, counted as held,
// and is taken back from it once it is made (payDue).
func (r *run) reverseLeg(i int, amount int64, prefix string) error {
	leg := &r.rec.Legs[i]
	if r.in.CodePath < codePathPartsApart || (len(leg.TopUps) == 0 && r.in.CodePath < codePathDues) {
		_, err := r.reverseTransfer(i, amount, reversal(prefix, leg.TransferID), false)
		return err
	}
	firstLeft, _ := leg.TransferLeft(leg.TransferID)
	first := min(amount, max(firstLeft, 0))
	if first > 0 {
		if ok, err := r.reverseTransfer(i, first, reversal(prefix, leg.TransferID), false); !ok && (err != nil || r.in.CodePath < codePathDues) {
			return err
		}
	}
	rest := amount - first
	for n := len(leg.TopUps) - 1; n >= 0 && rest > 0; n-- {
		t := &leg.TopUps[n]
		left, _ := leg.TransferLeft(t.TransferID)
		take := min(rest, left)
		if take <= 0 {
			continue
		}
		if ok, err := r.reverseTransfer(i, take, reversal(fmt.Sprintf("%s.t%d", prefix, n+1), t.TransferID), false); !ok && (err != nil || r.in.CodePath < codePathDues) {
			return err
		}
		rest -= take
	}
	return nil
}

// reversal is a reversal from one of a leg's transfers under a cause's key prefix.
func reversal(cause, transferID string) payment.Due {
	return payment.Due{Kind: payment.DueReversal, Cause: cause, TransferID: transferID}
}

// reverseTransfer takes amount back from one of a leg's transfers (d.TransferID) under the due's
// current key and books it; asked says the key was sent before with its outcome unknown. ok is
// false when nothing was taken back: a refusal or no answer (kept on the leg, saved; from code
// path 5 due on it for an admin's retry) or an error.
func (r *run) reverseTransfer(i int, amount int64, d payment.Due, asked bool) (bool, error) {
	leg := &r.rec.Legs[i]
	key := d.Prefix() + "/" + leg.Name()
	md := map[string]string{"workflow_id": r.rec.WorkflowID, "party": string(leg.Party), "payee_id": leg.PayeeID}
	if r.in.CodePath >= codePathDues {
		md[activities.MetaIdempotencyKey] = key
	}
	var out activities.ReverseTransferOutput
	err := r.callProvider(stepReverseTransfer, activities.ReverseTransferInput{
		Provider: r.rec.Provider, Currency: r.rec.Currency, IdempotencyKey: key, TransferID: d.TransferID, Amount: amount,
		Metadata: md, Asked: asked, StripeUnits: r.stripeUnits(),
	}).Get(r.ctx, &out)
	if err != nil {
		// The payee keeps money it now owes back: the payable stays debited (a receivable) and
		// the reason is visible to admins; due for a retry unless the rail can never reverse.
		leg.Reason = fmt.Sprintf("reversal of %s failed: %s", r.amountText(amount), errorMessage(err))
		r.log.Error("transfer reversal failed", "Party", leg.Party, "Error", err)
		if r.in.CodePath >= codePathDues && !isErrorType(err, activities.ErrTypeCannotReverse) {
			d.Amount, d.Refused, d.Reason = amount, isBusinessError(err), leg.Reason
			leg.Dues = append(leg.Dues, d)
			r.resettle()
		}
		return false, r.save()
	}
	if _, err := r.post(key, fmt.Sprintf("reversal %s of %s", out.ReversalID, d.TransferID), []ledger.Posting{
		{Account: ledger.ProviderBalance(r.rec.Provider), Amount: amount},
		{Account: (*leg).Account(), Amount: -amount},
	}); err != nil {
		return false, err
	}
	leg.Reversed += amount
	if _, n := leg.TransferLeft(d.TransferID); n >= 0 {
		leg.TopUps[n].Reversed += amount
	}
	if leg.Transferred == leg.Reversed {
		leg.State = payment.LegReversed
	}
	return true, nil
}

// leaveInDoubt keeps a leg the compensation could not settle in doubt (code path 6 on): the payee
// may hold its transfer. Cancelled, it would be a payout the books never learn of (a PayPal payout
// cannot be searched for); in doubt, nothing pays it (payout) and an admin resolves it.
func (r *run) leaveInDoubt(leg *payment.Leg, why string) {
	leg.State = payment.LegFailed
	leg.Reason = fmt.Sprintf("transfer %s in doubt: %s; look it up at the provider and resolve it", leg.TransferKey, why)
}

// canPullBack reports whether the payment's provider can take a payout back (a Stripe transfer
// reversal); a PayPal payout cannot be.
func (r *run) canPullBack() bool { return r.rec.Provider != activities.ProviderPayPal }

// compensate undoes the payouts of a payment that cannot complete: every transfer is reversed
// (a transfer whose outcome was unknown is asked again with its key first) and the ledger gets
// the reversing entries. The payables stay open: the captured money is still owed until an admin
// refunds or re-routes it.
func (r *run) compensate(reason string) {
	for i := range r.rec.Legs {
		leg := &r.rec.Legs[i]
		if inDoubt := r.inDoubt(leg); inDoubt || leg.State == payment.LegTransferring {
			if inDoubt && r.in.CodePath >= codePathResolve && !r.canPullBack() {
				r.leaveInDoubt(leg, "PayPal is asked only by sending it again, which pays it if it was never made, and no payout can be pulled back")
				continue
			}
			amount := leg.Remaining()
			if inDoubt {
				amount = leg.TransferAmount // the key's own amount, which the provider answers with what it made
			}
			made, err := r.transfer(leg, amount, inDoubt)
			switch {
			case err == nil:
				if err := r.bookTransfer(i, made, amount); err != nil {
					r.log.Error("book in-doubt transfer", "Error", err)
				}
			case inDoubt && r.in.CodePath >= codePathResolve && !isBusinessError(err):
				r.leaveInDoubt(leg, fmt.Sprintf("compensation asked again and got no answer (%s)", errorMessage(err)))
				continue
			}
		}
		switch leg.State {
		case payment.LegTransferred:
			if owed := leg.Transferred - leg.Reversed; owed > 0 {
				if err := r.reverseLeg(i, owed, r.key("compensate")); err != nil {
					r.log.Error("compensation failed", "Party", leg.Party, "Error", err)
				}
			}
		case payment.LegPending, payment.LegTransferring, payment.LegFailed, payment.LegHeld:
			leg.State = payment.LegCancelled
		}
	}
	r.rec.Compensated = reason
	if r.in.CodePath >= codePathDues {
		r.setSettled() // payout_failed while a reversal of it is due
	} else {
		r.setStatus(payment.StatusCompensated, reason)
	}
	if err := r.save(); err != nil {
		r.log.Error("save compensated payment", "Error", err)
	}
}

// isoUnits says the run keeps its amounts in ISO minor units (code path 10 on); a Stripe payment
// run from before keeps them in Stripe's own, as it read them (codePathISOUnits).
func (r *run) isoUnits() bool {
	if r.recordInStripeUnits {
		return false // a record a run before path 10 made (code path 12)
	}
	return r.in.CodePath >= codePathISOUnits || r.in.Provider == activities.ProviderPayPal
}

// stripeUnits is what the activities are told: the run's amounts are in Stripe's own units.
func (r *run) stripeUnits() bool { return !r.isoUnits() }

// inRunUnits brings a Stripe event's amounts into the units the run counts in: an event the API
// sent in ISO units to a run that counts in Stripe's, or (while APIs of both versions answer
// webhooks) one in Stripe's units to a run in ISO's. Only ISK, UGX and MGA differ. The currency
// is the event's or, for an event that names none, the payment's.
func (r *run) inRunUnits(e Event) Event {
	if e.ISOUnits == r.isoUnits() || r.in.Provider == activities.ProviderPayPal {
		return e
	}
	switch e.Kind {
	case EventCapture, EventRefund, EventRefundFailed, EventDisputeCreated, EventDisputeClosed:
	default:
		return e // an admin's event carries no provider amounts
	}
	cur := e.Currency
	if cur == "" {
		cur = r.rec.Currency
	}
	conv := money.FromStripe
	if e.ISOUnits {
		conv = money.ToStripe
	}
	out := e
	var err error
	for _, v := range []*int64{&out.Amount, &out.AmountRefunded, &out.Fee} {
		if *v, err = conv(*v, cur); err != nil {
			r.log.Error("event amounts left as they came", "EventID", e.ID, "Error", err)
			return e
		}
	}
	if e.PreviousRefunded != nil {
		// Not converted, it is left out rather than the event's amounts left as they came: the
		// event reads as it did before the figure it moved from was told (code path 26).
		out.PreviousRefunded = nil
		if prev, err := conv(*e.PreviousRefunded, cur); err == nil {
			out.PreviousRefunded = &prev
		}
	}
	if len(e.DisputeFees) > 0 {
		out.DisputeFees = make(map[string]int64, len(e.DisputeFees))
		for id, fee := range e.DisputeFees {
			if out.DisputeFees[id], err = conv(fee, cur); err != nil {
				r.log.Error("event amounts left as they came", "EventID", e.ID, "Error", err)
				return e
			}
		}
	}
	out.ISOUnits = r.isoUnits()
	return out
}
