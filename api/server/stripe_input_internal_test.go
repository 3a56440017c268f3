package server

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/stripe/stripe-go/v76"
)

// A refund or dispute event is checked as a capture is: a currency that is not ISO 4217 (or
// none), a negative amount, or a charge refunded beyond its amount is refused with the reason
// (the webhook answers 400 invalid_event), never handed to the workflow. Before, all of these
// were accepted: a dispute of -500 "zzz" made a KWD payment disputed, and a refund of a charge
// with no currency was applied in the payment's.
func TestStripeRefundsAndDisputesAreCheckedAsCapturesAre(t *testing.T) {
	for _, tt := range []struct {
		name, typ, object, reason string
	}{
		{"refund in an unknown currency", "charge.refunded",
			`{"id":"ch_1","object":"charge","amount":1000,"amount_refunded":100,"currency":"zzz","payment_intent":"pi_1"}`, "unknown currency"},
		{"refund without a currency", "charge.refunded",
			`{"id":"ch_1","object":"charge","amount":1000,"amount_refunded":100,"payment_intent":"pi_1"}`, "currency"},
		{"negative refunded amount", "charge.refunded",
			`{"id":"ch_1","object":"charge","amount":1000,"amount_refunded":-100,"currency":"usd","payment_intent":"pi_1"}`, "amount_refunded"},
		{"refunded beyond the charge", "charge.refunded",
			`{"id":"ch_1","object":"charge","amount":1000,"amount_refunded":2000,"currency":"usd","payment_intent":"pi_1"}`, "amount_refunded"},
		{"charge without an amount", "charge.refunded",
			`{"id":"ch_1","object":"charge","amount_refunded":100,"currency":"usd","payment_intent":"pi_1"}`, "amount"},
		{"dispute in an unknown currency", "charge.dispute.created",
			`{"id":"dp_1","object":"dispute","amount":500,"currency":"zzz","status":"needs_response","payment_intent":"pi_1"}`, "unknown currency"},
		{"dispute of a negative amount", "charge.dispute.closed",
			`{"id":"dp_1","object":"dispute","amount":-500,"currency":"usd","status":"lost","payment_intent":"pi_1"}`, "amount"},
		{"dispute without an id", "charge.dispute.created",
			`{"object":"dispute","amount":500,"currency":"usd","status":"needs_response","payment_intent":"pi_1"}`, "id"},
		{"failed refund in an unknown currency", "refund.failed",
			`{"id":"re_1","object":"refund","amount":100,"currency":"zzz","status":"failed","payment_intent":"pi_1"}`, "unknown currency"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ev, _, err := stripeToEvent(stripe.Event{ID: "evt_1", Type: stripe.EventType(tt.typ), Data: &stripe.EventData{Raw: []byte(tt.object)}})
			require.Error(t, err, "accepted: %+v", ev)
			assert.NotErrorIs(t, err, errIgnored, "refused, not ignored")
			assert.Contains(t, err.Error(), tt.reason)
		})
	}
}
