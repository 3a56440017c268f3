package server_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"paysplit/api/server"
)

// TestKPISettingsNewGA4PropertySyncsAtOnce: the hot days keep traffic only while it is the
// current GA4 property's (store.KPIHotDays), so a client moved to another property had no
// traffic on its hot days (has_traffic false) until the next scheduled sync, up to a day later.
// Saving a new property now starts a sync (the on-demand refresh); saving the same property,
// other settings, or removing GA4 (nothing to fetch) does not, and a refresh that cannot start
// does not fail the saved change.
func TestKPISettingsNewGA4PropertySyncsAtOnce(t *testing.T) {
	var refreshed []string
	refreshErr := error(nil)
	a := newAPI(t, func(d *server.Deps) {
		d.KPIRefresh = func(_ context.Context, id string) error { refreshed = append(refreshed, id); return refreshErr }
	})
	id := a.newClient("kpi-prop-sync")
	put := func(body map[string]any) {
		t.Helper()
		code, resp := a.json(req{method: http.MethodPut, path: "/api/v1/admin/clients/" + id + "/kpi-settings", key: adminKey, body: body})
		require.Equal(t, http.StatusOK, code, resp)
	}
	put(map[string]any{"ga4_property_id": "", "sync_every_seconds": 300})
	require.Empty(t, refreshed, "no property: nothing to fetch")
	put(map[string]any{"ga4_property_id": "7101"})
	require.Equal(t, []string{id}, refreshed, "a first property syncs at once")
	put(map[string]any{"ga4_property_id": "7101", "sync_every_seconds": 600})
	require.Equal(t, []string{id}, refreshed, "the same property: no sync")
	refreshErr = errors.New("temporal down")
	put(map[string]any{"ga4_property_id": "7102"})
	require.Equal(t, []string{id, id}, refreshed, "another property syncs at once")
	put(map[string]any{"ga4_property_id": ""})
	require.Equal(t, []string{id, id}, refreshed, "GA4 removed: nothing to fetch")
}
