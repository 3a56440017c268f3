package integrity

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"paysplit/testenv"
)

// Against the dev server: the SDK's unit-test environment has no schedule client.
func TestEnsureSchedules(t *testing.T) {
	c := testenv.TemporalClient(t)
	ctx := t.Context()
	sc := c.ScheduleClient()
	t.Cleanup(func() {
		for _, id := range []string{ScheduleDaily, ScheduleMonitors} {
			_ = sc.GetHandle(context.Background(), id).Delete(context.Background())
		}
	})
	queue := unique("integrity-schedules")
	cfg := ScheduleConfig{TaskQueue: queue, VerifyCron: "0 3 * * *", MonitorEvery: 15 * time.Minute}

	require.NoError(t, EnsureSchedules(ctx, c, cfg))
	require.NoError(t, EnsureSchedules(ctx, c, cfg), "a second worker start finds them and carries on")
	_, err := sc.Create(ctx, scheduleOptions(cfg)[0])
	require.ErrorIs(t, err, temporal.ErrScheduleAlreadyRunning, "what EnsureSchedules treats as exists")

	daily := describe(t, sc, ScheduleDaily)
	action, ok := daily.Schedule.Action.(*client.ScheduleWorkflowAction)
	require.True(t, ok)
	assert.Equal(t, WorkflowName, action.Workflow)
	assert.Equal(t, queue, action.TaskQueue)
	requireNextAt(t, daily, 3, 0)

	monitors := describe(t, sc, ScheduleMonitors)
	next := monitors.Info.NextActionTimes
	require.GreaterOrEqual(t, len(next), 2)
	assert.Equal(t, 15*time.Minute, next[1].Sub(next[0]))

	// A new cron takes effect at the next start; switching the interval off removes its schedule.
	cfg.VerifyCron, cfg.MonitorEvery = "30 4 * * *", 0
	require.NoError(t, EnsureSchedules(ctx, c, cfg))
	requireNextAt(t, describe(t, sc, ScheduleDaily), 4, 30)
	_, err = sc.GetHandle(ctx, ScheduleMonitors).Describe(ctx)
	var nf *serviceerror.NotFound
	require.True(t, errors.As(err, &nf), "monitor schedule deleted: %v", err)

	require.Error(t, EnsureSchedules(ctx, c, ScheduleConfig{TaskQueue: queue}), "a cron is required")
}

// Triggering the daily schedule runs the workflow on a worker with the real activities.
func TestScheduledRunVerifiesTheChain(t *testing.T) {
	pool := ownDB(t)
	c := testenv.TemporalClient(t)
	ctx := t.Context()
	sc := c.ScheduleClient()
	t.Cleanup(func() { _ = sc.GetHandle(context.Background(), ScheduleDaily).Delete(context.Background()) })
	queue := unique("integrity-scheduled")
	startWorker(t, c, queue, integrityActivities(pool, nil, nil))
	require.NoError(t, EnsureSchedules(ctx, c, ScheduleConfig{TaskQueue: queue, VerifyCron: "0 3 * * *"}))

	h := sc.GetHandle(ctx, ScheduleDaily)
	require.NoError(t, h.Trigger(ctx, client.ScheduleTriggerOptions{}))
	var started *client.ScheduleWorkflowExecution
	require.EventuallyWithT(t, func(ct *assert.CollectT) {
		d, err := h.Describe(ctx)
		require.NoError(ct, err)
		require.NotEmpty(ct, d.Info.RecentActions)
		started = d.Info.RecentActions[0].StartWorkflowResult
		require.NotNil(ct, started)
	}, 30*time.Second, 100*time.Millisecond)

	var res Result
	require.NoError(t, c.GetWorkflow(ctx, started.WorkflowID, started.FirstExecutionRunID).Get(ctx, &res))
	require.NotNil(t, res.Chain)
	assert.True(t, res.Chain.OK)
	require.NotNil(t, res.Monitors, "the daily round evaluates monitors too")
}

func describe(t *testing.T, sc client.ScheduleClient, id string) *client.ScheduleDescription {
	t.Helper()
	d, err := sc.GetHandle(t.Context(), id).Describe(t.Context())
	require.NoError(t, err)
	return d
}

func requireNextAt(t *testing.T, d *client.ScheduleDescription, hour, minute int) {
	t.Helper()
	require.NotEmpty(t, d.Info.NextActionTimes)
	for _, at := range d.Info.NextActionTimes {
		at = at.UTC()
		assert.Equal(t, hour, at.Hour(), "next action %s", at)
		assert.Equal(t, minute, at.Minute(), "next action %s", at)
	}
}
