package server_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paysplit/api/server"
	"paysplit/internal/store"
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

// The move's commit fails after it started the skipped week's report (here a deferred check
// refuses the new zone at commit; in production a lost connection or a failed audit write): the
// client stays in its old zone, whose run is still to come, so the started run must make and
// send nothing. Moved again once the commit works, the week's report is sent once, for the new
// zone.
func TestZoneMoveWhoseCommitFailsStartsNothingThatSends(t *testing.T) {
	now := time.Date(2026, 2, 16, 8, 0, 0, 0, time.UTC) // between the two runs, as above
	e := newReportsEnv(t, func(d *server.Deps) { d.Now = func() time.Time { return now } })
	id := e.newClient("tzfail")
	path := "/api/v1/admin/clients/" + id + "/report-settings"
	put := func(zone string) (int, map[string]any) {
		t.Helper()
		return e.json(req{method: http.MethodPut, path: path, key: adminKey,
			body: map[string]any{"time_zone": zone, "recipients": []string{"owner@tzfail.test"}}})
	}
	code, body := put("Pacific/Honolulu")
	require.Equal(t, http.StatusOK, code, body)

	// Refuse this client's move at commit time: the checks of a deferred constraint trigger run
	// at COMMIT, after the handler has done everything else.
	ctx := t.Context()
	fn, trg := "refuse_move_"+id, "refuse_move_"+id
	_, err := e.pool.Exec(ctx, `CREATE FUNCTION "`+fn+`"() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN RAISE EXCEPTION 'commit refused for the test'; END $$`)
	require.NoError(t, err)
	_, err = e.pool.Exec(ctx, `CREATE CONSTRAINT TRIGGER "`+trg+`" AFTER INSERT OR UPDATE ON report_settings
		DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (NEW.client_id = '`+id+`') EXECUTE FUNCTION "`+fn+`"()`)
	require.NoError(t, err)
	dropTrigger := func() {
		_, err := e.pool.Exec(context.Background(), `DROP TRIGGER IF EXISTS "`+trg+`" ON report_settings`)
		require.NoError(t, err)
	}
	t.Cleanup(func() {
		dropTrigger()
		_, _ = e.pool.Exec(context.Background(), `DROP FUNCTION IF EXISTS "`+fn+`"()`)
	})

	// Sent without the OpenAPI check: a failed commit is an unexpected failure, a 500, which the
	// document lists for no operation.
	hr, err := http.NewRequestWithContext(ctx, http.MethodPut, e.url+path,
		strings.NewReader(`{"time_zone": "Pacific/Kiritimati", "recipients": ["owner@tzfail.test"]}`))
	require.NoError(t, err)
	hr.Header.Set("Content-Type", "application/json")
	hr.Header.Set("Authorization", "Bearer "+adminKey)
	hres, err := http.DefaultClient.Do(hr)
	require.NoError(t, err)
	require.NoError(t, hres.Body.Close())
	require.Equal(t, http.StatusInternalServerError, hres.StatusCode, "the commit failed")
	settings, err := e.store.GetReportSettings(ctx, id)
	require.NoError(t, err)
	require.Equal(t, "Pacific/Honolulu", settings.TimeZone, "the move did not happen")

	// Whatever the API started for the move must end without a report: the client's own zone
	// (Honolulu, Monday 16:00 UTC) makes that week's.
	wid := reportwf.ClientWorkflowID(id, "2026-W07")
	if _, err := e.tc.DescribeWorkflow(ctx, wid, ""); err == nil {
		wctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		var res reportwf.ClientResult
		require.NoError(t, e.tc.GetWorkflow(wctx, wid, "").Get(wctx, &res))
		require.False(t, res.Email.Sent, "a report was sent for a move that did not happen: %+v", res)
	}
	_, err = e.store.GetReportDelivery(ctx, id, "2026-W07")
	require.ErrorIs(t, err, store.ErrNotFound, "a report of the week was made in the zone the client never moved to")
	require.Empty(t, e.box.Messages())

	// The admin tries again and the move commits: the week's report is made for the new zone and
	// sent once.
	dropTrigger()
	code, body = put("Pacific/Kiritimati")
	require.Equal(t, http.StatusOK, code, body)
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	var res reportwf.ClientResult
	require.NoError(t, e.tc.GetWorkflow(wctx, wid, "").Get(wctx, &res))
	require.True(t, res.Email.Sent, "%+v", res)
	d, err := e.store.GetReportDelivery(ctx, id, "2026-W07")
	require.NoError(t, err)
	require.Equal(t, 1, d.SendsDone)
	require.Equal(t, "Pacific/Kiritimati", d.Data.TimeZone)
}

// An offboarded client gets no weekly report, and no make-up report either: moving its zone
// between the two runs (as above) must not start the report of the week the move skips.
func TestZoneMoveOfAnOffboardedClientStartsNoReport(t *testing.T) {
	now := time.Date(2026, 2, 16, 8, 0, 0, 0, time.UTC) // between the two runs, as above
	e := newReportsEnv(t, func(d *server.Deps) { d.Now = func() time.Time { return now } })
	id := e.newClient("tzoffb")
	put := func(zone string) {
		t.Helper()
		code, body := e.json(req{method: http.MethodPut, path: "/api/v1/admin/clients/" + id + "/report-settings", key: adminKey,
			body: map[string]any{"time_zone": zone, "recipients": []string{"owner@tzoffb.test"}}})
		require.Equal(t, http.StatusOK, code, body)
	}
	put("Pacific/Honolulu")
	code, body := e.json(req{method: http.MethodPost, path: "/api/v1/admin/clients/" + id + "/offboard", key: adminKey})
	require.Equal(t, http.StatusOK, code, body)
	put("Pacific/Kiritimati")

	_, err := e.tc.DescribeWorkflow(t.Context(), reportwf.ClientWorkflowID(id, "2026-W07"), "")
	require.Error(t, err, "no report run for an offboarded client")
	_, err = e.store.GetReportDelivery(t.Context(), id, "2026-W07")
	require.ErrorIs(t, err, store.ErrNotFound)
}

// With weekly reports off for this API (REPORTS=off, for which the workers delete the weekly
// schedules, or no S3_BUCKET here, as on its workers, which then register no report workflow)
// the API used to make a zone's schedule on every settings save, start the make-up report of a
// zone move, and start resend and regenerate runs, none of which any worker might take: a schedule firing each Monday into failing workflow tasks, runs left open.
// Settings are still saved (for when reports are turned on); runs are refused with a reason.
func TestReportsOffStartsNoScheduleAndNoRun(t *testing.T) {
	now := time.Date(2026, 2, 16, 8, 0, 0, 0, time.UTC) // a move east now skips a week, as above
	e := newReportsEnv(t, func(d *server.Deps) {
		d.Now = func() time.Time { return now }
		d.ReportsOff = true
	})
	id := e.newClient("repoff")
	for _, zone := range []string{"Antarctica/Troll", "Pacific/Kiritimati"} {
		code, body := e.json(req{method: http.MethodPut, path: "/api/v1/admin/clients/" + id + "/report-settings", key: adminKey,
			body: map[string]any{"time_zone": zone, "recipients": []string{"owner@repoff.test"}}})
		require.Equal(t, http.StatusOK, code, body)
	}
	settings, err := e.store.GetReportSettings(t.Context(), id)
	require.NoError(t, err)
	require.Equal(t, "Pacific/Kiritimati", settings.TimeZone, "the settings are saved")

	_, err = e.tc.ScheduleClient().GetHandle(t.Context(), reportwf.ScheduleID("Antarctica/Troll")).Describe(t.Context())
	require.Error(t, err, "no weekly schedule is made while reports are off")
	_, err = e.tc.DescribeWorkflow(t.Context(), reportwf.ClientWorkflowID(id, "2026-W07"), "")
	require.Error(t, err, "no make-up report run for the zone move")

	for _, action := range []string{"resend", "regenerate"} {
		code, body := e.json(req{method: http.MethodPost, path: "/api/v1/admin/reports/" + id + "/2026-W06/" + action, key: adminKey})
		require.Equal(t, http.StatusConflict, code, "%s: %v", action, body)
		require.Equal(t, "reports_off", errCode(body), "%s: %v", action, body)
	}
}
