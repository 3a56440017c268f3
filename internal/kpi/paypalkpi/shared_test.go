package paypalkpi_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paysplit/internal/kpi"
	"paysplit/internal/kpi/paypalkpi"
	"paysplit/internal/money"
)

// TestSharedSearchServesEveryClient: the search lists the account's transactions of every
// client, so clients asking for the same days in the same currency share one search (another
// currency is a search of its own), and each client's figures are those its own search gives.
func TestSharedSearchServesEveryClient(t *testing.T) {
	const clients = 4
	for _, concurrent := range []bool{false, true} {
		t.Run(fmt.Sprintf("concurrent=%v", concurrent), func(t *testing.T) {
			own, pp := newSource(t, at("2026-02-20", 10))
			for c := range clients {
				id := fmt.Sprintf("shop%d", c)
				for i := range 3 {
					p := fmt.Sprintf("P%d-%d", c, i)
					pp.AddTransactions(capture(p, id, "USD", fmt.Sprintf("%d.%02d", 10+c, i), at("2026-02-01", c+i)))
				}
				pp.AddTransactions(refundOf(fmt.Sprintf("R%d", c), fmt.Sprintf("P%d-0", c), "-1.00", at("2026-02-05", c)))
			}
			shared := own
			shared.Shared = paypalkpi.NewShared(time.Hour, 8, kpi.NewLimiter(1))
			from, to := day("2026-02-01"), day("2026-02-03")

			got := make([][]kpi.RevenueDay, clients)
			errs := make([]error, clients)
			var wg sync.WaitGroup
			for c := range clients {
				read := func() {
					got[c], errs[c] = shared.RevenueDays(t.Context(), fmt.Sprintf("shop%d", c), money.USD, from, to)
				}
				if concurrent {
					wg.Go(read)
				} else {
					read()
				}
			}
			wg.Wait()
			searches := len(pp.TransactionSearches())

			for c := range clients {
				require.NoError(t, errs[c])
				before := len(pp.TransactionSearches())
				want, err := own.RevenueDays(t.Context(), fmt.Sprintf("shop%d", c), money.USD, from, to)
				require.NoError(t, err)
				require.Equal(t, 1, len(pp.TransactionSearches())-before)
				require.Equal(t, want, got[c])
			}
			require.Equal(t, 1, searches, "searches for %d clients asking for the same days", clients)

			before := len(pp.TransactionSearches())
			_, err := shared.RevenueDays(t.Context(), "shop0", money.EUR, from, to)
			require.NoError(t, err)
			require.Equal(t, 1, len(pp.TransactionSearches())-before, "another currency is searched on its own")
		})
	}
}

// TestSharedSearchAnswersAsOwnSearch: the shared search keeps sums, not transactions, and each
// client's answer from them is its own search's, errors included: an amount that does not parse
// fails the client whose payment in the range it is, or whose payment in the range it refunds,
// and no one else; refunds count on their payment's day, at most the payment, also when listed
// before it.
func TestSharedSearchAnswersAsOwnSearch(t *testing.T) {
	own, pp := newSource(t, at("2026-02-20", 10))
	badRefund := refundOf("R2b", "P2", "-1.0x", at("2026-02-06", 1))
	pp.AddTransactions(
		capture("P0", "shop0", "USD", "10.00", at("2026-02-01", 1)),
		refundOf("R0a", "P0", "-4.00", at("2026-02-04", 1)),
		refundOf("R0b", "P0", "-9.00", at("2026-02-05", 1)),         // more than is left: 6.00 counts
		capture("P0x", "shop0", "USD", "7.00", at("2026-01-31", 1)), // before the range
		refundOf("R0x", "P0x", "-1.00x", at("2026-02-04", 2)),       // bad, but not of a payment in it
		capture("P1", "shop1", "USD", "12.00", at("2026-02-02", 1)),
		capture("P1bad", "shop1", "USD", "1.234", at("2026-02-03", 1)), // a payment that does not parse
		capture("P1early", "shop1", "USD", "1.234", at("2026-01-30", 1)),
		capture("P2", "shop2", "USD", "20.00", at("2026-02-02", 5)),
		badRefund,
		capture("P3early", "shop3", "USD", "1.234", at("2026-01-30", 1)), // bad, before the range
		capture("P3", "shop3", "USD", "30.00", at("2026-02-03", 5)),
		refundOf("R3", "P3", "-30.00", at("2026-02-03", 6)),
		capture("P4", "", "USD", "5.00", at("2026-02-03", 7)), // no client named
	)
	shared := own
	shared.Shared = paypalkpi.NewShared(time.Hour, 8, kpi.NewLimiter(1))
	from, to := day("2026-02-01"), day("2026-02-03")
	var failed []string
	for _, id := range []string{"shop0", "shop1", "shop2", "shop3", "shop4", ""} {
		want, wantErr := own.RevenueDays(t.Context(), id, money.USD, from, to)
		got, err := shared.RevenueDays(t.Context(), id, money.USD, from, to)
		if wantErr != nil {
			failed = append(failed, id)
			require.EqualError(t, err, wantErr.Error(), id)
			continue
		}
		require.NoError(t, err, id)
		require.Equal(t, want, got, id)
	}
	require.Equal(t, []string{"shop1", "shop2"}, failed)
	for id, tx := range map[string]string{"shop1": "P1bad", "shop2": "R2b"} {
		_, err := shared.RevenueDays(t.Context(), id, money.USD, from, to)
		require.ErrorContains(t, err, "transaction "+tx+":", id)
	}
	got, err := shared.RevenueDays(t.Context(), "shop0", money.USD, from, to)
	require.NoError(t, err)
	require.Equal(t, kpi.Revenue{Currency: money.USD, Gross: 1000, Refunds: 1000}, got[0].Revenue)
	require.Len(t, pp.TransactionSearches(), 6+1, "each client's own search, and one shared")
}

// TestSharedSearchKeepsSumsNotTransactions: a shared search is kept for KPI_CACHE_TTL, up to 32
// of them; holding every payment and refund of a year of the platform in each ran to gigabytes.
// What it keeps is one entry a client and day with payments, however many there are.
func TestSharedSearchKeepsSumsNotTransactions(t *testing.T) {
	const clients, days = 4, 3
	from := day("2026-02-01")
	to := from.AddDate(0, 0, days-1)
	for _, perDay := range []int{2, 30} {
		t.Run(fmt.Sprintf("payments=%d", clients*days*perDay), func(t *testing.T) {
			src, pp := newSource(t, at("2026-02-20", 10))
			for c := range clients {
				for d := range days {
					for i := range perDay {
						id := fmt.Sprintf("P%d-%d-%d", c, d, i)
						pp.AddTransactions(capture(id, fmt.Sprintf("shop%d", c), "USD", "1.00", from.AddDate(0, 0, d).Add(time.Duration(i)*time.Minute)),
							refundOf("R"+id, id, "-0.25", from.AddDate(0, 0, d+1)))
					}
				}
			}
			src.Shared = paypalkpi.NewShared(time.Hour, 8, kpi.NewLimiter(1))
			got, err := src.RevenueDays(t.Context(), "shop0", money.USD, from, to)
			require.NoError(t, err)
			require.Equal(t, kpi.Revenue{Currency: money.USD, Gross: int64(100 * perDay), Refunds: int64(25 * perDay)}, got[0].Revenue)
			keptClients, keptDays, ok := paypalkpi.Retained(src.Shared, money.USD, from, to)
			require.True(t, ok)
			require.Equal(t, clients, keptClients, "entries: one a client")
			require.Equal(t, clients*days, keptDays, "entries for %d payments and their refunds: one a client and day", clients*days*perDay)
		})
	}
}
