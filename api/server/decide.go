package server

import (
	"cmp"
	"context"
	"maps"
	"net/http"

	"github.com/labstack/echo/v4"

	ipayment "paysplit/internal/payment"
	"paysplit/internal/store"
	"paysplit/workflows/payment"
)

// decision is a decision on a payment made on the payment as its run last saved it: an admin's
// retry, cancel, release or resolve, a retry of movements due or a top-up's resolve, or a release
// or retry sent for Stripe's Connect event. decideOnSave makes it; the fields are what the
// decisions differ in, each for a reason said at the field.
type decision struct {
	// action is the audit entry's action (payment.retry, .cancel, .release, .resolve: those
	// store.LastDecision finds), actor who it names: the admin, or Stripe's event
	// ("stripe:account.updated").
	action, actor string
	// sender is who the run is told made it (the command's or the event's Actor); the actor when
	// empty. A Connect event's names the event's ID too.
	sender string
	// still says why the payment as saved now, read again in the audit entry's lock, no longer
	// takes the decision (an API error, 409 payment_changed or the refusal it would have had);
	// nil when it does. Its run may have saved it since the request read it. tx is the entry's
	// transaction, for what else the decision depends on (comesToNothing: an admin's release, on
	// whether the held leg's payee is registered now; a retry, on whether the shop delivered the
	// order).
	still func(ctx context.Context, tx *store.Store, cur ipayment.Record) error
	// madeBefore, when set, says the sender made this decision already (an error: nothing is
	// sent) and what the entry records of the check. Stripe's Connect event decides once per
	// event and once per save (its entry's event_id and idempotency_key): Stripe delivers an event
	// again and sends several about one change, where an admin who clicks twice is told
	// decision_pending. It comes after still and before decisionPending.
	madeBefore func(ctx context.Context, tx *store.Store, saved string) (map[string]any, error)
	// Exactly one of signal and event is what the run is sent.
	//
	// signal is an admin signal (payment.SignalAdmin), which only a running run takes (409
	// not_running). A retry, cancel or release is sent with the payment's decision number as
	// saved now (AdminCommand.Decision, Checked: 0 too, made before the run asked one): a run
	// (code path 22) that asks another by the time it reads it drops it. A resolve is not: its
	// Key says what it is about.
	signal *payment.AdminCommand
	// event builds an event (payment.SignalEvent, by deliver, which also reaches a closed run)
	// on the payment as saved now: a retry of dues counts the retries it took. An event carries
	// no decision number: the run takes one whenever it comes, and tells one sent twice by its ID.
	event func(cur ipayment.Record) payment.Event
	// after is what the audit entry records beside the save (saved_at) and the decision number
	// the decision was sent with (decision, when not 0).
	after map[string]any
}

// decideOnSave makes decision d on the payment workflowID as its run last saved it, in an audit
// entry that commits only once Temporal took it: an entry for every decision sent, none for one
// that was not. Every decision on a payment goes through here, so they keep one rule.
//
// A decision answers nothing: the run takes a signalled one when it waits for one, and drops one
// that comes when nothing waits any more (another decision came first and the run acts on it); an
// event it takes whenever it comes, and one that comes after another settled its movement does
// nothing. Two decisions sent at once both read the payment as its run last saved it, so both
// were answered 202 and audited, and the audit said the second happened. So a payment takes one
// decision at a time: in the audit entry's lock (taken by every decision on the payment)
//   - the payment is read again, with its save (store.GetPaymentSaved);
//   - still says whether it still takes the decision;
//   - madeBefore (Connect) whether the sender made it already;
//   - while the last decision waits for the run (decisionPending), whichever save it was made on,
//     another is 409 decision_pending (503 temporal_unavailable when Temporal cannot say), and
//     not audited;
//   - a retry, cancel or release is stamped with the payment's decision number (d.signal);
//   - it is sent: a signal to the run decisionPending described, 409 not_running when that run is
//     gone (closed since, another maybe started: the decision was checked against that one), 503
//     temporal_unavailable when Temporal did not take it (each call bounded: sendAdmin, deliver);
//   - the entry records the save it was made on (saved_at, which decisionPending compares with the
//     save the payment shows), where the run's history stood before it was sent (run_id,
//     history_length: its signal is recorded after), and the decision number it was sent with
//     (decision).
func (s *Server) decideOnSave(c echo.Context, workflowID string, d decision) error {
	return s.auditedAs(c, d.actor, d.action, "payment:"+workflowID, func(ctx context.Context, tx *store.Store) (before, after any, err error) {
		cur, savedAt, err := tx.GetPaymentSaved(ctx, workflowID)
		if err != nil {
			return nil, nil, err
		}
		if err := d.still(ctx, tx, cur); err != nil {
			return nil, nil, err
		}
		saved := store.SavedKey(savedAt)
		var checked map[string]any
		if d.madeBefore != nil {
			if checked, err = d.madeBefore(ctx, tx, saved); err != nil {
				return nil, nil, err
			}
		}
		at, err := s.decisionPending(ctx, tx, workflowID, savedAt, cur.Decision)
		if err != nil {
			return nil, nil, err
		}
		if f := beforeSend; f != nil {
			f(workflowID, at.RunID)
		}
		madeOn, err := s.sendDecision(ctx, workflowID, at.RunID, cur, d)
		if err != nil {
			return nil, nil, err
		}
		entry := map[string]any{}
		maps.Copy(entry, d.after)
		maps.Copy(entry, checked)
		entry["saved_at"] = saved
		if at.RunID != "" {
			entry["run_id"], entry["history_length"] = at.RunID, at.Length
		}
		if madeOn != 0 {
			entry["decision"] = madeOn
		}
		return map[string]any{"status": cur.Status, "reason": cur.Reason}, entry, nil
	})
}

// beforeSend, set only by a test, is called in a decision's audit lock between decisionPending's
// look at the payment's run (runID, "" for none) and the send: where another event may close that
// run and start a new one.
var beforeSend func(workflowID, runID string)

// sendDecision sends d to the payment's run, made on cur: a signal to runID, the run
// decisionPending described, an event to whichever run is current (deliver); madeOn is the
// decision number it carries (0: none, or 0 itself).
func (s *Server) sendDecision(ctx context.Context, workflowID, runID string, cur ipayment.Record, d decision) (madeOn int, err error) {
	sender := cmp.Or(d.sender, d.actor)
	if d.event != nil {
		ev := d.event(cur)
		ev.Actor = sender
		if _, err := s.deliver(ctx, cur.Provider, cur.PaymentID, ev); err != nil {
			return 0, temporalUnavailable()
		}
		return 0, nil
	}
	cmd := *d.signal
	cmd.Actor = sender
	if cmd.Action != payment.ActionResolve {
		cmd.Decision, cmd.Checked = cur.Decision, true
	}
	return cmd.Decision, s.sendAdmin(ctx, workflowID, runID, cmd)
}

// decideForAdmin makes an admin's decision (decideOnSave, audited as the request's actor) and
// answers 202: the run was sent it, and the payment shows what came of it once the run saved.
func (s *Server) decideForAdmin(c echo.Context, workflowID string, action payment.AdminAction, d decision) error {
	d.actor = actor(c)
	if err := s.decideOnSave(c, workflowID, d); err != nil {
		return err
	}
	return c.JSON(http.StatusAccepted, map[string]string{"status": "signalled", "action": string(action), "workflow_id": workflowID})
}

// temporalUnavailable is the 503 for a call Temporal did not answer (or not in time).
func temporalUnavailable() error {
	return errorf(http.StatusServiceUnavailable, "temporal_unavailable", "the workflow service is unavailable; retry later")
}
