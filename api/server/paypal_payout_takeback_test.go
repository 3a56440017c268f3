package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"paysplit/activities"
	"paysplit/api/server"
	"paysplit/internal/alert"
	"paysplit/internal/db"
	"paysplit/internal/monitor"
	ipayment "paysplit/internal/payment"
	"paysplit/internal/paypalevent"
	"paysplit/testenv"
	stackpkg "paysplit/testenv/stack"
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

// takenBackMonitor is the system's payout_taken_back monitor, as the admin API lists it.
func (s *stack) takenBackMonitor() int64 {
	s.t.Helper()
	code, out := s.do(http.MethodGet, "/api/v1/admin/monitors", nil, adminKey)
	require.Equal(s.t, http.StatusOK, code, out)
	for _, m := range out["monitors"].([]any) {
		if m := m.(map[string]any); m["kind"] == "payout_taken_back" {
			require.Equal(s.t, true, m["system"], m)
			return int64(m["id"].(float64))
		}
	}
	s.t.Fatalf("no payout_taken_back monitor among %v", out["monitors"])
	return 0
}

// takenBackAlerts lists, newest first, the alerts of monitor mid and its messages still to be
// delivered, from the store (the admin API's listings are read once, in the test: its rate
// limit would not take one read per step).
func (s *stack) takenBackAlerts(mid int64) (alerts []monitor.Alert, pending []monitor.Message) {
	s.t.Helper()
	ms := monitor.NewStore(s.Pool, s.ledger)
	alerts, err := ms.Alerts(s.t.Context(), monitor.AlertFilter{MonitorID: mid})
	require.NoError(s.t, err)
	pending, err = ms.Messages(s.t.Context(), monitor.MessageFilter{State: monitor.DeliveryPending, MonitorID: mid, Now: time.Now()})
	require.NoError(s.t, err)
	return alerts, pending
}

// A PayPal payout item PayPal paid (SUCCESS, booked as the leg's transfer) can come back to the
// platform afterwards: the payee refunded it (PAYMENT.PAYOUTS-ITEM.REFUNDED), PayPal reversed it
// (REVERSED) or it was returned (RETURNED). The run no longer watches the item and reconciliation
// does not look at the payment again, so the event is the only word of it: it is recorded for an
// admin once per event, with no money moved and the payment left as it is, and an alert of the
// system's payout_taken_back monitor is raised for it, once, in the audit entry's transaction,
// and delivered as every alert is. Before, every PAYMENT.PAYOUTS-ITEM.* was answered 200
// "ignored", and the payee stayed recorded as paid while the money was back with the platform;
// then it was an audit entry and a log line only, which no admin is told of.
func TestPayPalPayoutTakenBackIsRecordedForAnAdmin(t *testing.T) {
	// A database of its own: the alert delivery round below sends every queued message in it.
	dbURL := testenv.EmptyDatabase(t)
	require.NoError(t, db.Migrate(t.Context(), dbURL))
	st := stackpkg.New(t, stackpkg.Options{Settings: payment.Settings{SettleWindow: 0}, WebhookAck: server.AckOnTemporal, DatabaseURL: dbURL})
	s := &stack{Stack: st, t: t, api: st.API, tc: st.Temporal, ledger: st.Ledger, stripe: st.Stripe, paypal: st.PayPal}
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
	mid := s.takenBackMonitor()
	// The system's monitor is not an admin's to change, retire or copy.
	code, out = s.do(http.MethodDelete, fmt.Sprintf("/api/v1/admin/monitors/%d", mid), nil, adminKey)
	require.Equal(t, http.StatusConflict, code, out)
	require.Equal(t, "system_monitor", out["error"].(map[string]any)["code"], out)
	code, out = s.do(http.MethodPut, fmt.Sprintf("/api/v1/admin/monitors/%d", mid), map[string]any{"name": "mine"}, adminKey)
	require.Equal(t, http.StatusNotFound, code, out) // no route edits a monitor
	code, out = s.do(http.MethodPost, "/api/v1/admin/monitors", map[string]any{"name": "mine", "kind": "payout_taken_back"}, adminKey)
	require.Equal(t, http.StatusBadRequest, code, out)
	require.Equal(t, mid, s.takenBackMonitor())

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
			alerts, messages := s.takenBackAlerts(mid)
			alertsBefore, messagesBefore := len(alerts), len(messages)
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

			// One alert and one queued message, about this payment, party, payee, amount and status.
			alerts, messages = s.takenBackAlerts(mid)
			require.Len(t, alerts, alertsBefore+1, "one alert per item taken back")
			require.Len(t, messages, messagesBefore+1, "one message queued per item taken back")
			a, m := alerts[0], messages[0]
			require.Equal(t, []string{id}, a.Subjects)
			require.Equal(t, tt.leg.TransferAmount, a.Value)
			require.Equal(t, a.ID, m.AlertID)
			require.Equal(t, monitor.EventFiring, m.Event)
			require.Equal(t, a.Summary, m.Summary)
			for _, want := range []string{id, string(tt.leg.Party), tt.leg.PayeeID, status, usd(tt.leg.TransferAmount), tt.leg.TransferID,
				"an admin decides what is owed"} {
				require.Contains(t, a.Summary, want)
			}
			require.NotContains(t, a.Summary, "@example.com", "no receiver email in the alert")

			// PayPal delivering the event again records nothing more.
			for range 2 {
				code, out = deliver(b)
				require.Equal(t, http.StatusOK, code, out)
				require.Equal(t, "duplicate", out["status"], out)
			}
			require.Len(t, s.takenBack(id), before+1)
			alerts, messages = s.takenBackAlerts(mid)
			require.Len(t, alerts, alertsBefore+1, "no alert for a redelivery")
			require.Len(t, messages, messagesBefore+1, "no message for a redelivery")
		})
	}

	t.Run("nothing recorded or refused where we would not act", func(t *testing.T) {
		before := len(s.takenBack(id))
		alertsBefore, _ := s.takenBackAlerts(mid)
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
		alerts, _ := s.takenBackAlerts(mid)
		require.Len(t, alerts, len(alertsBefore))
	})

	// The alert is written in the audit entry's transaction: when it cannot be (here the system
	// monitor is gone), neither is the audit entry, PayPal is answered 503 and delivers again, and
	// that delivery records both. Neither is lost nor recorded twice.
	t.Run("the alert and the audit entry are one write", func(t *testing.T) {
		before := len(s.takenBack(id))
		alertsBefore, _ := s.takenBackAlerts(mid)
		restore := func() {
			_, err := s.Pool.Exec(context.Background(), `UPDATE monitors SET deleted_at = NULL WHERE id = $1`, mid)
			require.NoError(t, err)
		}
		defer restore()
		_, err := s.Pool.Exec(t.Context(), `UPDATE monitors SET deleted_at = now() WHERE id = $1`, mid)
		require.NoError(t, err)
		b := item("WH-PO-ATOMIC", "PAYMENT.PAYOUTS-ITEM.REFUNDED", aff).Body()
		code, out := deliver(b)
		require.Equal(t, http.StatusServiceUnavailable, code, out)
		require.Len(t, s.takenBack(id), before, "no audit entry without its alert")
		restore()
		alerts, _ := s.takenBackAlerts(mid)
		require.Len(t, alerts, len(alertsBefore))

		code, out = deliver(b)
		require.Equal(t, http.StatusOK, code, out)
		require.Equal(t, "recorded", out["status"], out)
		require.Len(t, s.takenBack(id), before+1)
		alerts, _ = s.takenBackAlerts(mid)
		require.Len(t, alerts, len(alertsBefore)+1)
	})

	// The queued messages go out as every alert's do: signed to the alert webhook.
	t.Run("delivered to the alert webhook", func(t *testing.T) {
		const secret = "takeback-alert-secret"
		var mu sync.Mutex
		var got []alert.Message
		hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			if alert.VerifySignature(secret, r.Header.Get(alert.SignatureHeader), body, time.Now(), alert.DefaultTolerance) != nil {
				http.Error(w, "bad signature", http.StatusUnauthorized)
				return
			}
			var m alert.Message
			if json.Unmarshal(body, &m) != nil {
				http.Error(w, "bad body", http.StatusBadRequest)
				return
			}
			mu.Lock()
			got = append(got, m)
			mu.Unlock()
		}))
		t.Cleanup(hook.Close)
		alerts, _ := s.takenBackAlerts(mid)
		a := &activities.Integrity{Ledger: s.ledger, Monitors: monitor.NewStore(s.Pool, s.ledger),
			Webhook: &alert.Webhook{URL: hook.URL, Secret: secret}}
		var suite testsuite.WorkflowTestSuite
		env := suite.NewTestActivityEnvironment()
		env.RegisterActivity(a)
		_, err := env.ExecuteActivity(a.DeliverAlerts, activities.DeliverAlertsInput{})
		require.NoError(t, err)
		mu.Lock()
		defer mu.Unlock()
		require.Len(t, got, len(alerts), "one message per item taken back")
		for _, m := range got {
			require.Equal(t, "payout_taken_back", m.Kind)
			require.Equal(t, "firing", m.Event)
			require.Equal(t, []string{id}, m.Subjects)
			require.Contains(t, m.Summary, "an admin decides what is owed")
			require.NotContains(t, m.Summary, "@example.com")
		}
		_, messages := s.takenBackAlerts(mid)
		require.Empty(t, messages, "nothing left pending")

		// The admin API shows them as every alert: its alerts and alert messages, by monitor.
		q := fmt.Sprintf("?monitor_id=%d", mid)
		code, out := s.do(http.MethodGet, "/api/v1/admin/alerts"+q, nil, adminKey)
		require.Equal(t, http.StatusOK, code, out)
		listed := out["alerts"].([]any)
		require.Len(t, listed, len(alerts))
		for i, a := range listed {
			a := a.(map[string]any)
			require.Equal(t, "payout_taken_back", a["kind"])
			require.Equal(t, []any{id}, a["subjects"])
			require.Equal(t, alerts[i].Summary, a["summary"])
		}
		code, out = s.do(http.MethodGet, "/api/v1/admin/alert-messages"+q+"&state=delivered", nil, adminKey)
		require.Equal(t, http.StatusOK, code, out)
		require.Len(t, out["messages"], len(alerts))
	})

	t.Run("malformed about a paid item", func(t *testing.T) {
		before := len(s.takenBack(id))
		alertsBefore, _ := s.takenBackAlerts(mid)
		b := paypalevent.Build("WH-PO-NOAMOUNT", "PAYMENT.PAYOUTS-ITEM.REFUNDED", time.Now(),
			map[string]any{"payout_item_id": vendor.TransferID, "transaction_status": "REFUNDED", "sender_batch_id": vendor.TransferKey,
				"payout_item": map[string]any{"amount": map[string]string{"currency": "USD", "value": "lots"}}})
		code, out := deliver(b)
		require.Equal(t, http.StatusBadRequest, code, out)
		require.Len(t, s.takenBack(id), before)
		alerts, _ := s.takenBackAlerts(mid)
		require.Len(t, alerts, len(alertsBefore))
	})

	rec = s.result(id)
	require.Equal(t, ipayment.StatusPaid, rec.Status, "no workflow change: an admin decides")
	require.Len(t, s.paypal.Payouts(), payouts, "nothing sent")
}

// usd is an amount in US dollars as the alert's summary writes it.
func usd(minor int64) string { return fmt.Sprintf("%d.%02d USD", minor/100, minor%100) }
