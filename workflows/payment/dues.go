package payment

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/workflow"

	"paysplit/activities"
	"paysplit/internal/payment"
)

// Movements due: top-ups and reversals the provider did not make (refused, or no answer after
// every attempt), kept on their legs (Leg.Dues) from code path 5 until an admin's retry.

// retryDues sends the top-ups and reversals due again, as an admin asked (code path 5).
func (r *run) retryDues(e Event) error {
	r.retryingDues = true
	defer func() { r.retryingDues = false }()
	r.rec.DueRetries++
	r.log.Info("dues retried", "Actor", e.Actor)
	for i := range r.rec.Legs {
		// Those in doubt first: they are made as they were asked, and what is still owed after
		// them decides the refused ones.
		slices.SortStableFunc(r.rec.Legs[i].Dues, func(a, b payment.Due) int { return cmp.Compare(boolRank(a.Refused), boolRank(b.Refused)) })
		if err := r.sendDues(i, func(payment.Due) bool { return true }); err != nil {
			return err
		}
	}
	r.retryingDues = false // the lists are whole again: what the retry left is pruned now
	r.resettle()
	return r.save()
}

// sendDues sends, in their order, leg i's movements due that which picks (retryDues: all of them;
// payHeldDues: the top-ups held for the payee), and keeps the others; what is not made is due
// again. The leg's reason, when one of them gave it, is cleared: the outcome says what stands.
func (r *run) sendDues(i int, which func(payment.Due) bool) error {
	leg := &r.rec.Legs[i]
	dues := leg.Dues
	if slices.ContainsFunc(dues, func(d payment.Due) bool { return which(d) && d.Reason == leg.Reason }) {
		leg.Reason = ""
	}
	var left []payment.Due
	for k, d := range dues {
		if !which(d) {
			left = append(left, d)
			continue
		}
		// The dues not sent yet still count in what the payee is owed (Leg.Shortfall).
		leg.Dues = append(slices.Clone(dues[k+1:]), left...)
		n := len(leg.Dues)
		if err := r.payDue(i, d); err != nil {
			return err
		}
		left = append(left, leg.Dues[n:]...) // due again (or held again)
	}
	leg.Dues = left
	return nil
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
		if !d.Held {
			d.Attempt++ // the provider refused the key: a new one
		}
		// A held one's key was never sent: it goes now under it, the payee checked again
		// (topUp clears Held once it has decided).
		if amount := min(d.Amount, r.shortfall(leg)); amount > 0 {
			r.topUp(i, amount, d, false)
		}
		return nil
	}
	if r.in.CodePath >= codePathDisputeLoss && d.Destination == "" {
		// In doubt since before code path 13: its key went to the leg's destination, which a
		// top-up checked since may move on (topUpDestination); it keeps the one it went to.
		d.Destination = leg.Destination
	}
	if r.confirming == nil && r.keyForgotten(d.SentAt) {
		d.Reason = fmt.Sprintf("%s: top-up %s", d.What, notSentAgain(d.Key(*leg), d.SentAt))
		leg.Dues = append(leg.Dues, d)
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

// payPalKeyDays is how long a top-up in doubt is sent again under its key at PayPal, which keeps
// a sender_batch_id and a PayPal-Request-Id 30 days: a day short of that, so a retry never
// reaches PayPal after it forgot the key and would pay again.
const payPalKeyDays = 29

// keyForgotten reports whether a transfer or top-up in doubt whose key was first sent at sentAt
// may have a key the provider forgot, so sending it again could pay twice (code path 6 on;
// PayPal, which has no lookup by key; a zero sentAt is a key sent before keys were dated).
func (r *run) keyForgotten(sentAt time.Time) bool {
	return r.in.CodePath >= codePathResolve && r.rec.Provider == activities.ProviderPayPal && !sentAt.IsZero() &&
		workflow.Now(r.ctx).Sub(sentAt) >= payPalKeyDays*24*time.Hour
}

// notSentAgain says why a movement in doubt under key, first sent at sentAt, was not sent again
// (keyForgotten).
func notSentAgain(key string, sentAt time.Time) string {
	return fmt.Sprintf("%s in doubt since %s; PayPal keeps a sender_batch_id %d days, so it is not sent again: "+
		"look the payout up in PayPal and resolve it", key, sentAt.Format(time.DateOnly), payPalKeyDays)
}

// resolveDue takes an admin's word on a top-up due in doubt (EventResolveDue). Made: the movement
// named is checked at the provider and booked as the top-up (what a refund took meanwhile is then
// taken back); one that is not it leaves the top-up in doubt, one the provider says failed makes
// it refused. Not made: refused, so the next retry sends what is then owed under a new key. Only
// top-ups in doubt are resolved: a refused one is not in doubt, and a reversal in doubt is
// Stripe's, which a retry finds by the key in its metadata.
func (r *run) resolveDue(e Event) error {
	i, k := r.dueWithKey(e.DueKey)
	if i < 0 {
		for _, j := range r.legsInDoubt() {
			if leg := r.rec.Legs[j]; leg.TransferKey == e.DueKey {
				_, err := r.resolveInDoubt(j, resolveOf(e, leg))
				return err
			}
		}
		r.log.Warn("resolve ignored: no top-up or transfer in doubt under the key", "Key", e.DueKey, "Actor", e.Actor)
		return nil
	}
	leg := &r.rec.Legs[i]
	d := leg.Dues[k]
	r.log.Info("top-up in doubt resolved by an admin", "Key", e.DueKey, "Made", e.Made, "Ref", e.Ref, "Actor", e.Actor)
	if e.Made {
		leg.Dues = slices.Delete(slices.Clone(leg.Dues), k, k+1)
		cmd := resolveOf(e, *leg)
		r.confirming = &cmd
		err := r.payDue(i, d)
		r.confirming = nil
		if err != nil {
			return err
		}
	} else {
		d.Refused = true
		d.Reason = fmt.Sprintf("%s: top-up %s not made, as %s found; the next retry sends what is owed under a new key", d.What, e.DueKey, e.Actor)
		leg.Dues[k] = d
	}
	r.resettle()
	return r.save()
}

// resolveOf is the resolve an EventResolveDue says for leg, as the admin signal would say it.
func resolveOf(e Event, leg payment.Leg) AdminCommand {
	return AdminCommand{Action: ActionResolve, Party: leg.Party, PayeeID: leg.PayeeID, Made: e.Made, Ref: e.Ref, Actor: e.Actor, Key: e.DueKey}
}

// dueWithKey finds the top-up in doubt sent under key: its leg and its index in the leg's dues,
// -1 when there is none.
func (r *run) dueWithKey(key string) (leg, due int) {
	for i, l := range r.rec.Legs {
		for k, d := range l.Dues {
			if d.ResolvableInDoubt() && d.Key(l) == key {
				return i, k
			}
		}
	}
	return -1, -1
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

// duesReason says which top-ups and reversals are due, and which transfers a compensation left
// in doubt, for the payment's reason.
func (r *run) duesReason() string {
	var due []string
	inDoubt := r.legsInDoubt()
	for _, i := range inDoubt {
		l := r.rec.Legs[i]
		due = append(due, fmt.Sprintf("%s %s", l.Party, l.Reason))
	}
	for _, l := range r.rec.Legs {
		for _, d := range l.Dues {
			due = append(due, fmt.Sprintf("%s %s", l.Party, d.Reason))
		}
	}
	how := " (an admin's retry sends them again)"
	if r.onlyHeldDues() {
		how = " (held until the payee can receive: an admin's retry sends them then)"
	}
	if len(inDoubt) > 0 {
		how = " (an admin resolves a transfer in doubt; a retry sends the dues again)"
	}
	return "due: " + strings.Join(due, "; ") + how
}

// legsInDoubt are the legs of a compensated payment whose transfer the compensation could not
// settle (code path 6 on): the payee may hold it until an admin resolves it.
func (r *run) legsInDoubt() []int {
	if r.in.CodePath < codePathResolve || !r.compensated() {
		return nil
	}
	var in []int
	for i := range r.rec.Legs {
		if r.inDoubt(&r.rec.Legs[i]) {
			in = append(in, i)
		}
	}
	return in
}
