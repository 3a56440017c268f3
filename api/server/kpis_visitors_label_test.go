package server_test

import (
	"net/http"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paysplit/api/server"
	"paysplit/internal/store"
)

// TestVisitorsTotalIsLabelledASumOfDays: the same 100 people visit the shop on each of three days.
// GA4 counts them once a day (totalUsers by date), so the range's total is 300, which GA4 would
// never call the range's users (it would answer 100 for the three days asked as one range).
// Postgres keeps only days, and distinct users do not add up across days, so the total can only
// be the sum: the dashboard's tile and the API's description must say so rather than present
// 300 as the period's visitors.
func TestVisitorsTotalIsLabelledASumOfDays(t *testing.T) {
	now := fixedNow
	a := newAPI(t, func(d *server.Deps) { d.Now = func() time.Time { return now } })
	c := a.newClient("visitors-sum")
	_, key := a.newKey(store.RoleClient, c)
	for i := range 3 {
		require.NoError(t, a.store.UpsertKPIDay(t.Context(), store.KPIDay{ClientID: c, Day: now.AddDate(0, 0, -i),
			Visitors: 100, NewVisitors: 0, Sessions: 100, BounceRateBps: 5000, Currency: "usd"}))
	}
	code, body := a.json(req{method: http.MethodGet, path: "/api/v1/kpis?from=2026-06-13&to=2026-06-15", key: key})
	require.Equal(t, http.StatusOK, code, body)
	require.EqualValues(t, 300, body["totals"].(map[string]any)["visitors"], "the days' visitors summed")

	res, page := a.send(req{method: http.MethodGet, path: "/"})
	require.Equal(t, http.StatusOK, res.StatusCode)
	label := regexp.MustCompile(`<span class="label">([^<]*)</span><span class="value" id="tile-visitors">`).FindSubmatch(page)
	require.NotNil(t, label, "the visitors tile")
	require.Equal(t, "Sum of daily visitors", string(label[1]), "the tile shows the days' visitors added up")

	res, spec := a.send(req{method: http.MethodGet, path: "/api/v1/openapi.json"})
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Contains(t, string(spec), "sum of the traffic days' visitors", "totals.visitors is described as what it is")
}
