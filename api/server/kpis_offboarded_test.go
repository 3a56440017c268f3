package server_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paysplit/activities"
	"paysplit/api/server"
	"paysplit/internal/kpi"
	"paysplit/internal/kpi/ga4"
	"paysplit/internal/kpi/kpisrc"
	"paysplit/internal/kpi/kpitest"
	"paysplit/internal/kpi/stripekpi"
	"paysplit/internal/money"
	"paysplit/internal/payment"
	"paysplit/internal/store"
)

// TestOffboardedClientsKPIsEndTheDayItLeft: a shop synced up to Wed 10 June 2026 and offboarded
// that afternoon, read on Wed 17 June. Its history stays readable, the days older than the hot
// window from GA4 and Stripe as for any client, the day it left from Postgres; the days after it
// are a departed shop's: never fetched from its GA4 property nor the providers, answered like days
// to come (source none, not synced, not stale) and left out of the totals. Before, the hot days
// after it, which no sync had stored, were fetched live on every request and shown as its KPIs.
func TestOffboardedClientsKPIsEndTheDayItLeft(t *testing.T) {
	now := time.Date(2026, 6, 17, 10, 0, 0, 0, time.UTC)
	leftAt := time.Date(2026, 6, 10, 15, 0, 0, 0, time.UTC)
	g := kpitest.NewGA4(t)
	sp := kpitest.NewStripe(t)
	a := newAPI(t, func(d *server.Deps) {
		d.Now = func() time.Time { return now }
		d.KPIs = &kpi.Reader{Hot: d.Store, RetentionDays: 7, StaleAfter: 24 * time.Hour, Now: d.Now,
			Cold: func(ctx context.Context, id string) (kpi.Sources, error) {
				src, err := ga4.New(ctx, "77", "", ga4.Options{Endpoint: g.URL, WithoutAuthentication: true})
				if err != nil {
					return kpi.Sources{}, err
				}
				return kpi.Sources{Traffic: src, Revenue: stripekpi.Source{API: activities.NewStripeClient("sk_test_x", sp.URL, nil)}}, nil
			}}
	})
	c := a.newClient("gone")
	_, key := a.newKey(store.RoleClient, c)
	ctx := t.Context()
	_, err := a.store.PutKPISettings(ctx, store.KPISettings{ClientID: c, GA4PropertyID: "77", ProviderRevenue: true})
	require.NoError(t, err)
	first := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	for day := first; !day.After(kpi.DayOf(now)); day = day.AddDate(0, 0, 1) {
		// The property and the providers keep counting after the shop left the agency.
		g.SetDay("77", day, kpi.Traffic{Visitors: 100, NewVisitors: 30, Sessions: 120, BounceRateBps: 4000})
		at := day.Add(9 * time.Hour)
		id := c + "-" + day.Format("0102")
		r := paidRecord(c, id, at, 5000, 0, payment.StatusPaid)
		require.NoError(t, a.store.SavePayment(ctx, r))
		sp.Add(kpitest.Charge{ID: "ch_" + id, PaymentIntent: "pi_" + id, ClientID: c, Currency: "usd", Status: "succeeded",
			Amount: r.Gross, Captured: true, Created: at})
	}
	// Its last sync, the morning it left: the hot window of that day.
	syncedAt := leftAt.Add(-5 * time.Hour)
	k := &activities.KPI{Store: a.store, Sources: &kpisrc.Factory{Store: a.store, GA4: ga4.Options{Endpoint: g.URL, WithoutAuthentication: true}},
		Now: func() time.Time { return syncedAt }}
	for _, src := range []string{kpi.SourceLedger, kpi.SourceGA4} {
		_, err := k.SyncKPISource(ctx, activities.SyncKPISourceInput{ClientID: c, Source: src, Currency: money.USD,
			From: kpi.HotStart(syncedAt, 7), To: kpi.DayOf(syncedAt), Today: kpi.DayOf(syncedAt)})
		require.NoError(t, err)
	}
	_, err = a.store.SetClientStatus(ctx, c, store.ClientOffboarded)
	require.NoError(t, err)
	_, err = a.pool.Exec(ctx, `UPDATE clients SET offboarded_at = $2 WHERE id = $1`, c, leftAt)
	require.NoError(t, err)

	code, body := a.json(req{method: http.MethodGet, path: "/api/v1/kpis?from=2026-06-01&to=2026-06-17", key: key})
	require.Equal(t, http.StatusOK, code, body)
	days := body["days"].([]any)
	require.Len(t, days, 17)
	for _, raw := range days {
		d := raw.(map[string]any)
		day, err := time.Parse(time.DateOnly, d["day"].(string))
		require.NoError(t, err)
		switch {
		case day.After(kpi.DayOf(leftAt)):
			require.Equal(t, "none", d["source"], "%s: after the client left", d["day"])
			require.Equal(t, false, d["synced"], d["day"])
			require.Equal(t, false, d["stale"], d["day"])
		case day.Before(kpi.HotStart(now, 7)):
			require.Equal(t, "ga4+stripe", d["source"], "%s: its history, from the sources", d["day"])
		default:
			require.Equal(t, "postgres", d["source"], "%s: the day it left, as last synced", d["day"])
		}
	}
	totals := body["totals"].(map[string]any)
	require.EqualValues(t, 10, totals["traffic_days"], "1-10 June")
	require.EqualValues(t, 10*100, totals["visitors"])
	require.EqualValues(t, 10, totals["revenue_days"])
}
