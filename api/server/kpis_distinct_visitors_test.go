package server_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paysplit/api/server"
	"paysplit/internal/kpi"
	"paysplit/internal/kpi/ga4"
	"paysplit/internal/kpi/kpisrc"
	"paysplit/internal/kpi/kpitest"
	"paysplit/internal/report"
	"paysplit/internal/store"
)

// distinctVisitorsAPI is an API whose Visitors counts with GA4 (the fake) through the client's
// KPI settings, cached as api/kpis.go wires it; clients get 100 people who each visit on the
// three days before today (stored by day in Postgres: 300 visitors summed).
type distinctVisitorsAPI struct {
	*apiEnv
	ga4 *kpitest.GA4
}

func newDistinctVisitorsAPI(t *testing.T) *distinctVisitorsAPI {
	t.Helper()
	g := kpitest.NewGA4(t)
	a := newAPI(t, func(d *server.Deps) {
		f := &kpisrc.Factory{Store: d.Store, GA4: ga4.Options{Endpoint: g.URL, WithoutAuthentication: true}}
		d.Visitors = &kpi.RangeVisitors{Counter: f.VisitorCounter, Cache: &kpi.Cache[kpi.VisitorCount]{TTL: time.Hour}}
	})
	return &distinctVisitorsAPI{apiEnv: a, ga4: g}
}

// client creates a client whose visitors came on the three days before today; property is its
// GA4 property ("" for none).
func (a *distinctVisitorsAPI) client(name, property string) (id, key string) {
	t := a.t
	id = a.newClient(name)
	_, key = a.newKey(store.RoleClient, id)
	_, err := a.store.PutKPISettings(t.Context(), store.KPISettings{ClientID: id, GA4PropertyID: property, ProviderRevenue: true})
	require.NoError(t, err)
	today := kpi.DayOf(time.Now())
	for i := 1; i <= 3; i++ {
		day := today.AddDate(0, 0, -i)
		require.NoError(t, a.store.UpsertKPIDay(t.Context(), store.KPIDay{ClientID: id, Day: day, Visitors: 100, Sessions: 100,
			BounceRateBps: 5000, Currency: "usd"}))
		if property != "" {
			for p := range 100 {
				a.ga4.Visit(property, day, fmt.Sprintf("person-%d", p))
			}
		}
	}
	return id, key
}

// TestKPIVisitorsAreTheRangesDistinctVisitors: GET /api/v1/kpis/visitors answers the range's
// distinct visitors, 100 where totals.visitors sums the days to 300, cached (the same range does
// not ask GA4 again). Without GA4 it is null (not_configured); GA4 failing is null too
// (source_error, in the client's words), never an error status, and not cached.
func TestKPIVisitorsAreTheRangesDistinctVisitors(t *testing.T) {
	a := newDistinctVisitorsAPI(t)
	today := kpi.DayOf(time.Now())
	rng := fmt.Sprintf("from=%s&to=%s", today.AddDate(0, 0, -6).Format(time.DateOnly), today.Format(time.DateOnly))
	_, key := a.client("distinct-ga4", "5151")
	code, body := a.json(req{method: http.MethodGet, path: "/api/v1/kpis?" + rng, key: key})
	require.Equal(t, http.StatusOK, code, body)
	require.EqualValues(t, 300, body["totals"].(map[string]any)["visitors"], "the days' visitors summed")

	code, body = a.json(req{method: http.MethodGet, path: "/api/v1/kpis/visitors?" + rng, key: key})
	require.Equal(t, http.StatusOK, code, body)
	require.EqualValues(t, 100, body["visitors"], "each person once: %v", body)
	asked := a.ga4.Reports()
	code, body = a.json(req{method: http.MethodGet, path: "/api/v1/kpis/visitors?" + rng, key: key})
	require.Equal(t, http.StatusOK, code, body)
	require.EqualValues(t, 100, body["visitors"])
	require.Equal(t, asked, a.ga4.Reports(), "the same range is answered from the cache")

	_, noGA4 := a.client("distinct-none", "")
	code, body = a.json(req{method: http.MethodGet, path: "/api/v1/kpis/visitors?" + rng, key: noGA4})
	require.Equal(t, http.StatusOK, code, body)
	require.Nil(t, body["visitors"])
	require.Equal(t, "not_configured", body["reason"])

	a.ga4.Fail(http.StatusServiceUnavailable)
	other := fmt.Sprintf("from=%s&to=%s", today.AddDate(0, 0, -3).Format(time.DateOnly), today.Format(time.DateOnly))
	code, body = a.json(req{method: http.MethodGet, path: "/api/v1/kpis/visitors?" + other, key: key})
	require.Equal(t, http.StatusOK, code, body)
	require.Nil(t, body["visitors"])
	require.Equal(t, "source_error", body["reason"])
	require.Equal(t, "the ga4 source could not be read; the agency's admins can see why", body["message"])
	a.ga4.Fail(0)
	code, body = a.json(req{method: http.MethodGet, path: "/api/v1/kpis/visitors?" + other, key: key})
	require.Equal(t, http.StatusOK, code, body)
	require.EqualValues(t, 100, body["visitors"], "a failure is not cached")
}

// TestDashboardVisitorsTileShowsDistinctVisitors: the dashboard's visitors tile shows the range's
// distinct visitors, "Visitors 100", once GA4's count arrives; the page does not wait for it. With
// GA4 failing, or without GA4, the page loads all the same and the tile stays the days' visitors
// summed, labelled so ("Sum of daily visitors 300"), as before.
func TestDashboardVisitorsTileShowsDistinctVisitors(t *testing.T) {
	a := newDistinctVisitorsAPI(t)
	withGA4, key := a.client("tile-distinct", "6161")
	down, downKey := a.client("tile-ga4-down", "6262")
	none, noneKey := a.client("tile-no-ga4", "")
	label := `document.getElementById('tile-visitors').previousElementSibling.textContent`
	for _, tt := range []struct {
		client, key  string
		fail         int
		shows, label string
		value        string
	}{
		{withGA4, key, 0, "distinct", "Visitors", "100"},
		{down, downKey, http.StatusServiceUnavailable, "sum", report.VisitorsLabel, "300"},
		{none, noneKey, 0, "sum", report.VisitorsLabel, "300"},
	} {
		t.Run(tt.client, func(t *testing.T) {
			a.ga4.Fail(tt.fail)
			b := newBrowser(t)
			b.login(a.url+"/", tt.key)
			b.waitLoaded(tt.client)
			b.waitFor(`document.body.dataset.visitors !== undefined`)
			require.Equal(t, tt.shows, eval[string](b, `document.body.dataset.visitors`))
			require.Equal(t, tt.label, eval[string](b, label))
			require.Equal(t, tt.value, b.tiles()["tile-visitors"])
			b.noPageErrors()
		})
	}
}
