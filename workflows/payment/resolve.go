package payment

import (
	"fmt"

	"go.temporal.io/sdk/workflow"

	"paysplit/activities"
	"paysplit/internal/payment"
)

// An admin's word on a transfer in doubt (ActionResolve): the only way out of the doubt that a
// retry under the same key cannot give, as when the provider no longer knows the key.

// decide waits for an admin's decision on leg i's failed payout, DecisionTimeout at most, and
// takes the resolves that come meanwhile (of this leg, or of one held before it); paid says one
// confirmed leg i's transfer.
func (r *run) decide(i int) (cmd AdminCommand, timedOut, paid bool, err error) {
	deadline := workflow.Now(r.ctx).Add(r.in.Settings.DecisionTimeout)
	for {
		left := deadline.Sub(workflow.Now(r.ctx))
		if left <= 0 {
			return AdminCommand{}, true, false, nil
		}
		until := untilAdmin
		if r.in.CodePath >= codePathDecisionKept {
			until |= untilNothingToSend
			r.decidingLeg = i
		}
		cmd, timedOut = r.wait(left, until)
		if !timedOut && cmd.Action == "" && r.nothingToSend(i) {
			// A refund took the share the payout failed to send (code path 21): nothing is left
			// to decide. Taken as a retry, which settles the leg with nothing due; before, the
			// payment waited payout_failed for the timeout, which compensated it.
			r.log.Info("failed payout has nothing left to send: no decision needed", "Party", r.rec.Legs[i].Party)
			r.answered()
			return AdminCommand{Action: ActionRetry, Actor: "a refund that left the leg nothing to send"}, false, false, nil
		}
		if !timedOut && cmd.Action == ActionRelease && r.in.CodePath >= codePathAskAfterHold {
			// Sent for a held leg (a Connect event, an admin) by someone who read the payment held
			// a moment ago: not a decision on this failure. The held legs are asked about as soon
			// as the run waits for them (awaitReleases), which pays those whose payee can receive.
			r.log.Info("release taken as an ask of the held legs, not as a decision on this failure",
				"Party", r.rec.Legs[i].Party, "Actor", cmd.Actor)
			continue
		}
		if timedOut || cmd.Action != ActionResolve {
			return cmd, timedOut, false, nil
		}
		j := r.legFor(cmd)
		if j < 0 {
			continue
		}
		if paid, err = r.resolveInDoubt(j, cmd); err != nil || (paid && j == i) {
			return cmd, false, paid, err
		}
	}
}

// nothingToSend reports whether leg i's payout failed and a refund since left it nothing to send,
// its transfer not in doubt (code path 21): no admin's decision is needed.
func (r *run) nothingToSend(i int) bool {
	if r.in.CodePath < codePathDecisionKept || i < 0 || i >= len(r.rec.Legs) {
		return false
	}
	leg := &r.rec.Legs[i]
	return leg.State == payment.LegFailed && leg.Remaining() <= 0 && !r.inDoubt(leg)
}

// legFor is the index of the leg a resolve names, -1 when none or several match.
func (r *run) legFor(cmd AdminCommand) int {
	found := -1
	for i, l := range r.rec.Legs {
		if l.Party == cmd.Party && (cmd.PayeeID == "" || cmd.PayeeID == l.PayeeID) {
			if found >= 0 {
				r.log.Warn("resolve ignored: it names several legs; name the payee too", "Party", cmd.Party, "Actor", cmd.Actor)
				return -1
			}
			found = i
		}
	}
	if found < 0 {
		r.log.Warn("resolve ignored: no such leg", "Party", cmd.Party, "PayeeID", cmd.PayeeID, "Actor", cmd.Actor)
	}
	return found
}

// resolveInDoubt takes an admin's word on leg i's transfer in doubt. Made: the movement the admin
// named is checked at the provider and, when it is the transfer, booked as its outcome (what a
// refund took meanwhile is then taken back, as after any transfer in doubt); paid says so. Not
// made: the leg takes a new attempt, so the next retry sends under a new key and a cancel sends
// nothing. A leg not in doubt, or a movement that is not its transfer, changes nothing but the
// leg's reason. The payment is saved either way, so admins see what came of their word.
func (r *run) resolveInDoubt(i int, cmd AdminCommand) (paid bool, err error) {
	leg := &r.rec.Legs[i]
	if !r.inDoubt(leg) {
		r.log.Warn("resolve ignored: the leg's transfer is not in doubt", "Party", leg.Party, "PayeeID", leg.PayeeID, "Actor", cmd.Actor)
		return false, nil
	}
	if cmd.Key != "" && cmd.Key != leg.TransferKey {
		// Answered about another attempt: applied to this one it could send the share again.
		r.log.Warn("resolve ignored: it is about another transfer key", "Key", cmd.Key, "InDoubt", leg.TransferKey, "Actor", cmd.Actor)
		return false, r.afterResolve(leg, fmt.Sprintf("%s's resolve of %s ignored: the transfer in doubt is now %s; resolve that one",
			cmd.Actor, cmd.Key, leg.TransferKey))
	}
	r.log.Info("transfer in doubt resolved by an admin", "Party", leg.Party, "Made", cmd.Made, "Ref", cmd.Ref, "Actor", cmd.Actor)
	if !cmd.Made {
		leg.Attempt++
		return false, r.afterResolve(leg, fmt.Sprintf("transfer %s not made, as %s found; the next retry sends under a new key", leg.TransferKey, cmd.Actor))
	}
	var out activities.TransferOutput
	in := activities.ConfirmTransferInput{Transfer: r.transferInput(leg, leg.TransferKey, leg.TransferAmount, true, nil), Ref: cmd.Ref}
	switch err := r.payoutStep(stepConfirmTransfer, in, &out); {
	case err == nil:
		r.confirming = &cmd
		err := r.bookTransfer(i, out, leg.TransferAmount)
		r.confirming = nil
		if err != nil {
			return false, err
		}
		r.log.Info("transfer in doubt confirmed", "Party", leg.Party, "TransferID", out.TransferID, "Actor", cmd.Actor)
		if r.compensated() {
			// Made after all: taken back as the compensation would have, and the books say so.
			if err := r.reverseLeg(i, leg.Transferred-leg.Reversed, r.key("compensate")); err != nil {
				return true, err
			}
			r.setSettled()
			return true, r.save()
		}
		return true, r.settleInDoubt(i)
	case isErrorType(err, activities.ErrTypeRejected):
		// The provider says the movement failed: it was not made, and its key is spent.
		leg.Attempt++
		return false, r.afterResolve(leg, fmt.Sprintf("%s (named by %s): not made; the next retry sends under a new key", errorMessage(err), cmd.Actor))
	case isErrorType(err, activities.ErrTypeNotThisMovement):
		return false, r.afterResolve(leg, fmt.Sprintf("still in doubt: %s named %s, which is not transfer %s: %s", cmd.Actor, cmd.Ref, leg.TransferKey, errorMessage(err)))
	default:
		return false, r.afterResolve(leg, fmt.Sprintf("still in doubt: %s could not be checked: %s", cmd.Ref, errorMessage(err)))
	}
}

// confirmedBy is what an entry booked on an admin's resolve adds to its description.
func (r *run) confirmedBy() string {
	if r.confirming == nil {
		return ""
	}
	return fmt.Sprintf(" (in doubt; confirmed as %s by %s)", r.confirming.Ref, r.confirming.Actor)
}

// afterResolve saves a leg still unpaid after a resolve, the payment's reason saying what came of
// it. A held leg keeps its hold's reason: it is still held for it.
func (r *run) afterResolve(leg *payment.Leg, note string) error {
	if r.compensated() { // the compensation left the leg in doubt: not made, it is cancelled
		leg.Reason = note
		if !r.inDoubt(leg) {
			leg.State = payment.LegCancelled
		}
		r.setSettled()
		return r.save()
	}
	if leg.State == payment.LegHeld {
		r.setStatus(payment.StatusHeld, heldReason(*leg)+"; "+note)
	} else {
		leg.Reason = note
		r.setStatus(payment.StatusPayoutFailed, fmt.Sprintf("%s payout failed: %s", leg.Party, note))
	}
	return r.save()
}
