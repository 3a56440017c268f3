package server_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paysplit/testenv"
	"paysplit/workflows/payment"
)

// TestReconciliationFindsACaptureMadeBeforeItsRunCouldSeeIt: a capture whose webhook never came is
// found by reconciliation's search of the provider's payments of the run's day, by when each was
// made. A PayPal capture made pending at 23:30 on the last of the month (an eCheck) completes two
// days later; a Stripe bank debit's PaymentIntent is made on Monday and succeeds on Thursday. The
// day's run, at 02:00 the next day, could not count either as a payment yet, and the runs of the
// days they completed on searched only payments made on those days: neither was ever reported, and
// nobody was paid from them. Each run now also searches the days before its own
// (activities.UnknownCaptureLookback), so the run of the day they completed finds them.
func TestReconciliationFindsACaptureMadeBeforeItsRunCouldSeeIt(t *testing.T) {
	s := newStack(t, payment.Settings{SettleWindow: 0})
	s.seedPayPal("lateppcap", "VENDORLATEPP1")
	s.seed("latedebit")
	today := time.Now().UTC().Truncate(24 * time.Hour)
	made := today.AddDate(0, 0, -2).Add(23*time.Hour + 30*time.Minute)
	s.paypal.AddTransactions(testenv.PayPalTransaction{ID: "CAPLATE1", EventCode: "T0006", Status: "P", Currency: "USD", Value: "110.00",
		CustomField: "client_id=lateppcap&order_id=order-CAPLATE1", At: made})
	ppWF, piWF := payment.WorkflowID("paypal", "CAPLATE1"), payment.WorkflowID("stripe", "pi_latedebit")
	// captured is what a run of day reported as captured at the provider with no payment here.
	captured := func(day time.Time) map[string]float64 {
		code, out := s.do(http.MethodPost, "/api/v1/admin/reconciliation/run", map[string]any{"date": day.Format(time.DateOnly)}, adminKey)
		require.Equal(t, http.StatusOK, code, out)
		got := map[string]float64{}
		for provider, run := range out["runs"].(map[string]any) {
			// The run's answer carries a sample of its drifts; the listing has them all (other
			// tests' payments of the day drift too).
			var stored map[string]any
			code, list := s.do(http.MethodGet, "/api/v1/admin/reconciliation?provider="+provider+"&from="+day.Format(time.DateOnly)+
				"&to="+day.Format(time.DateOnly)+"&limit=100", nil, adminKey)
			require.Equal(t, http.StatusOK, code, list)
			for _, r := range list["runs"].([]any) {
				if r.(map[string]any)["id"] == run.(map[string]any)["id"] {
					stored = r.(map[string]any)
				}
			}
			require.NotNil(t, stored, "the %s run is listed", provider)
			for _, d := range stored["drifts"].([]any) {
				d := d.(map[string]any)
				if p := d["payment"]; (p == ppWF || p == piWF) && d["payee_id"] == "(captured)" {
					require.Equal(t, "extra_at_provider", d["kind"])
					got[p.(string)] = d["provider_amount"].(float64)
				}
			}
		}
		return got
	}
	require.Empty(t, captured(made), "pending at its day's run: not a payment yet")

	// Two days later both have completed, and no webhook came for either.
	require.True(t, s.paypal.SetTransactionStatus("CAPLATE1", "S", today.Add(time.Hour)))
	s.stripe.AddCharge(testenv.StripeCharge{ID: "ch_latedebit", Currency: "usd", Amount: 5000, PaymentIntent: "pi_latedebit",
		Created: today.AddDate(0, 0, -3).Add(10 * time.Hour), Metadata: map[string]string{"client_id": "latedebit", "order_id": "o-debit"}})
	require.Equal(t, map[string]float64{ppWF: 11000, piWF: 5000}, captured(today), "the run of the day they completed finds them")
}
