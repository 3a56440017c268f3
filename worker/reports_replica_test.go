package main

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"paysplit/internal/config"
	"paysplit/testenv"
	"paysplit/workflows/report"
)

// TestReplicaWithoutBucketKeepsTheFleetsSchedules: one worker replica started without S3_BUCKET
// (a task definition that lost the variable, a worker started by hand to debug something) runs
// no reports itself, but the weekly report schedules are the whole deployment's: it must leave
// them as the replicas with the bucket made them. Only REPORTS=off turns reports off for all.
func TestReplicaWithoutBucketKeepsTheFleetsSchedules(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the Temporal dev server")
	}
	c := testenv.TemporalClient(t)
	ctx := t.Context()
	queue := "reports-replica-" + time.Now().Format("150405.000000")
	zone := "Pacific/Chatham"
	// Made by a replica with the bucket, as its start does.
	sc := zoneScheduled(t, c, queue, zone)

	w := worker.New(c, queue, worker.Options{})
	require.NoError(t, startReports(ctx, w, c, config.Config{TaskQueue: queue}, nil, nil, nil, quiet))
	desc, err := sc.GetHandle(ctx, report.ScheduleID(zone)).Describe(ctx)
	require.NoError(t, err, "a replica without S3_BUCKET deleted the fleet's schedule %s", report.ScheduleID(zone))
	assert.False(t, desc.Schedule.State.Paused, "a replica without S3_BUCKET paused the fleet's schedule")
}

// TestScheduledRunWaitsForAWorkerWithTheBucket: what a schedule left by a replica without
// S3_BUCKET costs when it fires while only such replicas poll (the middle of a rolling deploy):
// the run's workflow tasks fail on the unknown type and are retried, and a worker that has the
// report workflow, started later within the run's 48 hours, takes the run over. The week's
// reports are late, not lost (the stand-in below only proves the run reaches such a worker).
func TestScheduledRunWaitsForAWorkerWithTheBucket(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the Temporal dev server")
	}
	c := testenv.TemporalClient(t)
	ctx := t.Context()
	queue := "reports-replica-run-" + time.Now().Format("150405.000000")
	zone := "Atlantic/Azores"
	sc := c.ScheduleClient()
	require.NoError(t, report.EnsureSchedules(ctx, c, queue, []string{zone}))
	h := sc.GetHandle(ctx, report.ScheduleID(zone))
	t.Cleanup(func() { _ = h.Delete(context.Background()) })

	without := worker.New(c, queue, worker.Options{})
	require.NoError(t, startReports(ctx, without, c, config.Config{TaskQueue: queue}, nil, nil, nil, quiet))
	require.NoError(t, without.Start())
	stopped := false
	defer func() {
		if !stopped {
			without.Stop()
		}
	}()
	require.NoError(t, h.Trigger(ctx, client.ScheduleTriggerOptions{}))
	var runID string
	require.EventuallyWithT(t, func(ct *assert.CollectT) {
		desc, err := h.Describe(ctx)
		require.NoError(ct, err)
		require.Len(ct, desc.Info.RunningWorkflows, 1)
		runID = desc.Info.RunningWorkflows[0].WorkflowID
		desc2, err := c.DescribeWorkflow(ctx, runID, "")
		require.NoError(ct, err)
		wf := desc2.RawResponse
		require.NotNil(ct, wf.PendingWorkflowTask)
		assert.GreaterOrEqual(ct, wf.PendingWorkflowTask.Attempt, int32(2), "the replica without the workflow has failed its task")
	}, 30*time.Second, 200*time.Millisecond)
	without.Stop()
	stopped = true

	with := worker.New(c, queue, worker.Options{})
	with.RegisterWorkflowWithOptions(func(ctx workflow.Context, in report.WeeklyInput) (string, error) {
		return in.TimeZone, nil
	}, workflow.RegisterOptions{Name: report.WeeklyWorkflowName})
	require.NoError(t, with.Start())
	defer with.Stop()
	wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	var got string
	require.NoError(t, c.GetWorkflow(wctx, runID, "").Get(wctx, &got), "the scheduled run %s was not taken over by the worker with the report workflow", runID)
	assert.Equal(t, zone, got)
}
