package server_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"paysplit/activities"
	"paysplit/api/server"
	"paysplit/internal/kpi"
	"paysplit/internal/kpi/ga4"
	"paysplit/internal/kpi/kpisrc"
	"paysplit/internal/kpi/kpitest"
	"paysplit/internal/kpi/stripekpi"
	"paysplit/internal/money"
	"paysplit/internal/payment"
	"paysplit/internal/report"
	"paysplit/internal/store"
)

// TestWeekFiguresAgreeAcrossTheHotEdge: 2026-W24 (8-14 June) read on Wed 17 June, so 8-9 June
// are older than the hot window (GA4 and Stripe fakes) and 10-14 June come from Postgres (synced
// from the same GA4 fake and our payments). The client API's totals over the week and the
// weekly report's figures (regenerated the same moment) must agree: visitors, new visitors,
// bounce rate weighted by sessions, storefront revenue.
func TestWeekFiguresAgreeAcrossTheHotEdge(t *testing.T) {
	now := time.Date(2026, 6, 17, 10, 0, 0, 0, time.UTC)
	g := kpitest.NewGA4(t)
	sp := kpitest.NewStripe(t)
	var reader *kpi.Reader
	a := newAPI(t, func(d *server.Deps) {
		d.Now = func() time.Time { return now }
		reader = &kpi.Reader{Hot: d.Store, RetentionDays: 7, StaleAfter: 24 * time.Hour, Now: d.Now,
			Cold: func(ctx context.Context, id string) (kpi.Sources, error) {
				src, err := ga4.New(ctx, "88", "", ga4.Options{Endpoint: g.URL, WithoutAuthentication: true})
				if err != nil {
					return kpi.Sources{}, err
				}
				return kpi.Sources{Traffic: src, Revenue: stripekpi.Source{API: activities.NewStripeClient("sk_test_x", sp.URL, nil)}}, nil
			}}
		d.KPIs = reader
	})
	c := a.newClient("edge")
	_, key := a.newKey(store.RoleClient, c)
	ctx := t.Context()
	_, err := a.store.PutKPISettings(ctx, store.KPISettings{ClientID: c, GA4PropertyID: "88", ProviderRevenue: true})
	require.NoError(t, err)
	monday := time.Date(2026, 6, 8, 0, 0, 0, 0, time.UTC)
	for i := range 10 {
		day := monday.AddDate(0, 0, i)
		g.SetDay("88", day, kpi.Traffic{Visitors: int64(100 + 37*i), NewVisitors: int64(20 + 11*i), Sessions: int64(50 + 90*i), BounceRateBps: int32(1000 + 733*i)})
		at := day.Add(time.Duration(9+i) * time.Hour)
		id := c + "-" + day.Format("0102")
		r := paidRecord(c, id, at, int64(1000+123*i), int64(100*(i%3)), payment.StatusPaid)
		require.NoError(t, a.store.SavePayment(ctx, r))
		sp.Add(kpitest.Charge{ID: "ch_" + id, PaymentIntent: "pi_" + id, ClientID: c, Currency: "usd", Status: "succeeded",
			Amount: r.Gross, AmountRefunded: r.Refunded, Captured: true, Created: at})
	}
	k := &activities.KPI{Store: a.store, Sources: &kpisrc.Factory{Store: a.store, GA4: ga4.Options{Endpoint: g.URL, WithoutAuthentication: true}},
		Now: func() time.Time { return now }}
	for _, src := range []string{kpi.SourceLedger, kpi.SourceGA4} {
		_, err := k.SyncKPISource(ctx, activities.SyncKPISourceInput{ClientID: c, Source: src, Currency: money.USD,
			From: kpi.HotStart(now, 7), To: kpi.DayOf(now), Today: kpi.DayOf(now)})
		require.NoError(t, err)
	}

	code, body := a.json(req{method: http.MethodGet, path: "/api/v1/kpis?from=2026-06-08&to=2026-06-14", key: key})
	require.Equal(t, http.StatusOK, code, body)
	days := body["days"].([]any)
	require.Equal(t, "ga4+stripe", days[0].(map[string]any)["source"])
	require.Equal(t, "postgres", days[2].(map[string]any)["source"])
	totals := body["totals"].(map[string]any)

	rep := &activities.Reports{Store: a.store, Now: func() time.Time { return now }, KPIs: reader}
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestActivityEnvironment()
	env.RegisterActivity(rep)
	_, err = env.ExecuteActivity(rep.GenerateReport, activities.GenerateReportInput{ClientID: c, Week: "2026-W24", Force: true})
	require.NoError(t, err)
	d, err := a.store.GetReportDelivery(ctx, c, "2026-W24")
	require.NoError(t, err)
	sum := report.Sum(d.Data.Days)
	require.Equal(t, 7, sum.TrafficDays)
	require.EqualValues(t, sum.Visitors, totals["visitors"])
	require.EqualValues(t, sum.NewVisitors, totals["new_visitors"])
	require.EqualValues(t, sum.BounceRateBps, totals["bounce_rate_bps"])
	require.Equal(t, []any{map[string]any{"currency": "usd", "amount": float64(sum.Revenue)}}, totals["revenue"])
	// Weighted by sessions, not a mean of the days' rates.
	var weighted, sessions, plain int64
	for i := range 7 {
		weighted += int64(1000+733*i) * int64(50+90*i)
		sessions += int64(50 + 90*i)
		plain += int64(1000 + 733*i)
	}
	require.EqualValues(t, (weighted+sessions/2)/sessions, sum.BounceRateBps)
	require.NotEqual(t, (plain+3)/7, sum.BounceRateBps)
}
