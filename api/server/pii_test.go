package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/proto"

	"paysplit/api/server"
	ipayment "paysplit/internal/payment"
	"paysplit/internal/paypalevent"
	"paysplit/internal/stripeevent"
	"paysplit/testenv"
	stackpkg "paysplit/testenv/stack"
	"paysplit/workflows/payment"
)

// The customer data the payloads below carry, as providers send it. Every string of it holds
// piiMark (or is the email or the address below), so one search finds any of it wherever it
// ended up; none of it appears in an ID, a hash or a timestamp by chance.
const (
	piiMark  = "pii7f3a"
	piiEmail = "pii-marker-7f3a@example.com"
	piiIP    = "203.0.113.173"
)

var (
	piiName    = "Jane Pii7f3a-Doe"
	piiPhone   = "+1 555 0142 pii7f3a"
	piiAddress = map[string]any{"line1": "14 Pii7f3a Orchard Street", "line2": "Apt 3 pii7f3a", "city": "Brooklyn pii7f3a",
		"state": "NY", "postal_code": "11201", "country": "US"}
	// piiMarkers are searched case-insensitively.
	piiMarkers = []string{piiMark, piiEmail, piiIP}
)

// stripeCardCharge is a card charge as Stripe sends it: billing details, card, receipt, shipping.
func stripeCardCharge(charge, pi string, amount, refunded int64) map[string]any {
	return map[string]any{
		"id": charge, "object": "charge", "amount": amount, "amount_captured": amount, "amount_refunded": refunded,
		"currency": "usd", "payment_intent": pi, "customer": "cus_Pq7f3aCust", "description": "Order #1042 for " + piiName,
		"billing_details": map[string]any{"address": piiAddress, "email": piiEmail, "name": piiName, "phone": piiPhone},
		"payment_method":  "pm_1Pq7f3a", "payment_method_details": map[string]any{"type": "card", "card": map[string]any{
			"brand": "visa", "country": "US", "exp_month": 12, "exp_year": 2031, "fingerprint": "Pii7f3aFngrPrnt", "funding": "credit",
			"last4": "4242", "network": "visa", "checks": map[string]any{"address_line1_check": "pass", "address_postal_code_check": "pass", "cvc_check": "pass"},
			"three_d_secure": nil, "wallet": nil,
		}},
		"receipt_email": piiEmail, "receipt_number": "1042-pii7f3a", "receipt_url": "https://pay.stripe.com/receipts/pii7f3a",
		"shipping": map[string]any{"address": piiAddress, "carrier": "USPS", "name": piiName, "phone": piiPhone, "tracking_number": "pii7f3a-9400"},
		"outcome":  map[string]any{"network_status": "approved_by_network", "risk_level": "normal", "seller_message": "Payment complete.", "type": "authorized"},
		"metadata": map[string]any{"customer_email": piiEmail, "customer_name": piiName},
		"refunded": refunded == amount, "paid": true, "captured": true, "status": "succeeded",
	}
}

// stripeWithPII renders a Stripe event built by stripeevent with the customer data Stripe puts
// in its data.object for that type merged in, signed.
func stripeWithPII(t *testing.T, body []byte) stripeevent.Delivery {
	t.Helper()
	var evt map[string]any
	require.NoError(t, json.Unmarshal(body, &evt))
	evt["request"] = map[string]any{"id": "req_Pq7f3a", "idempotency_key": "pii7f3a-checkout-" + piiEmail}
	obj := evt["data"].(map[string]any)["object"].(map[string]any)
	merge := func(extra map[string]any) {
		for k, v := range extra {
			if _, ok := obj[k]; !ok || k == "metadata" {
				obj[k] = v
			}
		}
	}
	switch evt["type"] {
	case "payment_intent.succeeded":
		// A WooCommerce Stripe gateway puts the customer in the metadata next to the order.
		md := obj["metadata"].(map[string]any)
		for k, v := range map[string]any{"customer_name": piiName, "customer_email": piiEmail, "site_url": "https://shop.example.org",
			"billing_phone": piiPhone, "customer_ip": piiIP} {
			md[k] = v
		}
		ch := stripeCardCharge(obj["latest_charge"].(string), obj["id"].(string), int64(obj["amount"].(float64)), 0)
		merge(map[string]any{
			"receipt_email": piiEmail, "description": "Order #1042 for " + piiName, "customer": "cus_Pq7f3aCust",
			"shipping":       map[string]any{"address": piiAddress, "carrier": "USPS", "name": piiName, "phone": piiPhone, "tracking_number": "pii7f3a-9400"},
			"payment_method": "pm_1Pq7f3a", "client_secret": obj["id"].(string) + "_secret_pii7f3a",
			// Accounts on API versions before 2022-11-15 receive the charges with the intent.
			"charges": map[string]any{"object": "list", "data": []any{ch}, "has_more": false, "total_count": 1},
		})
	case "charge.refunded":
		ch := stripeCardCharge(obj["id"].(string), obj["payment_intent"].(string), int64(obj["amount"].(float64)), int64(obj["amount_refunded"].(float64)))
		ch["refunds"] = map[string]any{"object": "list", "has_more": false, "data": []any{map[string]any{
			"id": "re_Pq7f3a", "object": "refund", "amount": obj["amount_refunded"], "currency": "usd", "charge": obj["id"],
			"reason": "requested_by_customer", "status": "succeeded", "receipt_number": "1042-pii7f3a-r",
			"metadata": map[string]any{"note": "refund asked by " + piiName + " <" + piiEmail + ">"},
		}}}
		merge(ch)
	case "charge.dispute.created", "charge.dispute.closed":
		merge(map[string]any{
			"reason": "fraudulent", "is_charge_refundable": false,
			"evidence": map[string]any{
				"access_activity_log": "login from " + piiIP + " at 10:21 by " + piiEmail, "billing_address": "14 Pii7f3a Orchard Street, Brooklyn",
				"customer_email_address": piiEmail, "customer_name": piiName, "customer_purchase_ip": piiIP,
				"product_description": "Blue Fox mug, shipped to " + piiName, "shipping_address": "14 Pii7f3a Orchard Street, Brooklyn NY 11201",
				"shipping_carrier": "USPS", "shipping_tracking_number": "pii7f3a-9400", "uncategorized_text": "Customer " + piiName + " called from " + piiPhone,
			},
			"evidence_details":       map[string]any{"due_by": time.Now().Add(7 * 24 * time.Hour).Unix(), "has_evidence": true, "past_due": false, "submission_count": 1},
			"payment_method_details": map[string]any{"type": "card", "card": map[string]any{"brand": "visa", "network_reason_code": "10.4"}},
			"metadata":               map[string]any{"customer_email": piiEmail},
		})
	}
	b, err := json.Marshal(evt)
	require.NoError(t, err)
	require.Contains(t, string(b), piiEmail, "the payload carries the customer's data")
	return stripeevent.Sign(b, webhookSecret, time.Now())
}

// paypalWithPII adds what PayPal sends of the payer to an event built by paypalevent.
func paypalWithPII(t *testing.T, body []byte) []byte {
	t.Helper()
	var evt map[string]any
	require.NoError(t, json.Unmarshal(body, &evt))
	res := evt["resource"].(map[string]any)
	payer := map[string]any{"name": map[string]any{"given_name": "Jane", "surname": "Pii7f3a-Doe"}, "email_address": piiEmail,
		"payer_id": "PQ7F3APAYERID", "phone": map[string]any{"phone_number": map[string]any{"national_number": piiPhone}},
		"address": map[string]any{"address_line_1": "14 Pii7f3a Orchard Street", "admin_area_2": "Brooklyn", "postal_code": "11201", "country_code": "US"}}
	shipping := map[string]any{"name": map[string]any{"full_name": piiName}, "address": map[string]any{
		"address_line_1": "14 Pii7f3a Orchard Street", "address_line_2": "Apt 3 pii7f3a", "admin_area_2": "Brooklyn", "admin_area_1": "NY",
		"postal_code": "11201", "country_code": "US"}}
	switch evt["event_type"] {
	case "PAYMENT.CAPTURE.COMPLETED":
		// custom_id as a plugin fills it, with the buyer next to the order.
		custom, err := url.ParseQuery(res["custom_id"].(string))
		require.NoError(t, err)
		custom.Set("buyer_email", piiEmail)
		custom.Set("buyer_name", piiName)
		res["custom_id"] = custom.Encode()
		res["payer"], res["shipping"] = payer, shipping
		res["supplementary_data"] = map[string]any{"related_ids": map[string]any{"order_id": "5O190127TN364715T"}}
		res["seller_protection"] = map[string]any{"status": "ELIGIBLE", "dispute_categories": []string{"ITEM_NOT_RECEIVED", "UNAUTHORIZED_TRANSACTION"}}
		res["soft_descriptor"] = "PAYPAL *PII7F3A"
	case "PAYMENT.CAPTURE.REFUNDED", "PAYMENT.CAPTURE.REVERSED":
		res["note_to_payer"] = "Refund for " + piiName + " (" + piiEmail + ")"
		res["payer"] = map[string]any{"email_address": piiEmail, "merchant_id": "MERCHANT7F3A"}
		res["custom_id"] = "buyer_email=" + url.QueryEscape(piiEmail)
	default: // CUSTOMER.DISPUTE.*
		txs := res["disputed_transactions"].([]any)
		tx := txs[0].(map[string]any)
		tx["buyer"] = map[string]any{"name": piiName, "email": piiEmail}
		tx["buyer_transaction_id"] = "4PQ7F3ABUYERTX"
		tx["custom"] = "buyer_email=" + piiEmail
		tx["seller"] = map[string]any{"email": "merchant@example.com", "merchant_id": "MERCHANT7F3A", "name": "Acme Pottery"}
		res["messages"] = []any{map[string]any{"posted_by": "BUYER", "time_posted": time.Now().UTC().Format(time.RFC3339),
			"content": "I never got it. Call me at " + piiPhone + ", " + piiName}}
		res["evidences"] = []any{map[string]any{"evidence_type": "PROOF_OF_FULFILLMENT",
			"evidence_info": map[string]any{"tracking_info": []any{map[string]any{"carrier_name": "USPS", "tracking_number": "pii7f3a-9400"}}},
			"notes":         "Delivered to " + piiName + " at 14 Pii7f3a Orchard Street"}}
		res["buyer_response_due_date"] = time.Now().UTC().Format(time.RFC3339)
	}
	b, err := json.Marshal(evt)
	require.NoError(t, err)
	require.Contains(t, string(b), piiEmail, "the payload carries the payer's data")
	return b
}

// captureLogs returns a Debug logger writing to a testenv.LogBuffer, which is also slog's default for
// the test (activities log through it); the default comes back after the test.
func captureLogs(t *testing.T) (*slog.Logger, *testenv.LogBuffer) {
	t.Helper()
	logs := &testenv.LogBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	old := slog.Default()
	slog.SetDefault(logger)
	t.Cleanup(func() { slog.SetDefault(old) })
	return logger, logs
}

// dumpTables renders every row of every table of the database as text, one table after the
// other: what Postgres keeps, whatever a future table is called.
func dumpTables(t *testing.T, pool *pgxpool.Pool) string {
	t.Helper()
	ctx := context.Background()
	rows, err := pool.Query(ctx, `SELECT table_name FROM information_schema.tables
		WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name`)
	require.NoError(t, err)
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	require.Contains(t, tables, "webhook_inbox")
	var b strings.Builder
	for _, name := range tables {
		var text string
		require.NoError(t, pool.QueryRow(ctx, fmt.Sprintf(`SELECT coalesce(string_agg(t::text, E'\n'), '') FROM %s t`,
			pgx.Identifier{name}.Sanitize())).Scan(&text))
		fmt.Fprintf(&b, "== %s\n%s\n", name, text)
	}
	return b.String()
}

// histories renders every event of every run of the workflows as their wire bytes: inputs,
// signals, activity inputs and results, search attributes, memos and failure messages, payloads
// as the data converter wrote them (JSON, unencoded), so a marker in any of them is found.
func histories(t *testing.T, tc client.Client, ids ...string) string {
	t.Helper()
	ctx := context.Background()
	var b strings.Builder
	for _, id := range ids {
		res, err := tc.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: fmt.Sprintf("WorkflowId = '%s'", id)})
		require.NoError(t, err)
		runs := []string{""} // the latest, should visibility lag
		for _, e := range res.Executions {
			runs = append(runs, e.Execution.RunId)
		}
		for _, run := range runs {
			it := tc.GetWorkflowHistory(ctx, id, run, false, 0)
			for it.HasNext() {
				ev, err := it.Next()
				require.NoError(t, err)
				raw, err := proto.Marshal(ev)
				require.NoError(t, err)
				b.Write(raw)
				b.WriteByte('\n')
			}
		}
	}
	return b.String()
}

// get answers a GET on the API as text.
func get(t *testing.T, base, path, key string) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, base+path, nil)
	require.NoError(t, err)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode, "GET %s: %s", path, body)
	return string(body)
}

// survivors names the places (keys of kept) where any of markers turns up, with the marker and
// a little of what surrounds it.
func survivors(kept map[string]string, markers []string) []string {
	var found []string
	for where, text := range kept {
		lower := strings.ToLower(text)
		for _, m := range markers {
			if i := strings.Index(lower, strings.ToLower(m)); i >= 0 {
				from, to := max(0, i-80), min(len(text), i+len(m)+80)
				found = append(found, fmt.Sprintf("%s keeps %q: …%q…", where, m, text[from:to]))
			}
		}
	}
	sort.Strings(found)
	return found
}

// kept gathers what the platform kept after a test's deliveries: Postgres, the workflows'
// histories, the logs, the metrics and the admin API's answers about the payments.
func (s *stack) kept(t *testing.T, logs *testenv.LogBuffer, client string, ids ...string) map[string]string {
	t.Helper()
	kept := map[string]string{
		"postgres":          dumpTables(t, s.Pool),
		"temporal history":  histories(t, s.tc, ids...),
		"logs":              logs.String(),
		"metrics":           get(t, s.api.URL, "/metrics", ""),
		"admin inbox":       get(t, s.api.URL, "/api/v1/admin/webhook-inbox", adminKey),
		"admin audit":       get(t, s.api.URL, "/api/v1/admin/audit", adminKey),
		"admin payments":    get(t, s.api.URL, "/api/v1/admin/payments?client_id="+client, adminKey),
		"client payouts":    get(t, s.api.URL, "/api/v1/payouts?client_id="+client, adminKey),
		"admin stuck":       get(t, s.api.URL, "/api/v1/admin/payouts", adminKey),
		"admin drift":       get(t, s.api.URL, "/api/v1/admin/reconciliation", adminKey),
		"admin ledger book": get(t, s.api.URL, "/api/v1/admin/ledger/balances", adminKey),
	}
	for _, id := range ids {
		kept["admin payment "+id] = get(t, s.api.URL, "/api/v1/admin/payments/"+id, adminKey)
	}
	return kept
}

// requireSeen fails unless every control (data the platform does keep: IDs, amounts) is found
// where the markers were searched: a search that cannot see the workflow's inputs, the inbox's
// events or the logs would prove nothing.
func requireSeen(t *testing.T, kept map[string]string, controls map[string]string) {
	t.Helper()
	for where, control := range controls {
		require.Contains(t, kept[where], control, "the search reads %s", where)
	}
}

// TestStripeCustomerDataIsNotKept delivers a Stripe payment's life (capture, refund, dispute
// opened and lost, and events of types the platform ignores) with all the customer and card data
// Stripe sends: receipt email, shipping, billing details, the card's fingerprint and expiry, a
// WooCommerce gateway's customer metadata, dispute evidence. None of it may be kept anywhere:
// the inbox, any table, the workflow's history, a log line at any level, the metrics or the
// admin API's answers. Both acknowledgement modes: through the inbox and straight to Temporal.
func TestStripeCustomerDataIsNotKept(t *testing.T) {
	for _, tt := range []struct {
		name string
		ack  server.WebhookAck
		pi   string
	}{
		{"ack once stored", server.AckOnStore, "pi_piiinbox1"},
		{"ack once Temporal holds it", server.AckOnTemporal, "pi_piitemporal1"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			logger, logs := captureLogs(t)
			st := stackpkg.New(t, stackpkg.Options{Settings: payment.Settings{SettleWindow: 0}, WebhookAck: tt.ack, Logger: logger})
			s := &stack{Stack: st, t: t, api: st.API, tc: st.Temporal, ledger: st.Ledger, stripe: st.Stripe, paypal: st.PayPal}
			client := "piico" + strings.TrimPrefix(tt.pi, "pi_pii")
			s.seed(client)
			id := payment.WorkflowID("stripe", tt.pi)
			deliver := func(body []byte) ipayment.Record {
				t.Helper()
				code, out := s.webhook(stripeWithPII(t, body))
				require.Equal(t, http.StatusOK, code, out)
				require.NotContains(t, fmt.Sprint(out), piiMark, "the answer quotes nothing of the event")
				return s.result(id)
			}
			c := capture(client, tt.pi)
			require.Equal(t, ipayment.StatusPaid, deliver(c.Body()).Status)
			refund := stripeevent.Refund{EventID: "evt_r_" + tt.pi, PaymentIntent: tt.pi, Charge: c.Charge, Currency: "usd", Amount: 11000,
				AmountRefunded: 2000, Created: time.Now()}
			require.EqualValues(t, 2000, deliver(refund.Body()).Refunded)
			withdrawn := []stripeevent.DisputeFunds{{ID: "txn_w_" + tt.pi, Amount: -9000, Fee: 1500}}
			for _, d := range []stripeevent.Dispute{
				{EventID: "evt_dc_" + tt.pi, Type: "charge.dispute.created", Status: "needs_response"},
				{EventID: "evt_dl_" + tt.pi, Type: "charge.dispute.closed", Status: "lost"},
			} {
				d.Dispute, d.PaymentIntent, d.Charge, d.Currency, d.Amount, d.Funds, d.Created = "dp_"+tt.pi, tt.pi, c.Charge, "usd", 9000, withdrawn, time.Now()
				deliver(d.Body())
			}
			rec := s.result(id)
			require.EqualValues(t, 1500, rec.DisputeFees, "the dispute events were applied")
			// Types the platform does not act on, full of the customer: answered, nothing kept.
			for _, typ := range []string{"charge.succeeded", "customer.created"} {
				obj := stripeCardCharge(c.Charge, tt.pi, 11000, 0)
				if typ == "customer.created" {
					obj = map[string]any{"id": "cus_Pq7f3aCust", "object": "customer", "email": piiEmail, "name": piiName, "phone": piiPhone,
						"address": piiAddress, "shipping": map[string]any{"address": piiAddress, "name": piiName, "phone": piiPhone}}
				}
				b, err := json.Marshal(map[string]any{"id": "evt_" + strings.ReplaceAll(typ, ".", "_") + tt.pi, "object": "event", "type": typ,
					"created": time.Now().Unix(), "api_version": "2023-10-16", "data": map[string]any{"object": obj}})
				require.NoError(t, err)
				code, out := s.StripeWebhook(stripeevent.Sign(b, webhookSecret, time.Now()))
				require.Equal(t, http.StatusOK, code, out)
				require.Equal(t, "ignored", out["status"])
			}

			requireOnlyPaymentDataKept(t, s.kept(t, logs, client, id), id, "order-"+tt.pi, tt.ack, "evt_dl_"+tt.pi, "customer or card data kept")
		})
	}
}

// TestPayPalPayerDataIsNotKept is TestStripeCustomerDataIsNotKept for PayPal: a capture with
// its payer and shipping, a refund with a note to the payer, a dispute with the buyer's name and
// messages, and a reversal.
func TestPayPalPayerDataIsNotKept(t *testing.T) {
	for _, tt := range []struct {
		name    string
		ack     server.WebhookAck
		capture string
	}{
		{"ack once stored", server.AckOnStore, "CAPPIIINBOX1"},
		{"ack once Temporal holds it", server.AckOnTemporal, "CAPPIITEMPO1"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			logger, logs := captureLogs(t)
			st := stackpkg.New(t, stackpkg.Options{Settings: payment.Settings{SettleWindow: 0}, WebhookAck: tt.ack, Logger: logger})
			s := &stack{Stack: st, t: t, api: st.API, tc: st.Temporal, ledger: st.Ledger, stripe: st.Stripe, paypal: st.PayPal}
			client := "ppii" + strings.ToLower(tt.capture[6:])
			s.seedPayPal(client, "VENDORPQ7F3A1")
			id := payment.WorkflowID("paypal", tt.capture)
			deliver := func(body []byte) ipayment.Record {
				t.Helper()
				body = paypalWithPII(t, body)
				code, out := s.paypalWebhook(body, s.paypal.Sign(body))
				require.Equal(t, http.StatusOK, code, out)
				require.NotContains(t, fmt.Sprint(out), piiMark, "the answer quotes nothing of the event")
				return s.result(id)
			}
			require.Equal(t, ipayment.StatusPaid, deliver(paypalCapture(client, tt.capture)).Status)
			rec := deliver(paypalevent.Refund{EventID: "WH-REF-" + tt.capture, RefundID: "REF-" + tt.capture, CaptureID: tt.capture,
				Currency: "usd", Amount: 1100, TotalRefunded: 1100, Fee: 38, Created: time.Now()}.Body())
			require.EqualValues(t, 1100, rec.Refunded)
			for _, d := range []paypalevent.Dispute{
				{EventID: "WH-DSP-C-" + tt.capture, Type: "CUSTOMER.DISPUTE.CREATED"},
				{EventID: "WH-DSP-R-" + tt.capture, Type: "CUSTOMER.DISPUTE.RESOLVED", Outcome: "RESOLVED_BUYER_FAVOUR"},
			} {
				d.DisputeID, d.CaptureID, d.Currency, d.Amount, d.Created = "PP-D-"+tt.capture, tt.capture, "usd", 3000, time.Now()
				deliver(d.Body())
			}
			rec = deliver(paypalevent.Reversal{EventID: "WH-REV-" + tt.capture, ReversalID: "REV-" + tt.capture, CaptureID: tt.capture,
				Currency: "usd", Amount: 3000, Created: time.Now()}.Body())
			require.EqualValues(t, 3000, rec.DisputesLost, "the reversal was applied")
			// A type the platform ignores, all payer: the order the buyer approved.
			order := paypalevent.Build("WH-ORDER-"+tt.capture, "CHECKOUT.ORDER.APPROVED", time.Now(), map[string]any{
				"id": "5O190127TN364715T", "intent": "CAPTURE", "status": "APPROVED",
				"payer":          map[string]any{"email_address": piiEmail, "name": map[string]any{"given_name": "Jane", "surname": "Pii7f3a-Doe"}},
				"purchase_units": []any{map[string]any{"shipping": map[string]any{"name": map[string]any{"full_name": piiName}}}},
			})
			code, out := s.paypalWebhook(order, s.paypal.Sign(order))
			require.Equal(t, http.StatusOK, code, out)
			require.Equal(t, "ignored", out["status"])

			requireOnlyPaymentDataKept(t, s.kept(t, logs, client, id), id, "order-"+tt.capture, tt.ack, "WH-REV-"+tt.capture, "payer data kept")
		})
	}
}

// TestStorefrontCustomerDataIsNotKept: a Shopify order full of its customer (email, phone,
// addresses, note, browser IP, gift message) wakes the payment waiting for it, which is split on
// it and paid; WooCommerce, TikTok Shop and Instagram orders are stored beside it. Nothing of
// the customers is kept anywhere: not in any table (beyond the storefront tables
// TestStorefrontWebhooksStoreNormalizedOrders reads), the payment's history (the order the
// Enrich activity returned), the logs of the API, the shop endpoint and the worker, the metrics
// or the admin API's answers.
func TestStorefrontCustomerDataIsNotKept(t *testing.T) {
	logger, logs := captureLogs(t)
	st := stackpkg.New(t, stackpkg.Options{Settings: payment.Settings{SettleWindow: 0, EnrichPoll: time.Hour, EnrichWait: 2 * time.Hour}, Logger: logger})
	s := &stack{Stack: st, t: t, api: st.API, tc: st.Temporal, ledger: st.Ledger, stripe: st.Stripe, paypal: st.PayPal}
	e := newShopEnv(t, s.tc, st.Queue)
	c := e.client
	code, body := e.json(req{method: http.MethodPost, path: "/api/v1/admin/clients/" + c + "/split-rules", key: adminKey,
		body: map[string]any{"platform_bps": 1000, "affiliate_bps": 500}})
	require.Equal(t, http.StatusCreated, code, body)
	for id, kind := range map[string]string{c + "-blue-fox-ceramics": "vendor", c + "-oak-thread": "vendor", c + "-greenkitchenblog": "affiliate"} {
		code, body := e.json(req{method: http.MethodPut, path: "/api/v1/admin/payees/" + id, key: adminKey,
			body: map[string]any{"client_id": c, "kind": kind, "stripe_account": "acct_" + strings.ReplaceAll(strings.TrimPrefix(id, c+"-"), "-", "")}})
		require.Equal(t, http.StatusCreated, code, body)
	}
	pi := "pi_" + strings.ReplaceAll(c, "-", "")
	capture := stripeevent.Capture{EventID: "evt_" + pi, PaymentIntent: pi, Charge: "ch_" + pi, Currency: "usd", Amount: 12257, Created: time.Now(),
		Metadata: map[string]string{"client_id": c, "order_id": "5934021746733"}}
	code, out := s.webhook(stripeWithPII(t, capture.Body()))
	require.Equal(t, http.StatusOK, code, out)
	id := payment.WorkflowID("stripe", pi)
	s.AwaitStatus(id, 30*time.Second, ipayment.StatusAwaitingMetadata)

	for _, d := range []delivery{
		shopifyDelivery("orders/paid", "pii-wake-1", shopSample(t, "shopify_orders_paid.json")),
		wooDelivery("order.created", "pii-woo-1", shopSample(t, "woocommerce_order_created.json")),
		tiktokDelivery(shopSample(t, "tiktok_order_status_change.json")),
		instagramDelivery(shopSample(t, "instagram_commerce_order.json")),
	} {
		code, out := e.post(c, d)
		require.Equal(t, http.StatusOK, code, out)
	}
	rec := s.result(id)
	require.Equal(t, ipayment.StatusPaid, rec.Status, rec.Reason)
	require.Len(t, rec.Order.Lines, 2, "split on the Shopify order")

	kept := s.kept(t, logs, c, id)
	kept["shop endpoint logs"] = e.logs.String()
	requireSeen(t, kept, map[string]string{
		"postgres": "5934021746733", "temporal history": c + "-blue-fox-ceramics", "logs": id, "shop endpoint logs": "5934021746733",
	})
	require.Empty(t, survivors(kept, append(customerData, piiMarkers...)), "customer data kept")
}

// requireOnlyPaymentDataKept: what the platform keeps of payment id (its order in Postgres and in
// its history, the run in the logs and the admin API, and with the inbox an event of it in
// Postgres) is found where it is kept, so the search cannot pass blind, and no PII marker is.
func requireOnlyPaymentDataKept(t *testing.T, kept map[string]string, id, order string, ack server.WebhookAck, inboxEvent, what string) {
	t.Helper()
	requireSeen(t, kept, map[string]string{"postgres": order, "temporal history": order, "logs": id, "admin payments": id})
	if ack == server.AckOnStore {
		requireSeen(t, kept, map[string]string{"postgres": inboxEvent}) // the inbox keeps the (reduced) events
	}
	require.Empty(t, survivors(kept, piiMarkers), what)
}
