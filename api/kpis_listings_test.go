package main

import (
	"fmt"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paysplit/activities"
	"paysplit/internal/config"
	"paysplit/internal/kpi"
	"paysplit/internal/kpi/kpitest"
	"paysplit/internal/kpi/stripekpi"
	"paysplit/internal/money"
	"paysplit/internal/store"
	"paysplit/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// TestKPIClientsShareOneStripeListing: with KPI_STRIPE_REVENUE=list the Stripe source lists every
// charge of the platform account and filters by client afterwards, so clients asking for the same older days must share
// one listing, not page through every client's charges each (40 clients, a year: thousands of
// calls against the per-account rate limit the payment workflows need). Each client's figures
// stay those of its own listing.
func TestKPIClientsShareOneStripeListing(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	st := store.New(pool)
	ctx := t.Context()
	const clients = 5
	now := time.Now().UTC()
	from, to := kpi.DayOf(now.AddDate(0, 0, -200)), kpi.DayOf(now.AddDate(0, 0, -150))
	for _, concurrent := range []bool{false, true} {
		t.Run(fmt.Sprintf("concurrent=%v", concurrent), func(t *testing.T) {
			sp := kpitest.NewStripe(t)
			var ids []string
			for c := range clients {
				id := fmt.Sprintf("kpilist-%v-%d", concurrent, c)
				ids = append(ids, id)
				_, _, err := st.UpsertClient(ctx, store.Client{ID: id, Name: id, DefaultCurrency: money.USD})
				require.NoError(t, err)
				// 30 charges a client: the account's listing is two pages.
				for i := range 30 {
					at := from.Add(time.Duration(i)*36*time.Hour + time.Duration(c)*time.Hour)
					sp.Add(kpitest.Charge{ID: fmt.Sprintf("ch_%s_%d", id, i), PaymentIntent: fmt.Sprintf("pi_%s_%d", id, i), ClientID: id,
						Currency: "usd", Status: "succeeded", Amount: int64(1000 + 100*c + i), AmountRefunded: int64(i % 3 * 10), Captured: true, Created: at})
				}
			}
			// Listing, as with KPI_STRIPE_REVENUE=list (an account without Stripe Search).
			cfg := config.Config{StripeAPIKey: "sk_test_x", StripeAPIBase: sp.URL, KPICacheTTL: time.Hour, KPIRetentionDays: 30,
				KPIStaleAfter: time.Hour, KPISyncEvery: time.Hour, KPIStripeRevenue: config.KPIStripeRevenueList}
			k := newKPIs(cfg, st, nil)

			series := make([]kpi.Series, clients)
			errs := make([]error, clients)
			var wg sync.WaitGroup
			for i, id := range ids {
				read := func() { series[i], errs[i] = k.reader.Series(ctx, id, money.USD, from, to) }
				if concurrent {
					wg.Go(read)
				} else {
					read()
				}
			}
			wg.Wait()
			calls := sp.Calls()

			// What one listing of the account takes, and each client's figures from its own.
			own := stripekpi.Source{API: activities.NewStripeClient("sk_test_x", sp.URL, nil)}
			for i, id := range ids {
				require.NoError(t, errs[i])
				require.Empty(t, series[i].ColdErrors)
				before := sp.Calls()
				want, err := own.RevenueDays(ctx, id, money.USD, from, to)
				require.NoError(t, err)
				perListing := sp.Calls() - before
				require.Equal(t, 2, perListing)
				require.Len(t, series[i].Days, len(want))
				for j, d := range series[i].Days {
					require.NotNil(t, d.Revenue, "%s %s", id, d.Day)
					require.Equal(t, want[j].Revenue, *d.Revenue, "%s %s", id, d.Day)
					require.Equal(t, kpi.SourceStripe, d.Source)
				}
			}
			require.Equal(t, 2, calls, "Stripe list requests for %d clients asking for the same days: one listing of 2 pages", clients)
		})
	}
}

// TestKPIStripeRevenueSearchesTheClientsOwnCharges: a client's older Stripe revenue is asked of
// Stripe's Search API for that client's charges only (by its client_id on the charge and on the
// PaymentIntent, where our plugins put it), so a new range no longer pages through every client's
// charges against the rate limit payouts share. Search requests are checked by stripe-mock (its
// OpenAPI spec) and answered by the local server, which filters and pages as Stripe does
// (next_page). Each client's figures are those of its own listing.
func TestKPIStripeRevenueSearchesTheClientsOwnCharges(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	st := store.New(pool)
	ctx := t.Context()
	now := time.Now().UTC()
	from, to := kpi.DayOf(now.AddDate(0, 0, -200)), kpi.DayOf(now.AddDate(0, 0, -150))
	sp := kpitest.NewStripe(t)
	sp.CheckSearchesWith(testenv.StripeMock(t))
	const clients = 4
	var ids []string
	for c := range clients {
		id := fmt.Sprintf("kpisearch-%d", c)
		ids = append(ids, id)
		_, _, err := st.UpsertClient(ctx, store.Client{ID: id, Name: id, DefaultCurrency: money.USD})
		require.NoError(t, err)
		// Client 0 has 130 charges on its PaymentIntents, two search pages; the others 30.
		n := 30
		if c == 0 {
			n = 130
		}
		for i := range n {
			at := from.Add(time.Duration(i)*8*time.Hour + time.Duration(c)*time.Hour)
			sp.Add(kpitest.Charge{ID: fmt.Sprintf("ch_%s_%d", id, i), PaymentIntent: fmt.Sprintf("pi_%s_%d", id, i), ClientID: id,
				Currency: "usd", Status: "succeeded", Amount: int64(1000 + 100*c + i), AmountRefunded: int64(i % 3 * 10), Captured: true, Created: at})
		}
		// One on the charge's own metadata, without a PaymentIntent.
		sp.Add(kpitest.Charge{ID: "ch_own_" + id, ClientID: id, ClientOnCharge: true, Currency: "usd", Status: "succeeded",
			Amount: 777, Captured: true, Created: from.Add(30 * time.Hour)})
	}
	cfg := config.Config{StripeAPIKey: "sk_test_x", StripeAPIBase: sp.URL, KPICacheTTL: time.Hour, KPIRetentionDays: 30,
		KPIStaleAfter: time.Hour, KPISyncEvery: time.Hour}
	k := newKPIs(cfg, st, nil)

	own := stripekpi.Source{API: activities.NewStripeClient("sk_test_x", sp.URL, nil)}
	for c, id := range ids {
		before, searchesBefore := sp.Calls(), len(sp.Searches())
		series, err := k.reader.Series(ctx, id, money.USD, from, to)
		require.NoError(t, err)
		require.Empty(t, series.ColdErrors)
		searches := sp.Searches()[searchesBefore:]
		require.Equal(t, sp.Calls()-before, len(searches), "%s: every Stripe request a search, no listing of the account", id)
		wantPages := 2 // charges on their own metadata, intents
		if c == 0 {
			wantPages = 3 // 130 intents: next_page followed
		}
		require.Len(t, searches, wantPages, "%s: %v", id, searches)
		for _, s := range searches {
			u, err := url.Parse(s)
			require.NoError(t, err)
			q := u.Query().Get("query")
			require.Contains(t, q, "metadata['client_id']:'"+id+"'", "%s: the search names the client", id)
			require.Contains(t, q, "currency:'usd'")
			require.Contains(t, q, fmt.Sprintf("created<%d", to.AddDate(0, 0, 1).Unix()))
		}
		if c == 0 {
			require.Contains(t, searches[2], "page=page_100", "the second page asked with next_page")
		}

		want, err := own.RevenueDays(ctx, id, money.USD, from, to)
		require.NoError(t, err)
		require.Len(t, series.Days, len(want))
		var gross int64
		for j, d := range series.Days {
			require.NotNil(t, d.Revenue, "%s %s", id, d.Day)
			require.Equal(t, want[j].Revenue, *d.Revenue, "%s %s", id, d.Day)
			gross += d.Revenue.Gross
		}
		require.Positive(t, gross, "%s has revenue in the range", id)
	}
}
