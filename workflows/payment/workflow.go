package payment

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"paysplit/activities"
	"paysplit/internal/ledger"
	"paysplit/internal/payment"
	"paysplit/internal/split"
	"paysplit/workflows/searchattr"
)

// act is a nil pointer used only to name activity methods; the worker registers a real one.
var act *activities.Activities

// errStop ends the run early: the payment was cancelled or compensated and is saved as such.
var errStop = errors.New("payment stopped")

// Workflow runs one captured payment from capture to settled books.
func Workflow(ctx workflow.Context, in Input) (payment.Record, error) {
	refuseUnknownCodePath(in.CodePath)
	r := newRun(ctx, in)
	if err := workflow.SetQueryHandler(ctx, QueryState, func() (payment.Record, error) { return r.rec, nil }); err != nil {
		return r.rec, err
	}
	if err := workflow.SetQueryHandler(ctx, QuerySaved, func() (json.RawMessage, error) { return r.saved, nil }); err != nil {
		return r.rec, err
	}
	err := r.run()
	if errors.Is(err, errStop) {
		err = nil
	}
	if err == nil {
		err = r.takeLastEvents()
	}
	if temporal.IsCanceledError(err) && r.paidOut() {
		err = r.closeCancelledPaidOut()
	}
	if temporal.IsCanceledError(err) {
		// Cancelled from the UI or API mid-payout: undo what was sent, on a context that
		// survives the cancellation.
		r.ctx, _ = workflow.NewDisconnectedContext(r.ctx)
		r.compensate("workflow cancelled")
	}
	if err == nil || temporal.IsCanceledError(err) {
		// Code path 24: the admin commands left unread are said in the reason, a save, after
		// which the events that came meanwhile are taken as the last ones were.
		if saved := r.dropUnread(); saved && err == nil {
			err = r.takeLastEvents()
		}
	}
	r.bookBeforeRest()
	r.flushAttributes()
	return r.rec, err
}

// run holds one workflow execution's state; its methods are the steps.
type run struct {
	ctx workflow.Context
	in  Input
	rec payment.Record
	// saved is rec as the last save stored it, as JSON (a copy: rec's slices change in place).
	saved   json.RawMessage
	capture *Event
	// orderArrived is set by an order-ready event until the enrichment wait takes it.
	orderArrived bool
	// localSteps runs the database steps as local activities and saves only at milestones
	// (version "local-steps"); runs that started before it keep their regular activities.
	localSteps bool
	// localPayouts runs the provider calls as local activities too (version "local-payouts" ≥ 1).
	localPayouts bool
	// batchAttributes collects search-attribute changes and writes them in one upsert before
	// the run waits or ends (version "local-payouts" ≥ 2): every upsert is a history event and a
	// visibility write on the server, and a payment that settles in one workflow task needs one.
	batchAttributes bool
	// current is set for runs of today's workflow (version "one-task-payments"): everything
	// above is on, decided by one version marker instead of one per change (each marker also
	// costs an upsert of TemporalChangeVersion on the server).
	current bool
	// bookWithSave keeps the capture and transfer entries in unbooked until the next save or post
	// books them in the same step (code path codePathBookWithSave). The run never waits, ends or
	// books anything else with entries unbooked.
	bookWithSave bool
	unbooked     []activities.Booking
	// prepared is what the run's first step read besides the stored state (book-with-save path):
	// the first Enrich and ComputeSplit answers, used once instead of steps of their own.
	prepared *activities.PrepareOutput
	// confirming, while set, is an admin's resolve being applied: a top-up's provider call checks
	// the movement the admin named (EventResolveDue) instead of sending, and the entries booked
	// say whose word they rest on.
	confirming *AdminCommand
	// autoRetries counts the settle window's automatic retries of movements due since the run last
	// had none (dueRetryIn).
	autoRetries int
	// dueRetryAt is when the settle window's next automatic retry of the movements due is made,
	// once a wait for it began and until it is made (or no movement is due): a wait ended early to
	// pay a leg made pending again (untilRestored) leaves it, so the retry keeps its time.
	dueRetryAt time.Time
	// retryingDues is set while retryDues walks the legs' dues: pruning them then would shift the
	// list it reads the dues sent again from (it prunes once it is done).
	retryingDues bool
	pendingAttrs map[string]temporal.SearchAttributeUpdate
	pending      []Event
	// deferredAdmin is an admin command a payment not split yet takes after the events that
	// waited with it (code path 16, adminBeforeEvents).
	deferredAdmin *AdminCommand
	// lateCapture is set while a run that needs attention waits for its capture (code path 9).
	lateCapture bool
	// cancelled is set once the workflow was cancelled while it waited (code path 11).
	cancelled bool
	// settling is set once the run settles the payment, its payouts done (settle).
	settling bool
	// asking is the kind of decision the run asks admins for now (Record.Decision, code path
	// 22): on its held legs (release or cancel), on its park (retry or cancel), or another. A
	// leg held while it asks on held legs (another leg held in the same payout, or after a failed
	// payout's retry; a leg held again after its release or the run's ask), or a park while it
	// asks on the park (parked again after the order's webhook or an admin's retry), is the same
	// decision, and a command made on it is still taken.
	asking askKind
	// holdAsked is the decision number the run asked on its held legs (askHold), kept while a leg
	// is held, through other decisions asked meanwhile (a refused payout's): a release made on it
	// is taken (madeOnAnother) once the run waits on those legs again.
	holdAsked int
	// decidingLeg is the leg whose failed payout the run waits for a decision on (decide, code
	// path 21).
	decidingLeg int
	// signals is the admin signal channel from code path 24, which intake empties into noted, the
	// channel the waits read (admin), giving each command without a number what the run asked as
	// it came: waiting and waitingAdmin say the run waits, for a decision or for none; unanswered
	// that it asked a decision (saved it) and took no command on it since; savedDecision is the
	// payment's decision as last saved, what admins read.
	signals                           workflow.ReceiveChannel
	noted                             workflow.Channel
	waiting, waitingAdmin, unanswered bool
	savedDecision                     int
	// recordInStripeUnits is set when the loaded record was made by a Stripe run before code
	// path 10: this run counts in Stripe's units as that one did (code path 12).
	recordInStripeUnits bool
	seen                map[string]bool
	events              workflow.ReceiveChannel
	admin               workflow.ReceiveChannel // the signal channel, or from code path 24 noted
	log                 log.Logger
}

// refuseUnknownCodePath fails the workflow task of a run that asks for a code path newer than
// this worker's. A deploy replaces the API and the workers together, so for a while a new API
// starts runs that an old worker (still the current build, or rolled back to) takes; running
// such a run as the newest path it knows would record commands the new build, which the run
// moves to, cannot replay. A panic is not the run's failure: the SDK fails the task
// (WorkflowPanicPolicy BlockWorkflow, its default) before any command, and Temporal gives the
// task again until a worker that knows the path takes it.
func refuseUnknownCodePath(path int) {
	if path > CurrentCodePath {
		panic(fmt.Sprintf("payment workflow: the run asks for code path %d and this worker knows up to %d; a newer worker takes it", path, CurrentCodePath))
	}
}

func newRun(ctx workflow.Context, in Input) *run {
	in.Settings = in.Settings.withDefaults()
	id := workflow.GetInfo(ctx).WorkflowExecution.ID
	r := &run{
		in:     in,
		seen:   map[string]bool{},
		events: workflow.GetSignalChannel(ctx, SignalEvent),
		rec: payment.Record{
			WorkflowID: id, Provider: in.Provider, PaymentID: in.PaymentID,
			Status: payment.StatusAwaitingCapture,
		},
	}
	r.ctx = workflow.WithActivityOptions(ctx, dbOptions(in.Settings.StepTimeout))
	r.log = log.With(workflow.GetLogger(ctx), "PaymentID", in.PaymentID)
	r.listenToAdmins(ctx)
	return r
}

func dbOptions(timeout time.Duration) workflow.ActivityOptions {
	// Postgres may restart: keep trying, nothing is lost, business errors stop at once.
	return workflow.ActivityOptions{StartToCloseTimeout: timeout, RetryPolicy: dbRetryPolicy()}
}

func (r *run) payoutCtx() workflow.Context {
	return workflow.WithActivityOptions(r.ctx, workflow.ActivityOptions{
		StartToCloseTimeout: r.in.Settings.PayoutTimeout,
		RetryPolicy:         r.payoutRetryPolicy(),
	})
}

func (r *run) run() error {
	r.decideVersions()
	if err := r.load(); err != nil {
		return err
	}
	if r.in.CodePath >= codePathClosing && r.rec.Status == payment.StatusCancelled && !r.rec.Split() {
		// An admin cancelled it before its split: a refund's follow-up run has nothing to apply
		// it to, and must not wait for a capture to pay from.
		r.log.Info("payment was cancelled before its split: events not taken")
		return nil
	}
	if !r.rec.Split() {
		if r.capture == nil && !r.awaitCapture() {
			if r.cancelled {
				return r.cancelUnsplit(cancelActor, "while waiting for its capture")
			}
			reason := fmt.Sprintf("no capture event within %s of a refund or dispute", r.in.Settings.CaptureWait)
			late := r.in.CodePath >= codePathLateCapture
			deadline := workflow.Now(r.ctx).Add(r.in.Settings.LateCaptureWait)
			if late {
				reason += fmt.Sprintf("; a capture that comes by %s is still split and paid", deadline.UTC().Format(time.RFC3339))
			}
			r.setStatus(payment.StatusNeedsAttention, reason)
			if late {
				r.askDecision(askOther)
			}
			if err := r.save(); err != nil {
				return err
			}
			if !late {
				return nil
			}
			if taken, err := r.awaitLateCapture(deadline); err != nil || !taken {
				return err
			}
		}
		if err := r.enrichAndSplit(); err != nil {
			return err
		}
	}
	if err := r.applyPending(); err != nil {
		return err
	}
	if err := r.payout(); err != nil {
		return err
	}
	if err := r.awaitReleases(); err != nil {
		return err
	}
	return r.settle()
}

// load reads the stored state; a follow-up run (a late refund after the last run closed)
// resumes from it. On the book-with-save path the events that came with the start are taken
// first, and when the capture is among them the same step (Prepare) reads the order and the split
// of a new payment.
func (r *run) load() error {
	var loaded activities.LoadPaymentOutput
	if !r.bookWithSave {
		if err := r.step(stepLoadPayment, activities.LoadPaymentInput{WorkflowID: r.rec.WorkflowID}, &loaded); err != nil {
			return err
		}
	} else {
		if r.in.CodePath >= codePathStartWithCapture && r.in.First != nil {
			r.handleEvent(*r.in.First)
		}
		r.drainToCapture()
		// Only the API's start of a capture carries it in First, and that start is refused once
		// the payment has had a run: such a run is the payment's first (Prepare's check).
		in := activities.PrepareInput{WorkflowID: r.rec.WorkflowID, FirstRun: r.in.First != nil && r.in.First.Kind == EventCapture}
		if c := r.capture; c != nil {
			in.Capture, in.CapturedAt = r.enrichInput(c), c.OccurredAt
		}
		var out activities.PrepareOutput
		if err := r.step(stepPrepare, in, &out); err != nil {
			return err
		}
		loaded, r.prepared = out.LoadPaymentOutput, &out
	}
	if loaded.Found {
		r.rec = loaded.Record
		if r.rec.Status == payment.StatusCompensated && r.rec.Compensated == "" {
			r.rec.Compensated = r.rec.Reason // compensated before the record said so
		}
		r.recordInStripeUnits = r.in.CodePath >= codePathRecordUnits && r.rec.Provider == activities.ProviderStripe &&
			r.rec.CodePath > 0 && r.rec.CodePath < codePathISOUnits
		// A follow-up run that finds the payment held asks the decision the stored payment shows.
		if r.rec.Status == payment.StatusHeld && r.heldLegs() > 0 {
			r.asking, r.holdAsked, r.unanswered = askHold, r.rec.Decision, true
		}
		r.savedDecision = r.rec.Decision
		r.log.Info("resuming payment from stored state", "Status", r.rec.Status)
	}
	return nil
}

// decideVersions picks the code path this run was (or is being) built with. Runs recorded before
// "one-task-payments" replay through the per-change versions they recorded.
func (r *run) decideVersions() {
	if r.in.CodePath >= codePathOneTask || workflow.GetVersion(r.ctx, "one-task-payments", workflow.DefaultVersion, 1) == 1 {
		r.current, r.localSteps, r.localPayouts, r.batchAttributes = true, true, true, true
		r.bookWithSave = r.in.CodePath >= codePathBookWithSave
		return
	}
	r.localSteps = workflow.GetVersion(r.ctx, "local-steps", workflow.DefaultVersion, 1) == 1
	v := workflow.GetVersion(r.ctx, "local-payouts", workflow.DefaultVersion, 2)
	r.localPayouts, r.batchAttributes = v >= 1, v >= 2
}

// awaitCapture waits for the capture event, queueing refunds and disputes that came first.
func (r *run) awaitCapture() bool {
	if r.localSteps {
		// The capture usually came with the start: take it before deciding to wait.
		r.drainToCapture()
		if r.capture != nil {
			return true
		}
	}
	if r.rec.Status == payment.StatusAwaitingCapture {
		if err := r.save(); err != nil {
			return false
		}
	}
	deadline := workflow.Now(r.ctx).Add(r.in.Settings.CaptureWait)
	for r.capture == nil {
		left := deadline.Sub(workflow.Now(r.ctx))
		if left <= 0 || r.cancelled {
			return false
		}
		r.wait(left, 0)
	}
	return true
}

// cancelUnsplit ends a payment cancelled before it was split (by an admin, or by the workflow's
// cancellation, code path 11): nothing was sent, so nothing is compensated.
func (r *run) cancelUnsplit(actor, while string) error {
	r.setStatus(payment.StatusCancelled, "cancelled by "+actor+" "+while)
	if err := r.save(); err != nil {
		return err
	}
	return errStop
}

// paidOut reports whether the run settles the payment with nothing left to pay out (code path
// 21): no leg pending, in flight or failed. A cancellation of the workflow that reaches it while a
// step runs (a save waiting out a Postgres outage on the server) has nothing to undo.
func (r *run) paidOut() bool {
	return r.in.CodePath >= codePathDecisionKept && r.settling && !slices.ContainsFunc(r.rec.Legs, func(l payment.Leg) bool {
		return l.State == payment.LegPending || l.State == payment.LegTransferring || l.State == payment.LegFailed
	})
}

// closeCancelledPaidOut ends the run of a payment paid out whose workflow was cancelled while a
// step ran (code path 21) as a cancellation in its settle window ends it: the payment stays as it
// is, its steps go on on a context the cancellation no longer reaches, the events that came are
// taken, and it is saved (the entries the cancelled step did not book with it). Before, the run
// ended as cancelled mid-step, which compensates: every payee of a paid payment was reversed.
func (r *run) closeCancelledPaidOut() error {
	r.log.Info("workflow cancelled while a step ran; the payment is paid out, nothing is undone", "Status", r.rec.Status)
	r.cancelled = true
	r.ctx, _ = workflow.NewDisconnectedContext(r.ctx)
	r.drainEvents()
	if err := r.payRestored(); err != nil {
		return err
	}
	if err := r.save(); err != nil {
		return err
	}
	return r.takeLastEvents()
}

// takeLastEvents applies the events that came while the run made its last steps (code path 11),
// so a refund sent to the open run is not dropped when it closes: the provider was answered that
// the run took it, and no follow-up run starts for it.
func (r *run) takeLastEvents() error {
	for r.in.CodePath >= codePathClosing && r.events.Len() > 0 {
		r.drainEvents()
		if !r.rec.Split() {
			return nil // nothing to apply them to: the run parked, was cancelled or waits no more
		}
		// As the settle window closes: each event applied saved its own outcome.
		if err := r.payRestored(); err != nil {
			return err
		}
		if err := r.save(); err != nil {
			return err
		}
	}
	return nil
}

// awaitLateCapture waits until deadline, the payment needing attention, for a capture that comes
// after CaptureWait; when it comes the payment goes on as if it had come in time (the events that
// came first are still queued here, and only here). An admin's cancel ends the wait: the payment
// is not ours to split.
func (r *run) awaitLateCapture(deadline time.Time) (taken bool, err error) {
	r.lateCapture = true
	defer func() { r.lateCapture = false }()
	for r.capture == nil {
		left := deadline.Sub(workflow.Now(r.ctx))
		if left <= 0 {
			return false, nil
		}
		switch cmd, _ := r.wait(left, untilAdmin); cmd.Action {
		case ActionCancel:
			return false, r.cancelUnsplit(cmd.Actor, "while waiting for its capture")
		case "":
		default:
			r.log.Warn("admin command ignored: the payment waits for its capture", "Action", cmd.Action, "Actor", cmd.Actor)
		}
	}
	r.log.Info("capture came after the payment needed attention", "EventID", r.capture.ID)
	r.setStatus(payment.StatusAwaitingCapture, "")
	return true, nil
}

// enrichAndSplit finds the order metadata, computes the split and books the capture.
func (r *run) enrichAndSplit() error {
	c := r.capture
	r.rec.ChargeID, r.rec.Gross, r.rec.Currency, r.rec.CapturedAt = c.ChargeID, c.Amount, c.Currency, c.OccurredAt
	deadline := workflow.Now(r.ctx).Add(r.in.Settings.EnrichWait)
	polls := 0 // since the deadline was set (enrichPollIn)
	for {
		r.orderArrived = false
		out, err := r.enrich(c)
		if err != nil {
			return err
		}
		if out.Problem != "" || len(out.Missing) > 0 {
			r.keepNamed(out.Named)
		}
		if out.Problem == "" && len(out.Missing) > 0 && workflow.Now(r.ctx).Before(deadline) {
			r.setStatus(payment.StatusAwaitingMetadata, fmt.Sprintf("order metadata missing: %v", out.Missing))
			if err := r.save(); err != nil {
				return err
			}
			left := deadline.Sub(workflow.Now(r.ctx))
			until := untilOrder
			if r.in.CodePath >= codePathPollPastDeadline {
				if left <= 0 {
					continue // r.wait(0) sets no timer: ask once more, then park
				}
				// An admin who knows the order will never come cancels now, not once it parks.
				until |= untilAdmin
			}
			cmd, _ := r.wait(min(r.enrichPollIn(polls), left), until)
			polls++
			if r.cancelled {
				return r.cancelUnsplit(cancelActor, "while waiting for its order metadata")
			}
			switch cmd.Action {
			case ActionCancel:
				return r.cancelUnsplit(cmd.Actor, "while waiting for its order metadata")
			case "", ActionRetry: // the poll's time, the order's webhook, or an admin's "look again"
			default:
				r.log.Warn("admin command ignored: the payment waits for its order", "Action", cmd.Action, "Actor", cmd.Actor)
			}
			continue
		}
		problem := out.Problem
		if problem == "" && len(out.Missing) > 0 {
			problem = fmt.Sprintf("order metadata missing after %s: %v", r.in.Settings.EnrichWait, out.Missing)
		}
		if problem == "" {
			r.rec.Order, r.rec.Fee = out.Order, out.Fee
			if !out.CapturedAt.IsZero() {
				// Stripe's balance transaction says the payment counts earlier than its event (a
				// bank debit, from its submission): its day, and the rule in force then, which
				// Prepare's split took too. Enrich's answers recorded before the field have none.
				r.rec.CapturedAt = out.CapturedAt
			}
			s, refused, err := r.splitOrder(out.Order)
			if err != nil {
				return err
			}
			if refused == "" {
				r.applySplit(s)
				return r.bookCapture()
			}
			problem = refused
			if r.in.CodePath >= codePathClientBeforeSplit {
				// Parked not split, its record naming the order's client (the store files it under
				// it), as one parked for its metadata: a run its capture did not start says so too.
				r.upsertNotSplitAttributes()
			}
		}
		if err := r.park(problem); err != nil {
			return err
		}
		deadline, polls = workflow.Now(r.ctx).Add(r.in.Settings.EnrichWait), 0
	}
}

// enrichPollIn is how long a payment waiting for its order waits before it looks again, after
// polls looks since its wait began: EnrichPoll for the first enrichPollsAtPace, then (code path
// 25) twice as long after each, up to an hour (or EnrichPoll when that is longer). Each look is a
// timer, a workflow task, the look and a save in the run's history: at a fixed pace a long
// PAYMENT_ENRICH_WAIT took it past Temporal's limits.
func (r *run) enrichPollIn(polls int) time.Duration {
	every := r.in.Settings.EnrichPoll
	if r.in.CodePath < codePathBoundedHistory {
		return every
	}
	return doubled(every, polls-enrichPollsAtPace+1, maxEnrichPoll)
}

func (r *run) enrichInput(c *Event) *activities.EnrichInput {
	return &activities.EnrichInput{
		WorkflowID: r.rec.WorkflowID, Provider: r.rec.Provider, PaymentID: r.rec.PaymentID, Gross: c.Amount, Currency: c.Currency, Metadata: c.Metadata,
		ChargeID: c.ChargeID, Fee: c.Fee, StripeUnits: r.stripeUnits(), EventAt: c.OccurredAt, IntentCreated: c.IntentCreated,
	}
}

// enrich is Enrich's answer for the capture: the one Prepare read, the first time, else a step's.
func (r *run) enrich(c *Event) (activities.EnrichOutput, error) {
	if p := r.prepared; p != nil && p.Enriched != nil {
		out := *p.Enriched
		p.Enriched = nil
		return out, nil
	}
	var out activities.EnrichOutput
	err := r.step(stepEnrich, *r.enrichInput(c), &out)
	return out, err
}

// splitOrder computes the order's split, Prepare's when it read one for this order, else a
// step's; refused is why the split cannot be had (no rule in force, an invalid split).
func (r *run) splitOrder(o payment.Order) (s split.Split, refused string, err error) {
	p := r.prepared
	r.prepared = nil // whatever Prepare read is used once: a later enrichment has its own order
	if p != nil && p.Split != nil {
		return *p.Split, "", nil
	}
	if p != nil && p.SplitProblem != "" {
		return split.Split{}, p.SplitProblem, nil
	}
	err = r.step(stepComputeSplit, activities.ComputeSplitInput{
		Provider: r.rec.Provider, Order: o, Gross: r.rec.Gross, Currency: r.rec.Currency, CapturedAt: r.rec.CapturedAt,
		StripeUnits: r.stripeUnits(),
	}, &s)
	if err != nil && isBusinessError(err) {
		return split.Split{}, errorMessage(err), nil
	}
	return s, "", err
}

// park stops at a problem only an admin can solve and waits for retry or cancel.
func (r *run) park(reason string) error {
	r.setStatus(payment.StatusNeedsAttention, reason)
	r.askDecision(askPark)
	if err := r.save(); err != nil {
		return err
	}
	r.log.Warn("payment parked", "Reason", reason)
	for {
		cmd, _ := r.wait(0, untilAdmin|untilOrder)
		switch cmd.Action {
		case ActionRetry:
			return nil
		case ActionCancel:
			return r.cancelUnsplit(cmd.Actor, "while parked: "+reason)
		default:
			// A release (or no command: an order that did not settle it) leaves it parked; said,
			// so an admin who sent one from the Temporal UI finds why nothing happened.
			if cmd.Action != "" {
				r.log.Warn("admin command ignored: a parked payment takes retry or cancel", "Action", cmd.Action, "Actor", cmd.Actor)
			}
		}
	}
}

func (r *run) applySplit(s split.Split) {
	r.rec.CommissionBase, r.rec.RuleVersion, r.rec.PayoutUnit = s.CommissionBase, s.RuleVersion, s.PayoutUnit
	r.rec.Legs = nil
	for _, l := range s.Legs {
		leg := payment.Leg{Party: l.Party, PayeeID: l.PayeeID, Amount: l.Amount, State: payment.LegPending}
		if l.Party == split.PartyPlatform {
			leg.State = payment.LegRetained
		}
		r.rec.Legs = append(r.rec.Legs, leg)
	}
}

// bookCapture records the capture and its split: the provider balance holds the gross, which
// is owed to the payees and earned by the platform.
func (r *run) bookCapture() error {
	postings := []ledger.Posting{{Account: ledger.ProviderBalance(r.rec.Provider), Amount: r.rec.Gross}}
	for _, l := range r.rec.Legs {
		if l.Amount > 0 {
			postings = append(postings, ledger.Posting{Account: l.Account(), Amount: -l.Amount})
		}
	}
	if err := r.book(payment.CaptureEntry, r.key("capture"), fmt.Sprintf("capture %s split v%d", r.rec.PaymentID, r.rec.RuleVersion), postings); err != nil {
		return err
	}
	if err := r.bookFee(); err != nil {
		return err
	}
	r.upsertPaymentAttributes()
	r.setStatus(payment.StatusPayingOut, "")
	if r.in.CodePath >= codePathOneTask {
		return nil // saved at the next milestone: settled, held, failed or parked
	}
	return r.save()
}

// bookFee records the processing fee the provider kept, when it is known, as the platform's
// expense: the legs are shares of the gross, and what the provider holds for the payment is the
// gross less the fee.
func (r *run) bookFee() error {
	if r.rec.Fee <= 0 {
		return nil
	}
	return r.book(payment.FeeEntry, r.key("fee"), fmt.Sprintf("processing fee of %s", r.rec.PaymentID), r.feePostings(r.rec.Fee))
}

// feePostings move a fee the provider took out of its balance into the platform's fee expense
// (a negative fee, one returned, the other way).
func (r *run) feePostings(fee int64) []ledger.Posting {
	return []ledger.Posting{
		{Account: ledger.ProcessingFees(r.rec.Provider), Amount: fee},
		{Account: ledger.ProviderBalance(r.rec.Provider), Amount: -fee},
	}
}

// payout sends every payee leg that is still pending. A compensated payment pays nobody (code
// path 6 on): a leg left in doubt by its compensation waits for an admin's resolve.
func (r *run) payout() error {
	if r.in.CodePath >= codePathResolve && r.compensated() {
		return nil
	}
	for i := range r.rec.Legs {
		switch r.rec.Legs[i].State {
		case payment.LegPending, payment.LegTransferring, payment.LegFailed:
			if err := r.payLeg(i); err != nil {
				return err
			}
		}
	}
	return nil
}

// payLeg transfers one leg, holding it when the payee cannot receive and waiting for an admin
// when Stripe refuses it for good.
func (r *run) payLeg(i int) error {
	for {
		if r.in.CodePath < codePathAnyOrder {
			// Before code path 16 an event that came meanwhile was taken before each leg's
			// payout, so a refund sent less. But when the workflow task is given again (Temporal
			// refused to close the run with a signal it had not seen; a worker died), the events
			// that came during the first attempt are there from its start, while the payouts that
			// attempt made stand: the refund was taken before them, found nothing due, and a
			// transfer made stayed the payee's, unknown to the payment. From path 16 the events
			// that come while the legs are paid are taken after the payout, as the first attempt
			// would have taken them (settle drains them).
			r.drainEvents()
		}
		leg := &r.rec.Legs[i]
		amount := leg.Remaining()
		inDoubt := r.inDoubt(leg)
		if inDoubt {
			// The provider may have made it: ask again with the key's own amount, which it answers
			// with the transfer it made (another amount under the key it would refuse, and a new
			// key after that would pay twice). What a refund took meanwhile is taken back after.
			amount = leg.TransferAmount
		}
		if amount <= 0 {
			leg.State, leg.Reason = payment.LegNothingDue, ""
			return r.save()
		}
		if r.current || workflow.GetVersion(r.ctx, "payee-check-before-transfer", workflow.DefaultVersion, 1) == 1 {
			payee, err := r.resolvePayee(leg)
			if err != nil && r.in.CodePath >= codePathDecisionKept && isBusinessError(err) {
				// The provider refused to say (an account that revoked the platform's access), or
				// the rail is not configured: held for the asks and admins, as a top-up's check
				// holds it (code path 21). The error ended the run, the payment paying_out for good.
				return r.hold(i, "the payee could not be checked: "+errorMessage(err))
			}
			if err != nil {
				return err
			}
			if payee.HoldReason != "" {
				return r.hold(i, payee.HoldReason)
			}
			// A key in doubt is asked where it went (code path 13): at an account the admin has
			// replaced since, Stripe refuses the key as reused with other parameters (in doubt for
			// good) or, once it forgot the key, pays it a second time. Refused there, the next
			// attempt takes a new key, which goes to the payee's account now.
			if !inDoubt || r.in.CodePath < codePathDisputeLoss {
				leg.Destination = payee.Destination
			}
		}
		// The leg is marked in flight before the call, so compensation can settle an unknown outcome.
		leg.TransferKey = r.transferKey(leg)
		leg.TransferAmount = amount
		if !inDoubt && r.in.CodePath >= codePathResolve {
			leg.SentAt = workflow.Now(r.ctx) // the key's first send; one in doubt keeps its date
		}
		leg.State = payment.LegTransferring
		if !r.localSteps { // the run's history already knows the transfer is in flight
			if err := r.save(); err != nil {
				return err
			}
		}
		made, err := r.transfer(leg, amount, inDoubt)
		if err == nil {
			if err := r.bookTransfer(i, made, amount); err != nil || !inDoubt {
				return err
			}
			return r.settleInDoubt(i)
		}
		leg.State, leg.Reason = payment.LegFailed, errorMessage(err)
		if isBusinessError(err) {
			// Stripe answered no: a new attempt needs a new key, or Stripe would replay the refusal.
			// After an unknown outcome the key stays, so a retry can never pay twice.
			leg.Attempt++
			if reason := r.holdAfterRefusal(leg); reason != "" {
				return r.hold(i, reason)
			}
		}
		r.setStatus(payment.StatusPayoutFailed, fmt.Sprintf("%s payout failed: %s", leg.Party, leg.Reason))
		r.askDecision(askOther)
		if err := r.save(); err != nil {
			return err
		}
		cmd, timedOut, paid, err := r.decide(i)
		if err != nil || paid {
			return err
		}
		if timedOut || cmd.Action == ActionCancel {
			why := "no admin decision within " + r.in.Settings.DecisionTimeout.String()
			if !timedOut {
				why = "cancelled by " + cmd.Actor
			}
			r.compensate(fmt.Sprintf("%s payout failed (%s); %s", leg.Party, leg.Reason, why))
			return errStop
		}
		r.setStatus(payment.StatusPayingOut, "")
	}
}

// holdAfterRefusal asks again, after the provider refused a leg's transfer, whether its payee can
// receive (code path 19), and answers the hold reason when it cannot: Stripe restricts a connected
// account at any time, also between the check before the transfer and the transfer. Such a leg is
// held, as the check would have held it, and paid by the run's asks once the account can receive;
// a failure waits for an admin's decision and, without one, compensates the whole payment. A
// refusal while the payee can receive (the platform's balance short), or an ask without an answer,
// stays a failure.
func (r *run) holdAfterRefusal(leg *payment.Leg) string {
	if r.in.CodePath < codePathHoldRecheck {
		return ""
	}
	// Fresh: the provider's yes of a minute ago is what the refusal may belie.
	payee, _ := r.askPayee(leg, true)
	return payee.HoldReason
}

// askPayee is one bounded ask whether leg's payee can receive (code path 19), where a payout's
// check retries until it gets an answer: answered is false when it got none (the provider or
// Postgres away), and the caller leaves the leg as it is for a later ask, rather than hold the run
// in a step where it cannot take an admin's command. fresh skips the activity's remembered yes.
func (r *run) askPayee(leg *payment.Leg, fresh bool) (payee activities.ResolvePayeeOutput, answered bool) {
	in := r.payeeInput(leg)
	in.Fresh = fresh
	if err := r.payoutStep(stepResolvePayee, in, &payee); err != nil {
		r.log.Warn("payee not checked; asked again later", "Party", leg.Party, "PayeeID", leg.PayeeID, "Error", err)
		return activities.ResolvePayeeOutput{}, false
	}
	return payee, true
}

// inDoubt reports whether the leg's transfer is in doubt (payment.Leg.InDoubt), from code path 3 on.
func (r *run) inDoubt(leg *payment.Leg) bool {
	return r.in.CodePath >= codePathPartsApart && leg.InDoubt(r.rec.WorkflowID)
}

// resolvePayee asks where leg's payee is paid now on the payment's rail, and whether it can
// receive (a hold reason when it cannot: not registered, registered to another client, an account
// that cannot take transfers).
func (r *run) resolvePayee(leg *payment.Leg) (activities.ResolvePayeeOutput, error) {
	return r.payeeCheck(r.payeeInput(leg))
}

// payeeInput asks where leg's payee is paid on the payment's rail.
func (r *run) payeeInput(leg *payment.Leg) activities.ResolvePayeeInput {
	return activities.ResolvePayeeInput{
		Provider: r.rec.Provider, PayeeID: leg.PayeeID, Kind: string(leg.Party), ClientID: r.rec.Order.ClientID, Currency: r.rec.Currency,
	}
}

// transferKey is the idempotency key of the leg's current transfer attempt.
func (r *run) transferKey(leg *payment.Leg) string { return leg.CurrentTransferKey(r.rec.WorkflowID) }

// settleInDoubt brings a leg to its share after a transfer in doubt was made with the amount
// first asked: a refund since took part of the share (reversed, under the key the refund would
// have used had the leg been paid then), or a refund's failure since gave more (sent as a top-up,
// under the key that failure gives the payees it pays again).
func (r *run) settleInDoubt(i int) error {
	switch short := r.rec.Legs[i].Shortfall(); {
	case short < 0:
		return r.reverseLeg(i, -short, r.refundKey(r.rec.Refunded))
	case short > 0 && len(r.rec.FailedRefunds) > 0:
		r.payAgain(i, short, refundFailed(r.rec.FailedRefunds[len(r.rec.FailedRefunds)-1].ID))
	case short > 0:
		// A PayPal reversal given back (code path 26) while the transfer was in doubt: the leg
		// was skipped then, its share left for this.
		for _, rev := range slices.Backward(r.rec.Reversals) {
			if rev.Reinstated {
				r.payAgain(i, short, reversalGivenBack(rev))
				break
			}
		}
	}
	return nil
}

// transfer sends a leg's payout under its current key; asked says the key was sent before with
// its outcome unknown.
func (r *run) transfer(leg *payment.Leg, amount int64, asked bool) (activities.TransferOutput, error) {
	if asked && r.keyForgotten(leg.SentAt) {
		// Not sent: the provider may have forgotten the key and would pay again. An unknown
		// outcome, so the leg stays in doubt for an admin to resolve.
		return activities.TransferOutput{}, errors.New("transfer " + notSentAgain(leg.TransferKey, leg.SentAt))
	}
	var out activities.TransferOutput
	err := r.callProvider(stepTransfer, r.transferInput(leg, leg.TransferKey, amount, asked, map[string]string{
		"payment_id": r.rec.PaymentID, "client_id": r.rec.Order.ClientID, "order_id": r.rec.Order.OrderID,
	})).Get(r.ctx, &out)
	return out, err
}

// transferInput is a transfer to a leg's payee under key, its metadata naming the payment, the leg
// and (code path 5 on) the key, by which an in-doubt retry finds it once the provider forgot the key.
func (r *run) transferInput(leg *payment.Leg, key string, amount int64, asked bool, meta map[string]string) activities.TransferInput {
	md := map[string]string{"workflow_id": r.rec.WorkflowID, "party": string(leg.Party), "payee_id": leg.PayeeID}
	maps.Copy(md, meta)
	if r.in.CodePath >= codePathDues {
		md[activities.MetaIdempotencyKey] = key
	}
	return activities.TransferInput{
		Provider: r.rec.Provider, IdempotencyKey: key, Destination: leg.Destination, Amount: amount, Currency: r.rec.Currency,
		SourceTransaction: r.rec.ChargeID, TransferGroup: r.rec.Order.OrderID, Metadata: md, Asked: asked, StripeUnits: r.stripeUnits(),
	}
}

func (r *run) bookTransfer(i int, made activities.TransferOutput, amount int64) error {
	leg := &r.rec.Legs[i]
	leg.TransferID, leg.Transferred, leg.State, leg.Reason = made.TransferID, amount, payment.LegTransferred, ""
	if err := r.book(leg.Name(), r.key("transfer/"+leg.Name()), fmt.Sprintf("transfer %s to %s%s", made.TransferID, leg.PayeeID, r.confirmedBy()), []ledger.Posting{
		{Account: (*leg).Account(), Amount: amount},
		{Account: ledger.ProviderBalance(r.rec.Provider), Amount: -amount},
	}); err != nil {
		return err
	}
	if err := r.bookPayoutFee(*leg, leg.TransferKey, made); err != nil {
		return err
	}
	if r.localSteps {
		return nil // saved with the next milestone
	}
	return r.save()
}

// bookPayoutFee books what the provider charged for the payout made under key (code path 26),
// as the platform's expense: the legs are paid their shares whole, and the provider takes the fee
// from its balance besides. Its own account (payout_fees:<provider>), not processing_fees:
// reconciliation compares those, payment by payment, with the fee the capture states. A payout
// refused or returned (PayPal's UNCLAIMED cancelled, RETURNED) is booked neither as paid nor
// with a fee: only a payout paid answers one.
func (r *run) bookPayoutFee(leg payment.Leg, key string, made activities.TransferOutput) error {
	if r.in.CodePath < codePathPayoutFees || made.Fee <= 0 {
		return nil
	}
	return r.book("", r.payoutFeeKey(leg, key), fmt.Sprintf("payout fee of %s to %s", made.TransferID, leg.PayeeID), []ledger.Posting{
		{Account: ledger.PayoutFees(r.rec.Provider), Amount: made.Fee},
		{Account: ledger.ProviderBalance(r.rec.Provider), Amount: -made.Fee},
	})
}

// payoutFeeKey is the journal key of the fee of the payout sent under key: one key a payout, as
// the payout's own. <wf>/payout-fee/<party>-<payee>/<attempt> for a leg's transfer
// (<wf>/transfer/<party>-<payee>/<attempt>); for a top-up (<wf>/<cause>/<party>-<payee>), the
// cause after the leg, its slashes made dashes. The leg comes before the cause, and the cause
// keeps no slash, so reconciliation never reads the key as a payee's movement (recon.PayoutEntry)
// or a refund (recon.RefundEntry).
func (r *run) payoutFeeKey(leg payment.Leg, key string) string {
	rest := strings.TrimPrefix(key, r.rec.WorkflowID+"/")
	if attempt, ok := strings.CutPrefix(rest, "transfer/"+leg.Name()+"/"); ok {
		return r.key("payout-fee/" + leg.Name() + "/" + attempt)
	}
	cause := strings.TrimSuffix(rest, "/"+leg.Name())
	return r.key("payout-fee/" + leg.Name() + "/" + strings.ReplaceAll(cause, "/", "-"))
}

func (r *run) hold(i int, reason string) error {
	leg := &r.rec.Legs[i]
	if leg.State != payment.LegHeld {
		// Held anew: a decision on held legs, the one the run asks already when it asks on held
		// legs (release or cancel; a release checks the payee again before anything is sent). A
		// new reason of a leg held is the same decision.
		r.askDecision(askHold)
	}
	leg.State, leg.Reason = payment.LegHeld, reason
	r.setStatus(payment.StatusHeld, heldReason(*leg))
	r.log.Warn("leg held", "Party", leg.Party, "Reason", reason)
	return r.save()
}

// awaitReleases keeps the payment open while a leg is held; an admin releases (after fixing the
// payee) or cancels.
func (r *run) awaitReleases() error {
	if r.localSteps && r.heldLegs() > 0 {
		// A milestone: the other legs were paid meanwhile, and admins look at the stored state.
		if err := r.save(); err != nil {
			return err
		}
	}
	checks := 0
	// The hold is saved: ask once more at once (code path 20). A Connect event that came between
	// the payee check and the save found the payment not held yet and released nothing.
	askNow := r.in.CodePath >= codePathAskAfterHold
	for r.heldLegs() > 0 {
		if err := r.stillHeld(); err != nil {
			return err
		}
		// An admin's command already come (a cancel sent for the payment read held while its
		// other legs were paid) is taken first: the ask could pay the leg the admin cancelled.
		// From code path 24 one the wait would drop is dropped first (commandsToTake).
		if askNow && r.deferredAdmin == nil && r.commandsToTake() == 0 {
			askNow = false
			if err := r.recheckHeld(); err != nil {
				return err
			}
			continue
		}
		cmd, timedOut := r.wait(r.holdRecheckIn(checks), untilAdmin)
		if timedOut {
			checks++
			if err := r.recheckHeld(); err != nil {
				return err
			}
			continue
		}
		switch cmd.Action {
		case ActionCancel:
			r.compensate("held payout cancelled by " + cmd.Actor)
			return errStop
		case ActionResolve:
			if j := r.legFor(cmd); j >= 0 {
				if _, err := r.resolveInDoubt(j, cmd); err != nil {
					return err
				}
			}
		case ActionRelease, ActionRetry:
			for i := range r.rec.Legs {
				leg := &r.rec.Legs[i]
				if leg.State == payment.LegHeld && (cmd.Party == "" || cmd.Party == leg.Party) {
					if err := r.release(i); err != nil {
						return err
					}
				}
			}
			// A leg the release held again (its payee still cannot receive) was saved held
			// meanwhile, as a first hold is: the same window for a Connect event.
			askNow = r.in.CodePath >= codePathAskAfterHold
		}
	}
	if r.asking == askHold {
		r.asking = askOther // no leg held: a leg held later (a failed refund's give-back) is a new decision
		r.answered()
	}
	r.holdAsked = 0
	return nil
}

// release pays a held leg; the payee is checked again before anything is sent, so a leg whose
// payee still cannot receive is held again.
func (r *run) release(i int) error {
	leg := &r.rec.Legs[i]
	next := payment.LegPending
	if r.in.CodePath >= codePathResolve && r.inDoubt(leg) {
		// Still in doubt: the retry asks under the key with its first amount. Pending,
		// it was sent as new (not asked), which a provider that forgot the key pays again.
		next = payment.LegFailed
	}
	leg.State, leg.Reason = next, ""
	r.setStatus(payment.StatusPayingOut, "")
	return r.payLeg(i)
}

// maxHoldRecheck bounds the wait between two checks of a held leg's payee: a leg held for months
// is asked about once a day, which keeps its run's history small.
const maxHoldRecheck = 24 * time.Hour

// holdRecheckIn is how long a run with a leg held waits for an admin before it asks again whether
// the payee can receive, after checks such asks (code path 19): HoldRecheckEvery, doubled after
// each ask, up to maxHoldRecheck (or HoldRecheckEvery when that is longer). 0, no ask: the wait is
// for an admin alone.
func (r *run) holdRecheckIn(checks int) time.Duration {
	every := r.in.Settings.HoldRecheckEvery
	if r.in.CodePath < codePathHoldRecheck || every <= 0 {
		return 0
	}
	return doubled(every, checks, maxHoldRecheck)
}

// doubled is every doubled times times (none when times is not above 0), up to limit, or every
// when that is longer: the backoff of a run's repeated asks, looks and retries, which keeps the
// history of a run that waits for long small.
func doubled(every time.Duration, times int, limit time.Duration) time.Duration {
	limit = max(every, limit)
	for ; times > 0 && every < limit; times-- {
		every *= 2
	}
	return min(every, limit)
}

// recheckHeld asks, for each held leg, whether its payee can receive now (askPayee), and pays the
// legs whose payee can, as an admin's release would; a leg a refund left nothing to send is
// settled. A payee that still cannot receive changes nothing unless the reason changed, which is
// saved for admins to read. Then the held top-ups are asked about (askHeldDues).
func (r *run) recheckHeld() error {
	for i := range r.rec.Legs {
		leg := &r.rec.Legs[i]
		if leg.State != payment.LegHeld {
			continue
		}
		if leg.Remaining() <= 0 && !r.inDoubt(leg) {
			// A refund left it nothing to send: settled without asking a payee that may never
			// be able to receive.
			if err := r.release(i); err != nil {
				return err
			}
			continue
		}
		if r.inDoubt(leg) && r.keyForgotten(leg.SentAt) {
			// Released, it would not be sent again (PayPal may have forgotten the key and would
			// pay twice): the payment would be payout_failed and, without an admin's decision,
			// compensated, though nobody acted. Only the admin's resolve (or release) moves it.
			if why := "transfer " + notSentAgain(leg.TransferKey, leg.SentAt); why != leg.Reason {
				if err := r.hold(i, why); err != nil {
					return err
				}
			}
			continue
		}
		payee, answered := r.askPayee(leg, false)
		if !answered {
			continue
		}
		var err error
		switch {
		case payee.HoldReason == "":
			r.log.Info("held leg released: its payee can receive now", "Party", leg.Party, "PayeeID", leg.PayeeID)
			err = r.release(i)
		case payee.HoldReason != leg.Reason:
			err = r.hold(i, payee.HoldReason)
		}
		if err != nil {
			return err
		}
	}
	return r.askHeldDues()
}

// askHeldDues asks, for each leg not held with a top-up held for its payee (Due.Held), whether the
// payee can receive now, and sends its held top-ups when it can (code path 19), as recheckHeld
// does a held leg: one bounded ask, which writes nothing when the payee still cannot receive or
// the ask gets no answer. They waited for an admin's retry (refused while a leg is held) or a
// Connect event, once the settle window's automatic retries were over.
func (r *run) askHeldDues() error {
	for i := range r.rec.Legs {
		leg := &r.rec.Legs[i]
		if leg.State == payment.LegHeld || !slices.ContainsFunc(leg.Dues, func(d payment.Due) bool { return d.Held }) {
			continue
		}
		if payee, answered := r.askPayee(leg, false); !answered || payee.HoldReason != "" {
			continue
		}
		r.log.Info("held top-ups sent: their payee can receive now", "Party", leg.Party, "PayeeID", leg.PayeeID)
		if err := r.payHeldDues(i); err != nil {
			return err
		}
	}
	return nil
}

// payHeldDues sends leg i's top-ups held for its payee, as an admin's retry sends them (the payee
// checked again, what is still owed under the key never sent), leaving its other dues to the
// admin's retry; the payment is settled again and saved.
func (r *run) payHeldDues(i int) error {
	r.retryingDues = true
	defer func() { r.retryingDues = false }()
	if err := r.sendDues(i, func(d payment.Due) bool { return d.Held }); err != nil {
		return err
	}
	r.retryingDues = false
	r.resettle()
	return r.save()
}

// hasHeldDues reports whether a top-up is held for its payee on any leg.
func (r *run) hasHeldDues() bool {
	return slices.ContainsFunc(r.rec.Legs, func(l payment.Leg) bool {
		return slices.ContainsFunc(l.Dues, func(d payment.Due) bool { return d.Held })
	})
}

// awaitHeldDues keeps a settled payment's run open after its settle window while a top-up is held
// for its payee, and asks after HoldRecheckEvery, backing off to a day, whether the payee can
// receive (code path 19): a held top-up is paid as a held leg is, not left to an admin's retry
// or a Connect event (PayPal has none) for good. Events and an admin's retry are taken meanwhile;
// one that pays the held top-ups ends the wait, so the run closes then, not at its next ask.
func (r *run) awaitHeldDues() error {
	if r.holdRecheckIn(0) <= 0 || !r.hasHeldDues() {
		return nil
	}
	if err := r.save(); err != nil { // the payment rests held: the stored state says so
		return err
	}
	if r.in.CodePath >= codePathAskAfterHold {
		// Saved held: ask once more at once, as for a held leg (awaitReleases), then as each ask.
		if err := r.askHeldDues(); err != nil {
			return err
		}
		if err := r.payRestored(); err != nil {
			return err
		}
	}
	for checks := 0; r.hasHeldDues() && !r.cancelled; {
		if _, timedOut := r.wait(r.holdRecheckIn(checks), untilNoHeldDues); !timedOut {
			continue
		}
		checks++
		if err := r.askHeldDues(); err != nil {
			return err
		}
		if err := r.payRestored(); err != nil {
			return err
		}
	}
	return nil
}

// stillHeld makes a payment whose other leg was just paid (by an ask, or an admin's release naming
// a party) held again while a leg is still held, with that leg's reason, and saves it (code path
// 19). The release made it paying_out, and it rested so: an admin's release or cancel, and a
// Connect event's release, are taken only by a held payment, and the held_leg_age monitor and
// the client's payouts read the status.
func (r *run) stillHeld() error {
	if r.in.CodePath < codePathHoldRecheck || r.rec.Status == payment.StatusHeld {
		return nil
	}
	if held := r.heldLegReason(); held != "" {
		r.setStatus(payment.StatusHeld, held)
		return r.save()
	}
	return nil
}

// heldLegReason is the status reason of a payment with a leg held, from code path 19 (the first
// held leg's party and reason); "" when no leg is held or on an older path.
func (r *run) heldLegReason() string {
	if r.in.CodePath < codePathHoldRecheck {
		return ""
	}
	for _, l := range r.rec.Legs {
		if l.State == payment.LegHeld {
			return heldReason(l)
		}
	}
	return ""
}

// failedLegReason is the status reason of a payment whose leg's payout failed and waits for an
// admin's decision (payLeg's decide), from code path 21: the failed leg's party and reason, as
// payLeg set it; "" when no leg failed, the payment was compensated (its legs left failed are in
// doubt, which setSettled says), or on an older path.
func (r *run) failedLegReason() string {
	if r.in.CodePath < codePathDecisionKept || r.compensated() {
		return ""
	}
	for _, l := range r.rec.Legs {
		if l.State == payment.LegFailed {
			return fmt.Sprintf("%s payout failed: %s", l.Party, l.Reason)
		}
	}
	return ""
}

// heldReason is the status reason of a payment held for leg l.
func heldReason(l payment.Leg) string { return fmt.Sprintf("%s leg held: %s", l.Party, l.Reason) }

func (r *run) heldLegs() int {
	n := 0
	for _, l := range r.rec.Legs {
		if l.State == payment.LegHeld {
			n++
		}
	}
	return n
}

// payRestored pays the legs that were given a share after the payout had nothing to send them
// (pending again: a failed refund's, a correction's); without such legs it does nothing.
func (r *run) payRestored() error {
	if !r.anyLegPending() {
		return nil
	}
	if err := r.payout(); err != nil {
		return err
	}
	if err := r.awaitReleases(); err != nil {
		return err
	}
	r.setSettled()
	return r.save()
}

// settle marks the payment done and keeps listening for late refunds and disputes for the
// settle window; later ones start a follow-up run that resumes from the stored state.
func (r *run) settle() error {
	if err := r.payRestored(); err != nil { // given a share while the payout ran
		return err
	}
	r.settling = true
	r.setSettled()
	if !r.localSteps || r.in.Settings.SettleWindow > 0 {
		if err := r.save(); err != nil {
			return err
		}
	}
	if r.in.Settings.SettleWindow > 0 {
		deadline := workflow.Now(r.ctx).Add(r.in.Settings.SettleWindow)
		for left := r.in.Settings.SettleWindow; left > 0 && !r.cancelled; left = deadline.Sub(workflow.Now(r.ctx)) {
			r.settleWait(left)
			if err := r.payRestored(); err != nil {
				return err
			}
		}
	}
	if err := r.awaitHeldDues(); err != nil {
		return err
	}
	r.drainEvents()
	if err := r.payRestored(); err != nil {
		return err
	}
	return r.save()
}

// setSettled gives a settled payment its status: payout_failed while a top-up is due (an admin
// acts on that), held while the only ones due are held top-ups (code path 14: the payee cannot
// receive, and the platform waits on it as for a held leg), else what its refunds and disputes say.
func (r *run) setSettled() {
	if r.in.CodePath >= codePathDisputeLoss && !r.retryingDues {
		r.pruneDues()
	}
	switch s := r.settledStatus(); {
	case r.onlyHeldDues():
		r.setStatus(payment.StatusHeld, r.duesReason())
	case r.rec.HasDues() || r.legsInDoubt() != nil:
		r.setStatus(payment.StatusPayoutFailed, r.duesReason())
	case s == payment.StatusCompensated:
		r.setStatus(s, r.rec.Compensated)
	default:
		r.setStatus(s, "")
	}
}

// onlyHeldDues reports whether every movement due is a top-up held for its payee (Due.Held), and
// there is one (code path 14): nothing the provider refused or left in doubt.
func (r *run) onlyHeldDues() bool {
	if r.in.CodePath < codePathOutageProof || !r.rec.HasDues() || r.legsInDoubt() != nil {
		return false
	}
	for _, l := range r.rec.Legs {
		if slices.ContainsFunc(l.Dues, func(d payment.Due) bool { return !d.Held }) {
			return false
		}
	}
	return true
}

// pruneDues drops what a refused or held top-up due no longer stands for (code path 13): a later
// movement (a failed refund's top-up that paid what it was for, a cancel that undid the payouts)
// left the payee owed less than the due, or nothing, and the payment stayed payout_failed on a
// due whose retry would send nothing. Dues in doubt stay: only the provider can say what they did.
func (r *run) pruneDues() {
	for i := range r.rec.Legs {
		leg := &r.rec.Legs[i]
		owed := r.shortfall(leg)
		var kept []payment.Due
		changed := false
		for _, d := range leg.Dues {
			if d.Kind == payment.DueTopUp && d.Refused {
				if owed <= 0 {
					if d.Reason == leg.Reason {
						leg.Reason = "" // it said why this due stood
					}
					changed = true
					continue
				}
				if d.Amount > owed {
					d.Amount, changed = owed, true
				}
				owed -= d.Amount
			}
			kept = append(kept, d)
		}
		if changed {
			leg.Dues = kept
		}
	}
}

// settleWait waits in the settle window for at most left, handling events. With movements due and
// automatic retries on, it waits DueRetryEvery and retries them (a short platform balance, a
// payee's account paid out, fill up again); a wait without dues ends early when an event leaves
// one, so its retry is timed from then, and from code path 25 a wait with dues ends early when
// none is left, so a later one's retries start at the pace again (dueRetryIn). From code path 25
// a wait also ends when an event made a leg pending again (the settle loop pays it at once): the
// retry of the dues is not made then, but at its time (dueRetryAt), by the next wait.
func (r *run) settleWait(left time.Duration) {
	var restored waitFor
	if r.in.CodePath >= codePathPayRestoredAtOnce {
		restored = untilRestored
	}
	every := r.in.Settings.DueRetryEvery
	if every <= 0 {
		r.wait(left, restored)
		return
	}
	if !r.rec.HasDues() {
		r.autoRetries, r.dueRetryAt = 0, time.Time{}
		r.wait(left, untilDues|restored)
		return
	}
	until := restored
	if r.in.CodePath >= codePathBoundedHistory {
		// Backed off, this wait may last a day: dues paid meanwhile end it, and a due that
		// arises after them starts at the pace again (the next settleWait resets autoRetries).
		until |= untilNoDues
	}
	if r.dueRetryAt.IsZero() {
		r.dueRetryAt = workflow.Now(r.ctx).Add(min(left, r.dueRetryIn()))
	}
	// Not in the future: paying the restored leg took the time (a hold, a decision), and the retry
	// is late already.
	if in := r.dueRetryAt.Sub(workflow.Now(r.ctx)); in > 0 {
		if _, timedOut := r.wait(in, until); !timedOut && r.restoredPending(until) {
			return
		}
	}
	r.dueRetryAt = time.Time{}
	if r.rec.HasDues() {
		r.autoRetries++
		r.handleEvent(Event{Kind: EventRetryDues, Actor: "automatic retry"})
	}
}

// restoredPending reports whether a wait that ends at a leg made pending again (untilRestored)
// ended so: a leg is pending.
func (r *run) restoredPending(until waitFor) bool {
	return until&untilRestored != 0 && r.anyLegPending()
}

// anyLegPending reports whether a leg waits for its payout.
func (r *run) anyLegPending() bool {
	return slices.ContainsFunc(r.rec.Legs, func(l payment.Leg) bool { return l.State == payment.LegPending })
}

// dueRetryIn is how long the settle window waits before its next automatic retry of the movements
// due: DueRetryEvery for the first dueRetriesAtPace retries since the run last had none, then
// (code path 25) twice as long after each, up to a day (or DueRetryEvery when that is longer).
// Each retry is a timer, a workflow task, the payee checks, the calls and a save in the run's
// history: at a fixed pace a long settle window (or the minute allowed as the pace) took it past
// Temporal's limits.
func (r *run) dueRetryIn() time.Duration {
	every := r.in.Settings.DueRetryEvery
	if r.in.CodePath < codePathBoundedHistory {
		return every
	}
	return doubled(every, r.autoRetries-dueRetriesAtPace+1, maxDueRetry)
}

// dueRetriesAtPace is how many automatic retries of movements due go at DueRetryEvery before they
// back off (code path 25): a day's worth at the default hour. maxDueRetry bounds the wait between
// two once backed off.
const (
	dueRetriesAtPace = 24
	maxDueRetry      = 24 * time.Hour
)

// enrichPollsAtPace is how many looks for a missing order go at EnrichPoll before they back off
// (code path 25): an hour's worth at the default minute, the default PAYMENT_ENRICH_WAIT.
// maxEnrichPoll bounds the wait between two once backed off: the order's webhook wakes the
// payment anyway, the poll is for an order that came without one.
const (
	enrichPollsAtPace = 60
	maxEnrichPoll     = time.Hour
)

func (r *run) settledStatus() payment.Status {
	switch {
	case r.rec.Disputed:
		return payment.StatusDisputed
	case r.rec.Refunded > 0 && r.rec.Refunded >= r.rec.Gross:
		return payment.StatusRefunded
	case r.in.CodePath >= codePathDues && r.compensated():
		// Nobody was paid: a later event (a dispute won, a movement due made) does not make it paid.
		return payment.StatusCompensated
	case r.rec.Refunded > 0:
		return payment.StatusPartiallyRefunded
	}
	return payment.StatusPaid
}

// setStatus changes the status and the PaymentStatus search attribute with it.
func (r *run) setStatus(s payment.Status, reason string) {
	r.rec.Reason = reason
	if r.rec.Status == s {
		return
	}
	r.rec.Status = s
	r.upsertAttributes(map[string]temporal.SearchAttributeUpdate{searchattr.PaymentStatus.GetName(): searchattr.PaymentStatus.ValueSet(string(s))})
}

func (r *run) upsertPaymentAttributes() {
	r.upsertAttributes(map[string]temporal.SearchAttributeUpdate{
		searchattr.ClientID.GetName():    searchattr.ClientID.ValueSet(r.rec.Order.ClientID),
		searchattr.VendorID.GetName():    searchattr.VendorID.ValueSet(r.rec.Order.VendorID),
		searchattr.OrderID.GetName():     searchattr.OrderID.ValueSet(r.rec.Order.OrderID),
		searchattr.AmountMinor.GetName(): searchattr.AmountMinor.ValueSet(r.rec.Gross),
		searchattr.Currency.GetName():    searchattr.Currency.ValueSet(string(r.rec.Currency)),
	})
}

// keepNamed keeps on the record of a payment not split yet the client, order and vendor its
// capture names, when Enrich knows the client (code path 18): the store files the payment under
// them, and the run's search attributes say them, and its amount and currency.
func (r *run) keepNamed(named payment.Order) {
	if r.in.CodePath < codePathClientBeforeSplit {
		return
	}
	if named.ClientID != "" {
		r.rec.Order = named
	}
	r.upsertNotSplitAttributes()
}

// upsertNotSplitAttributes sets ClientId, OrderId and VendorId to the record's order where it
// names them, and Currency and AmountMinor to its capture's, where the run does not carry them
// yet. A capture's run starts with them (the API's start attributes): no upsert, no history
// event, for what is there. A run a refund or dispute started has none of them until its capture.
func (r *run) upsertNotSplitAttributes() {
	have := workflow.GetTypedSearchAttributes(r.ctx)
	updates := map[string]temporal.SearchAttributeUpdate{}
	for key, v := range map[temporal.SearchAttributeKeyKeyword]string{
		searchattr.ClientID: r.rec.Order.ClientID, searchattr.OrderID: r.rec.Order.OrderID, searchattr.VendorID: r.rec.Order.VendorID,
		searchattr.Currency: string(r.rec.Currency),
	} {
		if cur, ok := have.GetKeyword(key); v == "" || ok && cur == v {
			continue
		}
		updates[key.GetName()] = key.ValueSet(v)
	}
	if cur, ok := have.GetInt64(searchattr.AmountMinor); r.rec.Currency != "" && (!ok || cur != r.rec.Gross) {
		updates[searchattr.AmountMinor.GetName()] = searchattr.AmountMinor.ValueSet(r.rec.Gross)
	}
	if len(updates) > 0 {
		r.upsertAttributes(updates)
	}
}

// upsertAttributes sets search attributes (by name) now, or, when batching, at the next flush.
func (r *run) upsertAttributes(updates map[string]temporal.SearchAttributeUpdate) {
	if r.pendingAttrs == nil {
		r.pendingAttrs = map[string]temporal.SearchAttributeUpdate{}
	}
	for name, u := range updates {
		r.pendingAttrs[name] = u
	}
	if !r.batchAttributes {
		r.flushAttributes()
	}
}

// flushAttributes writes the pending search-attribute changes in one upsert. With batching it
// runs before every wait and at the end, so what admins filter on in the Temporal UI is current
// whenever the run rests.
func (r *run) flushAttributes() {
	if len(r.pendingAttrs) == 0 {
		return
	}
	names := make([]string, 0, len(r.pendingAttrs))
	for n := range r.pendingAttrs {
		names = append(names, n)
	}
	sort.Strings(names) // the same command on every replay
	updates := make([]temporal.SearchAttributeUpdate, 0, len(names))
	for _, n := range names {
		updates = append(updates, r.pendingAttrs[n])
	}
	r.pendingAttrs = nil
	if err := workflow.UpsertTypedSearchAttributes(r.ctx, updates...); err != nil {
		r.log.Error("upsert search attributes", "Error", err)
	}
}

func (r *run) save() error {
	if r.rec.CodePath == 0 {
		// The first save says which path made the record (and so its units); a later run keeps it.
		r.rec.CodePath = r.in.CodePath
	}
	if len(r.unbooked) == 0 {
		if err := r.step(stepSavePayment, activities.SavePaymentInput{Record: r.rec}, nil); err != nil {
			return err
		}
		return r.keepSaved()
	}
	var out activities.PostEntriesOutput
	if err := r.step(stepSaveAndBook, activities.SaveAndBookInput{Record: r.rec, Book: r.unbooked}, &out); err != nil {
		return err
	}
	r.booked(out.EntryIDs)
	return r.keepSaved()
}

// keepSaved copies the record as just stored for QuerySaved.
func (r *run) keepSaved() error {
	b, err := json.Marshal(r.rec)
	if err != nil {
		return fmt.Errorf("keep saved record: %w", err)
	}
	r.intake() // what came before was sent on what the payment showed before
	r.saved, r.savedDecision = b, r.rec.Decision
	return nil
}

// key derives an idempotency key from the workflow ID and the step, never from time or chance.
func (r *run) key(step string) string { return r.rec.WorkflowID + "/" + step }

// post appends an entry now, after the entries still unbooked (in the same step).
func (r *run) post(key, description string, postings []ledger.Posting) (int64, error) {
	return r.postEntry(r.entry(key, description, postings))
}

func (r *run) postEntry(e ledger.Entry) (int64, error) {
	if len(r.unbooked) == 0 {
		var out activities.PostEntryOutput
		err := r.step(stepPostEntry, e, &out)
		return out.EntryID, err
	}
	var out activities.PostEntriesOutput
	if err := r.step(stepPostEntries, append(slices.Clone(r.unbooked), activities.Booking{Entry: e}), &out); err != nil {
		return 0, err
	}
	r.booked(out.EntryIDs[:len(r.unbooked)])
	return out.EntryIDs[len(out.EntryIDs)-1], nil
}

// book appends the entry of what (payment.CaptureEntry or a leg's name): on the book-with-save
// path at the next save or post, before it now.
func (r *run) book(what, key, description string, postings []ledger.Posting) error {
	e := r.entry(key, description, postings)
	if r.bookWithSave {
		r.unbooked = append(r.unbooked, activities.Booking{For: what, Entry: e})
		return nil
	}
	id, err := r.postEntry(e)
	if err == nil {
		r.rec.SetEntryID(what, id)
	}
	return err
}

// booked takes the IDs of the unbooked entries, in order, once a step stored them.
func (r *run) booked(ids []int64) {
	for i, b := range r.unbooked {
		r.rec.SetEntryID(b.For, ids[i])
	}
	r.unbooked = nil
}

// bookBeforeRest saves, booking what is unbooked, before the run waits or ends: the books must
// show every transfer made while the payment rests.
func (r *run) bookBeforeRest() {
	if len(r.unbooked) == 0 {
		return
	}
	if err := r.save(); err != nil {
		r.log.Error("book entries before resting", "Error", err)
	}
}

func (r *run) entry(key, description string, postings []ledger.Posting) ledger.Entry {
	return ledger.Entry{
		IdempotencyKey: key, Currency: r.rec.Currency, Reference: r.rec.WorkflowID,
		Description: description, Postings: postings,
	}
}

// isBusinessError says whether an activity failed for good: marked non-retryable, or of a type
// the retry policies list as such (retries stop for those without the flag being set).
func isBusinessError(err error) bool {
	var app *temporal.ApplicationError
	if !errors.As(err, &app) {
		return false
	}
	return app.NonRetryable() || slices.Contains(businessErrorTypes, app.Type())
}

// isErrorType reports whether err is an activity's application error of type t.
func isErrorType(err error, t string) bool {
	var app *temporal.ApplicationError
	return errors.As(err, &app) && app.Type() == t
}

var businessErrorTypes = []string{activities.ErrTypeRejected, activities.ErrTypeNoSplitRule, activities.ErrTypeInvalidSplit}

func errorMessage(err error) string {
	var app *temporal.ApplicationError
	if errors.As(err, &app) {
		return app.Message()
	}
	return err.Error()
}
