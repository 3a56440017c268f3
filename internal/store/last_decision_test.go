package store_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"paysplit/internal/store"
	"paysplit/testenv"
)

// TestLastDecisionIsTheNewestWhicheverSave: the API refuses a decision while the payment's last
// one waits for its run, whichever save it was made on (a run that saved a refund before it took
// the decision made it no less pending), so LastDecision is the newest decision entry of the
// payment, with the save it was made on as an admin's entry (saved_at) or a Connect event's
// (idempotency_key "stripe-connect/<save>") says it; other actions and targets are not decisions
// on it.
func TestLastDecisionIsTheNewestWhicheverSave(t *testing.T) {
	st := store.New(testenv.OwnDatabase(t))
	ctx := t.Context()
	const target = "payment:stripe:pi_last"

	_, _, found, err := st.LastDecision(ctx, target)
	require.NoError(t, err)
	require.False(t, found, "no decision yet")

	for _, tc := range []struct {
		name, action, target string
		after                map[string]any
		// want is the save the newest decision on target was made on, or "-" for the one before
		want string
	}{
		{"an admin's", "payment.release", target, map[string]any{"signal": "release", "saved_at": "2026-11-28T06:00:00.1Z"}, "2026-11-28T06:00:00.1Z"},
		{"a Connect event's", "payment.release", target, map[string]any{"idempotency_key": "stripe-connect/2026-11-28T06:00:01.2Z", "event_id": "evt_1"}, "2026-11-28T06:00:01.2Z"},
		{"on a later save", "payment.cancel", target, map[string]any{"signal": "cancel", "saved_at": "2026-11-28T06:00:02.3Z"}, "2026-11-28T06:00:02.3Z"},
		{"a correction is no decision", "payment.correct", target, map[string]any{"saved_at": "2026-11-28T06:00:03Z"}, "-"},
		{"another payment's", "payment.retry", "payment:stripe:pi_other", map[string]any{"saved_at": "2026-11-28T06:00:04Z"}, "-"},
		{"an entry that names no save", "payment.resolve", target, map[string]any{"signal": "resolve"}, ""},
	} {
		_, prev, _, err := st.LastDecision(ctx, target)
		require.NoError(t, err)
		require.NoError(t, st.Audit(ctx, "admin:test", tc.action, tc.target, "req", nil, tc.after), tc.name)
		e, saved, found, err := st.LastDecision(ctx, target)
		require.NoError(t, err, tc.name)
		require.True(t, found, tc.name)
		want := tc.want
		if want == "-" {
			want = prev
		} else {
			require.Equal(t, tc.action, e.Action, tc.name)
		}
		require.Equal(t, want, saved, tc.name)
	}
}
