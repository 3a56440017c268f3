package server_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"paysplit/api/server"
)

// TestSettingsNeverSavedHaveNoUpdateTime: a client whose dashboard or report settings nobody
// saved is answered the defaults, and their updated_at was Go's zero time,
// "0001-01-01T00:00:00Z", which a client's integration (GET /api/v1/client) or an admin's script
// reads as an update made in year 1. It is null, as every "never" in the API is (the KPIs'
// last_synced_at); once saved it is the time of the save.
func TestSettingsNeverSavedHaveNoUpdateTime(t *testing.T) {
	// Reports off: saving report settings then needs no Temporal for the zone's schedule.
	a := newAPI(t, func(d *server.Deps) { d.ReportsOff = true })
	c := a.newClient("fresh")
	reads := []struct{ name, path, field string }{
		{"client API", "/api/v1/client?client_id=" + c, "settings"},
		{"admin settings", "/api/v1/admin/clients/" + c + "/settings", ""},
		{"admin report settings", "/api/v1/admin/clients/" + c + "/report-settings", ""},
	}
	updatedAt := func(path, field string) any {
		t.Helper()
		code, body := a.json(req{method: http.MethodGet, path: path, key: adminKey})
		require.Equal(t, http.StatusOK, code, body)
		if field != "" {
			body = body[field].(map[string]any)
		}
		v, ok := body["updated_at"]
		require.True(t, ok, "updated_at is always there: %v", body)
		return v
	}
	for _, r := range reads {
		require.Nil(t, updatedAt(r.path, r.field), "%s: never saved, no update time", r.name)
	}

	code, body := a.json(req{method: http.MethodPut, path: "/api/v1/admin/clients/" + c + "/settings", key: adminKey,
		body: map[string]any{"default_period": "7d", "accent_color": "#112233"}})
	require.Equal(t, http.StatusOK, code, body)
	saved := body["updated_at"]
	require.NotNil(t, saved)
	code, body = a.json(req{method: http.MethodPut, path: "/api/v1/admin/clients/" + c + "/report-settings", key: adminKey,
		body: map[string]any{"time_zone": "Asia/Tokyo"}})
	require.Equal(t, http.StatusOK, code, body)
	reportSaved := body["updated_at"]
	require.NotNil(t, reportSaved)
	for i, r := range reads {
		want := saved
		if i == len(reads)-1 {
			want = reportSaved
		}
		require.Equal(t, want, updatedAt(r.path, r.field), "%s: the save's time", r.name)
	}
}
