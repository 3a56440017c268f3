package kpisync_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"

	"paysplit/internal/kpi"
	"paysplit/workflows/kpisync"
)

// TestOffboardingRemovesTheSyncSchedule: offboarding a client through the admin API deletes its
// KPI sync schedule, a worker start (EnsureAll) does not bring it back, and its refresh is refused;
// the other client keeps its schedule. Reactivating it creates the schedule again with its own
// period. Both changes are in the audit log, and bad input is refused with the reason.
func TestOffboardingRemovesTheSyncSchedule(t *testing.T) {
	s := newStack(t)
	ctx := t.Context()
	suffix := time.Now().Format("150405.000000")
	leaves, stays := "offb-leaves-"+suffix, "offb-stays-"+suffix
	for _, id := range []string{leaves, stays} {
		code, body := s.call(http.MethodPut, "/api/v1/admin/clients/"+id, map[string]string{"name": id, "default_currency": "usd"})
		require.Equal(t, http.StatusCreated, code, body)
		require.Equal(t, "active", body["status"])
	}
	code, body := s.call(http.MethodPut, "/api/v1/admin/clients/"+leaves+"/kpi-settings", map[string]any{"sync_every_seconds": 1800})
	require.Equal(t, http.StatusOK, code, body)
	// EnsureAll below also ensures every client other tests of this binary left in the database.
	t.Cleanup(func() {
		clients, err := s.store.ListClients(context.Background())
		if err != nil {
			t.Logf("cleanup: list clients: %v", err)
			return
		}
		for _, c := range clients {
			_ = s.tc.ScheduleClient().GetHandle(context.Background(), kpisync.ScheduleID(c.ID)).Delete(context.Background())
		}
		_ = s.tc.ScheduleClient().GetHandle(context.Background(), kpisync.RetentionScheduleID).Delete(context.Background())
	})
	schedule := func(id string) (time.Duration, bool) {
		t.Helper()
		d, err := s.tc.ScheduleClient().GetHandle(ctx, kpisync.ScheduleID(id)).Describe(ctx)
		var nf *serviceerror.NotFound
		if errors.As(err, &nf) {
			return 0, false
		}
		require.NoError(t, err, "describe schedule of %s", id)
		return d.Schedule.Spec.Intervals[0].Every, true
	}
	_, ok := schedule(leaves)
	require.True(t, ok, "a new client gets its schedule")

	code, body = s.call(http.MethodPost, "/api/v1/admin/clients/"+leaves+"/offboard", nil)
	require.Equal(t, http.StatusOK, code, body)
	require.Equal(t, "offboarded", body["status"])
	require.NotNil(t, body["offboarded_at"])
	_, ok = schedule(leaves)
	require.False(t, ok, "the offboarded client's schedule is deleted")
	_, ok = schedule(stays)
	require.True(t, ok, "the other client keeps its schedule")

	// A worker start ensures every client's schedule: not the offboarded one's.
	require.NoError(t, s.sched.EnsureAll(ctx, s.store, kpisync.RetentionOptions{Days: 7}))
	_, ok = schedule(leaves)
	require.False(t, ok, "a worker start does not recreate it")
	// Nor does a settings change or a repeated offboard (which repairs a deletion that failed).
	code, body = s.call(http.MethodPut, "/api/v1/admin/clients/"+leaves+"/kpi-settings", map[string]any{"sync_every_seconds": 900})
	require.Equal(t, http.StatusOK, code, body)
	code, body = s.call(http.MethodPost, "/api/v1/admin/clients/"+leaves+"/offboard", nil)
	require.Equal(t, http.StatusOK, code, body)
	_, ok = schedule(leaves)
	require.False(t, ok)

	code, body = s.call(http.MethodPost, "/api/v1/kpis/refresh?client_id="+leaves, nil)
	require.Equal(t, http.StatusConflict, code, body)
	require.Equal(t, "client_offboarded", body["error"].(map[string]any)["code"])
	_, ok = schedule(leaves)
	require.False(t, ok, "a refused refresh creates no schedule")

	code, body = s.call(http.MethodGet, "/api/v1/admin/clients?status=offboarded", nil)
	require.Equal(t, http.StatusOK, code, body)
	require.Equal(t, []string{leaves}, clientIDs(body), "the admin list filters by status")

	code, body = s.call(http.MethodPost, "/api/v1/admin/clients/"+leaves+"/reactivate", nil)
	require.Equal(t, http.StatusOK, code, body)
	require.Equal(t, "active", body["status"])
	require.Nil(t, body["offboarded_at"])
	every, ok := schedule(leaves)
	require.True(t, ok, "reactivating brings the schedule back")
	require.Equal(t, 15*time.Minute, every, "with the client's own period")
	code, body = s.call(http.MethodGet, "/api/v1/admin/clients?status=offboarded", nil)
	require.Equal(t, http.StatusOK, code, body)
	require.Empty(t, clientIDs(body))

	for _, action := range []string{"client.offboard", "client.reactivate"} {
		code, body = s.call(http.MethodGet, "/api/v1/admin/audit?action="+action+"&target="+url.QueryEscape("client:"+leaves), nil)
		require.Equal(t, http.StatusOK, code, body)
		require.NotEmpty(t, body["entries"], "%s is audited", action)
	}

	for _, tt := range []struct {
		name, method, path string
		body               any
		code               int
		message            string
	}{
		{"unknown client", http.MethodPost, "/api/v1/admin/clients/offb-nobody/offboard", nil, http.StatusNotFound, "client offb-nobody"},
		{"unknown client back", http.MethodPost, "/api/v1/admin/clients/offb-nobody/reactivate", nil, http.StatusNotFound, "client offb-nobody"},
		{"a body with fields", http.MethodPost, "/api/v1/admin/clients/" + stays + "/offboard", map[string]string{"status": "gone"}, http.StatusBadRequest, `unknown field "status"`},
		{"unknown status filter", http.MethodGet, "/api/v1/admin/clients?status=gone", nil, http.StatusBadRequest, `status "gone" must be active or offboarded`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, body := s.call(tt.method, tt.path, tt.body)
			require.Equal(t, tt.code, code, body)
			require.Contains(t, body["error"].(map[string]any)["message"], tt.message)
		})
	}
	_, ok = schedule(stays)
	require.True(t, ok, "a refused offboard changed nothing")
}

func clientIDs(body map[string]any) []string {
	var ids []string
	for _, c := range body["clients"].([]any) {
		ids = append(ids, c.(map[string]any)["id"].(string))
	}
	return ids
}

// TestReactivatedClientSyncsAtOnce: a client back from offboarding is behind by as long as it was
// away, and its new schedule's first run is a whole period off (a day for a daily client). Until
// then its dashboard says stale, its lag gauge is weeks, and the kpi_sync_stale monitor fires for
// a client an admin just brought back. Its schedule starts a sync as it is created again. A new
// client, which never synced, waits for its schedule as before.
func TestReactivatedClientSyncsAtOnce(t *testing.T) {
	s := newStack(t)
	ctx := t.Context()
	id := "offb-back-" + time.Now().Format("150405.000000")
	code, body := s.call(http.MethodPut, "/api/v1/admin/clients/"+id, map[string]string{"name": id, "default_currency": "usd"})
	require.Equal(t, http.StatusCreated, code, body)
	t.Cleanup(func() {
		_ = s.tc.ScheduleClient().GetHandle(context.Background(), kpisync.ScheduleID(id)).Delete(context.Background())
	})
	lastSync := func() time.Time {
		t.Helper()
		st, err := s.store.KPISyncStatus(ctx, id)
		require.NoError(t, err)
		for _, src := range st {
			if src.Source == kpi.SourceLedger {
				return src.LastSuccess
			}
		}
		return time.Time{}
	}
	require.Zero(t, lastSync(), "a new client waits for its schedule")
	left := time.Now().Add(-30 * 24 * time.Hour)
	require.NoError(t, s.store.MarkKPISynced(ctx, id, kpi.SourceLedger, left))

	code, body = s.call(http.MethodPost, "/api/v1/admin/clients/"+id+"/offboard", nil)
	require.Equal(t, http.StatusOK, code, body)
	back := time.Now()
	code, body = s.call(http.MethodPost, "/api/v1/admin/clients/"+id+"/reactivate", nil)
	require.Equal(t, http.StatusOK, code, body)
	// The schedule's hourly first run is far off: only a sync started on reactivation gets here.
	require.Eventually(t, func() bool { return lastSync().After(back) }, 30*time.Second, 200*time.Millisecond,
		"the reactivated client's KPIs are not synced until its schedule's first period ends")
}
