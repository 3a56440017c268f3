package server_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paysplit/api/server"
	"paysplit/internal/kpi"
	"paysplit/internal/kpi/ga4"
	"paysplit/internal/kpi/kpisrc"
	"paysplit/internal/kpi/kpitest"
	"paysplit/internal/store"
)

// TestKPIsNoteGA4Thresholding: GA4 answers a property's reports subject to thresholding when it
// may have withheld rows with low user counts; the KPI answer showed the figures as complete.
// Days GA4 thresholded are now `thresholded`, and the answer's notes say "GA4 applied
// thresholding", whether the days were fetched from GA4 (older than the hot window) or stored by the
// sync (the hot window, read from Postgres); a property GA4 did not threshold has no such note.
func TestKPIsNoteGA4Thresholding(t *testing.T) {
	g := kpitest.NewGA4(t)
	var factory *kpisrc.Factory
	a := newAPI(t, func(d *server.Deps) {
		factory = &kpisrc.Factory{Store: d.Store, GA4: ga4.Options{Endpoint: g.URL, WithoutAuthentication: true}}
		d.KPIs = &kpi.Reader{Hot: d.Store, Cold: factory.Cold, RetentionDays: 7, StaleAfter: time.Hour}
		d.Visitors = &kpi.RangeVisitors{Counter: factory.VisitorCounter}
	})
	today := kpi.DayOf(time.Now())
	for _, tt := range []struct {
		name, property string
		thresholded    bool
		from, to       time.Time
		stored         bool // the sync stored the days (the hot window); else fetched from GA4
	}{
		{"fetched, thresholded", "8101", true, today.AddDate(0, 0, -30), today.AddDate(0, 0, -28), false},
		{"stored, thresholded", "8102", true, today.AddDate(0, 0, -3), today.AddDate(0, 0, -1), true},
		{"fetched, whole", "8103", false, today.AddDate(0, 0, -30), today.AddDate(0, 0, -28), false},
		{"stored, whole", "8104", false, today.AddDate(0, 0, -3), today.AddDate(0, 0, -1), true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			id := a.newClient("ga4-threshold")
			_, key := a.newKey(store.RoleClient, id)
			code, body := a.json(req{method: http.MethodPut, path: "/api/v1/admin/clients/" + id + "/kpi-settings", key: adminKey,
				body: map[string]any{"ga4_property_id": tt.property, "provider_revenue": false}})
			require.Equal(t, http.StatusOK, code, body)
			for _, d := range kpi.Days(tt.from, tt.to) {
				g.SetDay(tt.property, d, kpi.Traffic{Visitors: 9, Sessions: 9})
			}
			g.Threshold(tt.property, tt.thresholded)
			if tt.stored {
				src, err := factory.Traffic(t.Context(), id) // what the sync does (activities.KPI.syncGA4)
				require.NoError(t, err)
				days, err := src.TrafficDays(t.Context(), tt.from, tt.to)
				require.NoError(t, err)
				require.NoError(t, a.store.UpsertKPITraffic(t.Context(), id, src.Name(), days))
				g.Threshold(tt.property, false) // the answer is the stored days', as synced
			}

			rng := fmt.Sprintf("from=%s&to=%s", tt.from.Format(time.DateOnly), tt.to.Format(time.DateOnly))
			code, body = a.json(req{method: http.MethodGet, key: key, path: "/api/v1/kpis?" + rng})
			require.Equal(t, http.StatusOK, code, body)
			for _, d := range body["days"].([]any) {
				day := d.(map[string]any)
				require.Equal(t, true, day["has_traffic"], day)
				require.Equal(t, tt.thresholded, day["thresholded"], day)
				if tt.stored {
					require.Equal(t, kpi.SourcePostgres, day["source"], day)
				}
			}
			var want []any
			if tt.thresholded {
				want = []any{"GA4 applied thresholding, which may withhold low counts: visitor figures may be lower than the real ones."}
			}
			require.ElementsMatch(t, want, body["notes"])
			require.NotNil(t, body["notes"], "an empty list when there is nothing to say")

			// The range's distinct visitors are GA4's answer now: thresholded as GA4 says today.
			code, body = a.json(req{method: http.MethodGet, key: key, path: "/api/v1/kpis/visitors?" + rng})
			require.Equal(t, http.StatusOK, code, body)
			require.NotNil(t, body["visitors"], body)
			if tt.stored {
				want = nil // the fake stopped thresholding after the sync
			}
			require.ElementsMatch(t, want, body["notes"])
			require.NotNil(t, body["notes"])
		})
	}
}

// TestDashboardNotesGA4Thresholding: the dashboard says "GA4 applied thresholding" above the
// figures, once, when the stored days and the range's distinct visitors were thresholded; a
// client whose property GA4 did not threshold sees no such note.
func TestDashboardNotesGA4Thresholding(t *testing.T) {
	a := newDistinctVisitorsAPI(t)
	for _, tt := range []struct {
		name, property string
		thresholded    bool
	}{{"dash-thresholded", "6363", true}, {"dash-whole", "6464", false}} {
		t.Run(tt.name, func(t *testing.T) {
			id, key := a.client(tt.name, tt.property)
			a.ga4.Threshold(tt.property, tt.thresholded)
			today := kpi.DayOf(time.Now())
			var days []kpi.TrafficDay
			for i := 1; i <= 3; i++ {
				days = append(days, kpi.TrafficDay{Day: today.AddDate(0, 0, -i), Traffic: kpi.Traffic{Visitors: 100, Sessions: 100, Thresholded: tt.thresholded}})
			}
			require.NoError(t, a.store.UpsertKPITraffic(t.Context(), id, kpi.SourceGA4, days))

			b := newBrowser(t)
			b.login(a.url+"/", key)
			b.waitLoaded(id)
			b.waitFor(`document.body.dataset.visitors !== undefined`)
			require.Equal(t, "distinct", eval[string](b, `document.body.dataset.visitors`))
			notice := eval[string](b, `document.getElementById('notice').textContent`)
			want := 0
			if tt.thresholded {
				want = 1
			}
			require.Equal(t, want, strings.Count(notice, kpi.ThresholdedNote), "notice: %q", notice)
			b.noPageErrors()
		})
	}
}
