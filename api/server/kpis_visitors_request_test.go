package server_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paysplit/internal/kpi"
	"paysplit/internal/store"
)

// TestKPIVisitorsRequestsAsKPIs: GET /api/v1/kpis/visitors takes the requests GET /api/v1/kpis
// takes and refuses the ones it refuses (the same scope and range), so a client key never reads
// another client's count and GA4 is never asked for a range the dashboard's figures could not
// have; and a GA4 property nobody visited in the range answers 0 (GA4 sends no row), not null.
func TestKPIVisitorsRequestsAsKPIs(t *testing.T) {
	a := newDistinctVisitorsAPI(t)
	today := kpi.DayOf(time.Now())
	day := func(n int) string { return today.AddDate(0, 0, n).Format(time.DateOnly) }
	id, key := a.client("visitors-req", "8181")
	other, _ := a.client("visitors-other", "8282")
	quiet := a.newClient("visitors-quiet")
	_, quietKey := a.newKey(store.RoleClient, quiet)
	_, err := a.store.PutKPISettings(t.Context(), store.KPISettings{ClientID: quiet, GA4PropertyID: "8383", ProviderRevenue: true})
	require.NoError(t, err)
	for _, tt := range []struct {
		name, key, query string
		code             int
		errCode          string
	}{
		{"unknown parameter", key, "from=" + day(-6) + "&color=red", http.StatusBadRequest, "unknown_parameter"},
		{"a parameter twice", key, "from=" + day(-6) + "&from=" + day(-5), http.StatusBadRequest, "invalid_query"},
		{"from after to", key, "from=" + day(-1) + "&to=" + day(-2), http.StatusBadRequest, "invalid_request"},
		{"a range too long", key, "from=" + day(-400) + "&to=" + day(0), http.StatusBadRequest, "invalid_request"},
		{"not a day", key, "from=2026-13-01", http.StatusBadRequest, "invalid_request"},
		{"year 10000", key, "from=9999-12-30", http.StatusBadRequest, "invalid_request"},
		{"another client's count", key, "client_id=" + other, http.StatusForbidden, "forbidden"},
		{"its own client_id", key, "client_id=" + id, http.StatusOK, ""},
		{"an admin without client_id", adminKey, "", http.StatusBadRequest, "invalid_request"},
		{"an admin naming no client", adminKey, "client_id=nobody-here", http.StatusNotFound, "not_found"},
		{"an admin naming a client", adminKey, "client_id=" + other, http.StatusOK, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for _, path := range []string{"/api/v1/kpis", "/api/v1/kpis/visitors"} {
				code, body := a.json(req{method: http.MethodGet, path: path + "?" + tt.query, key: tt.key})
				require.Equal(t, tt.code, code, "%s: %v", path, body)
				require.Equal(t, tt.errCode, errCode(body), "%s: %v", path, body)
			}
		})
	}
	code, body := a.json(req{method: http.MethodGet, path: fmt.Sprintf("/api/v1/kpis/visitors?from=%s&to=%s", day(-6), day(0)), key: quietKey})
	require.Equal(t, http.StatusOK, code, body)
	require.EqualValues(t, 0, body["visitors"], "nobody visited: %v", body)
	require.NotContains(t, body, "reason")
}
