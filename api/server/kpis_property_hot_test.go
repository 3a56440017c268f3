package server_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"paysplit/activities"
	"paysplit/api/server"
	"paysplit/internal/kpi"
	"paysplit/internal/kpi/ga4"
	"paysplit/internal/kpi/kpisrc"
	"paysplit/internal/kpi/kpitest"
	"paysplit/internal/store"
)

// TestStoredTrafficOfAnotherGA4PropertyIsNotShown: the sync stores the hot window's traffic
// without saying which GA4 property it came from, so after an admin moved a client to another
// property (one set by mistake, another shop's) or removed GA4, the hot days went on showing the
// old property's visitors as `source: postgres` beside the new property's older days, until the
// next sync rewrote them (a period: up to a day for a client synced daily), and for good (until
// they aged out) when GA4 was removed: no sync touches traffic then. A stored day's traffic now
// counts only while it is the current property's.
func TestStoredTrafficOfAnotherGA4PropertyIsNotShown(t *testing.T) {
	g := kpitest.NewGA4(t)
	var f *kpisrc.Factory
	a := newAPI(t, func(d *server.Deps) {
		f = &kpisrc.Factory{Store: d.Store, GA4: ga4.Options{Endpoint: g.URL, WithoutAuthentication: true}}
		d.KPIs = &kpi.Reader{Hot: d.Store, Cold: f.Cold, RetentionDays: 7, StaleAfter: time.Hour}
	})
	today := kpi.DayOf(time.Now())
	// Two hot days and one cold day.
	from, to := today.AddDate(0, 0, -8), today.AddDate(0, 0, -6)
	for _, p := range []struct {
		property string
		visitors int64
	}{{"7101", 11}, {"7102", 22}} {
		for _, d := range kpi.Days(today.AddDate(0, 0, -10), today) {
			g.SetDay(p.property, d, kpi.Traffic{Visitors: p.visitors, Sessions: p.visitors})
		}
	}
	id := a.newClient("ga4-moved-hot")
	_, key := a.newKey(store.RoleClient, id)
	setProperty := func(property string) {
		code, body := a.json(req{method: http.MethodPut, path: "/api/v1/admin/clients/" + id + "/kpi-settings", key: adminKey,
			body: map[string]any{"ga4_property_id": property, "provider_revenue": false}})
		require.Equal(t, http.StatusOK, code, body)
	}
	setProperty("7101")
	// The sync of the hot window, as a scheduled run does it.
	sync := &activities.KPI{Store: a.store, Sources: f}
	for _, src := range []string{kpi.SourceLedger, kpi.SourceGA4} {
		_, err := sync.SyncKPISource(t.Context(), activities.SyncKPISourceInput{ClientID: id, Source: src, Currency: "usd",
			From: kpi.HotStart(time.Now(), 7), To: today, Today: today})
		require.NoError(t, err)
	}
	type dayView struct {
		Visitors   int64
		HasTraffic bool
		Source     string
	}
	days := func() []dayView {
		code, body := a.json(req{method: http.MethodGet, key: key,
			path: fmt.Sprintf("/api/v1/kpis?from=%s&to=%s", from.Format(time.DateOnly), to.Format(time.DateOnly))})
		require.Equal(t, http.StatusOK, code, body)
		var out []dayView
		for _, d := range body["days"].([]any) {
			m := d.(map[string]any)
			out = append(out, dayView{int64(m["visitors"].(float64)), m["has_traffic"].(bool), m["source"].(string)})
		}
		return out
	}
	require.Equal(t, []dayView{{11, true, "ga4"}, {11, true, "postgres"}, {11, true, "postgres"}}, days(), "property 7101, synced")

	setProperty("7102")
	moved := days()
	assert.Equal(t, dayView{22, true, "ga4"}, moved[0], "the cold day is the new property's")
	for i, d := range moved {
		assert.False(t, d.HasTraffic && d.Visitors == 11, "day %d after the move to 7102 shows 7101's visitors: %+v", i, d)
	}
	setProperty("")
	for i, d := range days() {
		// The cold day too: no GA4, no traffic.
		assert.False(t, d.HasTraffic, "day %d after GA4 was removed still has traffic: %+v", i, d)
	}
}
