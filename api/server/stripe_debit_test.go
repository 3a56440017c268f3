package server_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paysplit/activities"
	"paysplit/internal/kpi"
	"paysplit/internal/kpi/kpisrc"
	"paysplit/internal/kpi/kpitest"
	"paysplit/internal/kpi/stripekpi"
	"paysplit/internal/money"
	ipayment "paysplit/internal/payment"
	"paysplit/internal/stripeevent"
	"paysplit/testenv"
	"paysplit/workflows/payment"
)

// TestStripeDebitPaymentSameDayHotAndCold: an ACH / SEPA debit submitted at 23:30 UTC succeeds
// days later (payment_intent.succeeded). Stripe creates the charge's balance transaction when it
// submits the debit to the bank (Stripe's 2024 change for debit methods), so the Stripe KPI
// source puts the payment on the submission day, our payments on the day of the event.
func TestStripeDebitPaymentSameDayHotAndCold(t *testing.T) {
	s := newStack(t, payment.Settings{SettleWindow: 0})
	const client, pi = "stripedebit", "pi_debit1"
	s.seed(client)
	submitted := kpi.DayOf(time.Now()).AddDate(0, 0, -4).Add(23*time.Hour + 30*time.Minute)
	confirmed := submitted.Add(-20 * time.Minute) // the customer confirmed the debit at checkout
	succeeded := submitted.Add(2*24*time.Hour - 8*time.Hour)
	c := capture(client, pi)
	c.Created, c.IntentCreated = succeeded, confirmed
	// Stripe made the charge's balance transaction when it submitted the debit: the run reads it
	// with the fee.
	s.stripe.AddCharge(testenv.StripeCharge{ID: "ch_" + pi, Currency: "usd", Amount: 11000, PaymentIntent: pi,
		Created: confirmed, CapturedAt: submitted})
	code, out := s.webhook(stripeevent.Sign(c.Body(), webhookSecret, time.Now()))
	require.Equal(t, http.StatusOK, code, out)
	rec := s.result(payment.WorkflowID("stripe", pi))
	require.Equal(t, ipayment.StatusPaid, rec.Status, rec.Reason)

	srv := kpitest.NewStripe(t)
	srv.Add(kpitest.Charge{ID: "ch_" + pi, PaymentIntent: pi, ClientID: client, Currency: "usd", Status: "succeeded",
		Amount: 11000, Captured: true, Created: submitted})
	from, to := kpi.DayOf(submitted), kpi.DayOf(succeeded)
	cold := grossPerDay(t, stripekpi.Source{API: activities.NewStripeClient("sk_test_x", srv.URL, nil)}, client, money.USD, from, to)
	require.Equal(t, 11000, int(cold[from.Format(time.DateOnly)]), "Stripe's side counts the debit on its submission day")
	require.Equal(t, cold, grossPerDay(t, kpisrc.Ledger{Store: s.Store}, client, money.USD, from, to), "Stripe's side (cold) vs our payments (hot), per UTC day")
	require.True(t, rec.CapturedAt.Equal(submitted), "captured_at %s is when Stripe submitted the debit, %s", rec.CapturedAt, submitted)
}
