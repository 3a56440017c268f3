package server

import (
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/stripe/stripe-go/v76"
)

// Before API 2022-11-15 a PaymentIntent has no latest_charge: its charges are listed in charges
// (newest first), a failed attempt among them. Rendered so (the endpoint's version), the capture
// carried no charge: its fee was never booked, its transfers went without source_transaction
// (drawn from the available balance, which the payment's funds were not in yet) and
// reconciliation never compared the payment. The charge is the one that succeeded.
func TestStripeCaptureOfAnOldAPIVersionNamesItsCharge(t *testing.T) {
	for _, tt := range []struct{ name, object, want string }{
		{"latest_charge", `{"id":"pi_1","object":"payment_intent","amount":1000,"amount_received":1000,"currency":"usd",` +
			`"status":"succeeded","latest_charge":"ch_new"}`, "ch_new"},
		{"charges listed, a failed attempt first", `{"id":"pi_1","object":"payment_intent","amount":1000,"amount_received":1000,` +
			`"currency":"usd","status":"succeeded","charges":{"object":"list","data":[` +
			`{"id":"ch_ok","object":"charge","status":"succeeded","paid":true},{"id":"ch_declined","object":"charge","status":"failed","paid":false}]}}`, "ch_ok"},
		{"charges listed, the success after a failure", `{"id":"pi_1","object":"payment_intent","amount":1000,"amount_received":1000,` +
			`"currency":"usd","status":"succeeded","charges":{"object":"list","data":[` +
			`{"id":"ch_declined","object":"charge","status":"failed","paid":false},{"id":"ch_ok","object":"charge","status":"succeeded","paid":true}]}}`, "ch_ok"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ev, _, err := stripeToEvent(stripe.Event{ID: "evt_1", Type: "payment_intent.succeeded", APIVersion: "2020-08-27",
				Data: &stripe.EventData{Raw: []byte(tt.object)}})
			require.NoError(t, err)
			require.Equal(t, tt.want, ev.ChargeID)
		})
	}
}
