package activities_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"paysplit/activities"
	"paysplit/internal/kpi"
	"paysplit/internal/kpi/kpitest"
	"paysplit/internal/kpi/stripekpi"
	"paysplit/internal/money"
	"paysplit/internal/payment"
	"paysplit/internal/report"
	"paysplit/internal/split"
	"paysplit/internal/store"
	"paysplit/testenv"
)

// stripePayment is a Stripe payment as the payment workflow persists it, split 10% platform and
// the rest to the vendor, refunded (refunds and lost disputes) in the same proportion.
func stripePayment(clientID, id string, at time.Time, gross, refunded, disputesLost int64, status payment.Status) payment.Record {
	platform, pr := gross/10, refunded/10
	return payment.Record{
		WorkflowID: "payment-stripe-" + id, Provider: "stripe", PaymentID: id, ChargeID: "ch_" + id, Currency: money.USD,
		Gross: gross, Refunded: refunded, DisputesLost: disputesLost, Status: status, CapturedAt: at, RuleVersion: 1,
		LostDisputes: func() []string {
			if disputesLost > 0 {
				return []string{"dp_" + id}
			}
			return nil
		}(),
		Order: payment.Order{ClientID: clientID, OrderID: "order-" + id, VendorID: clientID + "-vendor", Platform: "shopify", Subtotal: gross},
		Legs: []payment.Leg{
			{Party: split.PartyPlatform, Amount: platform, Refunded: pr, State: payment.LegRetained},
			{Party: split.PartyVendor, PayeeID: clientID + "-vendor", Amount: gross - platform, Refunded: refunded - pr,
				Transferred: gross - platform, Reversed: refunded - pr, State: payment.LegTransferred, TransferID: "tr_" + id},
		},
	}
}

// generateWeek generates the client's report of week at now through a reader like the worker's
// (7 hot days, cold the given sources), and returns its data.
func generateWeek(t *testing.T, st *store.Store, id, week string, now time.Time, cold kpi.SourcesFor) report.Data {
	t.Helper()
	rep := &activities.Reports{Store: st, Now: func() time.Time { return now },
		KPIs: &kpi.Reader{Hot: st, Cold: cold, RetentionDays: 7, StaleAfter: time.Hour, Now: func() time.Time { return now }}}
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestActivityEnvironment()
	env.RegisterActivity(rep)
	_, err := env.ExecuteActivity(rep.GenerateReport, activities.GenerateReportInput{ClientID: id, Week: week, Force: true})
	require.NoError(t, err)
	d, err := st.GetReportDelivery(t.Context(), id, week)
	require.NoError(t, err)
	return *d.Data
}

// TestLostDisputeSameRevenueHotAndCold: a $100.00 payment of Wed 10 June (2026-W24) is lost to a
// dispute, and a $50.00 one of Thu 11 June stands. The week's storefront revenue is one figure:
// W24's report (made Mon 15 June, the week in the hot window, from the KPI sync of our payments)
// and W25's report (made Mon 22 June, W24 then older than the hot window and read from Stripe,
// as its "previous week") must agree on it. Stripe's amount_refunded does not count a lost
// dispute; our payments' refunded does.
func TestLostDisputeSameRevenueHotAndCold(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	st := store.New(pool)
	ctx := t.Context()
	const id = "numbers-dispute-hot-cold"
	usdClient(t, st, id)
	wed := time.Date(2026, 6, 10, 12, 0, 0, 0, time.UTC)
	thu := time.Date(2026, 6, 11, 12, 0, 0, 0, time.UTC)
	require.NoError(t, st.SavePayment(ctx, stripePayment(id, id+"-lost", wed, 10000, 10000, 10000, payment.StatusRefunded)))
	require.NoError(t, st.SavePayment(ctx, stripePayment(id, id+"-ok", thu, 5000, 0, 0, payment.StatusPaid)))

	// Stripe holds the same two charges; a lost dispute leaves amount_refunded at 0.
	srv := kpitest.NewStripe(t)
	srv.Add(
		kpitest.Charge{ID: "ch_" + id + "-lost", PaymentIntent: "pi_" + id + "-lost", ClientID: id, Currency: "usd", Status: "succeeded",
			Amount: 10000, Captured: true, Created: wed},
		kpitest.Charge{ID: "ch_" + id + "-ok", PaymentIntent: "pi_" + id + "-ok", ClientID: id, Currency: "usd", Status: "succeeded",
			Amount: 5000, Captured: true, Created: thu},
	)
	cold := stripeCold(srv)

	// The KPI sync of Mon 15 June 05:45 stores the hot window from our payments.
	syncAt := time.Date(2026, 6, 15, 5, 45, 0, 0, time.UTC)
	syncHotWindow(t, st, id, syncAt)

	w24 := generateWeek(t, st, id, "2026-W24", time.Date(2026, 6, 15, 6, 0, 0, 0, time.UTC), cold)
	w25 := generateWeek(t, st, id, "2026-W25", time.Date(2026, 6, 22, 6, 0, 0, 0, time.UTC), cold)

	asW24 := report.Sum(w24.Days)
	asPrevOfW25 := report.Sum(w25.Previous)
	require.Equal(t, 7, asW24.RevenueDays)
	require.Equal(t, 7, asPrevOfW25.RevenueDays)
	require.Equal(t, report.FormatMoney(asW24.Revenue, money.USD), report.FormatMoney(asPrevOfW25.Revenue, money.USD),
		"W24's storefront revenue in its own report vs as W25's previous week")
}

// TestReportWeekAcrossDSTInTheClientsZone: Europe/Berlin moves to summer time on Sun 29 March
// 2026. 2026-W13's payments are those of Mon 23 March 00:00 CET to Mon 30 March 00:00 CEST.
func TestReportWeekAcrossDSTInTheClientsZone(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	st := store.New(pool)
	ctx := t.Context()
	const id = "numbers-dst-week"
	usdClient(t, st, id)
	for i, at := range []time.Time{
		time.Date(2026, 3, 22, 22, 30, 0, 0, time.UTC), // Sun 23:30 CET: W12
		time.Date(2026, 3, 22, 23, 30, 0, 0, time.UTC), // Mon 00:30 CET: W13
		time.Date(2026, 3, 29, 21, 30, 0, 0, time.UTC), // Sun 23:30 CEST: W13
		time.Date(2026, 3, 29, 22, 30, 0, 0, time.UTC), // Mon 00:30 CEST: W14
	} {
		require.NoError(t, st.SavePayment(ctx, stripePayment(id, fmt.Sprintf("%s-%d", id, i), at, int64(1000*(i+1)), 0, 0, payment.StatusPaid)))
	}
	now := time.Date(2026, 3, 30, 6, 0, 0, 0, time.UTC)
	rep := &activities.Reports{Store: st, Now: func() time.Time { return now },
		KPIs: &kpi.Reader{Hot: st, RetentionDays: 7, StaleAfter: time.Hour, Now: func() time.Time { return now }}}
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestActivityEnvironment()
	env.RegisterActivity(rep)
	_, err := env.ExecuteActivity(rep.GenerateReport, activities.GenerateReportInput{ClientID: id, Week: "2026-W13", Force: true, TimeZone: "Europe/Berlin"})
	require.NoError(t, err)
	d, err := st.GetReportDelivery(ctx, id, "2026-W13")
	require.NoError(t, err)
	require.Len(t, d.Data.Payments, 1)
	require.EqualValues(t, 2, d.Data.Payments[0].Count)
	require.EqualValues(t, 2000+3000, d.Data.Payments[0].Gross)
	require.EqualValues(t, 200+300, d.Data.Payments[0].Platform)
	require.EqualValues(t, 1, d.Data.PreviousPayments[0].Count)
}

// TestCapturedLaterSameDayHotAndCold: an order authorized on Sun 14 June 20:00 UTC (2026-W24)
// and captured when it shipped, Tue 16 June 10:00 UTC (W25). Our payments count it on its
// capture, Tue 16 June, and so must Stripe's side: read by the charge's creation (its
// authorization), it moved to Sun 14 June once W24 left the hot window, so W25's report counted it
// twice (W25 from our payments, W24 as the previous week from Stripe) and W26's report, reading
// W25 from Stripe, not at all.
func TestCapturedLaterSameDayHotAndCold(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	st := store.New(pool)
	ctx := t.Context()
	const id = "numbers-capture-later"
	usdClient(t, st, id)
	authorized := time.Date(2026, 6, 14, 20, 0, 0, 0, time.UTC)
	captured := time.Date(2026, 6, 16, 10, 0, 0, 0, time.UTC)
	require.NoError(t, st.SavePayment(ctx, stripePayment(id, id+"-1", captured, 10000, 0, 0, payment.StatusPaid)))

	srv := kpitest.NewStripe(t)
	srv.Add(kpitest.Charge{ID: "ch_" + id + "-1", PaymentIntent: "pi_" + id + "-1", ClientID: id, Currency: "usd", Status: "succeeded",
		Amount: 10000, Captured: true, Created: authorized, CapturedAt: captured})
	cold := stripeCold(srv)

	// The KPI sync of Mon 22 June 05:45 stores W25 (the hot window) from our payments.
	syncAt := time.Date(2026, 6, 22, 5, 45, 0, 0, time.UTC)
	syncHotWindow(t, st, id, syncAt)

	w25 := generateWeek(t, st, id, "2026-W25", time.Date(2026, 6, 22, 6, 0, 0, 0, time.UTC), cold)
	w26 := generateWeek(t, st, id, "2026-W26", time.Date(2026, 6, 29, 6, 0, 0, 0, time.UTC), cold)

	require.EqualValues(t, 10000, report.Sum(w25.Days).Revenue, "W25 from our payments")
	require.EqualValues(t, 0, report.Sum(w25.Previous).Revenue, "W24 from Stripe: nothing was captured that week")
	require.EqualValues(t, 10000, report.Sum(w26.Previous).Revenue, "W25 from Stripe, as W26's previous week")
	for _, d := range w26.Previous {
		if d.Date == "2026-06-16" {
			require.EqualValues(t, 10000, d.Revenue, "on the day of the capture")
		}
	}
}

// stripeCold reads the cold days of revenue from srv, as a client's Stripe source does.
func stripeCold(srv *kpitest.Stripe) func(context.Context, string) (kpi.Sources, error) {
	return func(context.Context, string) (kpi.Sources, error) {
		return kpi.Sources{Revenue: stripekpi.Source{API: activities.NewStripeClient("sk_test_x", srv.URL, nil)}}, nil
	}
}

// syncHotWindow stores client id's hot window from our payments, as the KPI sync at syncAt does.
func syncHotWindow(t *testing.T, st *store.Store, id string, syncAt time.Time) {
	t.Helper()
	k := &activities.KPI{Store: st, Now: func() time.Time { return syncAt }}
	_, err := k.SyncKPISource(t.Context(), activities.SyncKPISourceInput{ClientID: id, Source: kpi.SourceLedger, Currency: money.USD,
		From: kpi.HotStart(syncAt, 7), To: kpi.DayOf(syncAt), Today: kpi.DayOf(syncAt)})
	require.NoError(t, err)
}
