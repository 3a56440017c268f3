package kpisync_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paysplit/internal/report"
	"paysplit/testenv"
	"paysplit/workflows/kpisync"
)

// TestClientSyncsAreSpreadOverThePeriod: each client's schedule ran every period from the Unix
// epoch, so the 40 clients of a deployment all synced at the same instant (every source asked
// 40 times at once, the worker handed 40 runs together) and then sat idle for the rest of the
// period. A client's schedule is now offset within its period by its ID: the period between two
// of its syncs is exact (as the report's wait for a week's KPIs and the staleness rules assume),
// and the clients' syncs fall at different instants. Read back from a real server's schedules.
func TestClientSyncsAreSpreadOverThePeriod(t *testing.T) {
	const clients, every = 40, 15 * time.Minute
	tc := testenv.TemporalClient(t)
	ctx := t.Context()
	s := &kpisync.Scheduler{Client: tc, TaskQueue: "kpi-spread-" + time.Now().Format("150405.000000"), Every: every}
	at := map[time.Time][]string{} // next sync -> the clients due then
	for i := range clients {
		id := fmt.Sprintf("spread-%02d", i)
		require.NoError(t, s.EnsureClient(ctx, id))
		t.Cleanup(func() {
			_ = tc.ScheduleClient().GetHandle(context.Background(), kpisync.ScheduleID(id)).Delete(context.Background())
		})
		d, err := tc.ScheduleClient().GetHandle(ctx, kpisync.ScheduleID(id)).Describe(ctx)
		require.NoError(t, err)
		iv := d.Schedule.Spec.Intervals
		require.Len(t, iv, 1)
		require.Equal(t, every, iv[0].Every, "%s syncs every period", id)
		require.Less(t, iv[0].Offset, every, "%s: its offset is within the period", id)
		require.Zero(t, d.Schedule.Spec.Jitter, "%s: no jitter, so two syncs are exactly a period apart", id)
		require.NotEmpty(t, d.Info.NextActionTimes, id)
		next := d.Info.NextActionTimes[0]
		at[next] = append(at[next], id)
	}
	most := 0
	for _, ids := range at {
		most = max(most, len(ids))
	}
	// By a hash of the ID over 900 seconds: three of 40 clients on one second is already
	// unlikely, and the IDs are fixed, so the answer is too.
	require.LessOrEqual(t, most, 3, "clients due at one instant: %v", at)
	require.GreaterOrEqual(t, len(at), clients-5, "the %d clients' next syncs fall at %d instants", clients, len(at))
}

// TestClientSyncsLeaveTheWeeklyReportItsSync: a weekly report waits for one of the client's KPI
// syncs after the week's last UTC day ends, but at most report.MaxKPIWait (KPIsCompleteAt). A
// period that divides a day used to put a sync at each day's end (counted from the Unix epoch),
// so a client synced every 8, 12 or 24 hours had Sunday synced in full before its report. The
// per-client offset (TestClientSyncsAreSpreadOverThePeriod) may fall anywhere in the period: a
// daily client whose syncs fall at 15:00 UTC got a report with Sunday as synced Sunday 15:00.
// Every client's first sync after the week ends must start in time to finish before the report
// is generated. Read back from a real server's schedules.
func TestClientSyncsLeaveTheWeeklyReportItsSync(t *testing.T) {
	tc := testenv.TemporalClient(t)
	ctx := t.Context()
	for _, every := range []time.Duration{15 * time.Minute, 6 * time.Hour, 8 * time.Hour, 12 * time.Hour, 24 * time.Hour} {
		t.Run(every.String(), func(t *testing.T) {
			s := &kpisync.Scheduler{Client: tc, TaskQueue: "kpi-report-wait-" + time.Now().Format("150405.000000"), Every: every}
			for i := range 12 {
				id := fmt.Sprintf("report-wait-%s-%02d", every, i)
				require.NoError(t, s.EnsureClient(ctx, id))
				t.Cleanup(func() {
					_ = tc.ScheduleClient().GetHandle(context.Background(), kpisync.ScheduleID(id)).Delete(context.Background())
				})
				d, err := tc.ScheduleClient().GetHandle(ctx, kpisync.ScheduleID(id)).Describe(ctx)
				require.NoError(t, err)
				require.NotEmpty(t, d.Info.NextActionTimes, id)
				next := d.Info.NextActionTimes[0]
				// The first week that ends after next, and the first sync at or after its end:
				// syncs fall exactly a period apart from next.
				w := report.WeekOf(next).Next()
				ends := w.Monday().AddDate(0, 0, 7)
				first := next.Add((ends.Sub(next) + every - 1) / every * every)
				require.Falsef(t, first.Add(report.KPISyncRunTime).After(w.KPIsCompleteAt(every)),
					"%s (every %s): week %s ends %s, its first sync starts %s UTC, the report is generated at %s",
					id, every, w, ends.Format(time.RFC3339), first.UTC().Format("Mon 15:04:05"), w.KPIsCompleteAt(every).UTC().Format("Mon 15:04:05"))
			}
		})
	}
}
