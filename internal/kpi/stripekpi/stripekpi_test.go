package stripekpi_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paysplit/activities"
	"paysplit/internal/kpi"
	"paysplit/internal/kpi/kpitest"
	"paysplit/internal/kpi/stripekpi"
	"paysplit/internal/money"
)

var day = func(s string) time.Time { t, _ := time.Parse(time.DateOnly, s); return t }

// TestRevenueDaysFromCharges drives stripe-go's charges list against the local server: pages
// are followed, only the client's captured charges in the currency count (client named on the
// PaymentIntent or the charge), refunds count on the charge's day, days without charges are
// zeros, and commission is unknown.
func TestRevenueDaysFromCharges(t *testing.T) {
	srv := kpitest.NewStripe(t)
	at := func(d string, h int) time.Time { return day(d).Add(time.Duration(h) * time.Hour) }
	ok := func(id, client, cur string, amount, refunded int64, created time.Time) kpitest.Charge {
		return kpitest.Charge{ID: id, PaymentIntent: "pi_" + id, ClientID: client, Currency: cur, Status: "succeeded",
			Amount: amount, AmountRefunded: refunded, Captured: true, Created: created}
	}
	srv.Add(
		ok("ch_1", "northwind", "usd", 10000, 0, at("2026-02-01", 9)),
		ok("ch_2", "northwind", "usd", 5000, 1500, at("2026-02-01", 23)),
		ok("ch_3", "northwind", "usd", 2500, 0, at("2026-02-03", 0)),
		ok("ch_4", "contoso", "usd", 99999, 0, at("2026-02-01", 10)),  // another client
		ok("ch_5", "northwind", "eur", 7777, 0, at("2026-02-01", 11)), // another currency
		ok("ch_6", "northwind", "usd", 4000, 0, at("2026-01-31", 23)), // before the range
		ok("ch_7", "northwind", "usd", 1000, 0, at("2026-02-04", 0)),  // after the range
	)
	failed := ok("ch_8", "northwind", "usd", 3000, 0, at("2026-02-02", 12))
	failed.Status = "failed"
	uncaptured := ok("ch_9", "northwind", "usd", 3000, 0, at("2026-02-02", 13))
	uncaptured.Captured = false
	onCharge := ok("ch_10", "northwind", "usd", 600, 0, at("2026-02-02", 14))
	onCharge.ClientOnCharge, onCharge.PaymentIntent = true, ""
	srv.Add(failed, uncaptured, onCharge)
	for i := range 150 { // more than one page of 100
		srv.Add(ok("ch_bulk_"+string(rune('a'+i/26))+string(rune('a'+i%26)), "contoso", "usd", 1, 0, at("2026-02-02", 1)))
	}

	src := stripekpi.Source{API: activities.NewStripeClient("sk_test_kpi", srv.URL, nil)}
	days, err := src.RevenueDays(t.Context(), "northwind", money.USD, day("2026-02-01"), day("2026-02-03"))
	require.NoError(t, err)
	require.Equal(t, []kpi.RevenueDay{
		{Day: day("2026-02-01"), Revenue: kpi.Revenue{Currency: money.USD, Gross: 15000, Refunds: 1500}},
		{Day: day("2026-02-02"), Revenue: kpi.Revenue{Currency: money.USD, Gross: 600}},
		{Day: day("2026-02-03"), Revenue: kpi.Revenue{Currency: money.USD, Gross: 2500}},
	}, days)
	require.Equal(t, 2, srv.Calls(), "has_more followed with starting_after")
	q := srv.Queries()[0]
	require.Contains(t, q, "created[gte]=1769299200", "charges made up to 7 days before the range, which may be captured in it")
	require.Contains(t, q, "created[lt]=1770163200")
	require.True(t, strings.Contains(q, "expand[0]=data.payment_intent") || strings.Contains(q, "expand[]=data.payment_intent"), q)
}

// TestRevenueOnTheCaptureDay: a charge counts on the day it was captured (its balance
// transaction's time), as our payments do, not on the day it was authorized: one authorized
// before the range and captured in it counts, one authorized in it and captured after does not.
func TestRevenueOnTheCaptureDay(t *testing.T) {
	srv := kpitest.NewStripe(t)
	at := func(d string, h int) time.Time { return day(d).Add(time.Duration(h) * time.Hour) }
	charge := func(id string, amount int64, created, captured time.Time) kpitest.Charge {
		return kpitest.Charge{ID: id, PaymentIntent: "pi_" + id, ClientID: "northwind", Currency: "usd", Status: "succeeded",
			Amount: amount, Captured: true, Created: created, CapturedAt: captured}
	}
	srv.Add(
		charge("ch_in", 100, at("2026-01-26", 20), at("2026-02-02", 9)),     // authorized 7 days before the range
		charge("ch_out", 20, at("2026-02-03", 20), at("2026-02-04", 9)),     // captured after the range
		charge("ch_now", 3, at("2026-02-01", 0), time.Time{}),               // captured at once
		charge("ch_before", 4000, at("2026-01-25", 9), at("2026-01-31", 9)), // captured before the range
	)
	src := stripekpi.Source{API: activities.NewStripeClient("sk_test_kpi", srv.URL, nil)}
	days, err := src.RevenueDays(t.Context(), "northwind", money.USD, day("2026-02-01"), day("2026-02-03"))
	require.NoError(t, err)
	require.Equal(t, []kpi.RevenueDay{
		{Day: day("2026-02-01"), Revenue: kpi.Revenue{Currency: money.USD, Gross: 3}},
		{Day: day("2026-02-02"), Revenue: kpi.Revenue{Currency: money.USD, Gross: 100}},
		{Day: day("2026-02-03"), Revenue: kpi.Revenue{Currency: money.USD}},
	}, days)
}

func TestErrorsClassified(t *testing.T) {
	srv := kpitest.NewStripe(t)
	src := stripekpi.Source{API: activities.NewStripeClient("sk_test_kpi", srv.URL, nil)}
	for _, tt := range []struct {
		status    int
		permanent bool
	}{
		{http.StatusUnauthorized, true},
		{http.StatusForbidden, true},
		{http.StatusTooManyRequests, false},
		{http.StatusInternalServerError, false},
	} {
		srv.Fail(tt.status)
		_, err := src.RevenueDays(t.Context(), "northwind", money.USD, day("2026-02-01"), day("2026-02-01"))
		require.Error(t, err)
		require.Equal(t, tt.permanent, kpi.IsPermanent(err), "status %d: %v", tt.status, err)
	}
}

// Stripe states ISK in hundredths of a króna; revenue is kept in ISO units, as the books are.
func TestRevenueDaysInISOUnits(t *testing.T) {
	srv := kpitest.NewStripe(t)
	srv.Add(kpitest.Charge{ID: "ch_isk", PaymentIntent: "pi_isk", ClientID: "northwind", Currency: "isk", Status: "succeeded",
		Amount: 1250000, AmountRefunded: 250000, Captured: true, Created: day("2026-02-01").Add(9 * time.Hour)})
	src := stripekpi.Source{API: activities.NewStripeClient("sk_test_kpi", srv.URL, nil)}
	days, err := src.RevenueDays(t.Context(), "northwind", "isk", day("2026-02-01"), day("2026-02-01"))
	require.NoError(t, err)
	require.Equal(t, []kpi.RevenueDay{{Day: day("2026-02-01"), Revenue: kpi.Revenue{Currency: "isk", Gross: 12500, Refunds: 2500}}}, days)
}
