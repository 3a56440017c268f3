package payment

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"paysplit/internal/payment"
)

// Movements due: top-ups and reversals the provider did not make (refused, or no answer after
// every attempt), kept on their legs (Leg.Dues) from code path 5 until an admin's retry.

// retryDues sends the top-ups and reversals due again, as an admin asked (code path 5).
func (r *run) retryDues(e Event) error {
	r.rec.DueRetries++
	r.log.Info("dues retried", "Actor", e.Actor)
	for i := range r.rec.Legs {
		leg := &r.rec.Legs[i]
		dues := leg.Dues
		if slices.ContainsFunc(dues, func(d payment.Due) bool { return d.Reason == leg.Reason }) {
			leg.Reason = "" // the retry's outcome says what stands
		}
		// Those in doubt first: they are made as they were asked, and what is still owed after
		// them decides the refused ones.
		slices.SortStableFunc(dues, func(a, b payment.Due) int { return cmp.Compare(boolRank(a.Refused), boolRank(b.Refused)) })
		var left []payment.Due
		for k, d := range dues {
			// The dues not sent yet still count in what the payee is owed (Leg.Shortfall).
			leg.Dues = append(slices.Clone(dues[k+1:]), left...)
			n := len(leg.Dues)
			if err := r.payDue(i, d); err != nil {
				return err
			}
			left = append(left, leg.Dues[n:]...) // due again
		}
		leg.Dues = left
	}
	r.resettle()
	return r.save()
}

// boolRank orders false before true.
func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}

// payDue sends one movement due. A refused one goes under a new key with what is still owed
// either way (a refund or a failed refund since may have changed it). One whose outcome was
// unknown goes under its own key with its own amount, asked (the provider may have forgotten the
// key), the only way it cannot be made twice; a top-up made so is followed by taking back what a
// refund took meanwhile (<prefix>.t<n>/<leg>, as a top-up's reversals are keyed).
func (r *run) payDue(i int, d payment.Due) error {
	leg := &r.rec.Legs[i]
	if d.Kind == payment.DueReversal {
		amount := d.Amount
		if d.Refused {
			d.Attempt++
			left, _ := leg.TransferLeft(d.TransferID)
			if amount = min(d.Amount, -r.shortfall(leg), left); amount <= 0 {
				return nil
			}
		}
		_, err := r.reverseTransfer(i, amount, d, !d.Refused)
		return err
	}
	if d.Refused {
		d.Attempt++
		if amount := min(d.Amount, r.shortfall(leg)); amount > 0 {
			r.topUp(i, amount, d, false)
		}
		return nil
	}
	if !r.topUp(i, d.Amount, d, true) || len(leg.TopUps) == 0 {
		return nil
	}
	n := len(leg.TopUps)
	t := leg.TopUps[n-1]
	if over := min(-r.shortfall(leg), t.Amount); over > 0 {
		_, err := r.reverseTransfer(i, over, reversal(fmt.Sprintf("%s.t%d", d.Prefix(), n), t.TransferID), false)
		return err
	}
	return nil
}

// shortfall is what a leg's payee is owed beyond what it holds (Leg.Shortfall); a compensated
// payment's payees are to hold nothing, their shares owed in the books until an admin refunds or
// re-routes them.
func (r *run) shortfall(leg *payment.Leg) int64 {
	if r.in.CodePath >= codePathDues && r.compensated() {
		return -leg.Holding()
	}
	return leg.Shortfall()
}

// compensated reports whether the payment's payouts were undone: its status says so, or from code
// path 5 (where a reversal due makes it payout_failed for a while) its record does.
func (r *run) compensated() bool {
	if r.in.CodePath < codePathDues {
		return r.rec.Status == payment.StatusCompensated
	}
	return r.rec.Status == payment.StatusCompensated || r.rec.Compensated != ""
}

// duesReason says which top-ups and reversals are due, for the payment's reason.
func (r *run) duesReason() string {
	var due []string
	for _, l := range r.rec.Legs {
		for _, d := range l.Dues {
			due = append(due, fmt.Sprintf("%s %s", l.Party, d.Reason))
		}
	}
	return "due: " + strings.Join(due, "; ") + " (an admin's retry sends them again)"
}
