package server_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"paysplit/api/server"
)

// TestSettingsNeverSavedHaveNoUpdateTime: a client whose dashboard, report or KPI settings nobody
// saved is answered the defaults, and their updated_at was Go's zero time,
// "0001-01-01T00:00:00Z", which a client's integration (GET /api/v1/client) or an admin's script
// reads as an update made in year 1. It is null, as every "never" in the API is (the KPIs'
// last_synced_at); once saved it is the time of the save.
func TestSettingsNeverSavedHaveNoUpdateTime(t *testing.T) {
	// Reports off: saving report settings then needs no Temporal for the zone's schedule.
	a := newAPI(t, func(d *server.Deps) { d.ReportsOff = true })
	c := a.newClient("fresh")
	// Each read, and the save that gives it an update time (the client API shows the dashboard
	// settings).
	reads := []struct {
		name, path, field, save string
		body                    map[string]any
	}{
		{"client API", "/api/v1/client?client_id=" + c, "settings", "/settings", map[string]any{"default_period": "7d", "accent_color": "#112233"}},
		{"admin settings", "/api/v1/admin/clients/" + c + "/settings", "", "/settings", map[string]any{"default_period": "7d", "accent_color": "#112233"}},
		{"admin report settings", "/api/v1/admin/clients/" + c + "/report-settings", "", "/report-settings", map[string]any{"time_zone": "Asia/Tokyo"}},
		{"admin KPI settings", "/api/v1/admin/clients/" + c + "/kpi-settings", "", "/kpi-settings", map[string]any{"provider_revenue": true}},
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

	for _, r := range reads {
		code, body := a.json(req{method: http.MethodPut, path: "/api/v1/admin/clients/" + c + r.save, key: adminKey, body: r.body})
		require.Equal(t, http.StatusOK, code, body)
		saved := body["updated_at"]
		require.NotNil(t, saved, r.name)
		require.Equal(t, saved, updatedAt(r.path, r.field), "%s: the save's time", r.name)
	}
}
