package server_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paysplit/api/server"
	"paysplit/internal/store"
)

// TestKPISettingsAPI: admins set where a client's KPIs come from (credentials by reference only);
// every saved change, and every client creation, reaches the schedule hook; a hook failure
// does not undo or fail the change.
func TestKPISettingsAPI(t *testing.T) {
	var changed []string
	hookErr := error(nil)
	a := newAPI(t, func(d *server.Deps) {
		d.OnClientChanged = func(_ context.Context, id string) error { changed = append(changed, id); return hookErr }
	})
	code, body := a.json(req{method: http.MethodPut, path: "/api/v1/admin/clients/kpiset", key: adminKey,
		body: map[string]string{"name": "KPI Set", "default_currency": "eur"}})
	require.Equal(t, http.StatusCreated, code, body)
	require.Equal(t, []string{"kpiset"}, changed, "creating a client creates its schedule")

	code, body = a.json(req{method: http.MethodGet, path: "/api/v1/admin/clients/kpiset/kpi-settings", key: adminKey})
	require.Equal(t, http.StatusOK, code, body)
	require.Equal(t, "", body["ga4_property_id"])
	require.Equal(t, true, body["provider_revenue"])

	hookErr = errors.New("temporal down")
	code, body = a.json(req{method: http.MethodPut, path: "/api/v1/admin/clients/kpiset/kpi-settings", key: adminKey,
		body: map[string]any{"ga4_property_id": "31415", "ga4_credentials_ref": "env:GA4_KEY_KPISET", "sync_every_seconds": 300}})
	require.Equal(t, http.StatusOK, code, "the change stands when the hook fails: %v", body)
	require.Equal(t, "31415", body["ga4_property_id"])
	require.EqualValues(t, 300, body["sync_every_seconds"])
	require.Equal(t, []string{"kpiset", "kpiset"}, changed)
	saved, err := a.store.GetKPISettings(t.Context(), "kpiset")
	require.NoError(t, err)
	require.Equal(t, "env:GA4_KEY_KPISET", saved.GA4CredentialsRef)

	for _, tt := range []struct {
		name   string
		path   string
		body   any
		status int
		code   string
	}{
		{"pasted key instead of a reference", "kpiset", map[string]any{"ga4_property_id": "1", "ga4_credentials_ref": `{"type":"service_account"}`}, 400, "invalid_request"},
		{"measurement ID instead of property ID", "kpiset", map[string]any{"ga4_property_id": "G-XYZ"}, 400, "invalid_request"},
		{"period too short", "kpiset", map[string]any{"sync_every_seconds": 5}, 400, "invalid_request"},
		{"period over a day", "kpiset", map[string]any{"sync_every_seconds": 86401}, 400, "invalid_request"},
		{"negative period", "kpiset", map[string]any{"sync_every_seconds": -3600}, 400, "invalid_request"},
		{"period that wraps to an hour as a Duration", "kpiset", map[string]any{"sync_every_seconds": int64(1<<55 + 3600)}, 400, "invalid_request"},
		{"period that wraps to a minute as a Duration", "kpiset", map[string]any{"sync_every_seconds": int64(1<<55 + 60)}, 400, "invalid_request"},
		{"unknown field", "kpiset", map[string]any{"ga4_property": "1"}, 400, "invalid_json"},
		{"unknown client", "ghost", map[string]any{}, 404, "not_found"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, body := a.json(req{method: http.MethodPut, path: "/api/v1/admin/clients/" + tt.path + "/kpi-settings", key: adminKey, body: tt.body})
			require.Equal(t, tt.status, code, body)
			require.Equal(t, tt.code, body["error"].(map[string]any)["code"])
			require.NotContains(t, body["error"].(map[string]any)["message"], "service_account", "errors never echo what could be a key")
		})
	}
	require.Len(t, changed, 2, "refused changes do not reach the hook")
	saved, err = a.store.GetKPISettings(t.Context(), "kpiset")
	require.NoError(t, err)
	require.Equal(t, 300*time.Second, saved.SyncEvery, "refused changes leave the period as it was")

	_, clientKey := a.newKey(store.RoleClient, "kpiset")
	code, _ = a.json(req{method: http.MethodGet, path: "/api/v1/admin/clients/kpiset/kpi-settings", key: clientKey})
	require.Equal(t, http.StatusForbidden, code, "a client cannot read its source settings")
}
