package payment

import (
	"errors"
	"slices"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"paysplit/activities"
)

// Activity names of the short steps. Local activities are called by their registered name, so
// the worker's real *activities.Activities runs them (a method value of the nil act would not).
const (
	stepLoadPayment     = "LoadPayment"
	stepPrepare         = "Prepare"
	stepSavePayment     = "SavePayment"
	stepEnrich          = "Enrich"
	stepComputeSplit    = "ComputeSplit"
	stepPostEntry       = "PostEntry"
	stepPostEntries     = "PostEntries"
	stepSaveAndBook     = "SaveAndBook"
	stepResolvePayee    = "ResolvePayee"
	stepTransfer        = "Transfer"
	stepReverseTransfer = "ReverseTransfer"
	stepConfirmTransfer = "ConfirmTransfer"
)

// step runs a short, idempotent database step. Since version "local-steps" it is a local
// activity: it runs in the worker inside the workflow task, without a round trip to the server
// per step, which is what lets one worker settle a day's payments in under a minute. Retries are
// as for the regular activity, with backoff for lost connections and none for business errors,
// but a local activity's stop after StepTimeout (the SDK takes its StartToCloseTimeout for its
// ScheduleToCloseTimeout too). From code path 14 a step whose local attempts are spent runs
// again as a regular activity (stepOnServer).
func (r *run) step(name string, in, out any) error {
	if !r.localSteps {
		return workflow.ExecuteActivity(r.ctx, name, in).Get(r.ctx, out)
	}
	ctx := workflow.WithLocalActivityOptions(r.ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: r.in.Settings.StepTimeout,
		RetryPolicy:         dbRetryPolicy(),
	})
	err := workflow.ExecuteLocalActivity(ctx, name, in).Get(r.ctx, out)
	if err == nil || r.in.CodePath < codePathOutageProof || !retriesSpent(err, dbRetryPolicy()) {
		return err
	}
	return r.stepOnServer(name, in, out, err, dbRetryPolicy())
}

// stepOnServer runs a step whose local attempts are spent (Postgres is down, or too slow for
// StepTimeout) as a regular activity under policy, retried without limit (code path 14). Its
// retries live on the server: however long the outage, the run's history gains the activity's
// three events, where retrying the local activity on would add a timer and a workflow task per
// attempt (a minute's backoff reaches the history's limit, 51,200 events, within a week), and
// ending the run left its payment half done. The step is idempotent, as every retry of it is.
func (r *run) stepOnServer(name string, in, out any, localErr error, policy *temporal.RetryPolicy) error {
	r.log.Warn("step failed locally; retried on the server until it succeeds", "Step", name, "Error", localErr)
	ctx := workflow.WithActivityOptions(r.ctx, workflow.ActivityOptions{StartToCloseTimeout: r.in.Settings.StepTimeout, RetryPolicy: policy})
	return workflow.ExecuteActivity(ctx, name, in).Get(r.ctx, out)
}

// retriesSpent reports whether a local step failed only because its retries ran out: an error
// policy retries (a timeout, a lost connection, a panic), not a business error or a cancellation.
func retriesSpent(err error, policy *temporal.RetryPolicy) bool {
	if temporal.IsCanceledError(err) {
		return false
	}
	var app *temporal.ApplicationError
	if errors.As(err, &app) {
		return !app.NonRetryable() && !slices.Contains(policy.NonRetryableErrorTypes, app.Type())
	}
	return true // a timeout, a panic, or an error the test environment left unconverted
}

// payeeCheck asks where a payee is paid now (ResolvePayee, a payout step: it reads the payee
// from Postgres and asks the provider). From code path 14 a check whose local attempts are spent
// goes on on the server without limit, as a database step does: an error here ended the run.
func (r *run) payeeCheck(in activities.ResolvePayeeInput) (activities.ResolvePayeeOutput, error) {
	var out activities.ResolvePayeeOutput
	err := r.payoutStep(stepResolvePayee, in, &out)
	if err == nil || !r.localSteps || r.in.CodePath < codePathOutageProof || !retriesSpent(err, r.payoutRetryPolicy()) {
		return out, err
	}
	policy := r.payoutRetryPolicy()
	policy.MaximumAttempts = 0
	return out, r.stepOnServer(stepResolvePayee, in, &out, err, policy)
}

// payoutStep runs a short call to the payment provider (the payee check) with the payout
// retry policy: a bounded number of attempts, no retry of a refusal.
func (r *run) payoutStep(name string, in, out any) error {
	var f workflow.Future
	if r.localSteps {
		ctx := workflow.WithLocalActivityOptions(r.ctx, workflow.LocalActivityOptions{
			StartToCloseTimeout: r.in.Settings.StepTimeout,
			RetryPolicy:         r.payoutRetryPolicy(),
		})
		f = workflow.ExecuteLocalActivity(ctx, name, in)
	} else {
		f = workflow.ExecuteActivity(r.payoutCtx(), name, in)
	}
	return f.Get(r.ctx, out)
}

// callProvider starts a money movement at the provider. Since version "local-payouts" it is a local
// activity too: a payment then costs the server a couple of workflow tasks instead of a task per
// payout. It stays safe to retry anywhere, in this worker or the next one after a crash,
// because its idempotency key is derived from the workflow and the leg.
func (r *run) callProvider(name string, in any) workflow.Future {
	if r.localPayouts {
		ctx := workflow.WithLocalActivityOptions(r.ctx, workflow.LocalActivityOptions{
			ScheduleToCloseTimeout: r.payoutAttemptsWindow(),
			StartToCloseTimeout:    r.in.Settings.PayoutTimeout,
			RetryPolicy:            r.payoutRetryPolicy(),
		})
		return workflow.ExecuteLocalActivity(ctx, name, in)
	}
	return workflow.ExecuteActivity(r.payoutCtx(), name, in)
}

// payoutAttemptsWindow is the ScheduleToCloseTimeout of a provider call run as a local activity
// (code path 21): time for every one of StripeAttempts attempts to take PayoutTimeout, with the
// retry policy's backoff between them, so the attempts bound the retries, as the setting says and
// as for a regular activity. 0 before: the SDK takes a local activity's StartToCloseTimeout for
// it, so the retries stopped once PayoutTimeout had passed since the first attempt (7 of 10 with
// the defaults and a provider answering 503 at once; one, when the first attempt hung), and the
// leg was left in doubt for an admin.
func (r *run) payoutAttemptsWindow() time.Duration {
	if r.in.CodePath < codePathDecisionKept {
		return 0
	}
	p := r.payoutRetryPolicy()
	window, backoff := time.Duration(0), p.InitialInterval
	for n := int32(1); n <= p.MaximumAttempts; n++ {
		window += r.in.Settings.PayoutTimeout
		if n < p.MaximumAttempts {
			window += backoff
			backoff = min(time.Duration(float64(backoff)*p.BackoffCoefficient), p.MaximumInterval)
		}
	}
	return window
}

func dbRetryPolicy() *temporal.RetryPolicy {
	return &temporal.RetryPolicy{
		InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute,
		NonRetryableErrorTypes: []string{activities.ErrTypeNoSplitRule, activities.ErrTypeInvalidSplit, activities.ErrTypeLedgerConflict},
	}
}

func (r *run) payoutRetryPolicy() *temporal.RetryPolicy {
	return &temporal.RetryPolicy{
		InitialInterval: r.in.Settings.StripeRetryInterval, BackoffCoefficient: 2, MaximumInterval: time.Minute,
		MaximumAttempts:        r.in.Settings.StripeAttempts,
		NonRetryableErrorTypes: []string{activities.ErrTypeRejected, activities.ErrTypeInvalidSplit, activities.ErrTypeNotConfigured},
	}
}
