package server

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/stripe/stripe-go/v76"

	"paysplit/workflows/payment"
)

// A PaymentIntent authorized for 1000 and captured for 600 (manual capture, a partial capture):
// in API versions before 2025-03-31.basil, Stripe releases the uncaptured 400 as a refund of the
// charge (reason partial_capture), counts it in the charge's amount_refunded and sends
// charge.refunded for it (docs.stripe.com/changelog/basil/2025-03-31/remove-refund-from-partial-
// capture-and-payment-cancellation-flow); an authorization canceled uncaptured, likewise, all of
// it. That money was never captured: the payment (600) had nothing refunded. Before, the event
// went to the run as a cumulative refund of 400 of the 600, and took two thirds of the payees'
// shares back from them, for a refund the customer never had. From basil on, amount_refunded
// counts the customer's refunds alone, and is taken as it is.
//
// Whether a partial capture or a cancellation released the uncaptured rest as a refund is decided
// when the capture or cancellation is made, by the API version of that request (or the account's
// default, or the disable_refund_on_auth_release preview header), not by the version an event is
// rendered in, which is the webhook endpoint's: a store plugin pinned to an older version captures
// under the old behaviour while the endpoint is on basil, and the reverse. Where the charge's own
// figures settle it, they are read whatever the event's api_version: more refunded than was
// captured can only count a release (the payees were told a refund larger than the payment, or a
// never captured authorization was taken as refunded in full), less refunded than was released
// can only count none: the rows after "clover: all of the 600 captured refunded"
// (TestStripeReleaseIsReadFromTheChargeNotTheEndpointsVersion before).
func TestStripePartialCaptureReleaseIsNotARefund(t *testing.T) {
	charge := func(amount, captured, refunded int64, isCaptured bool) string {
		return fmt.Sprintf(`{"id":"ch_1","object":"charge","amount":%d,"amount_captured":%d,"amount_refunded":%d,"captured":%t,`+
			`"refunded":%t,"currency":"usd","payment_intent":"pi_1"}`, amount, captured, refunded, isCaptured, refunded == amount)
	}
	for _, tt := range []struct {
		name, version, object string
		refunded              int64 // the payment's cumulative refund the run is told; -1: ignored
	}{
		{"the partial capture's release alone", "2023-10-16", charge(1000, 600, 400, true), -1},
		{"the release and a refund of 100", "2023-10-16", charge(1000, 600, 500, true), 100},
		{"the release and all of the capture refunded", "2023-10-16", charge(1000, 600, 1000, true), 600},
		{"an authorization canceled uncaptured", "2024-06-20", charge(1000, 0, 1000, false), -1},
		{"captured in full, refunded in part", "2023-10-16", charge(1000, 1000, 300, true), 300},
		{"basil: a refund of 100 of the 600 captured", "2025-03-31.basil", charge(1000, 600, 100, true), 100},
		{"clover: all of the 600 captured refunded", "2025-09-30.clover", charge(1000, 600, 600, true), 600},
		{"basil endpoint, an older capture's release and a refund of 300", "2025-03-31.basil", charge(1000, 600, 700, true), 300},
		{"clover endpoint, an older capture's release and all of it refunded", "2025-09-30.clover", charge(1000, 600, 1000, true), 600},
		{"basil endpoint, an authorization canceled under an older version", "2025-03-31.basil", charge(1000, 0, 1000, false), -1},
		{"an authorization canceled, amount_captured null as older versions state it", "2024-06-20",
			`{"id":"ch_1","object":"charge","amount":1000,"amount_captured":null,"amount_refunded":1000,"captured":false,"refunded":true,"currency":"usd","payment_intent":"pi_1"}`, -1},
		{"older endpoint, a basil capture refunded 200", "2024-06-20", charge(1000, 600, 200, true), 200},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ev, id, err := stripeToEvent(stripe.Event{ID: "evt_1", Type: "charge.refunded", APIVersion: tt.version,
				Data: &stripe.EventData{Raw: []byte(tt.object)}})
			if tt.refunded < 0 {
				require.ErrorIs(t, err, errIgnored, "taken as a refund of payment %q: %+v", id, ev)
				return
			}
			require.NoError(t, err)
			require.Equal(t, payment.EventRefund, ev.Kind)
			require.Equal(t, tt.refunded, ev.AmountRefunded, "the payment's cumulative refund")
		})
	}
}
