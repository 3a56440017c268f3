package server

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"paysplit/workflows/payment"
)

// A charge.refunded says in data.previous_attributes what the charge had refunded before the
// event's refund: it reaches the workflow as PreviousRefunded, in the payment's units and read as
// amount_refunded is (an uncaptured amount released counts no refund). Anything that cannot be
// a figure the refund moved from leaves it out, and the event reads as it did without it.
func TestStripeRefundCarriesWhatItsFigureMovedFrom(t *testing.T) {
	const charge = `{"id":"ch_1","object":"charge","amount":%AMOUNT%,"amount_captured":%CAPTURED%,"captured":true,
		"amount_refunded":%REFUNDED%,"currency":"%CUR%","payment_intent":"pi_1"}`
	body := func(version, cur string, amount, captured, refunded, previous string) []byte {
		obj := charge
		for k, v := range map[string]string{"%AMOUNT%": amount, "%CAPTURED%": captured, "%REFUNDED%": refunded, "%CUR%": cur} {
			obj = strings.ReplaceAll(obj, k, v)
		}
		data := `{"object":` + obj
		if previous != "" {
			data += `,"previous_attributes":` + previous
		}
		return []byte(`{"id":"evt_1","object":"event","api_version":"` + version + `","created":1764331200,"type":"charge.refunded","data":` + data + `}}`)
	}
	from := func(v int64) *int64 { return &v }
	for _, tt := range []struct {
		name                           string
		version, cur, amount, captured string
		refunded, previous             string
		wantRefunded                   int64
		want                           *int64
	}{
		{"as a real event says it, the first refund", "2024-06-20", "usd", "2000", "2000", "500",
			`{"amount_refunded":0,"refunded":false,"refunds":{"data":[],"total_count":0}}`, 500, from(0)},
		{"a later refund", "2024-06-20", "usd", "2000", "2000", "800", `{"amount_refunded":300}`, 800, from(300)},
		{"in Stripe's hundredths of UGX", "2024-06-20", "ugx", "500000", "500000", "120000", `{"amount_refunded":20000}`, 1200, from(200)},
		{"after an uncaptured amount released as a refund (before basil)", "2024-06-20", "usd", "1000", "600", "500", `{"amount_refunded":400}`, 100, from(0)},
		{"not said", "2024-06-20", "usd", "2000", "2000", "800", ``, 800, nil},
		{"previous_attributes without it", "2024-06-20", "usd", "2000", "2000", "800", `{"refunded":false}`, 800, nil},
		{"not below the figure", "2024-06-20", "usd", "2000", "2000", "800", `{"amount_refunded":800}`, 800, nil},
		{"negative", "2024-06-20", "usd", "2000", "2000", "800", `{"amount_refunded":-1}`, 800, nil},
		{"a fraction", "2024-06-20", "usd", "2000", "2000", "800", `{"amount_refunded":300.5}`, 800, nil},
		{"a string", "2024-06-20", "usd", "2000", "2000", "800", `{"amount_refunded":"300"}`, 800, nil},
		{"null", "2024-06-20", "usd", "2000", "2000", "800", `{"amount_refunded":null}`, 800, nil},
		{"in ISK not whole", "2024-06-20", "isk", "500000", "500000", "120000", `{"amount_refunded":20050}`, 1200, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			evt, err := decodeStripeEvent(body(tt.version, tt.cur, tt.amount, tt.captured, tt.refunded, tt.previous))
			require.NoError(t, err)
			ev, pi, err := stripeToEvent(evt)
			require.NoError(t, err)
			assert.Equal(t, "pi_1", pi)
			assert.Equal(t, payment.EventRefund, ev.Kind)
			assert.Equal(t, tt.wantRefunded, ev.AmountRefunded)
			assert.Equal(t, tt.want, ev.PreviousRefunded)
		})
	}
}
