package server

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/stripe/stripe-go/v76"

	"paysplit/internal/money"
	"paysplit/workflows/payment"
)

// Stripe counts ISK and UGX in hundredths and MGA in whole ariary; the events the workflow gets
// carry ISO minor units, as orders, the books and reports do.
func TestStripeAmountsAreReadInISOUnits(t *testing.T) {
	for _, tt := range []struct {
		name, typ, object string
		want              payment.Event
	}{
		{"capture in ISK", "payment_intent.succeeded",
			`{"id":"pi_1","object":"payment_intent","amount":500000,"amount_received":500000,"currency":"isk","latest_charge":"ch_1"}`,
			payment.Event{Kind: payment.EventCapture, Amount: 5000, Currency: "isk", ChargeID: "ch_1", Metadata: map[string]string{}, ISOUnits: true}},
		{"capture in MGA", "payment_intent.succeeded",
			`{"id":"pi_1","object":"payment_intent","amount":5000,"amount_received":5000,"currency":"mga"}`,
			payment.Event{Kind: payment.EventCapture, Amount: 500000, Currency: "mga", Metadata: map[string]string{}, ISOUnits: true}},
		{"capture in USD, as sent", "payment_intent.succeeded",
			`{"id":"pi_1","object":"payment_intent","amount":1999,"amount_received":1999,"currency":"usd"}`,
			payment.Event{Kind: payment.EventCapture, Amount: 1999, Currency: "usd", Metadata: map[string]string{}, ISOUnits: true}},
		{"refund in UGX", "charge.refunded",
			`{"id":"ch_1","object":"charge","amount":500000,"amount_refunded":120000,"currency":"ugx","payment_intent":"pi_1"}`,
			payment.Event{Kind: payment.EventRefund, ChargeID: "ch_1", AmountRefunded: 1200, Currency: "ugx", ISOUnits: true}},
		{"dispute in ISK with its fee", "charge.dispute.created",
			`{"id":"dp_1","object":"dispute","amount":500000,"currency":"isk","status":"needs_response","payment_intent":"pi_1",
			  "balance_transactions":[{"id":"txn_1","object":"balance_transaction","amount":-500000,"fee":250000,"currency":"isk"}]}`,
			payment.Event{Kind: payment.EventDisputeCreated, Amount: 5000, Currency: "isk", DisputeID: "dp_1", DisputeStatus: "needs_response",
				DisputeFees: map[string]int64{"txn_1": 2500}, ISOUnits: true}},
		{"failed refund in MGA", "refund.failed",
			`{"id":"re_1","object":"refund","amount":700,"currency":"mga","status":"failed","payment_intent":"pi_1"}`,
			payment.Event{Kind: payment.EventRefundFailed, RefundID: "re_1", Amount: 70000, Currency: "mga", ISOUnits: true}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ev, paymentID, err := stripeToEvent(stripe.Event{ID: "evt_1", Type: stripe.EventType(tt.typ), Data: &stripe.EventData{Raw: []byte(tt.object)}})
			require.NoError(t, err)
			assert.Equal(t, "pi_1", paymentID)
			tt.want.ID, tt.want.OccurredAt = "evt_1", ev.OccurredAt
			assert.Equal(t, tt.want, ev)
		})
	}
}

// An amount that does not convert whole (ISK "decimals", which Stripe says it never sends) is
// refused with the reason, not rounded.
func TestStripeAmountsThatDoNotConvertAreRefused(t *testing.T) {
	_, _, err := stripeToEvent(stripe.Event{ID: "evt_1", Type: "payment_intent.succeeded", Data: &stripe.EventData{
		Raw: []byte(`{"id":"pi_1","object":"payment_intent","amount":500050,"amount_received":500050,"currency":"isk"}`)}})
	require.Error(t, err)
	assert.True(t, errors.Is(err, money.ErrInvalidAmount), "%v", err)
	assert.Contains(t, err.Error(), "pi_1")
}
