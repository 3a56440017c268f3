package activities

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/stripe/stripe-go/v76"

	"paysplit/internal/money"
	"paysplit/testenv"
)

// PayPal's fee is read the way reconciliation compares it (capture, then feeLessReturns): the
// capture's, less what each refund the payment recorded gave back; what PayPal cannot state in
// the payment's terms is a reason, never a guess.
func TestPayPalNetFee(t *testing.T) {
	fake := testenv.NewPayPal(t)
	c, err := NewPayPalClient("paysplit-test", "secret", fake.APIBase, fake.HTTPClient())
	require.NoError(t, err)
	fake.AddCapture(testenv.PayPalCapture{ID: "CAP-OK", Currency: "USD", Amount: "110.00", Fee: "4.33"})
	fake.AddCapture(testenv.PayPalCapture{ID: "CAP-NOFEE", Currency: "USD", Amount: "110.00"})
	fake.AddCapture(testenv.PayPalCapture{ID: "CAP-EUR", Currency: "EUR", Amount: "100.00", Fee: "3.84"})
	fake.AddCapture(testenv.PayPalCapture{ID: "CAP-JPY", Currency: "JPY", Amount: "11000", Fee: "433"})
	fake.AddRefund(testenv.PayPalRefund{ID: "REF-1", CaptureID: "CAP-OK", Currency: "USD", Amount: "11.00", Fee: "0.38"})
	fake.AddRefund(testenv.PayPalRefund{ID: "REF-2", CaptureID: "CAP-OK", Currency: "USD", Amount: "5.00"})
	fake.AddRefund(testenv.PayPalRefund{ID: "REF-BIG", CaptureID: "CAP-OK", Currency: "USD", Amount: "50.00", Fee: "9.99"})
	tests := []struct {
		name, capture string
		refunds       []string
		currency      string
		want          int64
		why           string
	}{
		{"the capture's fee", "CAP-OK", nil, "usd", 433, ""},
		{"less what a refund gave back", "CAP-OK", []string{"REF-1"}, "usd", 395, ""},
		{"a refund that gave nothing back", "CAP-OK", []string{"REF-1", "REF-2"}, "usd", 395, ""},
		{"a zero-exponent currency", "CAP-JPY", nil, "jpy", 433, ""},
		{"returns above the fee are not believed", "CAP-OK", []string{"REF-BIG"}, "usd", 0, "outside 0..433"},
		{"no fee stated", "CAP-NOFEE", nil, "usd", 0, "states no fee"},
		{"a fee in another currency", "CAP-EUR", nil, "usd", 0, "fee in eur, the payment in usd"},
		{"a capture PayPal does not know", "CAP-GONE", nil, "usd", 0, "RESOURCE_NOT_FOUND"},
		{"a refund PayPal does not know", "CAP-OK", []string{"REF-GONE"}, "usd", 0, "get refund REF-GONE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fee, why, err := readFee(paypalRail{c: c}, tt.capture, tt.refunds, money.Currency(tt.currency))
			requireAmountOrWhy(t, tt.want, tt.why, fee, why, err)
		})
	}
}

// readFee reads a capture and its fee net of the refunds' returns, as paypalStated does.
func readFee(rail paypalRail, captureID string, refunds []string, cur money.Currency) (int64, string, error) {
	ctx := context.Background()
	c, why, err := rail.capture(ctx, captureID)
	if c == nil {
		return 0, why, err
	}
	return rail.feeLessReturns(ctx, c, refunds, cur, 11000)
}

// A partly refunded capture's refunds are read from its checkout order (the capture's "up" link):
// the completed ones of this capture, in the payment's currency; what cannot be told is a reason.
func TestPayPalRefundedOfACapture(t *testing.T) {
	fake := testenv.NewPayPal(t)
	c, err := NewPayPalClient("paysplit-test", "secret", fake.APIBase, fake.HTTPClient())
	require.NoError(t, err)
	fake.AddCapture(testenv.PayPalCapture{ID: "CAP-A", Currency: "USD", Amount: "110.00", Status: "PARTIALLY_REFUNDED", Order: "ORDER-1"})
	fake.AddCapture(testenv.PayPalCapture{ID: "CAP-B", Currency: "USD", Amount: "40.00", Order: "ORDER-1"}) // the same order, not refunded
	fake.AddCapture(testenv.PayPalCapture{ID: "CAP-NOORDER", Currency: "USD", Amount: "110.00", Status: "PARTIALLY_REFUNDED"})
	fake.AddCapture(testenv.PayPalCapture{ID: "CAP-EUR", Currency: "EUR", Amount: "100.00", Status: "PARTIALLY_REFUNDED", Order: "ORDER-2"})
	fake.AddCapture(testenv.PayPalCapture{ID: "CAP-JPY", Currency: "JPY", Amount: "11000", Status: "PARTIALLY_REFUNDED", Order: "ORDER-3"})
	fake.AddRefund(testenv.PayPalRefund{ID: "REF-A1", CaptureID: "CAP-A", Currency: "USD", Amount: "11.00"})
	fake.AddRefund(testenv.PayPalRefund{ID: "REF-A2", CaptureID: "CAP-A", Currency: "USD", Amount: "5.50"})
	fake.AddRefund(testenv.PayPalRefund{ID: "REF-E", CaptureID: "CAP-EUR", Currency: "USD", Amount: "5.00"})
	fake.AddRefund(testenv.PayPalRefund{ID: "REF-J", CaptureID: "CAP-JPY", Currency: "JPY", Amount: "1100"})
	tests := []struct {
		name, capture, currency string
		want                    int64
		why                     string
	}{
		{"this capture's refunds, not the order's other capture", "CAP-A", "usd", 1650, ""},
		{"none yet", "CAP-B", "usd", 0, ""},
		{"a zero-exponent currency", "CAP-JPY", "jpy", 1100, ""},
		{"no order to ask", "CAP-NOORDER", "usd", 0, "links no checkout order"},
		{"a refund in another currency", "CAP-EUR", "eur", 0, "is not in eur"},
	}
	ctx := context.Background()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rail := paypalRail{c: c}
			capture, why, err := rail.capture(ctx, tt.capture)
			require.NoError(t, err)
			require.Empty(t, why)
			got, why, err := rail.refundedOf(ctx, capture, money.Currency(tt.currency))
			requireAmountOrWhy(t, tt.want, tt.why, got, why, err)
		})
	}
}

// requireAmountOrWhy checks a provider reading: no error, the amount wanted, and the reason it
// could not be told when one is wanted (none otherwise).
func requireAmountOrWhy(t *testing.T, want int64, wantWhy string, got int64, why string, err error) {
	t.Helper()
	require.NoError(t, err)
	require.Equal(t, want, got)
	if wantWhy == "" {
		require.Empty(t, why)
	} else {
		require.Contains(t, why, wantWhy)
	}
}

// Reconciliation compares Stripe's amounts with the books in ISO units; one that does not convert
// whole is left as Stripe stated it, to show as a drift.
func TestStripeAmountForReconciliation(t *testing.T) {
	for _, tt := range []struct {
		amount int64
		cur    stripe.Currency
		want   int64
	}{
		{500000, "isk", 5000},
		{5000, "mga", 500000},
		{1999, "usd", 1999},
		{500050, "isk", 500050},
	} {
		assert.Equal(t, tt.want, stripeAmount(tt.amount, tt.cur), "%d %s", tt.amount, tt.cur)
	}
}

// A Stripe payment counts when Stripe created its charge's balance transaction (a bank debit:
// when it was submitted, days before payment_intent.succeeded), as Stripe's lists count it; the
// time is believed only between the PaymentIntent's (and the charge's) creation and the event,
// so stripe-mock's fixed 2009 fixtures, or an answer out of order, leave the event's time.
func TestStripeCapturedAt(t *testing.T) {
	confirmed := time.Date(2026, 11, 23, 23, 10, 0, 0, time.UTC) // the PaymentIntent's created
	submitted := time.Date(2026, 11, 23, 23, 30, 0, 0, time.UTC)
	succeeded := time.Date(2026, 11, 25, 15, 30, 0, 0, time.UTC) // the event's time
	charge := func(created, btCreated time.Time) *stripe.Charge {
		return &stripe.Charge{ID: "ch_1", Created: created.Unix(), BalanceTransaction: &stripe.BalanceTransaction{ID: "txn_1", Created: btCreated.Unix()}}
	}
	fixture := time.Unix(1234567890, 0) // stripe-mock's created of every object
	tests := []struct {
		name                string
		ch                  *stripe.Charge
		intentCreated, evAt time.Time
		want                time.Time // zero: the event's time stands
	}{
		{"a debit counts from its submission", charge(confirmed, submitted), confirmed, succeeded, submitted},
		{"a card captured just before its event", charge(confirmed, succeeded.Add(-time.Second)), confirmed, succeeded, succeeded.Add(-time.Second)},
		{"a balance transaction made as the PaymentIntent was", charge(confirmed, confirmed), confirmed, succeeded, confirmed},
		{"made in the event's own second: the event stands", charge(confirmed, succeeded), confirmed, succeeded, time.Time{}},
		{"made after the event", charge(confirmed, succeeded.Add(time.Hour)), confirmed, succeeded, time.Time{}},
		{"stripe-mock's fixture, before the PaymentIntent", charge(fixture, fixture), confirmed, succeeded, time.Time{}},
		{"before the PaymentIntent", charge(confirmed, confirmed.Add(-time.Second)), confirmed, succeeded, time.Time{}},
		{"before its own charge", charge(submitted.Add(time.Minute), submitted), confirmed, succeeded, time.Time{}},
		{"an event without the PaymentIntent's created", charge(confirmed, submitted), time.Time{}, succeeded, time.Time{}},
		{"a run that passed no event time", charge(confirmed, submitted), confirmed, time.Time{}, time.Time{}},
		{"no balance transaction yet", &stripe.Charge{ID: "ch_1", Created: confirmed.Unix()}, confirmed, succeeded, time.Time{}},
		{"a balance transaction not expanded", &stripe.Charge{ID: "ch_1", Created: confirmed.Unix(), BalanceTransaction: &stripe.BalanceTransaction{ID: "txn_1"}},
			confirmed, succeeded, time.Time{}},
		{"no charge", nil, confirmed, succeeded, time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := stripeCapturedAt(tt.ch, tt.intentCreated, tt.evAt)
			assert.True(t, got.Equal(tt.want), "got %s, want %s", got, tt.want)
			assert.Equal(t, time.UTC, got.Location(), "kept in UTC, as the event's time")
		})
	}
}
