package reconcile

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestScheduleCatchesUpEveryDayOfATemporalOutage: while the Temporal service is down its
// schedules take no action; back up, a schedule takes the actions it missed only within its
// catch-up window. Each run reconciles the day before it was due (DueAt) and nothing
// reconciles that day again, and overlap "allow all" lets the missed runs go at once, so every
// missed run must be caught up. A window of 24 hours lost the oldest day of any outage longer
// than a day (down from 01:59 to 02:01 the next day: the first missed run was 24h01m old).
func TestScheduleCatchesUpEveryDayOfATemporalOutage(t *testing.T) {
	window := scheduleOptions("q").CatchupWindow
	for _, tt := range []struct {
		name       string
		down, back time.Time
	}{
		{"a day and two minutes", time.Date(2026, 6, 9, 1, 59, 0, 0, time.UTC), time.Date(2026, 6, 10, 2, 1, 0, 0, time.UTC)},
		{"a long weekend", time.Date(2026, 6, 12, 18, 0, 0, 0, time.UTC), time.Date(2026, 6, 15, 9, 0, 0, 0, time.UTC)},
		{"a week", time.Date(2026, 6, 1, 2, 30, 0, 0, time.UTC), time.Date(2026, 6, 8, 2, 29, 0, 0, time.UTC)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			missed := 0
			for due := tt.down.Truncate(24 * time.Hour).Add(2 * time.Hour); due.Before(tt.back); due = due.Add(24 * time.Hour) {
				if due.Before(tt.down) {
					continue
				}
				missed++
				require.LessOrEqual(t, tt.back.Sub(due), window,
					"the run due %s (for %s) is past the catch-up window when Temporal is back at %s: that day is never reconciled",
					due.Format(time.RFC3339), due.Add(-24*time.Hour).Format(time.DateOnly), tt.back.Format(time.RFC3339))
			}
			require.NotZero(t, missed)
		})
	}
}
