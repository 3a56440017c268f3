package kpisync

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"paysplit/internal/kpi"
	"paysplit/internal/report"
)

// stepBound is the longest an activity step with info's timeouts and retry policy p can go on, every attempt
// running to its start-to-close timeout: its attempts and the backoffs between them, cut at
// the schedule-to-close timeout (which the server sets to the run's timeout when none is given).
func stepBound(info activity.Info, p *temporal.RetryPolicy) time.Duration {
	var total time.Duration
	backoff := p.InitialInterval
	for attempt := int32(1); p.MaximumAttempts == 0 || attempt <= p.MaximumAttempts; attempt++ {
		total += info.StartToCloseTimeout
		if info.ScheduleToCloseTimeout > 0 && total >= info.ScheduleToCloseTimeout {
			return info.ScheduleToCloseTimeout
		}
		if attempt == p.MaximumAttempts {
			break
		}
		total += backoff
		backoff = min(time.Duration(float64(backoff)*p.BackoffCoefficient), p.MaximumInterval)
	}
	if info.ScheduleToCloseTimeout > 0 {
		return min(total, info.ScheduleToCloseTimeout)
	}
	return total
}

// TestHungSourceIsGivenUpOnInTimeToRecordIt: a source that hangs (GA4 accepting the connection
// and never answering) runs each attempt to its start-to-close timeout. Its five attempts of two
// minutes and their backoffs came to 11m15s, past the run's timeout (syncRunTimeout, 10
// minutes): the run timed out before it recorded the failure, so the source never showed as
// failing ("source timed out" was never written), the run did not fail naming it, and a sync
// took twice what the weekly report allows one (report.KPISyncRunTime: the phase and
// KPIsCompleteAt count on the Sunday sync having ended by then). The source step must end,
// retries included, with time left in KPISyncRunTime to record its failure.
func TestHungSourceIsGivenUpOnInTimeToRecordIt(t *testing.T) {
	w := &syncWorld{sources: []string{kpi.SourceLedger, kpi.SourceGA4}, attempts: map[string]int{}}
	env := newEnv(t, w)
	env.SetWorkflowRunTimeout(syncRunTimeout) // as the schedule starts it
	var mu sync.Mutex
	var infos []activity.Info
	env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, _ converter.EncodedValues) {
		if info.ActivityType.Name == "SyncKPISource" {
			mu.Lock()
			defer mu.Unlock()
			infos = append(infos, *info)
		}
	})
	env.ExecuteWorkflow(SyncWorkflow, SyncInput{ClientID: "northwind", HotDays: 7})
	require.NoError(t, env.GetWorkflowError())
	require.Len(t, infos, 2)
	record := dbOptions().StartToCloseTimeout // one attempt of RecordKPISyncFailure
	// The test environment leaves the policy out of activity.Info: it is the one the step is
	// scheduled with.
	policy := sourceOptions().RetryPolicy
	for _, info := range infos {
		t.Logf("%s: start-to-close %v, schedule-to-close %v, %d tries", info.ActivityType.Name, info.StartToCloseTimeout, info.ScheduleToCloseTimeout, policy.MaximumAttempts)
		require.LessOrEqual(t, stepBound(info, policy)+record, report.KPISyncRunTime,
			"a hung source's step leaves time to record its failure")
	}
}
