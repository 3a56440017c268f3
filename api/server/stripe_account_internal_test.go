package server

import (
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/stripe/stripe-go/v76"
)

// An event that happened on a connected account (Stripe names it in the event's account, as it
// sends events to a Connect endpoint: a direct charge on a vendor's own account, its refund or
// dispute) is not a payment of the platform's: the money is in the vendor's balance, not the
// platform's. Reaching the platform endpoint (the Stripe CLI forwarding both kinds to one URL, an
// endpoint set to listen to connected accounts) it is ignored, never split: before, a direct
// charge whose metadata named a client's order started a payment run that paid the vendor and
// affiliate out of the platform's balance money it never received.
func TestStripeConnectedAccountEventsAreNotThePlatformsPayments(t *testing.T) {
	for _, tt := range []struct{ typ, object string }{
		{"payment_intent.succeeded", `{"id":"pi_1","object":"payment_intent","amount":1000,"amount_received":1000,"currency":"usd",` +
			`"status":"succeeded","latest_charge":"ch_1","metadata":{"client_id":"c1","order_id":"o1","vendor_id":"v1"}}`},
		{"charge.refunded", `{"id":"ch_1","object":"charge","amount":1000,"amount_refunded":1000,"currency":"usd","payment_intent":"pi_1"}`},
		{"charge.dispute.created", `{"id":"dp_1","object":"dispute","amount":1000,"currency":"usd","status":"needs_response","payment_intent":"pi_1"}`},
		{"refund.failed", `{"id":"re_1","object":"refund","amount":100,"currency":"usd","status":"failed","payment_intent":"pi_1"}`},
	} {
		t.Run(tt.typ, func(t *testing.T) {
			evt := stripe.Event{ID: "evt_1", Type: stripe.EventType(tt.typ), Data: &stripe.EventData{Raw: []byte(tt.object)}}
			_, _, err := stripeToEvent(evt)
			require.NoError(t, err, "the platform's own event is taken")

			evt.Account = "acct_1Vendor"
			ev, id, err := stripeToEvent(evt)
			require.ErrorIs(t, err, errIgnored, "a connected account's event was taken for payment %q: %+v", id, ev)
		})
	}
}
