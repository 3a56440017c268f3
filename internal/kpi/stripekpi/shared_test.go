package stripekpi_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paysplit/activities"
	"paysplit/internal/kpi"
	"paysplit/internal/kpi/kpitest"
	"paysplit/internal/kpi/stripekpi"
	"paysplit/internal/money"
)

// TestSharedListingAnswersAsOwnListing: the shared listing keeps sums, not charges, and every
// client's answer from them is the one its own listing gives: a charge naming one client on its
// metadata and another on its PaymentIntent counts for both, charges authorized before the range
// count by their capture, and an amount that does not convert fails the client whose charge it
// is in its range (naming the first such charge its own listing meets), not the others, nor the
// client whose bad charge was captured before the range.
func TestSharedListingAnswersAsOwnListing(t *testing.T) {
	srv := kpitest.NewStripe(t)
	addMixedCharges(srv)
	own := stripekpi.Source{API: activities.NewStripeClient("sk_test_kpi", srv.URL, nil)}
	shared := own
	shared.Shared = stripekpi.NewShared(time.Hour, 4, kpi.NewLimiter(1))
	from, to := day("2026-02-01"), day("2026-02-03")

	var failures int
	for _, cur := range []money.Currency{money.USD, "isk"} {
		for c := range 5 { // c4 has no charges
			id := fmt.Sprintf("c%d", c)
			want, wantErr := own.RevenueDays(t.Context(), id, cur, from, to)
			before := srv.Calls()
			got, err := shared.RevenueDays(t.Context(), id, cur, from, to)
			if cur != money.USD || c > 0 {
				require.Equal(t, before, srv.Calls(), "%s %s answered from the shared listing", id, cur)
			}
			if wantErr != nil {
				failures++
				require.EqualError(t, err, wantErr.Error(), "%s %s", id, cur)
				continue
			}
			require.NoError(t, err, "%s %s", id, cur)
			require.Equal(t, want, got, "%s %s", id, cur)
		}
	}
	require.Equal(t, 2, failures, "c1 and c3 fail in isk: ch_isk_both is theirs and in the range")
	_, err := own.RevenueDays(t.Context(), "c3", "isk", from, to)
	require.ErrorContains(t, err, "charge ch_isk_both:", "the newest bad charge is the one a listing meets first")
	for c := 1; c <= 2; c++ {
		got, err := shared.RevenueDays(t.Context(), fmt.Sprintf("c%d", c), money.USD, from, to)
		require.NoError(t, err)
		require.Equal(t, int64(sumDay(c, 1)+700), got[1].Revenue.Gross, "ch_both counts for c%d", c)
	}
}

// addMixedCharges stores the charges TestSharedListingAnswersAsOwnListing describes, for clients
// c0 to c3 in usd and isk from 2026-02-01 to 2026-02-03.
func addMixedCharges(srv *kpitest.Stripe) {
	at := func(d string, h int) time.Time { return day(d).Add(time.Duration(h) * time.Hour) }
	ch := func(id, client, cur string, amount, refunded int64, created time.Time) kpitest.Charge {
		return kpitest.Charge{ID: id, PaymentIntent: "pi_" + id, ClientID: client, Currency: cur, Status: "succeeded",
			Amount: amount, AmountRefunded: refunded, Captured: true, Created: created}
	}
	both := ch("ch_both", "c2", "usd", 700, 100, at("2026-02-02", 5))
	both.ChargeClientID = "c1"
	early := ch("ch_early", "c0", "usd", 900, 0, at("2026-01-27", 5))
	early.CapturedAt = at("2026-02-01", 8)
	beforeBad := ch("ch_isk_before", "c2", "isk", 1250050, 0, at("2026-01-28", 1)) // captured before the range
	bothBad := ch("ch_isk_both", "c3", "isk", 1250070, 0, at("2026-02-03", 20))
	bothBad.ChargeClientID = "c1"
	failed := ch("ch_failed", "c0", "isk", 1250050, 0, at("2026-02-02", 1))
	failed.Status = "failed"
	srv.Add(both, early, beforeBad, bothBad, failed,
		ch("ch_isk_ok", "c2", "isk", 1250000, 250000, at("2026-02-01", 9)),
		ch("ch_isk_bad1", "c3", "isk", 1250050, 0, at("2026-02-02", 9)),
		ch("ch_isk_bad2", "c3", "isk", 990001, 0, at("2026-02-01", 9)),
		ch("ch_isk_ok3", "c3", "isk", 100000, 0, at("2026-02-01", 7)),
	)
	for c := range 4 {
		for i := range 60 {
			srv.Add(ch(fmt.Sprintf("ch_%d_%d", c, i), fmt.Sprintf("c%d", c), "usd", int64(100*c+i), int64(i%4), at("2026-02-01", i)))
		}
	}
}

// sumDay is the gross of client c's bulk charges on the given day of the range (charge i is made
// i hours into its first day).
func sumDay(c, d int) int {
	s := 0
	for i := range 60 {
		if i/24 == d {
			s += 100*c + i
		}
	}
	return s
}

// TestSharedListingKeepsSumsNotCharges: a shared listing is kept for KPI_CACHE_TTL, up to 32 of
// them; holding every charge of a year of the platform (millions) in each ran to gigabytes. What
// it keeps is one entry a client, currency and day with sales, however many charges they hold.
func TestSharedListingKeepsSumsNotCharges(t *testing.T) {
	const clients, days = 4, 3
	from := day("2026-02-01")
	to := from.AddDate(0, 0, days-1)
	for _, perDay := range []int{2, 30} {
		t.Run(fmt.Sprintf("charges=%d", clients*days*perDay), func(t *testing.T) {
			srv := kpitest.NewStripe(t)
			for c := range clients {
				for d := range days {
					for i := range perDay {
						id := fmt.Sprintf("ch_%d_%d_%d", c, d, i)
						srv.Add(kpitest.Charge{ID: id, PaymentIntent: "pi_" + id, ClientID: fmt.Sprintf("c%d", c), Currency: "usd",
							Status: "succeeded", Amount: 100, Captured: true, Created: from.AddDate(0, 0, d).Add(time.Duration(i) * time.Minute)})
					}
				}
			}
			src := stripekpi.Source{API: activities.NewStripeClient("sk_test_kpi", srv.URL, nil),
				Shared: stripekpi.NewShared(time.Hour, 4, kpi.NewLimiter(1))}
			got, err := src.RevenueDays(t.Context(), "c0", money.USD, from, to)
			require.NoError(t, err)
			require.Equal(t, int64(100*perDay), got[0].Revenue.Gross)
			keptClients, keptDays, ok := stripekpi.Retained(src.Shared, from, to)
			require.True(t, ok)
			// Plus client "": these charges name none on their own metadata, and counts matches
			// "" to that as it always did.
			require.Equal(t, clients+1, keptClients, "entries: one a client and currency")
			require.Equal(t, (clients+1)*days, keptDays, "entries for %d charges: one a client, currency and day", clients*days*perDay)
		})
	}
}
