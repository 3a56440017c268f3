package main

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"paysplit/internal/config"
	"paysplit/testenv"
	"paysplit/workflows/report"
)

// TestReportsOffRemovesTheirSchedules: a worker started with reports off (REPORTS=off) registers
// no report workflow, so a zone's weekly schedule left from when reports were on would start a
// WeeklyReports run every Monday that no worker can run (its workflow tasks failing on the
// unknown type for the run's 48 hours). The worker deletes them; a start with reports on makes
// them again.
func TestReportsOffRemovesTheirSchedules(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the Temporal dev server")
	}
	c := testenv.TemporalClient(t)
	ctx := t.Context()
	queue := "reports-off-" + time.Now().Format("150405.000000")
	zone := "Asia/Kathmandu"
	// Made by an earlier start.
	sc := zoneScheduled(t, c, queue, zone)

	w := worker.New(c, queue, worker.Options{})
	require.NoError(t, startReports(ctx, w, c, config.Config{TaskQueue: queue, Reports: config.Reports{Mode: "off"}}, nil, nil, nil, quiet))
	_, err := sc.GetHandle(ctx, report.ScheduleID(zone)).Describe(ctx)
	var nf *serviceerror.NotFound
	require.ErrorAs(t, err, &nf, "the schedule %s is still there with reports off: it starts WeeklyReports runs no worker runs", report.ScheduleID(zone))
}

// zoneScheduled makes the zone's weekly schedule on queue, as a start with reports on does, and
// waits until the (eventually consistent) schedule listing shows it, so that a worker started
// next finds it to delete or to keep; the test deletes it at its end.
func zoneScheduled(t *testing.T, c client.Client, queue, zone string) client.ScheduleClient {
	t.Helper()
	ctx, sc := t.Context(), c.ScheduleClient()
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
	return sc
}
