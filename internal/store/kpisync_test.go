package store_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paysplit/internal/kpi"
	"paysplit/internal/money"
	"paysplit/internal/payment"
	"paysplit/internal/store"
	"paysplit/testenv"
)

func kpiClient(t *testing.T, s *store.Store, id string) {
	t.Helper()
	_, _, err := s.UpsertClient(t.Context(), store.Client{ID: id, Name: id, DefaultCurrency: money.USD})
	require.NoError(t, err)
}

func d(s string) time.Time { t, _ := time.Parse(time.DateOnly, s); return t }

// TestKPIPartsAreKeptApart: traffic and revenue are written separately and idempotently, and a
// day only one source filled comes back with only that part.
func TestKPIPartsAreKeptApart(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	s := store.New(pool)
	ctx := t.Context()
	kpiClient(t, s, "kpi-parts")
	// Its traffic is GA4's, stored without a property: it counts while the client has one.
	_, err := s.PutKPISettings(ctx, store.KPISettings{ClientID: "kpi-parts", GA4PropertyID: "8000", ProviderRevenue: true})
	require.NoError(t, err)
	commission := int64(900)
	rev := []kpi.RevenueDay{
		{Day: d("2026-06-14"), Revenue: kpi.Revenue{Currency: money.USD, Gross: 10000, Refunds: 1000, Commission: &commission}},
		{Day: d("2026-06-15"), Revenue: kpi.Revenue{Currency: money.USD}},
	}
	tr := []kpi.TrafficDay{{Day: d("2026-06-15"), Traffic: kpi.Traffic{Visitors: 10, NewVisitors: 4, Sessions: 12, BounceRateBps: 2500}}}
	for range 2 { // twice: a retried sync writes the same rows
		require.NoError(t, s.UpsertKPIRevenue(ctx, "kpi-parts", kpi.SourceLedger, rev))
		require.NoError(t, s.UpsertKPITraffic(ctx, "kpi-parts", kpi.SourceGA4, tr))
	}
	days, err := s.KPIHotDays(ctx, "kpi-parts", d("2026-06-13"), d("2026-06-15"))
	require.NoError(t, err)
	require.Len(t, days, 2)
	require.Nil(t, days[0].Traffic, "no analytics that day: no traffic, not zeros")
	require.Equal(t, &kpi.Revenue{Currency: money.USD, Gross: 10000, Refunds: 1000, Commission: &commission}, days[0].Revenue)
	require.Equal(t, &kpi.Traffic{Visitors: 10, NewVisitors: 4, Sessions: 12, BounceRateBps: 2500}, days[1].Traffic)
	require.NotNil(t, days[1].Revenue)

	// The existing reader sees the net revenue.
	legacy, err := s.KPIRange(ctx, "kpi-parts", d("2026-06-14"), d("2026-06-14"))
	require.NoError(t, err)
	require.EqualValues(t, 9000, legacy[0].Revenue)

	// A row written by UpsertKPIDay (before parts were tracked) counts as complete.
	require.NoError(t, s.UpsertKPIDay(ctx, store.KPIDay{ClientID: "kpi-parts", Day: d("2026-06-01"), Visitors: 3, Revenue: 700, Currency: money.USD}))
	days, err = s.KPIHotDays(ctx, "kpi-parts", d("2026-06-01"), d("2026-06-01"))
	require.NoError(t, err)
	require.EqualValues(t, 3, days[0].Traffic.Visitors)
	require.EqualValues(t, 700, days[0].Revenue.Net())

	bad := []error{
		s.UpsertKPITraffic(ctx, "kpi-parts", kpi.SourceGA4, []kpi.TrafficDay{{Day: d("2026-06-15"), Traffic: kpi.Traffic{BounceRateBps: 10001}}}),
		s.UpsertKPIRevenue(ctx, "kpi-parts", kpi.SourceLedger, []kpi.RevenueDay{{Day: d("2026-06-15"), Revenue: kpi.Revenue{Currency: "zzz"}}}),
		s.UpsertKPIRevenue(ctx, "ghost", kpi.SourceLedger, rev),
	}
	for _, err := range bad {
		require.ErrorIs(t, err, store.ErrInvalid)
	}
}

func TestKPIHours(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	s := store.New(pool)
	ctx := t.Context()
	kpiClient(t, s, "kpi-hours")
	h := time.Date(2026, 6, 15, 9, 0, 0, 0, time.UTC)
	require.NoError(t, s.UpsertKPITrafficHours(ctx, "kpi-hours", []kpi.TrafficHour{{Hour: h, Traffic: kpi.Traffic{Visitors: 5}}}))
	require.NoError(t, s.UpsertKPIRevenueHours(ctx, "kpi-hours", []kpi.RevenueHour{{Hour: h, Revenue: kpi.Revenue{Currency: money.USD, Gross: 300}}, {Hour: h.Add(time.Hour), Revenue: kpi.Revenue{Currency: money.USD, Gross: 1}}}))
	tr, rv, err := s.KPIHours(ctx, "kpi-hours", h, h.Add(24*time.Hour))
	require.NoError(t, err)
	require.Equal(t, []kpi.TrafficHour{{Hour: h, Traffic: kpi.Traffic{Visitors: 5}}}, tr)
	require.Len(t, rv, 2)
	require.EqualValues(t, 300, rv[0].Gross)

	// Hourly revenue from payments.
	require.NoError(t, s.SavePayment(ctx, paidRecord("kpi-hours", "h1", h.Add(5*time.Minute), 1000, 100)))
	require.NoError(t, s.SavePayment(ctx, paidRecord("kpi-hours", "h2", h.Add(50*time.Minute), 500, 0)))
	require.NoError(t, s.SavePayment(ctx, paidRecord("kpi-hours", "h3", h.Add(3*time.Hour), 7, 0)))
	hours, err := s.RevenueHours(ctx, "kpi-hours", money.USD, h, h.Add(2*time.Hour))
	require.NoError(t, err)
	require.Equal(t, []kpi.RevenueHour{{Hour: h, Revenue: kpi.Revenue{Currency: money.USD, Gross: 1500, Refunds: 100}}}, hours)
}

// TestKPISyncStatus: a failure keeps the last good sync; a success clears the error.
func TestKPISyncStatus(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	s := store.New(pool)
	ctx := t.Context()
	kpiClient(t, s, "kpi-status")
	_, err := s.PutKPISettings(ctx, store.KPISettings{ClientID: "kpi-status", GA4PropertyID: "77", ProviderRevenue: true})
	require.NoError(t, err)
	t0 := time.Date(2026, 6, 15, 8, 0, 0, 0, time.UTC)
	require.NoError(t, s.MarkKPISynced(ctx, "kpi-status", "ga4", t0))
	require.NoError(t, s.MarkKPISyncFailed(ctx, "kpi-status", "ga4", "ga4: runReport: 503 unavailable", time.Time{}, t0.Add(time.Hour)))
	require.NoError(t, s.MarkKPISyncFailed(ctx, "kpi-status", "ga4", "ga4: runReport: 503 unavailable", time.Time{}, t0.Add(2*time.Hour)))
	require.NoError(t, s.MarkKPISyncFailed(ctx, "kpi-status", "ledger", "never worked", time.Time{}, t0))
	st, err := s.KPISyncStatus(ctx, "kpi-status")
	require.NoError(t, err)
	require.Equal(t, []kpi.SourceStatus{
		{Source: "ga4", LastSuccess: t0, LastAttempt: t0.Add(2 * time.Hour), LastError: "ga4: runReport: 503 unavailable", Failures: 2},
		{Source: "ledger", LastAttempt: t0, LastError: "never worked", Failures: 1},
	}, st)
	require.NoError(t, s.MarkKPISynced(ctx, "kpi-status", "ga4", t0.Add(3*time.Hour)))
	st, err = s.KPISyncStatus(ctx, "kpi-status")
	require.NoError(t, err)
	require.Equal(t, kpi.SourceStatus{Source: "ga4", LastSuccess: t0.Add(3 * time.Hour), LastAttempt: t0.Add(3 * time.Hour)}, st[0])

	// A run that started before that good sync and fails after it (a refresh beside the
	// schedule's run): the source is not failing, only the attempt is noted.
	require.NoError(t, s.MarkKPISyncFailed(ctx, "kpi-status", "ga4", "ga4: runReport: 503 unavailable", t0.Add(2*time.Hour+50*time.Minute), t0.Add(3*time.Hour+time.Minute)))
	st, err = s.KPISyncStatus(ctx, "kpi-status")
	require.NoError(t, err)
	require.Equal(t, kpi.SourceStatus{Source: "ga4", LastSuccess: t0.Add(3 * time.Hour), LastAttempt: t0.Add(3*time.Hour + time.Minute)}, st[0])

	// A message cut at its length limit is cut between characters, so it can still be stored.
	long := "x" + strings.Repeat("é", 600) // 1201 bytes: byte 1000 is inside an é
	require.NoError(t, s.MarkKPISyncFailed(ctx, "kpi-status", "ga4", long, time.Time{}, t0.Add(4*time.Hour)))
	st, err = s.KPISyncStatus(ctx, "kpi-status")
	require.NoError(t, err)
	require.Equal(t, "x"+strings.Repeat("é", 499), st[0].LastError)
	require.Equal(t, 1, st[0].Failures)

	// A source's error page in another encoding (a shop's Latin-1 "Café fermé" in the message),
	// short or long: stored with the bad bytes replaced, all of the text kept around them.
	for _, msg := range []string{"woocommerce: 503: Caf\xe9 ferm\xe9", "woocommerce: 503: Caf\xe9 " + strings.Repeat("y", 1200)} {
		require.NoError(t, s.MarkKPISyncFailed(ctx, "kpi-status", "ga4", msg, time.Time{}, t0.Add(5*time.Hour)))
		st, err = s.KPISyncStatus(ctx, "kpi-status")
		require.NoError(t, err)
		require.True(t, strings.HasPrefix(st[0].LastError, "woocommerce: 503: Caf\uFFFD "), st[0].LastError)
		require.LessOrEqual(t, len(st[0].LastError), 1000)
	}
	require.Equal(t, "woocommerce: 503: Caf\uFFFD ferm\uFFFD", func() string {
		require.NoError(t, s.MarkKPISyncFailed(ctx, "kpi-status", "ga4", "woocommerce: 503: Caf\xe9 ferm\xe9", time.Time{}, t0.Add(6*time.Hour)))
		st, err := s.KPISyncStatus(ctx, "kpi-status")
		require.NoError(t, err)
		return st[0].LastError
	}())
	require.NoError(t, s.MarkKPISyncFailed(ctx, "kpi-status", "ga4", "shopify: 502: bad\x00gateway", time.Time{}, t0.Add(7*time.Hour)))
	st, err = s.KPISyncStatus(ctx, "kpi-status")
	require.NoError(t, err)
	require.Equal(t, "shopify: 502: badgateway", st[0].LastError)
}

// TestKPISyncStatusListsTheClientsSources: only the sources the client's settings still have
// count; a dropped source's row is kept (with its history) and listed again if it comes back.
func TestKPISyncStatusListsTheClientsSources(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	s := store.New(pool)
	ctx := t.Context()
	kpiClient(t, s, "kpi-dropped")
	t0 := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	require.NoError(t, s.MarkKPISynced(ctx, "kpi-dropped", kpi.SourceGA4, t0))
	require.NoError(t, s.MarkKPISynced(ctx, "kpi-dropped", kpi.SourceLedger, t0.Add(time.Hour)))
	require.NoError(t, s.MarkKPISyncFailed(ctx, "kpi-dropped", "ga5", "unknown KPI source", time.Time{}, t0))
	for _, tt := range []struct {
		name     string
		settings *store.KPISettings // nil: none saved (the defaults)
		want     []string
	}{
		{"defaults: revenue only", nil, []string{kpi.SourceLedger}},
		{"with a GA4 property", &store.KPISettings{GA4PropertyID: "77", ProviderRevenue: true}, []string{kpi.SourceGA4, kpi.SourceLedger}},
		{"GA4 dropped", &store.KPISettings{ProviderRevenue: true}, []string{kpi.SourceLedger}},
		{"GA4 back", &store.KPISettings{GA4PropertyID: "78", ProviderRevenue: true}, []string{kpi.SourceGA4, kpi.SourceLedger}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.settings != nil {
				k := *tt.settings
				k.ClientID = "kpi-dropped"
				_, err := s.PutKPISettings(ctx, k)
				require.NoError(t, err)
			}
			st, err := s.KPISyncStatus(ctx, "kpi-dropped")
			require.NoError(t, err)
			var got []string
			for _, x := range st {
				got = append(got, x.Source)
				if x.Source == kpi.SourceGA4 {
					require.Equal(t, t0, x.LastSuccess, "the row kept its history")
				}
			}
			require.Equal(t, tt.want, got)
		})
	}
}

func TestKPISettings(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	s := store.New(pool)
	ctx := t.Context()
	kpiClient(t, s, "kpi-settings")
	got, err := s.GetKPISettings(ctx, "kpi-settings")
	require.NoError(t, err)
	require.Equal(t, store.DefaultKPISettings("kpi-settings"), got)
	put, err := s.PutKPISettings(ctx, store.KPISettings{ClientID: "kpi-settings", GA4PropertyID: "123456", GA4CredentialsRef: "env:GA4_KEY", ProviderRevenue: true, SyncEvery: 5 * time.Minute})
	require.NoError(t, err)
	got, err = s.GetKPISettings(ctx, "kpi-settings")
	require.NoError(t, err)
	require.Equal(t, put, got)
	_, err = s.GetKPISettings(ctx, "ghost")
	require.ErrorIs(t, err, store.ErrNotFound)
	for _, bad := range []store.KPISettings{
		{ClientID: "kpi-settings", GA4PropertyID: "G-ABC123"},
		{ClientID: "kpi-settings", GA4PropertyID: "1", GA4CredentialsRef: `{"type":"service_account"}`},
		{ClientID: "kpi-settings", GA4CredentialsRef: "env:GA4_KEY"},
		{ClientID: "kpi-settings", SyncEvery: 10 * time.Second},
	} {
		_, err := s.PutKPISettings(ctx, bad)
		require.ErrorIs(t, err, store.ErrInvalid, "%+v", bad)
		require.NotContains(t, err.Error(), "service_account", "the message never echoes a reference")
	}
}

// TestPruneBatch deletes in batches only what is older than the cut, and nothing else.
func TestPruneBatch(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	s := store.New(pool)
	ctx := t.Context()
	kpiClient(t, s, "kpi-prune")
	var rev []kpi.RevenueDay
	// Pruning is across clients: this test's days are years before any other test's.
	for _, day := range kpi.Days(d("2020-06-01"), d("2020-06-15")) {
		rev = append(rev, kpi.RevenueDay{Day: day, Revenue: kpi.Revenue{Currency: money.USD, Gross: 1}})
	}
	require.NoError(t, s.UpsertKPIRevenue(ctx, "kpi-prune", kpi.SourceLedger, rev))
	cut := d("2020-06-09")
	var total int64
	for {
		n, err := s.PruneBatch(ctx, store.PruneKPIDaily, cut, 3)
		require.NoError(t, err)
		require.LessOrEqual(t, n, int64(3))
		total += n
		if n < 3 {
			break
		}
	}
	require.EqualValues(t, 8, total)
	left, err := s.KPIHotDays(ctx, "kpi-prune", d("2020-01-01"), d("2020-12-31"))
	require.NoError(t, err)
	require.Len(t, left, 7)
	require.Equal(t, cut, left[0].Day)
	_, err = s.PruneBatch(ctx, "journal_entries", cut, 3)
	require.ErrorIs(t, err, store.ErrInvalid, "only KPI tables can be pruned")
}

// The retention drops the record that a payment waited for its order once no order can change
// the payment (split, or cancelled) and the record is older than the cut; one whose payment may
// still need waking (waiting for its capture or metadata, parked for an admin), one newer than
// the cut, and one whose payment never saved stay.
func TestPruneOrderWaiters(t *testing.T) {
	pool := testenv.OwnDatabase(t)
	s := store.New(pool)
	ctx := t.Context()
	old, cut := time.Now().Add(-9*24*time.Hour), time.Now().Add(-7*24*time.Hour)
	waiters := []struct {
		workflow string
		status   payment.Status // "" = no payment row
		at       time.Time
		stays    bool
	}{
		{"wf-paid", payment.StatusPaid, old, false},
		{"wf-refunded", payment.StatusRefunded, old, false},
		{"wf-cancelled", payment.StatusCancelled, old, false},
		{"wf-payout-failed", payment.StatusPayoutFailed, old, false},
		{"wf-parked", payment.StatusNeedsAttention, old, true},
		{"wf-awaiting-metadata", payment.StatusAwaitingMetadata, old, true},
		{"wf-awaiting-capture", payment.StatusAwaitingCapture, old, true},
		{"wf-unsaved", "", old, true},
		{"wf-paid-recently", payment.StatusPaid, time.Now(), true},
	}
	for _, w := range waiters {
		require.NoError(t, s.AddOrderWaiter(ctx, "shop", "order-"+w.workflow, w.workflow))
		_, err := pool.Exec(ctx, `UPDATE order_waiters SET created_at = $2 WHERE workflow_id = $1`, w.workflow, w.at)
		require.NoError(t, err)
		if w.status != "" {
			require.NoError(t, s.SavePayment(ctx, payment.Record{WorkflowID: w.workflow, Provider: "stripe", PaymentID: "pi_" + w.workflow,
				Order: payment.Order{ClientID: "shop", OrderID: "order-" + w.workflow}, Currency: money.USD, Status: w.status}))
		}
	}
	var total int64
	for {
		n, err := s.PruneBatch(ctx, store.PruneOrderWaiters, cut, 2)
		require.NoError(t, err)
		total += n
		if n < 2 {
			break
		}
	}
	require.EqualValues(t, 4, total)
	for _, w := range waiters {
		left, err := s.OrderWaiters(ctx, "shop", "order-"+w.workflow)
		require.NoError(t, err)
		if w.stays {
			require.Equal(t, []string{w.workflow}, left, w.workflow)
		} else {
			require.Empty(t, left, w.workflow)
		}
	}
}
