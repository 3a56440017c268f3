package payment

import (
	"fmt"
	"slices"
	"strconv"
	"time"

	"go.temporal.io/sdk/workflow"

	"paysplit/activities"
	"paysplit/internal/ledger"
	"paysplit/internal/money"
	"paysplit/internal/payment"
	"paysplit/internal/split"
)

// correct re-splits a paid payment under the rule version an admin chose and settles the
// difference: one ledger entry moves the shares between the parties, payees who were owed more
// get a top-up transfer and payees who got too much have the excess reversed. Corrections are new
// entries and new transfers; nothing earlier is edited.
func (r *run) correct(e Event) error {
	if reason := r.correctionBlocker(e.RuleVersion); reason != "" {
		r.log.Warn("correction refused", "RuleVersion", e.RuleVersion, "Reason", reason)
		r.rec.Reason = fmt.Sprintf("correction to rule v%d refused: %s", e.RuleVersion, reason)
		return r.save()
	}
	var s split.Split
	err := r.step(stepComputeSplit, activities.ComputeSplitInput{
		Provider: r.rec.Provider, Order: r.rec.Order, Gross: r.rec.Gross, Currency: r.rec.Currency, CapturedAt: r.rec.CapturedAt, RuleVersion: e.RuleVersion,
		StripeUnits: r.stripeUnits(),
	}, &s)
	if err != nil {
		r.rec.Reason = fmt.Sprintf("correction to rule v%d failed: %s", e.RuleVersion, errorMessage(err))
		return r.save()
	}
	deltas, err := r.correctionDeltas(s)
	if err != nil {
		r.rec.Reason = fmt.Sprintf("correction to rule v%d refused: %s", e.RuleVersion, err)
		return r.save()
	}
	key := r.key(fmt.Sprintf("correction/v%d", e.RuleVersion))
	var postings []ledger.Posting
	for i, d := range deltas {
		if d != 0 {
			postings = append(postings, ledger.Posting{Account: r.rec.Legs[i].Account(), Amount: -d})
		}
	}
	if len(postings) > 0 {
		desc := fmt.Sprintf("correction of %s from rule v%d to v%d by %s", r.rec.PaymentID, r.rec.RuleVersion, e.RuleVersion, e.Actor)
		if _, err := r.post(key, desc, postings); err != nil {
			return err
		}
	}
	for i, d := range deltas {
		r.rec.Legs[i].Amount += d
	}
	r.rec.RuleVersion, r.rec.CommissionBase, r.rec.Reason = e.RuleVersion, s.CommissionBase, ""
	r.rec.CorrectedTo = append(r.rec.CorrectedTo, e.RuleVersion)
	for i, d := range deltas {
		leg := &r.rec.Legs[i]
		switch {
		case leg.Party == split.PartyPlatform || d == 0:
		case d > 0 && r.neverSent(leg):
			leg.State, leg.Reason = payment.LegPending, "" // paid as a payout, by payRestored or payout
			r.setStatus(payment.StatusPayingOut, "")
		case d > 0:
			r.topUp(i, d, payment.Due{Cause: key, What: "correction", Meta: map[string]string{"correction": "true"}}, false)
		default:
			if err := r.reverseLeg(i, -d, key); err != nil {
				return err
			}
		}
	}
	return r.save()
}

// neverSent reports whether a leg was never sent anything (Leg.NeverSent), from code path 4 on:
// before it, a correction topped such a leg up with no destination.
func (r *run) neverSent(leg *payment.Leg) bool {
	return r.in.CodePath >= codePathPayNeverSent && leg.NeverSent()
}

// correctionBlocker says why a payment cannot be corrected now, or "".
func (r *run) correctionBlocker(version int) string {
	switch {
	case version <= 0:
		return "a rule version is required"
	case version == r.rec.RuleVersion:
		return "the payment already uses that version"
	case r.rec.Refunded > 0 || r.rec.Disputed:
		return "refunded or disputed payments are corrected by hand"
	case r.rec.HasDues():
		return "a top-up or reversal is due on it; retry that first"
	case r.in.CodePath >= codePathPartsApart && slices.Contains(r.rec.CorrectedTo, version):
		// Its entry and transfers carry keys of that version: the provider would answer a second
		// top-up with the first, and the ledger would keep the first entry.
		return fmt.Sprintf("the payment was corrected to v%d before; correcting it again needs a new rule version", version)
	}
	for _, l := range r.rec.Legs {
		switch l.State {
		case payment.LegTransferred, payment.LegRetained, payment.LegNothingDue:
		default:
			return fmt.Sprintf("the %s leg is %s; settle it first", l.Party, l.State)
		}
	}
	return ""
}

// correctionDeltas matches the new legs to the old ones by party and payee.
func (r *run) correctionDeltas(s split.Split) ([]int64, error) {
	if len(s.Legs) != len(r.rec.Legs) {
		return nil, fmt.Errorf("the new split has %d legs, the payment %d", len(s.Legs), len(r.rec.Legs))
	}
	deltas := make([]int64, len(r.rec.Legs))
	for i, old := range r.rec.Legs {
		nl := s.Legs[i]
		if nl.Party != old.Party || nl.PayeeID != old.PayeeID {
			return nil, fmt.Errorf("the new split's legs differ from the payment's at %s", old.Name())
		}
		deltas[i] = nl.Amount - old.Amount
	}
	return deltas, nil
}

// topUp sends a payee an extra amount (a correction's extra share, a failed refund's) in a
// transfer of its own under the due's current key, and books it; ok says whether it was made;
// asked says the key was sent before with its outcome unknown.
// One the provider did not make stays due on the leg (code path 5 on) for an admin's retry.
//
// From code path 13 a key never sent goes where the payee is paid now, checked first, and a key
// in doubt where it was first sent (topUpDestination); a payee that cannot receive keeps the top-up
// due, unsent (holdTopUp).
func (r *run) topUp(i int, amount int64, due payment.Due, asked bool) (ok bool) {
	leg := &r.rec.Legs[i]
	key := due.Key(*leg)
	sentAt := workflow.Now(r.ctx)
	var out activities.TransferOutput
	in := r.transferInput(leg, key, amount, asked, due.Meta)
	// A due a path-13 run left (held, or with the destination its key went to) is taken the same
	// way by a run on an older path (an API not yet, or no longer, on 13 starts the follow-up
	// run): sent unchecked to the leg's destination, a held one went to a payee a check refused
	// and a key in doubt to an account it never went to.
	if r.in.CodePath >= codePathDisputeLoss || due.Held || due.Destination != "" {
		due.Held = false // decided again below: a key never sent is checked now
		dest, held := r.topUpDestination(i, due, asked)
		if held != "" {
			r.holdTopUp(i, amount, due, held)
			return false
		}
		in.Destination, due.Destination = dest, dest
	}
	var err error
	if r.confirming != nil {
		err = r.payoutStep(stepConfirmTransfer, activities.ConfirmTransferInput{Transfer: in, Ref: r.confirming.Ref}, &out)
	} else {
		err = r.callProvider(stepTransfer, in).Get(r.ctx, &out)
	}
	if err != nil {
		leg.Reason = fmt.Sprintf("%s: top-up of %s failed: %s", due.What, r.amountText(amount), errorMessage(err))
		if r.in.CodePath >= codePathDues {
			// A movement an admin named that is not this one says nothing of it: still in doubt.
			refused := isBusinessError(err) && !isErrorType(err, activities.ErrTypeNotThisMovement)
			due.Kind, due.Amount, due.Refused, due.Reason = payment.DueTopUp, amount, refused, leg.Reason
			if r.in.CodePath >= codePathResolve && !refused && (!asked || due.SentAt.IsZero()) {
				due.SentAt = sentAt // the key's first send; an asked key keeps its first date
			}
			leg.Dues = append(leg.Dues, due)
			r.resettle()
		}
		return false
	}
	if _, err := r.post(key, fmt.Sprintf("%s: transfer %s to %s%s", due.What, out.TransferID, leg.PayeeID, r.confirmedBy()), []ledger.Posting{
		{Account: (*leg).Account(), Amount: amount},
		{Account: ledger.ProviderBalance(r.rec.Provider), Amount: -amount},
	}); err != nil {
		leg.Reason = due.What + ": top-up sent but not booked: " + err.Error()
		return false
	}
	leg.Transferred += amount
	if leg.TransferID == "" {
		leg.TransferID = out.TransferID
	} else {
		leg.TopUps = append(leg.TopUps, payment.TopUp{TransferID: out.TransferID, Amount: amount})
	}
	if leg.State == payment.LegNothingDue || leg.State == payment.LegReversed {
		leg.State = payment.LegTransferred
	}
	if err := r.bookPayoutFee(*leg, key, out); err != nil {
		// The top-up was made and is booked: its fee alone is missing, and the log says so.
		r.log.Error("payout fee of a top-up not booked", "Key", key, "Fee", out.Fee, "Error", err)
	}
	return true
}

// topUpDestination is where a top-up under due's current key goes (code path 13 on), or why the
// payee cannot be sent it (held). Before code path 13 every top-up went to the leg's Destination,
// cached at its first payout: a payee whose account an admin replaced (the old one closed) was
// sent its top-ups at the old account, refused there for good, and one moved to another client
// was paid where a payout or a release holds it.
//
// Which keys are checked again: a key never sent (a correction's or a failed refund's top-up, the
// next attempt of a refused one, which takes a new key, one held before) goes where the payee is
// paid now, resolved as a first payout and a release resolve it (ResolvePayee), and a hold keeps it
// unsent. A key in doubt (sent, its outcome never learnt; asked, or an admin's resolve being
// checked) is not: it goes again where it was first sent (Due.Destination), whatever the payee's
// account is now. The provider may have made it there; under the same key to another destination
// Stripe refuses the request as a key reused with other parameters (retried, it stays in doubt for
// good), and once Stripe forgot the key, or at PayPal, it would be a second payment beside the one
// made. Nor is it held: only asking under its key learns whether it was made. Refused after, it
// takes a new key, which is checked.
func (r *run) topUpDestination(i int, due payment.Due, asked bool) (dest, held string) {
	leg := &r.rec.Legs[i]
	if asked || r.confirming != nil {
		if due.Destination == "" {
			return leg.Destination, "" // a due recorded before code path 13, sent to the leg's destination
		}
		return due.Destination, ""
	}
	payee, err := r.resolvePayee(leg)
	switch {
	case err != nil:
		return "", "the payee could not be checked: " + errorMessage(err)
	case payee.HoldReason != "":
		return "", payee.HoldReason
	}
	if payee.Destination != leg.Destination {
		// Top-ups still in doubt were sent to the leg's destination of their time: they keep it.
		for k, d := range leg.Dues {
			if d.ResolvableInDoubt() && d.Destination == "" {
				leg.Dues[k].Destination = leg.Destination
			}
		}
		leg.Destination = payee.Destination // where the payee is paid now, as a payout records it
	}
	return payee.Destination, ""
}

// holdTopUp keeps a top-up whose payee cannot receive (why: the payee check's hold reason) due on
// its leg, never sent, as a payout's hold keeps a leg's share owed (code path 13): not made, so it
// counts as refused, and the payment is held with the reason (payout_failed before code path 14)
// until the payee can receive: an admin's retry, a Connect event or, from code path 19, the run's
// own ask checks the payee again and sends what is then owed under the same key. The leg itself
// is not held: its transfer was made, and a held leg is released by sending it.
func (r *run) holdTopUp(i int, amount int64, due payment.Due, why string) {
	leg := &r.rec.Legs[i]
	leg.Reason = fmt.Sprintf("%s: top-up of %s held: %s", due.What, r.amountText(amount), why)
	due.Kind, due.Amount, due.Refused, due.Held, due.Reason = payment.DueTopUp, amount, true, true, leg.Reason
	due.SentAt, due.Destination = time.Time{}, "" // its key was never sent
	leg.Dues = append(leg.Dues, due)
	r.log.Warn("top-up held", "Party", leg.Party, "Key", due.Key(*leg), "Reason", why)
	r.resettle()
}

// amountText is an amount as a top-up's or a reversal's reason names it, which clients read
// (their payouts list, the report): from code path 19 with its currency, as people read money
// ("8.50 USD", money.Format); before, in minor units without a currency ("850"), as those runs
// wrote it. A refused reversal's reason took the currency only from 2026-11-27 (in minor units
// before on every path): the run compares it only with its dues' reasons, written the same way
// in the same replay, and with a payee's hold reason, which never reads "reversal of", so a
// replay that writes it the new way decides alike.
func (r *run) amountText(amount int64) string {
	if r.in.CodePath < codePathHoldRecheck {
		return strconv.FormatInt(amount, 10)
	}
	return money.Format(amount, r.rec.Currency)
}
