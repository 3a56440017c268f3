package kpisync_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"paysplit/activities"
	"paysplit/api/server"
	"paysplit/internal/kpi"
	"paysplit/internal/kpi/ga4"
	"paysplit/internal/kpi/kpisrc"
	"paysplit/internal/kpi/kpitest"
	"paysplit/internal/ledger"
	"paysplit/internal/money"
	"paysplit/internal/payment"
	"paysplit/internal/split"
	"paysplit/internal/store"
	"paysplit/testenv"
	"paysplit/workflows/kpisync"
)

func TestMain(m *testing.M) { testenv.Main(m) }

const adminKey = "kpi-admin-key"

// stack is the real thing on local servers: Postgres, the Temporal dev server with a worker,
// the API over HTTP, and GA4, Stripe and PayPal servers speaking their wire formats to the real
// clients.
type stack struct {
	t       *testing.T
	store   *store.Store
	tc      client.Client
	sched   *kpisync.Scheduler
	reader  *kpi.Reader
	ga4     *kpitest.GA4
	stripe  *kpitest.Stripe
	paypal  *testenv.PayPal
	api     string
	counter int
}

func newStack(t *testing.T) *stack {
	pool, _ := testenv.Postgres(t)
	tc := testenv.TemporalClient(t)
	st := store.New(pool)
	g, sp, pp := kpitest.NewGA4(t), kpitest.NewStripe(t), testenv.NewPayPal(t)
	keyJSON := string(g.ServiceAccountJSON(t))
	paypalClient, err := activities.NewPayPalClient("kpi-paypal", "kpi-paypal-secret", pp.APIBase, pp.HTTPClient())
	require.NoError(t, err)
	sources := &kpisrc.Factory{
		Store: st, Stripe: activities.NewStripeClient("sk_test_kpi", sp.URL, nil), PayPal: paypalClient,
		GA4: ga4.Options{Endpoint: g.URL, Getenv: func(k string) string {
			if k == "GA4_KEY_NORTHWIND" {
				return keyJSON
			}
			return ""
		}},
	}
	queue := "kpi-" + t.Name()
	w := worker.New(tc, queue, testenv.WorkerOptions())
	kpisync.Register(w)
	w.RegisterActivity(&activities.KPI{Store: st, Sources: sources})
	require.NoError(t, w.Start())
	t.Cleanup(w.Stop)

	s := &stack{t: t, store: st, tc: tc, ga4: g, stripe: sp, paypal: pp}
	// Hourly, so the schedules do not fire by themselves during the test; the test triggers them.
	s.sched = &kpisync.Scheduler{Client: tc, TaskQueue: queue, Every: time.Hour, HotDays: 7, Settings: st}
	s.reader = &kpi.Reader{Hot: st, Cold: sources.Cold, RetentionDays: 7, StaleAfter: time.Hour, SyncEvery: time.Hour,
		Cache: &kpi.Cache[[]kpi.Day]{TTL: time.Minute, Max: 100}}
	srv := server.New(server.Deps{
		Pool: pool, Store: st, Ledger: ledger.New(pool), Temporal: tc, TaskQueue: queue, AdminAPIKey: adminKey,
		StripeWebhookSecret: "whsec_kpi", TemporalUIURL: "http://127.0.0.1:8233", Namespace: "default",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), RateLimit: 1000, RateBurst: 1000,
		KPIs: s.reader, KPIRefresh: s.sched.Refresh, OnClientChanged: s.sched.EnsureClient,
	})
	ts := httptest.NewServer(srv)
	t.Cleanup(func() { ts.Close(); _ = srv.Close() })
	s.api = ts.URL
	return s
}

func (s *stack) call(method, path string, body any) (int, map[string]any) {
	s.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(s.t, err)
		rd = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(s.t.Context(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, s.api+path, rd)
	require.NoError(s.t, err)
	req.Header.Set("Authorization", "Bearer "+adminKey)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	require.NoError(s.t, err)
	defer res.Body.Close()
	var out map[string]any
	raw, err := io.ReadAll(res.Body)
	require.NoError(s.t, err)
	if len(raw) > 0 {
		require.NoError(s.t, json.Unmarshal(raw, &out), string(raw))
	}
	return res.StatusCode, out
}

// pay stores a captured payment (platform 10%) as the payment workflow would.
func (s *stack) pay(clientID string, at time.Time, gross, refunded int64) {
	s.t.Helper()
	s.counter++
	id := clientID + "-pi-" + time.Now().Format("150405.000000") + "-" + string(rune('a'+s.counter%26))
	platform := gross / 10
	rec := payment.Record{
		WorkflowID: "payment-stripe-" + id, Provider: "stripe", PaymentID: id, Currency: money.USD, Gross: gross, Refunded: refunded,
		Status: payment.StatusPaid, CapturedAt: at, RuleVersion: 1,
		Order: payment.Order{ClientID: clientID, OrderID: "o-" + id, VendorID: clientID + "-vendor", Subtotal: gross},
		Legs: []payment.Leg{
			{Party: split.PartyPlatform, Amount: platform, Refunded: refunded / 10, State: payment.LegRetained},
			{Party: split.PartyVendor, PayeeID: clientID + "-vendor", Amount: gross - platform, Refunded: refunded - refunded/10, State: payment.LegTransferred},
		},
	}
	require.NoError(s.t, s.store.SavePayment(s.t.Context(), rec))
}

// TestKPISyncEndToEnd: creating clients through the admin API gives each its schedule;
// triggering it (POST /api/v1/kpis/refresh) stores the hot window; a 30-day request is 8 days
// (today and the 7 before) from Postgres and 22 fetched from GA4, Stripe and PayPal (the providers' revenue summed per
// day); a source that goes down leaves its numbers in
// place and marks the client stale; retention deletes the day 8 days ago and keeps the one 7 days ago, and the books.
func TestKPISyncEndToEnd(t *testing.T) {
	s := newStack(t)
	ctx := t.Context()
	today := kpi.DayOf(time.Now())
	dayAgo := func(n int) time.Time { return today.AddDate(0, 0, -n) }

	// Clients through the admin API: each gets a schedule.
	for _, id := range []string{"northwind", "contoso"} {
		code, body := s.call(http.MethodPut, "/api/v1/admin/clients/"+id, map[string]string{"name": id, "default_currency": "usd"})
		require.Equal(t, http.StatusCreated, code, body)
		t.Cleanup(func() {
			_ = s.tc.ScheduleClient().GetHandle(context.Background(), kpisync.ScheduleID(id)).Delete(context.Background())
		})
	}
	code, body := s.call(http.MethodPut, "/api/v1/admin/clients/northwind/kpi-settings",
		map[string]any{"ga4_property_id": "4242", "ga4_credentials_ref": "env:GA4_KEY_NORTHWIND", "sync_every_seconds": 1800})
	require.Equal(t, http.StatusOK, code, body)
	code, body = s.call(http.MethodPut, "/api/v1/admin/clients/northwind/kpi-settings", map[string]any{"ga4_credentials_ref": `{"private_key":"x"}`})
	require.Equal(t, http.StatusBadRequest, code, "a pasted key is refused: %v", body)
	for id, every := range map[string]time.Duration{"northwind": 30 * time.Minute, "contoso": time.Hour} {
		desc, err := s.tc.ScheduleClient().GetHandle(ctx, kpisync.ScheduleID(id)).Describe(ctx)
		require.NoError(t, err, "schedule of %s", id)
		require.Equal(t, every, desc.Schedule.Spec.Intervals[0].Every, "settings change updated the schedule of %s", id)
		require.EqualValues(t, 1, desc.Schedule.Policy.Overlap, "overlap skip")
	}

	// What the sources know: GA4 traffic, Stripe charges and PayPal captures (refunded in part the
	// next day) for 30 days, our payments for the hot window.
	for n := range 30 {
		s.ga4.SetDay("4242", dayAgo(n), kpi.Traffic{Visitors: int64(100 + n), NewVisitors: 10, Sessions: int64(200 + n), BounceRateBps: 4000})
		for _, c := range []string{"northwind", "contoso"} {
			s.stripe.Add(kpitest.Charge{ID: "ch_" + c + "_" + dayAgo(n).Format("20060102"), PaymentIntent: "pi_" + c + dayAgo(n).Format("0102"),
				ClientID: c, Currency: "usd", Status: "succeeded", Amount: 5000, AmountRefunded: 500, Captured: true, Created: dayAgo(n).Add(12 * time.Hour)})
			capture := "PP" + c + dayAgo(n).Format("20060102")
			s.paypal.AddTransactions(
				testenv.PayPalTransaction{ID: capture, EventCode: "T0006", Status: "S", Currency: "USD", Value: "20.00",
					CustomField: "client_id=" + c + "&order_id=" + capture, At: dayAgo(n).Add(13 * time.Hour)},
				testenv.PayPalTransaction{ID: capture + "R", EventCode: "T1107", Status: "S", Currency: "USD", Value: "-2.00",
					ReferenceID: capture, At: dayAgo(n).Add(36 * time.Hour)})
		}
	}
	s.ga4.SetHour("4242", today, kpi.Traffic{Visitors: 3, Sessions: 4})
	for n := range 7 {
		s.pay("northwind", dayAgo(n).Add(time.Minute), 10000, 1000)
	}

	// Saving the property started a sync (the hot window's stored traffic counts only while it is
	// the current property's): let it finish, so the trigger below is the next run.
	northwind := s.tc.ScheduleClient().GetHandle(ctx, kpisync.ScheduleID("northwind"))
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		desc, err := northwind.Describe(ctx)
		require.NoError(c, err)
		assert.Len(c, desc.Info.RecentActions, 1, "saving the GA4 property started a sync")
		assert.Empty(c, desc.Info.RunningWorkflows)
	}, 30*time.Second, 100*time.Millisecond)

	// Trigger: the refresh returns once the run stored the hot window.
	code, body = s.call(http.MethodPost, "/api/v1/kpis/refresh?client_id=northwind", nil)
	require.Equal(t, http.StatusAccepted, code, body)
	desc, err := northwind.Describe(ctx)
	require.NoError(t, err)
	require.Len(t, desc.Info.RecentActions, 2, "the trigger started one run more")
	require.Empty(t, desc.Info.RunningWorkflows, "the refresh answered after its run finished")
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		days, err := s.store.KPIHotDays(ctx, "northwind", dayAgo(6), today)
		require.NoError(c, err)
		require.Len(c, days, 7)
		for _, d := range days {
			require.NotNil(c, d.Traffic)
			require.NotNil(c, d.Revenue)
			require.EqualValues(c, 10000, d.Revenue.Gross)
			require.EqualValues(c, 900, *d.Revenue.Commission)
		}
		st, err := s.store.KPISyncStatus(ctx, "northwind")
		require.NoError(c, err)
		require.Len(c, st, 2)
	}, 30*time.Second, 100*time.Millisecond)
	_, revHours, err := s.store.KPIHours(ctx, "northwind", today, today.AddDate(0, 0, 1))
	require.NoError(t, err)
	require.Len(t, revHours, 1, "today's hour stored")

	// 30 days: 8 from Postgres, 22 fetched from GA4, Stripe and PayPal, one series.
	kpis := s.kpis("northwind")
	require.Len(t, kpis.Days, 30)
	bySource := map[string]int{}
	for _, d := range kpis.Days {
		bySource[d.Source]++
		require.True(t, d.Synced, d.Day)
		require.True(t, d.HasTraffic && d.HasRevenue, d.Day)
	}
	require.Equal(t, map[string]int{"postgres": 8, "ga4+stripe+paypal": 22}, bySource)
	old := kpis.Days[0] // 29 days ago, from the sources
	require.EqualValues(t, 129, old.Visitors)
	require.EqualValues(t, 4500+1800, old.Revenue, "Stripe's and PayPal's net, the PayPal refund on its capture's day")
	require.Nil(t, old.Commission, "the providers cannot tell the commission")
	require.NotEmpty(t, s.paypal.TransactionSearches(), "PayPal was searched")
	hot := kpis.Days[29]
	require.Equal(t, "postgres", hot.Source)
	require.EqualValues(t, 100, hot.Visitors)
	require.EqualValues(t, 9000, hot.Revenue)
	require.False(t, kpis.Stale)
	require.NotNil(t, kpis.LastSyncedAt)

	// A client without analytics: revenue only, traffic not shown as zeros.
	code, body = s.call(http.MethodPost, "/api/v1/kpis/refresh?client_id=contoso", nil)
	require.Equal(t, http.StatusAccepted, code, body)
	c := s.kpis("contoso")
	for i, d := range c.Days {
		require.False(t, d.HasTraffic, d.Day)
		require.True(t, d.HasRevenue, d.Day)
		if i < 22 {
			require.Equal(t, "stripe+paypal", d.Source)
			require.EqualValues(t, 4500+1800, d.Revenue, d.Day)
		}
	}

	// A client from before schedules existed gets its schedule on its first refresh.
	_, _, err = s.store.UpsertClient(ctx, store.Client{ID: "fabrikam", Name: "fabrikam", DefaultCurrency: money.USD})
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = s.tc.ScheduleClient().GetHandle(context.Background(), kpisync.ScheduleID("fabrikam")).Delete(context.Background())
	})
	code, body = s.call(http.MethodPost, "/api/v1/kpis/refresh?client_id=fabrikam", nil)
	require.Equal(t, http.StatusAccepted, code, body)
	_, err = s.tc.ScheduleClient().GetHandle(ctx, kpisync.ScheduleID("fabrikam")).Describe(ctx)
	require.NoError(t, err)

	// GA4 refuses (credentials revoked): the run records it, the numbers stay, the client is stale.
	s.ga4.Fail(http.StatusForbidden)
	code, body = s.call(http.MethodPost, "/api/v1/kpis/refresh?client_id=northwind", nil)
	require.Equal(t, http.StatusAccepted, code, body)
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		st, err := s.store.KPISyncStatus(ctx, "northwind")
		require.NoError(c, err)
		require.Equal(c, "ga4", st[0].Source)
		require.Equal(c, 1, st[0].Failures)
		require.Contains(c, st[0].LastError, "403")
		require.False(c, st[0].LastSuccess.IsZero(), "the last good sync is kept")
	}, 30*time.Second, 100*time.Millisecond)
	// As if hours had passed since the last good sync: more than KPI_STALE_AFTER and than two of
	// the client's 30-minute sync periods.
	s.reader.Now = func() time.Time { return time.Now().Add(3 * time.Hour) }
	kpis = s.kpis("northwind")
	s.reader.Now = nil
	require.True(t, kpis.Stale)
	require.True(t, kpis.Days[29].Stale)
	require.EqualValues(t, 100, kpis.Days[29].Visitors, "never silently zero")
	s.ga4.Fail(0)

	// Retention: 8 days ago goes, 7 days ago stays, payments (the books' source) stay.
	require.NoError(t, s.store.UpsertKPIRevenue(ctx, "northwind", kpi.SourceLedger, []kpi.RevenueDay{
		{Day: dayAgo(8), Revenue: kpi.Revenue{Currency: money.USD, Gross: 1}}, {Day: dayAgo(20), Revenue: kpi.Revenue{Currency: money.USD, Gross: 1}},
	}))
	paymentsBefore, err := s.store.ListPayments(ctx, store.PaymentFilter{ClientID: "northwind"})
	require.NoError(t, err)
	require.NoError(t, s.sched.EnsureRetention(ctx, kpisync.RetentionOptions{Days: 7, BatchSize: 1}))
	t.Cleanup(func() {
		_ = s.tc.ScheduleClient().GetHandle(context.Background(), kpisync.RetentionScheduleID).Delete(context.Background())
	})
	require.NoError(t, s.tc.ScheduleClient().GetHandle(ctx, kpisync.RetentionScheduleID).Trigger(ctx, client.ScheduleTriggerOptions{}))
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		days, err := s.store.KPIHotDays(ctx, "northwind", dayAgo(30), today)
		require.NoError(c, err)
		require.Len(c, days, 8)
		require.Equal(c, dayAgo(7), days[0].Day, "7 days ago kept, 8 days ago deleted")
	}, 30*time.Second, 100*time.Millisecond)
	paymentsAfter, err := s.store.ListPayments(ctx, store.PaymentFilter{ClientID: "northwind"})
	require.NoError(t, err)
	require.Len(t, paymentsAfter, len(paymentsBefore))
}

type kpiDay struct {
	Day        string `json:"day"`
	Synced     bool   `json:"synced"`
	Source     string `json:"source"`
	Stale      bool   `json:"stale"`
	HasTraffic bool   `json:"has_traffic"`
	HasRevenue bool   `json:"has_revenue"`
	Visitors   int64  `json:"visitors"`
	Revenue    int64  `json:"revenue"`
	Commission *int64 `json:"commission"`
}

type kpiAnswer struct {
	Days         []kpiDay   `json:"days"`
	Stale        bool       `json:"stale"`
	LastSyncedAt *time.Time `json:"last_synced_at"`
}

func (s *stack) kpis(clientID string) kpiAnswer {
	s.t.Helper()
	code, body := s.call(http.MethodGet, "/api/v1/kpis?client_id="+clientID, nil)
	require.Equal(s.t, http.StatusOK, code, body)
	raw, err := json.Marshal(body)
	require.NoError(s.t, err)
	var out kpiAnswer
	require.NoError(s.t, json.Unmarshal(raw, &out))
	return out
}
