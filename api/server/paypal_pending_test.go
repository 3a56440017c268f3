package server_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paysplit/activities"
	"paysplit/internal/kpi"
	"paysplit/internal/kpi/kpisrc"
	"paysplit/internal/kpi/paypalkpi"
	"paysplit/internal/money"
	ipayment "paysplit/internal/payment"
	"paysplit/internal/paypalevent"
	"paysplit/testenv"
	"paysplit/workflows/payment"
)

// TestPayPalPendingCaptureSameDayHotAndCold: a PayPal capture made PENDING at 23:30 UTC (an
// eCheck clearing, a payment under review) and COMPLETED an hour later, after UTC midnight. The
// revenue KPIs read the hot window from our payments and older days from PayPal's Transaction
// Search, which lists the capture by transaction_initiation_date, when it was made (its
// transaction_updated_date, "when last changed", moves again with a refund, so it cannot say
// when the capture completed). Both must count it on the same UTC day: our payments took the
// day of the COMPLETED event, the next one, so a range whose days came from both counted it
// twice or not at all.
func TestPayPalPendingCaptureSameDayHotAndCold(t *testing.T) {
	s := newStack(t, payment.Settings{SettleWindow: 0})
	const client, capture = "pppending", "CAPPENDING1"
	s.seedPayPal(client, "VENDORPAYER01")
	made := kpi.DayOf(time.Now()).AddDate(0, 0, -3).Add(23*time.Hour + 30*time.Minute)
	completed := made.Add(time.Hour)
	md := map[string]string{"client_id": client, "vendor_id": client + "-vendor", "affiliate_id": client + "-aff",
		"order_id": "order-" + capture, "subtotal": "11000", "platform": "woocommerce"}
	body := paypalevent.Capture{EventID: "WH-CAP-" + capture, CaptureID: capture, Currency: "usd", Amount: 11000,
		Metadata: md, Created: completed, Made: made}.Body()
	code, out := s.paypalWebhook(body, s.paypal.Sign(body))
	require.Equal(t, http.StatusOK, code, out)
	rec := s.result(payment.WorkflowID("paypal", capture))
	require.Equal(t, ipayment.StatusPaid, rec.Status, rec.Reason)

	// PayPal's own record of the same capture, as Transaction Search lists it.
	s.paypal.AddTransactions(testenv.PayPalTransaction{ID: capture, EventCode: "T0006", Status: "S", Currency: "USD",
		Value: "110.00", CustomField: "client_id=" + client + "&order_id=order-" + capture, At: made, Updated: completed})
	pp, err := activities.NewPayPalClient("client-id", "secret", s.paypal.APIBase, s.paypal.HTTPClient())
	require.NoError(t, err)

	from, to := kpi.DayOf(made), kpi.DayOf(completed)
	want := map[string]int64{from.Format(time.DateOnly): 11000, to.Format(time.DateOnly): 0}
	require.Equal(t, want, grossPerDay(t, paypalkpi.Source{Client: pp}, client, money.USD, from, to), "Transaction Search: on the day the capture was made")
	require.Equal(t, want, grossPerDay(t, kpisrc.Ledger{Store: s.Store}, client, money.USD, from, to), "our payments: on the same day as PayPal's")
	require.True(t, rec.CapturedAt.Equal(made), "captured_at %s is when the capture was made, %s", rec.CapturedAt, made)
}

// grossPerDay is what src says the client's gross in cur was each UTC day from from to to: the
// hot window's source (our payments) and a provider's, to compare day by day.
func grossPerDay(t *testing.T, src kpi.RevenueSource, clientID string, cur money.Currency, from, to time.Time) map[string]int64 {
	t.Helper()
	days, err := src.RevenueDays(t.Context(), clientID, cur, from, to)
	require.NoError(t, err, "%s", src.Name())
	out := map[string]int64{}
	for _, d := range days {
		out[d.Day.Format(time.DateOnly)] = d.Gross
	}
	return out
}
