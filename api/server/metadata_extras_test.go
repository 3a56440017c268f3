package server_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	ipayment "paysplit/internal/payment"
	"paysplit/internal/paypalevent"
	"paysplit/internal/stripeevent"
	"paysplit/workflows/payment"
)

// TestMetadataExtrasReachTheSplitUncommissioned: a Stripe capture whose metadata names a 12.00 tip
// in `extras`, and a PayPal capture whose custom_id does, are paid with the tip the vendor's, under
// a rule that commissions shipping: the platform and affiliate take their shares of subtotal less
// discount and shipping only. Until 2026-11-28 the API dropped the key (only the order keys the
// split read were kept) and both parked, their orders 12.00 short of the capture.
func TestMetadataExtrasReachTheSplitUncommissioned(t *testing.T) {
	s := newStack(t, payment.Settings{SettleWindow: 0})
	rule := map[string]any{"platform_bps": 1000, "affiliate_bps": 500, "commission_on_shipping": true}

	c := uniqueName("mdextras")
	s.seed(c)
	code, body := s.do(http.MethodPost, "/api/v1/admin/clients/"+c+"/split-rules", rule, adminKey)
	require.Equal(t, http.StatusCreated, code, body)
	pi := "pi_" + c
	ev := capture(c, pi) // 100.00 - 3.00 + 8.00 tax + 5.00 shipping
	ev.Metadata["extras"] = "1200"
	ev.Amount = 12200
	code, body = s.webhook(stripeevent.Sign(ev.Body(), webhookSecret, time.Now()))
	require.Equal(t, http.StatusOK, code, body)

	pp := uniqueName("ppextras")
	s.seedPayPal(pp, "VENDORPAYER01")
	code, body = s.do(http.MethodPost, "/api/v1/admin/clients/"+pp+"/split-rules", rule, adminKey)
	require.Equal(t, http.StatusCreated, code, body)
	capID := "CAPX" + pp
	ppBody := paypalevent.Capture{EventID: "WH-CAP-" + capID, CaptureID: capID, InvoiceID: "order-" + capID,
		Currency: "usd", Amount: 12200, Fee: 433, Created: time.Now(), Metadata: map[string]string{
			"client_id": pp, "vendor_id": pp + "-vendor", "affiliate_id": pp + "-aff",
			"subtotal": "10000", "tax": "800", "shipping": "500", "discount": "300", "extras": "1200", "platform": "woocommerce"}}.Body()
	code, body = s.paypalWebhook(ppBody, s.paypal.Sign(ppBody))
	require.Equal(t, http.StatusOK, code, body)

	for _, id := range []string{payment.WorkflowID("stripe", pi), payment.WorkflowID("paypal", capID)} {
		t.Run(id, func(t *testing.T) {
			rec := s.AwaitStatus(id, 30*time.Second, ipayment.StatusPaid, ipayment.StatusNeedsAttention)
			require.Equal(t, ipayment.StatusPaid, rec.Status, rec.Reason)
			require.EqualValues(t, 1200, rec.Order.Extras)
			require.EqualValues(t, 500, rec.Order.Shipping)
			// 97.00 + 5.00 shipping commissioned, the 12.00 tip not.
			require.EqualValues(t, 1020, rec.Leg("platform").Amount)
			require.EqualValues(t, 510, rec.Leg("affiliate").Amount)
			require.EqualValues(t, 12200-1020-510, rec.Leg("vendor").Amount, "the vendor has the tip whole")
		})
	}
}
