package server_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	ipayment "paysplit/internal/payment"
	"paysplit/internal/paypalevent"
	"paysplit/workflows/payment"
)

// takenBack lists the audit entries that record a payout taken back from payment id.
func (s *stack) takenBack(id string) []map[string]any {
	s.t.Helper()
	q := url.Values{"action": {"payment.payout_taken_back"}, "target": {"payment:" + id}}
	code, out := s.do(http.MethodGet, "/api/v1/admin/audit?"+q.Encode(), nil, adminKey)
	require.Equal(s.t, http.StatusOK, code, out)
	var entries []map[string]any
	for _, e := range out["entries"].([]any) {
		entries = append(entries, e.(map[string]any))
	}
	return entries
}

// A PayPal payout item PayPal paid (SUCCESS, booked as the leg's transfer) can come back to the
// platform afterwards: the payee refunded it (PAYMENT.PAYOUTS-ITEM.REFUNDED), PayPal reversed it
// (REVERSED) or it was returned (RETURNED). The run no longer watches the item and reconciliation
// does not look at the payment again, so the event is the only word of it: it is recorded for an
// admin once per event, with no money moved and the payment left as it is. Before, every
// PAYMENT.PAYOUTS-ITEM.* was answered 200 "ignored", and the payee stayed recorded as paid while
// the money was back with the platform.
func TestPayPalPayoutTakenBackIsRecordedForAnAdmin(t *testing.T) {
	s := newStack(t, payment.Settings{SettleWindow: 0})
	s.seedPayPal("ppback", "ppback-vendor@example.com")
	body := paypalCapture("ppback", "CAPBACK1")
	code, out := s.paypalWebhook(body, s.paypal.Sign(body))
	require.Equal(t, http.StatusOK, code, out)
	id := payment.WorkflowID("paypal", "CAPBACK1")
	rec := s.result(id)
	require.Equal(t, ipayment.StatusPaid, rec.Status, rec.Reason)
	vendor, aff := *rec.Leg("vendor"), *rec.Leg("affiliate")
	require.NotEmpty(t, vendor.TransferID)
	require.NotEmpty(t, vendor.TransferKey)
	payouts := len(s.paypal.Payouts())

	item := func(eventID, typ string, l ipayment.Leg) paypalevent.PayoutItem {
		return paypalevent.PayoutItem{EventID: eventID, Type: typ, ItemID: l.TransferID, BatchID: "BATCH-" + l.TransferID,
			SenderBatchID: l.TransferKey, Receiver: "ppback-vendor@example.com", Currency: "usd", Amount: l.TransferAmount,
			Created: time.Now()}
	}
	deliver := func(b []byte) (int, map[string]any) {
		t.Helper()
		return s.paypalWebhook(b, s.paypal.Sign(b))
	}

	for _, tt := range []struct {
		name, typ string
		leg       ipayment.Leg
	}{
		{"refunded by the payee", "PAYMENT.PAYOUTS-ITEM.REFUNDED", vendor},
		{"reversed by PayPal", "PAYMENT.PAYOUTS-ITEM.REVERSED", vendor},
		{"returned", "PAYMENT.PAYOUTS-ITEM.RETURNED", aff},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := len(s.takenBack(id))
			b := item("WH-PO-"+tt.typ, tt.typ, tt.leg).Body()
			code, out := deliver(b)
			require.Equal(t, http.StatusOK, code, out)
			require.Equal(t, "recorded", out["status"], out)
			entries := s.takenBack(id)
			require.Len(t, entries, before+1)
			e := entries[0]
			require.Equal(t, "paypal", e["actor"])
			after := e["after"].(map[string]any)
			status := tt.typ[strings.LastIndex(tt.typ, ".")+1:]
			require.Equal(t, tt.leg.TransferKey, after["key"])
			require.Equal(t, tt.leg.TransferID, after["item_id"])
			require.Equal(t, status, after["status"])
			require.EqualValues(t, tt.leg.TransferAmount, after["amount"])
			require.Equal(t, "usd", after["currency"])
			require.Equal(t, "WH-PO-"+tt.typ, after["event_id"])
			raw, err := json.Marshal(e)
			require.NoError(t, err)
			require.NotContains(t, string(raw), "@example.com", "no receiver email in the audit log")

			// PayPal delivering the event again records nothing more.
			for range 2 {
				code, out = deliver(b)
				require.Equal(t, http.StatusOK, code, out)
				require.Equal(t, "duplicate", out["status"], out)
			}
			require.Len(t, s.takenBack(id), before+1)
		})
	}

	t.Run("nothing recorded or refused where we would not act", func(t *testing.T) {
		before := len(s.takenBack(id))
		unknown := item("WH-PO-UNKNOWN", "PAYMENT.PAYOUTS-ITEM.REFUNDED", vendor)
		unknown.SenderBatchID = "payment-paypal-NOSUCH/transfer/vendor-x/0"
		// The normal UNCLAIMED path: the item was cancelled and never booked as paid.
		notPaid := item("WH-PO-NOTPAID", "PAYMENT.PAYOUTS-ITEM.RETURNED", vendor)
		notPaid.ItemID, notPaid.SenderBatchID = "ITEMNEVERPAID", id+"/transfer/vendor-ppback-vendor/1"
		other := item("WH-PO-SUCCESS", "PAYMENT.PAYOUTS-ITEM.SUCCEEDED", vendor)
		noKey := paypalevent.Build("WH-PO-NOKEY", "PAYMENT.PAYOUTS-ITEM.REFUNDED", time.Now(),
			map[string]any{"payout_item_id": vendor.TransferID, "transaction_status": "REFUNDED"})
		for name, b := range map[string][]byte{"unknown key": unknown.Body(), "not paid": notPaid.Body(),
			"another status": other.Body(), "no sender_batch_id": noKey} {
			code, out := deliver(b)
			require.Equal(t, http.StatusOK, code, name, out)
			require.Equal(t, "ignored", out["status"], name, out)
		}
		require.Len(t, s.takenBack(id), before)
	})

	t.Run("malformed about a paid item", func(t *testing.T) {
		before := len(s.takenBack(id))
		b := paypalevent.Build("WH-PO-NOAMOUNT", "PAYMENT.PAYOUTS-ITEM.REFUNDED", time.Now(),
			map[string]any{"payout_item_id": vendor.TransferID, "transaction_status": "REFUNDED", "sender_batch_id": vendor.TransferKey,
				"payout_item": map[string]any{"amount": map[string]string{"currency": "USD", "value": "lots"}}})
		code, out := deliver(b)
		require.Equal(t, http.StatusBadRequest, code, out)
		require.Len(t, s.takenBack(id), before)
	})

	rec = s.result(id)
	require.Equal(t, ipayment.StatusPaid, rec.Status, "no workflow change: an admin decides")
	require.Len(t, s.paypal.Payouts(), payouts, "nothing sent")
}
