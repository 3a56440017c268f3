package server_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paysplit/api/server"
	reportwf "paysplit/workflows/report"
)

// A client moved from Pacific/Honolulu (UTC-10) to Pacific/Kiritimati (UTC+14) on Monday
// 2026-02-16 at 08:00 UTC: Kiritimati's run of 2026-W07 went at Sunday 16:00 UTC (the client was
// not in its list), Honolulu's comes at Monday 16:00 UTC (the client no longer is). The move
// starts that week's report itself, once; a move the other way skips nothing.
func TestZoneMoveBetweenTheRunsGetsTheWeeksReport(t *testing.T) {
	now := time.Date(2026, 2, 16, 8, 0, 0, 0, time.UTC)
	e := newReportsEnv(t, func(d *server.Deps) { d.Now = func() time.Time { return now } })
	id := e.newClient("tzmove")
	put := func(zone string) {
		t.Helper()
		code, body := e.json(req{method: http.MethodPut, path: "/api/v1/admin/clients/" + id + "/report-settings", key: adminKey,
			body: map[string]any{"time_zone": zone, "recipients": []string{"owner@tzmove.test"}}})
		require.Equal(t, http.StatusOK, code, body)
	}
	put("Pacific/Honolulu")
	put("Pacific/Kiritimati")

	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	var res reportwf.ClientResult
	require.NoError(t, e.tc.GetWorkflow(ctx, reportwf.ClientWorkflowID(id, "2026-W07"), "").Get(ctx, &res), "the week both runs skip")
	require.True(t, res.Email.Sent)
	d, err := e.store.GetReportDelivery(t.Context(), id, "2026-W07")
	require.NoError(t, err)
	require.Equal(t, 1, d.SendsDone)

	put("Pacific/Honolulu") // back west: Honolulu's last complete week is W06, reported long ago
	_, err = e.tc.DescribeWorkflow(t.Context(), reportwf.ClientWorkflowID(id, "2026-W06"), "")
	require.Error(t, err, "no run for a week no run skipped")
}
