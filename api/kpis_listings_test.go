package main

import (
	"fmt"
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

// TestKPIClientsShareOneStripeListing: the Stripe source lists every charge of the platform
// account and filters by client afterwards, so clients asking for the same older days must share
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
			cfg := config.Config{StripeAPIKey: "sk_test_x", StripeAPIBase: sp.URL, KPICacheTTL: time.Hour, KPIRetentionDays: 30,
				KPIStaleAfter: time.Hour, KPISyncEvery: time.Hour}
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
