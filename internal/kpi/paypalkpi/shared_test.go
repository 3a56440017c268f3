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
