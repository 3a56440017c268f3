package payment

import (
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
// the same as for the regular activity: unlimited with backoff for lost connections, none for
// business errors.
func (r *run) step(name string, in, out any) error {
	var f workflow.Future
	if r.localSteps {
		ctx := workflow.WithLocalActivityOptions(r.ctx, workflow.LocalActivityOptions{
			StartToCloseTimeout: r.in.Settings.StepTimeout,
			RetryPolicy:         dbRetryPolicy(),
		})
		f = workflow.ExecuteLocalActivity(ctx, name, in)
	} else {
		f = workflow.ExecuteActivity(r.ctx, name, in)
	}
	return f.Get(r.ctx, out)
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
			StartToCloseTimeout: r.in.Settings.PayoutTimeout,
			RetryPolicy:         r.payoutRetryPolicy(),
		})
		return workflow.ExecuteLocalActivity(ctx, name, in)
	}
	return workflow.ExecuteActivity(r.payoutCtx(), name, in)
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
