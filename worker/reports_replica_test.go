package main

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

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
	sc := c.ScheduleClient()
	// Made by a replica with the bucket, as its start does.
	require.NoError(t, report.EnsureSchedules(ctx, c, queue, []string{zone}))
	t.Cleanup(func() { _ = sc.GetHandle(context.Background(), report.ScheduleID(zone)).Delete(context.Background()) })
	require.EventuallyWithT(t, func(ct *assert.CollectT) {
		it, err := sc.List(ctx, client.ScheduleListOptions{})
		require.NoError(ct, err)
		listed := false
		for it.HasNext() {
			e, err := it.Next()
			require.NoError(ct, err)
			listed = listed || e.ID == report.ScheduleID(zone)
		}
		assert.True(ct, listed)
	}, 30*time.Second, 200*time.Millisecond)

	w := worker.New(c, queue, worker.Options{})
	require.NoError(t, startReports(ctx, w, c, config.Config{TaskQueue: queue}, nil, nil, nil, quiet))
	desc, err := sc.GetHandle(ctx, report.ScheduleID(zone)).Describe(ctx)
	require.NoError(t, err, "a replica without S3_BUCKET deleted the fleet's schedule %s", report.ScheduleID(zone))
	assert.False(t, desc.Schedule.State.Paused, "a replica without S3_BUCKET paused the fleet's schedule")
}
