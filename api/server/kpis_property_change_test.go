package server_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"paysplit/api/server"
	"paysplit/internal/kpi"
	"paysplit/internal/kpi/ga4"
	"paysplit/internal/kpi/kpisrc"
	"paysplit/internal/kpi/kpitest"
	"paysplit/internal/store"
)

// TestKPIsFollowAGA4PropertyChangeOnEveryReplica: the per-day traffic fetched from GA4 and the
// range's distinct visitors were cached by client and source name ("ga4") only, so after an
// admin moved a client to another GA4 property every replica answered the old property's
// numbers until its cache expired (KPI_CACHE_TTL, 5 minutes by default). The caches are now
// keyed by the property too: the replica that saved the change and one that never heard of it
// both answer the new property's numbers at once.
func TestKPIsFollowAGA4PropertyChangeOnEveryReplica(t *testing.T) {
	g := kpitest.NewGA4(t)
	replica := func() *apiEnv {
		return newAPI(t, func(d *server.Deps) {
			f := &kpisrc.Factory{Store: d.Store, GA4: ga4.Options{Endpoint: g.URL, WithoutAuthentication: true}}
			d.KPIs = &kpi.Reader{Hot: d.Store, Cold: f.Cold, RetentionDays: 7, StaleAfter: time.Hour,
				Cache: &kpi.Cache[[]kpi.Day]{TTL: time.Hour}}
			d.Visitors = &kpi.RangeVisitors{Counter: f.VisitorCounter, Cache: &kpi.Cache[kpi.VisitorCount]{TTL: time.Hour}}
		})
	}
	a, b := replica(), replica()
	// Days well before the hot window: they come from GA4, never from Postgres.
	today := kpi.DayOf(time.Now())
	from, to := today.AddDate(0, 0, -30), today.AddDate(0, 0, -28)
	for _, p := range []struct {
		property string
		visitors int64
	}{{"7001", 11}, {"7002", 22}} {
		for _, d := range kpi.Days(from, to) {
			g.SetDay(p.property, d, kpi.Traffic{Visitors: p.visitors, Sessions: p.visitors})
		}
	}
	id := a.newClient("ga4-moved")
	_, key := a.newKey(store.RoleClient, id)
	rng := fmt.Sprintf("from=%s&to=%s", from.Format(time.DateOnly), to.Format(time.DateOnly))
	setProperty := func(property string) {
		code, body := a.json(req{method: http.MethodPut, path: "/api/v1/admin/clients/" + id + "/kpi-settings", key: adminKey,
			body: map[string]any{"ga4_property_id": property, "provider_revenue": false}})
		require.Equal(t, http.StatusOK, code, body)
	}
	// figures is what a replica answers: each day's visitors, and the range's distinct visitors.
	figures := func(r *apiEnv) ([]int64, int64) {
		code, body := r.json(req{method: http.MethodGet, path: "/api/v1/kpis?" + rng, key: key})
		require.Equal(t, http.StatusOK, code, body)
		var days []int64
		for _, d := range body["days"].([]any) {
			days = append(days, int64(d.(map[string]any)["visitors"].(float64)))
		}
		code, body = r.json(req{method: http.MethodGet, path: "/api/v1/kpis/visitors?" + rng, key: key})
		require.Equal(t, http.StatusOK, code, body)
		require.NotNil(t, body["visitors"], body)
		return days, int64(body["visitors"].(float64))
	}

	setProperty("7001")
	for name, r := range map[string]*apiEnv{"saving replica": a, "other replica": b} {
		days, distinct := figures(r)
		require.Equal(t, []int64{11, 11, 11}, days, "%s: property 7001's days", name)
		require.EqualValues(t, 33, distinct, "%s: property 7001's range", name)
	}
	setProperty("7002")
	for name, r := range map[string]*apiEnv{"saving replica": a, "other replica": b} {
		days, distinct := figures(r)
		assert.Equal(t, []int64{22, 22, 22}, days, "%s: the new property's days, not the cached old ones", name)
		assert.EqualValues(t, 66, distinct, "%s: the new property's range, not the cached old one", name)
	}
	// Moving back answers 7001's numbers again (from the cache or GA4, both its own).
	setProperty("7001")
	days, distinct := figures(b)
	require.Equal(t, []int64{11, 11, 11}, days)
	require.EqualValues(t, 33, distinct)
}
