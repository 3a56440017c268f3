// Package retries holds the retry shapes the platform's workflows share.
package retries

import (
	"math"
	"time"

	"go.temporal.io/sdk/workflow"
)

// UntilOutageEnds bounds o's retries by time (for) rather than by attempts, keeping o's backoff:
// a dependency down for an hour must not fail a run that nothing starts again. The attempts are
// in effect unlimited; not 0, which means the same to the server but ten attempts to the SDK's
// test environment, so the tests could not show the retries outlasting an outage.
func UntilOutageEnds(o workflow.ActivityOptions, d time.Duration) workflow.ActivityOptions {
	p := *o.RetryPolicy
	p.MaximumAttempts = math.MaxInt32
	o.RetryPolicy = &p
	o.ScheduleToCloseTimeout = d
	return o
}
