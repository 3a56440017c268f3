package stripekpi_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/stripe/stripe-go/v76"

	"paysplit/activities"
	"paysplit/internal/kpi"
	"paysplit/internal/kpi/kpitest"
	"paysplit/internal/kpi/stripekpi"
	"paysplit/internal/money"
	"paysplit/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// TestSearchAnswersAsOwnListing: searching a client's charges (on the charge's metadata and on
// its PaymentIntent's) gives what the client's own listing of the account gives, for every
// client and currency of TestSharedListingAnswersAsOwnListing's charges: one naming two clients
// counts for both, one authorized before the range counts by its capture, a failed one not, and
// an amount that does not convert fails the client with the same error. Every request is a search
// naming the client and the currency (stripe-mock checks its parameters), in pages of 100.
func TestSearchAnswersAsOwnListing(t *testing.T) {
	srv := kpitest.NewStripe(t)
	srv.CheckSearchesWith(testenv.StripeMock(t))
	addMixedCharges(srv)
	own := stripekpi.Source{API: activities.NewStripeClient("sk_test_kpi", srv.URL, nil)}
	searched := own
	searched.Search = stripekpi.NewSearches(kpi.NewLimiter(1))
	from, to := day("2026-02-01"), day("2026-02-03")

	var failures int
	for _, cur := range []money.Currency{money.USD, "isk"} {
		for c := range 5 { // c4 has no charges
			id := fmt.Sprintf("c%d", c)
			want, wantErr := own.RevenueDays(t.Context(), id, cur, from, to)
			searches := len(srv.Searches())
			got, err := searched.RevenueDays(t.Context(), id, cur, from, to)
			for _, s := range srv.Searches()[searches:] {
				u, perr := url.Parse(s)
				require.NoError(t, perr)
				q := u.Query()
				require.Equal(t, "100", q.Get("limit"))
				require.Contains(t, q.Get("query"), fmt.Sprintf("metadata['client_id']:'%s' AND currency:'%s' AND status:'succeeded'", id, cur))
				if strings.HasPrefix(s, "/v1/payment_intents/search") {
					// Intents created up to 7 days before the charges listed, 7 days before the range.
					require.Contains(t, q.Get("query"), "created>=1768694400 AND created<1770163200", s)
				} else {
					require.Contains(t, q.Get("query"), "created>=1769299200 AND created<1770163200", s)
				}
			}
			require.Len(t, srv.Searches()[searches:], 2, "%s %s: one page of charges, one of intents", id, cur)
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
	for c := 1; c <= 2; c++ {
		got, err := searched.RevenueDays(t.Context(), fmt.Sprintf("c%d", c), money.USD, from, to)
		require.NoError(t, err)
		require.Equal(t, int64(sumDay(c, 1)+700), got[1].Revenue.Gross, "ch_both counts for c%d", c)
	}
}

// TestSearchPagesAndIntentsCreatedEarlier: the intents' search follows next_page, and an intent
// created before the range of charges (a payment link paid days later) counts by its charge,
// which is what the listing reads; a charge on the client's metadata found by both searches
// counts once.
func TestSearchPagesAndIntentsCreatedEarlier(t *testing.T) {
	srv := kpitest.NewStripe(t)
	srv.CheckSearchesWith(testenv.StripeMock(t))
	at := day("2026-02-02").Add(9 * time.Hour)
	for i := range 250 {
		id := fmt.Sprintf("ch_%03d", i)
		srv.Add(kpitest.Charge{ID: id, PaymentIntent: "pi_" + id, ClientID: "northwind", Currency: "usd", Status: "succeeded",
			Amount: 10, Captured: true, Created: at.Add(time.Duration(i) * time.Minute)})
	}
	both := kpitest.Charge{ID: "ch_both", PaymentIntent: "pi_both", ClientID: "northwind", ClientOnCharge: true, Currency: "usd",
		Status: "succeeded", Amount: 5000, Captured: true, Created: at}
	// Its intent created 11 days before, 4 before the charges listed for the day.
	late := kpitest.Charge{ID: "ch_late", PaymentIntent: "pi_late", ClientID: "northwind", Currency: "usd", Status: "succeeded",
		Amount: 300, Captured: true, Created: at, IntentCreated: at.AddDate(0, 0, -11)}
	srv.Add(both, late, kpitest.Charge{ID: "ch_other", PaymentIntent: "pi_other", ClientID: "contoso", Currency: "usd", Status: "succeeded",
		Amount: 99999, Captured: true, Created: at})
	src := stripekpi.Source{API: activities.NewStripeClient("sk_test_kpi", srv.URL, nil), Search: stripekpi.NewSearches(nil)}
	got, err := src.RevenueDays(t.Context(), "northwind", money.USD, day("2026-02-02"), day("2026-02-02"))
	require.NoError(t, err)
	require.Equal(t, []kpi.RevenueDay{{Day: day("2026-02-02"), Revenue: kpi.Revenue{Currency: money.USD, Gross: 250*10 + 5000 + 300}}}, got)
	own := stripekpi.Source{API: src.API}
	listed, err := own.RevenueDays(t.Context(), "northwind", money.USD, day("2026-02-02"), day("2026-02-02"))
	require.NoError(t, err)
	require.Equal(t, listed, got, "as the account's listing counts them")
	searches := srv.Searches()
	require.Len(t, searches, 4, "one page of charges, three of intents: %v", searches)
	require.Contains(t, searches[2], "page=page_100")
	require.Contains(t, searches[3], "page=page_200")
}

// TestSearchRefused: a search Stripe refuses (an account Search is not offered to) fails the
// source as permanent, saying it was the search, so the admin sees why and can set
// KPI_STRIPE_REVENUE=list; a rate limit stays retryable.
func TestSearchRefused(t *testing.T) {
	srv := kpitest.NewStripe(t)
	src := stripekpi.Source{API: activities.NewStripeClient("sk_test_kpi", srv.URL, nil), Search: stripekpi.NewSearches(nil)}
	for _, tt := range []struct {
		status    int
		permanent bool
	}{{http.StatusBadRequest, true}, {http.StatusTooManyRequests, false}} {
		srv.Fail(tt.status)
		_, err := src.RevenueDays(t.Context(), "northwind", money.USD, day("2026-02-01"), day("2026-02-01"))
		require.ErrorContains(t, err, "stripe: search charges:")
		require.Equal(t, tt.permanent, kpi.IsPermanent(err), "status %d: %v", tt.status, err)
	}
}

// TestSearchDayIsTheSameInEveryRange: a day's revenue does not depend on the range it is asked
// in (the Reader caches it by day, so whichever range asked first would decide it for every
// other: the week's tiles and the month's would disagree on the same day). Intents are searched
// from 14 days before the range's first day, so an intent made 20 days before its charge was
// found when the day was asked at the end of a month's range and not when asked alone. A charge
// named on its intent only counts when the intent was made at most 14 days before the charge's
// capture day, in any range; 11 days before, it counts in both.
func TestSearchDayIsTheSameInEveryRange(t *testing.T) {
	srv := kpitest.NewStripe(t)
	d := day("2026-03-02")
	at := d.Add(9 * time.Hour)
	srv.Add(
		kpitest.Charge{ID: "ch_11", PaymentIntent: "pi_11", ClientID: "northwind", Currency: "usd", Status: "succeeded",
			Amount: 300, Captured: true, Created: at, IntentCreated: at.AddDate(0, 0, -11)},
		kpitest.Charge{ID: "ch_20", PaymentIntent: "pi_20", ClientID: "northwind", Currency: "usd", Status: "succeeded",
			Amount: 5000, Captured: true, Created: at, IntentCreated: at.AddDate(0, 0, -20)},
	)
	src := stripekpi.Source{API: activities.NewStripeClient("sk_test_kpi", srv.URL, nil), Search: stripekpi.NewSearches(nil)}
	alone, err := src.RevenueDays(t.Context(), "northwind", money.USD, d, d)
	require.NoError(t, err)
	month, err := src.RevenueDays(t.Context(), "northwind", money.USD, d.AddDate(0, 0, -30), d)
	require.NoError(t, err)
	require.Equal(t, alone[0], month[len(month)-1], "%s asked alone and at the end of a month", d.Format(time.DateOnly))
	require.Equal(t, int64(300), alone[0].Revenue.Gross, "the intent made 11 days before counts, the one 20 days before not")
}

// TestSearchKeepsClientsApartThatDifferInCase: Stripe's search matches a value case-insensitively
// (client IDs are case-sensitive: "Northwind" and "northwind" are two clients), so a search for
// one finds the other's charges too, on the charge and on the intent; each client is answered its
// own, as its own listing does, and the other's amount that does not convert fails it not.
func TestSearchKeepsClientsApartThatDifferInCase(t *testing.T) {
	srv := kpitest.NewStripe(t)
	srv.CheckSearchesWith(testenv.StripeMock(t))
	at := day("2026-02-02").Add(9 * time.Hour)
	srv.Add(
		kpitest.Charge{ID: "ch_lower", PaymentIntent: "pi_lower", ClientID: "northwind", Currency: "usd", Status: "succeeded",
			Amount: 100, Captured: true, Created: at},
		kpitest.Charge{ID: "ch_upper", PaymentIntent: "pi_upper", ClientID: "Northwind", Currency: "usd", Status: "succeeded",
			Amount: 2000, Captured: true, Created: at},
		kpitest.Charge{ID: "ch_upper_own", ClientID: "NORTHWIND", ClientOnCharge: true, Currency: "isk", Status: "succeeded",
			Amount: 1250050, Captured: true, Created: at}, // does not convert: fails NORTHWIND's isk only
		kpitest.Charge{ID: "ch_lower_isk", PaymentIntent: "pi_lower_isk", ClientID: "northwind", Currency: "isk", Status: "succeeded",
			Amount: 100000, Captured: true, Created: at},
	)
	own := stripekpi.Source{API: activities.NewStripeClient("sk_test_kpi", srv.URL, nil)}
	searched := own
	searched.Search = stripekpi.NewSearches(nil)
	from, to := day("2026-02-02"), day("2026-02-02")
	for _, id := range []string{"northwind", "Northwind", "NORTHWIND"} {
		for _, cur := range []money.Currency{money.USD, "isk"} {
			want, wantErr := own.RevenueDays(t.Context(), id, cur, from, to)
			got, err := searched.RevenueDays(t.Context(), id, cur, from, to)
			if wantErr != nil {
				require.EqualError(t, err, wantErr.Error(), "%s %s", id, cur)
				continue
			}
			require.NoError(t, err, "%s %s", id, cur)
			require.Equal(t, want, got, "%s %s", id, cur)
		}
	}
	for id, gross := range map[string]int64{"northwind": 100, "Northwind": 2000, "NORTHWIND": 0} {
		got, err := searched.RevenueDays(t.Context(), id, money.USD, from, to)
		require.NoError(t, err)
		require.Equal(t, gross, got[0].Revenue.Gross, id)
	}
	got, err := searched.RevenueDays(t.Context(), "northwind", "isk", from, to)
	require.NoError(t, err, "NORTHWIND's amount that does not convert is not northwind's")
	require.Equal(t, int64(1000), got[0].Revenue.Gross)
	// The fake matches as Stripe does: the search for one spelling finds the others' charges.
	found := map[string]bool{}
	it := own.API.PaymentIntents.Search(&stripe.PaymentIntentSearchParams{SearchParams: stripe.SearchParams{
		Query: "metadata['client_id']:'northwind' AND currency:'USD'"}})
	for it.Next() {
		found[it.PaymentIntent().ID] = true
	}
	require.NoError(t, it.Err())
	require.Equal(t, map[string]bool{"pi_lower": true, "pi_upper": true}, found)
}
