package monitor_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paysplit/internal/ledger"
	"paysplit/internal/monitor"
	"paysplit/testenv"
)

// TestRaiseEventGivesEachOccurrenceItsAlertAndMessage: the payout_taken_back monitor is the
// system's (migration 00050) and admins cannot create one. Each occurrence raised is an alert of
// its own, closed as it fires, with one "firing" message, even two raised at the same instant
// (the outbox's key is the monitor, event and period start); evaluating the monitor changes
// nothing.
func TestRaiseEventGivesEachOccurrenceItsAlertAndMessage(t *testing.T) {
	pool := testenv.OwnDatabase(t) // counts every message in the outbox
	l := ledger.New(pool)
	s := monitor.NewStore(pool, l)
	ctx := t.Context()

	_, err := s.Create(ctx, monitor.Monitor{Name: "mine", Kind: monitor.KindPayoutTakenBack}, "admin")
	require.ErrorIs(t, err, monitor.ErrInvalid, "the system's own kind")
	m, err := s.System(ctx, monitor.KindPayoutTakenBack)
	require.NoError(t, err)
	require.True(t, m.System)
	obs, err := s.Observe(ctx, m, time.Now())
	require.NoError(t, err)
	require.Equal(t, monitor.StatusUnavailable, monitor.Evaluate(m, obs, time.Now()).Status)

	now := time.Now().UTC().Truncate(time.Microsecond)
	tests := []struct {
		summary, wf string
		value       int64
	}{
		{"first taken back", "payment-paypal-A", 1_200},
		{"second, same instant", "payment-paypal-B", 3_400},
	}
	var ids []int64
	for _, tt := range tests {
		out, err := s.RaiseEvent(ctx, monitor.KindPayoutTakenBack, tt.summary, tt.value, []string{tt.wf}, now)
		require.NoError(t, err, tt.summary)
		require.NotZero(t, out.AlertID, tt.summary)
		require.NotZero(t, out.NotificationID, tt.summary)
		ids = append(ids, out.NotificationID)
	}
	require.NotEqual(t, ids[0], ids[1])

	alerts, err := s.Alerts(ctx, monitor.AlertFilter{MonitorID: m.ID})
	require.NoError(t, err)
	require.Len(t, alerts, len(tests))
	pending, err := s.Pending(ctx, 10, time.Time{}, 0)
	require.NoError(t, err)
	require.Len(t, pending, len(tests))
	for i, tt := range tests {
		a, n := alerts[len(tests)-1-i], pending[i] // alerts newest first, messages oldest first
		require.Equal(t, tt.summary, a.Summary)
		require.Equal(t, []string{tt.wf}, a.Subjects)
		require.Equal(t, tt.value, a.Value)
		require.Equal(t, monitor.AlertResolved, a.State, "nothing later clears it")
		require.True(t, a.FiredAt.Equal(now))
		require.Equal(t, a.ID, n.AlertID)
		require.Equal(t, monitor.EventFiring, n.Event)
		require.Equal(t, monitor.KindPayoutTakenBack, n.Kind)
		require.Equal(t, tt.summary, n.Summary)
		require.True(t, n.PeriodStart.Equal(now.Add(time.Duration(i)*time.Microsecond)), n.PeriodStart)
	}
}
