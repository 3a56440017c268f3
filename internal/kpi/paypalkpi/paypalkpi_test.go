package paypalkpi_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paysplit/activities"
	"paysplit/internal/kpi"
	"paysplit/internal/kpi/paypalkpi"
	"paysplit/internal/money"
	"paysplit/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

var day = func(s string) time.Time { t, _ := time.Parse(time.DateOnly, s); return t }

func at(d string, h int) time.Time { return day(d).Add(time.Duration(h) * time.Hour) }

// newSource points the real PayPal client at the local PayPal, with the clock at now.
func newSource(t *testing.T, now time.Time) (paypalkpi.Source, *testenv.PayPal) {
	t.Helper()
	pp := testenv.NewPayPal(t)
	c, err := activities.NewPayPalClient("client-id", "secret", pp.APIBase, pp.HTTPClient())
	require.NoError(t, err)
	return paypalkpi.Source{Client: c, Now: func() time.Time { return now }}, pp
}

// capture is a completed Orders API capture for client, as our plugins send it.
func capture(id, client, cur, value string, when time.Time) testenv.PayPalTransaction {
	return testenv.PayPalTransaction{ID: id, EventCode: "T0006", Status: "S", Currency: cur, Value: value,
		CustomField: "client_id=" + client + "&order_id=o-" + id, At: when}
}

// refundOf is a merchant refund of payment (a negative amount, as PayPal lists it).
func refundOf(id, payment, value string, when time.Time) testenv.PayPalTransaction {
	return testenv.PayPalTransaction{ID: id, EventCode: "T1107", Status: "S", Currency: "USD", Value: value, ReferenceID: payment, At: when}
}

// TestRevenueDaysFromTransactionSearch drives plutov/paypal's ListTransactions against the local
// PayPal over TLS: pages are followed, only the client's completed payments in the currency
// count (client named in custom_id), refunds count on their payment's day even when made after
// the range, pending, denied and outgoing transactions do not, days without payments are zeros,
// and commission is unknown.
func TestRevenueDaysFromTransactionSearch(t *testing.T) {
	src, pp := newSource(t, at("2026-02-20", 10))
	refunded := capture("P2", "northwind", "USD", "50.00", at("2026-02-01", 23))
	refunded.Status = "V" // fully refunded since; the refund is its own transaction
	pending := capture("P6", "northwind", "USD", "30.00", at("2026-02-02", 9))
	pending.Status = "P"
	denied := capture("P7", "northwind", "USD", "31.00", at("2026-02-02", 10))
	denied.Status = "D"
	notOurs := capture("P8", "northwind", "USD", "32.00", at("2026-02-02", 11))
	notOurs.CustomField = "gift for northwind" // another integration's free text
	pp.AddTransactions(
		capture("P1", "northwind", "USD", "100.00", at("2026-02-01", 9)),
		refunded,
		refundOf("R2", "P2", "-50.00", at("2026-02-10", 8)), // after the range: counts on 02-01
		capture("P3", "northwind", "USD", "25.00", at("2026-02-03", 0)),
		refundOf("R3", "P3", "-5.00", at("2026-02-03", 1)),
		capture("P4", "contoso", "USD", "999.99", at("2026-02-01", 10)), // another client
		refundOf("R4", "P4", "-9.99", at("2026-02-02", 10)),
		capture("P5", "northwind", "EUR", "77.77", at("2026-02-01", 11)), // another currency
		capture("P9", "northwind", "USD", "40.00", at("2026-01-31", 23)), // before the range
		refundOf("R9", "P9", "-40.00", at("2026-02-02", 12)),             // ...so its refund is not ours here
		capture("P10", "northwind", "USD", "10.00", at("2026-02-04", 0)), // after the range
		pending, denied, notOurs,
		testenv.PayPalTransaction{ID: "PO1", EventCode: "T0000", Status: "S", Currency: "USD", Value: "-12.00", At: at("2026-02-02", 13)}, // a payout we sent
	)
	for i := range 600 { // more than one page of 500
		pp.AddTransactions(capture(fmt.Sprintf("BULK%03d", i), "contoso", "USD", "0.01", at("2026-02-02", 1)))
	}

	days, err := src.RevenueDays(t.Context(), "northwind", money.USD, day("2026-02-01"), day("2026-02-03"))
	require.NoError(t, err)
	require.Equal(t, []kpi.RevenueDay{
		{Day: day("2026-02-01"), Revenue: kpi.Revenue{Currency: money.USD, Gross: 15000, Refunds: 5000}},
		{Day: day("2026-02-02"), Revenue: kpi.Revenue{Currency: money.USD}},
		{Day: day("2026-02-03"), Revenue: kpi.Revenue{Currency: money.USD, Gross: 2500, Refunds: 500}},
	}, days)
	searches := pp.TransactionSearches()
	require.Len(t, searches, 2, "two pages of 500")
	for i, q := range searches {
		require.Equal(t, "2026-02-01T00:00:00Z", q.Get("start_date"))
		require.Equal(t, "2026-02-20T10:00:00Z", q.Get("end_date"), "refunds are searched up to now")
		require.Equal(t, "USD", q.Get("transaction_currency"))
		require.Equal(t, "transaction_info", q.Get("fields"))
		require.Equal(t, "500", q.Get("page_size"))
		require.Equal(t, fmt.Sprint(i+1), q.Get("page"))
	}
}

// TestSearchWindows: PayPal searches at most 31 days at a time and lists at most so many
// matches, so a long range is searched in windows (what is on a window's edge counted once),
// a window with too many matches is halved, and refunds are searched at most 180 days past the
// range.
func TestSearchWindows(t *testing.T) {
	src, pp := newSource(t, at("2026-12-01", 0))
	pp.AddTransactions(
		capture("E1", "northwind", "USD", "1.00", at("2026-01-01", 0)),
		capture("E2", "northwind", "USD", "2.00", day("2026-01-01").Add(31*24*time.Hour)), // the first window's end, the second's start
		refundOf("E2R", "E2", "-0.50", day("2026-01-01").Add(31*24*time.Hour)),            // listed by both windows, counted once
		capture("E3", "northwind", "USD", "3.00", at("2026-03-31", 23)),
		refundOf("E3R", "E3", "-3.00", at("2026-09-20", 0)), // within 180 days of the range
		refundOf("E1R", "E1", "-1.00", at("2026-10-20", 0)), // later than PayPal allows: never searched
	)
	for i := range 5 {
		pp.AddTransactions(capture(fmt.Sprintf("C%d", i), "contoso", "USD", "1.00", at("2026-03-10", i)))
	}
	pp.LimitTransactions(4)

	days, err := src.RevenueDays(t.Context(), "northwind", money.USD, day("2026-01-01"), day("2026-03-31"))
	require.NoError(t, err)
	require.Len(t, days, 90)
	byDay := map[string]kpi.Revenue{}
	for _, d := range days {
		if d.Gross != 0 || d.Refunds != 0 {
			byDay[d.Day.Format(time.DateOnly)] = d.Revenue
		}
	}
	require.Equal(t, map[string]kpi.Revenue{
		"2026-01-01": {Currency: money.USD, Gross: 100},
		"2026-02-01": {Currency: money.USD, Gross: 200, Refunds: 50},
		"2026-03-31": {Currency: money.USD, Gross: 300, Refunds: 300},
	}, byDay)
	var tooLarge bool
	for _, q := range pp.TransactionSearches() {
		start, err := time.Parse(time.RFC3339, q.Get("start_date"))
		require.NoError(t, err)
		end, err := time.Parse(time.RFC3339, q.Get("end_date"))
		require.NoError(t, err)
		require.LessOrEqual(t, end.Sub(start), 31*24*time.Hour)
		require.False(t, end.After(day("2026-04-01").AddDate(0, 0, 180)), "refunds searched at most 180 days past the range")
		tooLarge = tooLarge || end.Sub(start) < 31*24*time.Hour/2
	}
	require.True(t, tooLarge, "a window with too many matches was searched in halves")
}

func TestErrorsClassified(t *testing.T) {
	src, pp := newSource(t, at("2026-02-20", 0))
	for _, tt := range []struct {
		status    int
		permanent bool
	}{
		{http.StatusUnauthorized, true},
		{http.StatusForbidden, true}, // Transaction Search not enabled for the REST app
		{http.StatusTooManyRequests, false},
		{http.StatusInternalServerError, false},
		{http.StatusServiceUnavailable, false},
	} {
		pp.FailTransactions(tt.status)
		_, err := src.RevenueDays(t.Context(), "northwind", money.USD, day("2026-02-01"), day("2026-02-01"))
		require.Error(t, err)
		require.Equal(t, tt.permanent, kpi.IsPermanent(err), "status %d: %v", tt.status, err)
		require.Contains(t, err.Error(), fmt.Sprint(tt.status))
		require.NotContains(t, err.Error(), "secret")
	}
}

// The KPIs' PayPal revenue searched with plutov's client alone: a token PayPal stopped taking
// before its expires_in (revoked, the REST app's credentials rotated) failed every search 401
// until plutov renewed it near its expiry, hours of the source's errors on PayPal revenue. The
// search renews it once, as the payouts do, and is made again; later searches use the new token.
func TestRevenueDaysRenewATokenRevokedBeforeItsExpiry(t *testing.T) {
	tests := []struct {
		name   string
		shared bool
	}{
		{name: "the client's own search"},
		{name: "the searches shared by clients", shared: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src, pp := newSource(t, at("2026-02-20", 10))
			pp.AddTransactions(capture("P1", "northwind", "USD", "100.00", at("2026-02-01", 9)))
			read := func() []kpi.RevenueDay {
				t.Helper()
				if tc.shared { // a new cache, so the search is made again
					src.Shared = paypalkpi.NewShared(time.Hour, 8, kpi.NewLimiter(1))
				}
				days, err := src.RevenueDays(t.Context(), "northwind", money.USD, day("2026-02-01"), day("2026-02-01"))
				require.NoError(t, err)
				return days
			}
			want := read()
			require.Equal(t, int64(10000), want[0].Revenue.Gross)
			require.Equal(t, 1, pp.TokenRequests())

			pp.RevokeTokens()
			require.Equal(t, want, read(), "the token PayPal refused renewed and the search made again")
			require.Equal(t, 2, pp.TokenRequests(), "one new token")
			require.Equal(t, want, read(), "later searches use the new token")
			require.Equal(t, 2, pp.TokenRequests(), "no token asked for each search")
		})
	}
}
