package server_test

import (
	"bytes"
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	ipayment "paysplit/internal/payment"
	"paysplit/internal/store"
	"paysplit/internal/stripeevent"
	"paysplit/workflows/payment"
)

// metadataShop is the stack with a shop client whose rule takes 10% and 5% for an affiliate, and
// the payees of shopify_orders_paid.json and another vendor, each with its Stripe account.
func metadataShop(t *testing.T) (*stack, *shopEnv, map[string]string) {
	s := newStack(t, payment.Settings{SettleWindow: 0, EnrichPoll: time.Hour, EnrichWait: 2 * time.Hour})
	e := newShopEnv(t, s.tc, "payments-"+t.Name())
	c := e.client
	code, body := e.json(req{method: http.MethodPost, path: "/api/v1/admin/clients/" + c + "/split-rules", key: adminKey,
		body: map[string]any{"platform_bps": 1000, "affiliate_bps": 500}})
	require.Equal(t, http.StatusCreated, code, body)
	accounts := map[string]string{}
	payees := map[string]string{c + "-blue-fox-ceramics": "vendor", c + "-oak-thread": "vendor", c + "-greenkitchenblog": "affiliate",
		c + "-someone-else": "vendor"} // a vendor of the client that does not sell in this order
	for id, kind := range payees {
		accounts[id] = "acct_" + strings.ReplaceAll(strings.TrimPrefix(id, c+"-"), "-", "")
		code, body := e.json(req{method: http.MethodPut, path: "/api/v1/admin/payees/" + id, key: adminKey,
			body: map[string]any{"client_id": c, "kind": kind, "stripe_account": accounts[id]}})
		require.Equal(t, http.StatusCreated, code, body)
	}
	return s, e, accounts
}

// wholeOrderMetadata is what a one-vendor plugin sends for the whole of shopify_orders_paid.json,
// naming vendor.
func wholeOrderMetadata(client, orderID, vendor string) map[string]string {
	return map[string]string{"client_id": client, "order_id": orderID, "vendor_id": vendor,
		"platform": "shopify", "subtotal": "11500", "tax": "828", "shipping": "1079", "discount": "1150"}
}

// shopOrderAs is shopify_orders_paid.json as the order orderID.
func shopOrderAs(t *testing.T, orderID string) []byte {
	return bytes.ReplaceAll(shopSample(t, "shopify_orders_paid.json"), []byte("5934021746733"), []byte(orderID))
}

// payWithMetadata sends a Stripe capture of the whole order (12257) carrying md; it returns the
// payment's workflow ID.
func payWithMetadata(t *testing.T, s *stack, pi string, md map[string]string) string {
	capture := stripeevent.Capture{EventID: "evt_" + pi, PaymentIntent: pi, Charge: "ch_" + pi, Currency: "usd", Amount: 12257,
		Created: time.Now(), Metadata: md}
	code, out := s.webhook(stripeevent.Sign(capture.Body(), webhookSecret, time.Now()))
	require.Equal(t, http.StatusOK, code, out)
	return payment.WorkflowID("stripe", pi)
}

// transfersOf are the Stripe accounts the payment's transfers went to.
func transfersOf(s *stack, id string) map[string]bool {
	out := map[string]bool{}
	for _, tr := range s.stripe.Transfers() {
		if tr.Metadata["workflow_id"] == id {
			out[tr.Destination] = true
		}
	}
	return out
}

// A Stripe payment whose metadata carries a whole one-vendor order, for an order the shop
// delivered with the lines of two vendors (shopify_orders_paid.json: blue-fox-ceramics sells
// 9000, oak-thread 2500; 12257 in all). The shop's order says who sold what: both vendors are
// paid on their own lines. Metadata naming a vendor the shop's order does not sell from pays
// nobody: the payment needs attention, naming both. Until 2026-11-27 the metadata won and its one
// vendor was paid on the whole order.
func TestCompleteMetadataOnAShopsMultiVendorOrder(t *testing.T) {
	s, e, accounts := metadataShop(t)
	c := e.client
	tests := []struct {
		name     string
		vendor   string
		want     ipayment.Status
		reason   string          // in the parked payment's reason
		vendors  []string        // paid on their own lines, when paid
		transfer map[string]bool // destinations Stripe was asked to pay
	}{
		{name: "metadata names one of the order's vendors", vendor: c + "-blue-fox-ceramics", want: ipayment.StatusPaid,
			vendors:  []string{c + "-blue-fox-ceramics", c + "-oak-thread"},
			transfer: map[string]bool{accounts[c+"-blue-fox-ceramics"]: true, accounts[c+"-oak-thread"]: true, accounts[c+"-greenkitchenblog"]: true}},
		{name: "metadata names a vendor the order does not sell from", vendor: c + "-someone-else", want: ipayment.StatusNeedsAttention,
			reason: "names vendor " + c + "-someone-else", transfer: map[string]bool{}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			orderID := strconv.Itoa(5934021746733 + i + 1)
			code, out := e.post(c, shopifyDelivery("orders/paid", "multi-"+orderID, shopOrderAs(t, orderID)))
			require.Equal(t, http.StatusOK, code, out)
			require.Equal(t, "stored", out["status"])
			id := payWithMetadata(t, s, "pi_md"+orderID, wholeOrderMetadata(c, orderID, tt.vendor))
			var rec ipayment.Record
			if tt.want == ipayment.StatusPaid {
				rec = s.result(id)
			} else {
				require.EventuallyWithT(t, func(ct *assert.CollectT) {
					var err error
					rec, err = e.store.GetPayment(context.Background(), id)
					if assert.NoError(ct, err) {
						assert.Contains(ct, []ipayment.Status{tt.want, ipayment.StatusPaid, ipayment.StatusHeld}, rec.Status)
					}
				}, 30*time.Second, 100*time.Millisecond)
			}
			require.Equal(t, tt.want, rec.Status, rec.Reason)
			require.Contains(t, rec.Reason, tt.reason)
			var vendors []string
			for _, l := range rec.Order.Lines {
				vendors = append(vendors, l.VendorID)
			}
			require.Equal(t, tt.vendors, vendors, "the split follows the shop's lines")
			require.Equal(t, tt.transfer, transfersOf(s, id))
		})
	}
}

// A payment whose metadata carried a one-vendor order was split and paid before the shop
// delivered the order, with the lines of two vendors. What was paid stays paid (nothing is sent
// or taken back on a shop's word), but the disagreement is not silent: the delivery records an
// audit entry on the payment for an admin, once, not again when the shop delivers the order again.
func TestShopOrderAfterAMetadataSplitOnOtherVendorsIsFlagged(t *testing.T) {
	s, e, accounts := metadataShop(t)
	c, ctx := e.client, context.Background()
	orderID := "5934021746799"
	id := payWithMetadata(t, s, "pi_late"+orderID, wholeOrderMetadata(c, orderID, c+"-blue-fox-ceramics"))
	rec := s.result(id)
	require.Equal(t, ipayment.StatusPaid, rec.Status, rec.Reason)
	require.Equal(t, map[string]bool{accounts[c+"-blue-fox-ceramics"]: true}, transfersOf(s, id), "split on its metadata")

	flags := func() []store.AuditEntry {
		entries, err := e.store.ListAudit(ctx, store.AuditFilter{Action: store.ActionOrderDisagrees, Target: "payment:" + id})
		require.NoError(t, err)
		return entries
	}
	require.Empty(t, flags())
	delivery := shopifyDelivery("orders/paid", "late-"+orderID, shopOrderAs(t, orderID))
	code, out := e.post(c, delivery)
	require.Equal(t, http.StatusOK, code, out)
	require.Equal(t, "stored", out["status"])
	got := flags()
	require.Len(t, got, 1, "the payment is flagged for an admin")
	require.Equal(t, "storefront:shopify", got[0].Actor)
	require.Contains(t, string(got[0].After), c+"-oak-thread")
	require.Contains(t, e.logs.String(), "payment split on other vendors than the shop's order sells from")

	code, out = e.post(c, delivery)
	require.Equal(t, http.StatusOK, code, out)
	require.Equal(t, "duplicate", out["status"])
	code, out = e.post(c, shopifyDelivery("orders/paid", "late-again-"+orderID, shopOrderAs(t, orderID)))
	require.Equal(t, http.StatusOK, code, out)
	require.Len(t, flags(), 1, "once per disagreement, whatever delivers it again")
	require.Equal(t, map[string]bool{accounts[c+"-blue-fox-ceramics"]: true}, transfersOf(s, id), "nothing paid on the shop's word")
	stored, err := e.store.GetPayment(ctx, id)
	require.NoError(t, err)
	require.Equal(t, ipayment.StatusPaid, stored.Status)
}

// A Stripe capture of part of the shop's two-vendor order (10000 of its 12257: the rest paid
// otherwise, a gift card say) whose complete metadata adds up to what was captured and names one
// of the order's vendors. Nobody knows which vendor sold what of this payment: it parks saying
// which totals differ and who sells, and pays nobody. Before, it parked on the split's refusal of
// the shop's total ("subtotal - discount + tax + shipping does not equal gross"), naming neither.
func TestPartialCaptureOfAShopsMultiVendorOrderParksSayingWhy(t *testing.T) {
	s, e, _ := metadataShop(t)
	c := e.client
	orderID := "5934021746777"
	code, out := e.post(c, shopifyDelivery("orders/paid", "part-"+orderID, shopOrderAs(t, orderID)))
	require.Equal(t, http.StatusOK, code, out)
	md := map[string]string{"client_id": c, "order_id": orderID, "vendor_id": c + "-blue-fox-ceramics", "platform": "shopify", "subtotal": "10000"}
	pi := "pi_part" + orderID
	capture := stripeevent.Capture{EventID: "evt_" + pi, PaymentIntent: pi, Charge: "ch_" + pi, Currency: "usd", Amount: 10000,
		Created: time.Now(), Metadata: md}
	code, out = s.webhook(stripeevent.Sign(capture.Body(), webhookSecret, time.Now()))
	require.Equal(t, http.StatusOK, code, out)
	id := payment.WorkflowID("stripe", pi)
	rec := s.AwaitStatus(id, 30*time.Second, ipayment.StatusNeedsAttention)
	require.Contains(t, rec.Reason, "the shop's order "+orderID+" totals 122.57 USD, not the 100.00 USD captured")
	require.Contains(t, rec.Reason, c+"-blue-fox-ceramics, "+c+"-oak-thread")
	require.Empty(t, transfersOf(s, id))
}
