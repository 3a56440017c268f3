package server_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paysplit/internal/ledger"
	"paysplit/internal/monitor"
)

// Alerts that fired in the same microsecond, a page boundary between them: each is listed once,
// one page at a time (the cursor is the fired time and the ID, as the list's order).
// TestMonthsAlertsCanBeRead has two such alerts, but its pages of four never split them.
func TestAlertsFiredAtOnceAcrossPages(t *testing.T) {
	a := newAPI(t, nil)
	code, body := a.json(req{method: http.MethodPost, path: "/api/v1/admin/monitors", key: adminKey, body: map[string]any{
		"name": uniqueID("same-instant"), "kind": "held_leg_age", "days": 1}})
	require.Equal(t, http.StatusCreated, code, body)
	id := int64(body["id"].(float64))
	ms := monitor.NewStore(a.pool, ledger.New(a.pool))
	at := time.Date(2025, 6, 1, 9, 0, 0, 123456000, time.UTC)
	want := map[string]bool{}
	for range 5 {
		fired, err := ms.Apply(t.Context(), id, monitor.Result{Status: monitor.StatusFiring, Summary: "held"}, at)
		require.NoError(t, err)
		_, err = ms.Apply(t.Context(), id, monitor.Result{Status: monitor.StatusOK, Summary: "released"}, at)
		require.NoError(t, err)
		want[fmt.Sprint(fired.AlertID)] = true
	}
	require.Len(t, want, 5)
	for _, limit := range []int{1, 2, 3} {
		ids := a.pageIDs(fmt.Sprintf("/api/v1/admin/alerts?monitor_id=%d&limit=%d", id, limit), adminKey, "alerts", func(m map[string]any) string {
			return fmt.Sprint(m["id"])
		})
		got := map[string]bool{}
		for _, id := range ids {
			require.False(t, got[id], "alert %s listed twice (limit %d)", id, limit)
			got[id] = true
		}
		require.Equal(t, want, got, "limit %d", limit)
	}
}
