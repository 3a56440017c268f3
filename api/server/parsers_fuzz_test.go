package server

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/stripe/stripe-go/v76"

	"paysplit/internal/stripeevent"
	"paysplit/workflows/payment"
)

// The webhook parsers take whatever a verified sender wrote: they must never panic, and what
// they accept must be something the workflow can use (a payment ID, positive amounts, a known
// event kind).

func FuzzStripeToEvent(f *testing.F) {
	f.Add(stripeevent.Capture{EventID: "evt_1", PaymentIntent: "pi_1", Charge: "ch_1", Currency: "usd", Amount: 1099,
		Metadata: map[string]string{"client_id": "c", "email": "x@example.com"}}.Body())
	f.Add(stripeevent.Refund{EventID: "evt_2", PaymentIntent: "pi_1", Charge: "ch_1", Currency: "usd", Amount: 1099, AmountRefunded: 100}.Body())
	f.Add(stripeevent.Dispute{EventID: "evt_3", Type: "charge.dispute.closed", Dispute: "dp_1", PaymentIntent: "pi_1", Status: "lost", Amount: 5}.Body())
	f.Add(stripeevent.RefundUpdate{EventID: "evt_4", Refund: "re_1", PaymentIntent: "pi_1", Charge: "ch_1", Currency: "usd", Status: "failed", Amount: 100}.Body())
	f.Add([]byte(`{"type":"payment_intent.succeeded","data":{"object":{"id":"pi","amount":-5,"currency":"usd"}}}`))
	f.Add([]byte(`{"type":"payment_intent.succeeded","data":{"object":{"id":"pi","amount":5,"currency":"xxx"}}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var evt stripe.Event
		if json.Unmarshal(body, &evt) != nil {
			return
		}
		ev, pi, err := stripeToEvent(evt)
		if err != nil {
			return
		}
		checkEvent(t, ev, pi)
		for k := range ev.Metadata {
			if _, ok := allowedMetadata[k]; !ok {
				t.Fatalf("metadata key %q survived the filter", k)
			}
		}
	})
}

func FuzzPayPalToEvent(f *testing.F) {
	f.Add([]byte(`{"id":"WH-1","event_type":"PAYMENT.CAPTURE.COMPLETED","create_time":"2026-11-25T10:00:00Z","resource":{"id":"CAP1","amount":{"currency_code":"USD","value":"110.00"},"custom_id":"client_id=c&order_id=o","invoice_id":"o"}}`))
	f.Add([]byte(`{"id":"WH-2","event_type":"PAYMENT.CAPTURE.REFUNDED","resource":{"id":"R1","amount":{"currency_code":"JPY","value":"100"},"links":[{"rel":"up","href":"https://api.paypal.com/v2/payments/captures/CAP1"}]}}`))
	f.Add([]byte(`{"id":"WH-3","event_type":"CUSTOMER.DISPUTE.RESOLVED","resource":{"dispute_id":"D1","disputed_transactions":[{"seller_transaction_id":"CAP1"}],"dispute_amount":{"currency_code":"KWD","value":"1.234"},"dispute_outcome":{"outcome_code":"RESOLVED_BUYER_FAVOUR"}}}`))
	f.Add([]byte(`{"id":"WH-5","event_type":"PAYMENT.CAPTURE.COMPLETED","resource":{"id":"CAP5","amount":{"currency_code":"USD","value":"10.00"},"seller_receivable_breakdown":{"paypal_fee":{"currency_code":"USD","value":"0.84"}}}}`))
	f.Add([]byte(`{"id":"WH-4","event_type":"PAYMENT.CAPTURE.COMPLETED","resource":{"id":"CAP1","amount":{"currency_code":"USD","value":"-1.00"}}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, capture, typ, err := paypalToEvent(body)
		if err != nil {
			if errors.Is(err, errIgnored) && capture != "" {
				t.Fatalf("ignored event named capture %q", capture)
			}
			return
		}
		checkEvent(t, ev, capture)
		if strings.HasPrefix(typ, "CUSTOMER.DISPUTE.") && ev.DisputeStatus == "lost" {
			t.Fatalf("%s would take money: only a reversal does", typ)
		}
	})
}

var allowedMetadata = map[string]bool{"client_id": true, "order_id": true, "vendor_id": true, "affiliate_id": true,
	"subtotal": true, "tax": true, "shipping": true, "discount": true, "extras": true, "platform": true}

func checkEvent(t *testing.T, ev payment.Event, paymentID string) {
	t.Helper()
	if paymentID == "" || ev.ID == "" {
		t.Fatalf("accepted an event without IDs: %+v (payment %q)", ev, paymentID)
	}
	if ev.Fee < 0 || ev.Fee > ev.Amount {
		t.Fatalf("fee %d outside 0..%d", ev.Fee, ev.Amount)
	}
	switch ev.Kind {
	case payment.EventCapture:
		if ev.Amount <= 0 || ev.Currency == "" {
			t.Fatalf("capture with amount %d currency %q", ev.Amount, ev.Currency)
		}
	case payment.EventRefund:
		if ev.AmountRefunded < 0 || ev.Amount < 0 {
			t.Fatalf("refund with negative amount: %+v", ev)
		}
	case payment.EventRefundFailed:
		if ev.RefundID == "" || ev.Amount <= 0 {
			t.Fatalf("failed refund without id or amount: %+v", ev)
		}
	case payment.EventDisputeCreated, payment.EventDisputeClosed:
		if ev.DisputeID == "" || ev.Amount < 0 {
			t.Fatalf("dispute without id or with negative amount: %+v", ev)
		}
	default:
		t.Fatalf("unknown event kind %q", ev.Kind)
	}
}

// A capture keeps its event's time and says when its PaymentIntent was made, the bound below
// which Enrich does not believe the charge's balance transaction (a bank debit's submission);
// an event without the PaymentIntent's created says none.
func TestStripeCaptureIntentCreated(t *testing.T) {
	succeeded, confirmed := time.Unix(1795600000, 0), time.Unix(1795400000, 0)
	for _, tt := range []struct {
		name string
		body []byte
		want time.Time
	}{
		{"with the PaymentIntent's created", stripeevent.Capture{EventID: "evt_c", PaymentIntent: "pi_1", Charge: "ch_1", Currency: "usd", Amount: 1100,
			Created: succeeded, IntentCreated: confirmed}.Body(), confirmed.UTC()},
		{"without", []byte(`{"id":"evt_c","type":"payment_intent.succeeded","created":1795600000,"data":{"object":{"id":"pi_1","amount":1100,"currency":"usd"}}}`), time.Time{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var evt stripe.Event
			require.NoError(t, json.Unmarshal(tt.body, &evt))
			ev, pi, err := stripeToEvent(evt)
			require.NoError(t, err)
			require.Equal(t, "pi_1", pi)
			require.Equal(t, succeeded.UTC(), ev.OccurredAt, "captured at the event's time until Enrich reads the charge")
			require.Equal(t, tt.want, ev.IntentCreated)
		})
	}
}

// Refund updates: only a refund that failed or was canceled is news for the workflow, named by
// the refund's ID so its charge.refund.updated and refund.failed are applied once.
func TestStripeRefundUpdates(t *testing.T) {
	update := func(typ, status string, amount int64, pi string) stripe.Event {
		body := stripeevent.RefundUpdate{EventID: "evt_u", Type: typ, Refund: "re_1", PaymentIntent: pi, Charge: "ch_1", Currency: "usd",
			Status: status, Amount: amount, Created: time.Unix(1795600000, 0), Made: time.Unix(1795500000, 0)}.Body()
		var evt stripe.Event
		require.NoError(t, json.Unmarshal(body, &evt))
		return evt
	}
	failed := payment.Event{ID: "evt_u", Kind: payment.EventRefundFailed, RefundID: "re_1", Amount: 1100, Currency: "usd", OccurredAt: time.Unix(1795600000, 0).UTC(),
		RefundMade: time.Unix(1795500000, 0).UTC(), ISOUnits: true}
	for _, tt := range []struct {
		name    string
		evt     stripe.Event
		want    payment.Event
		wantErr error
		badReq  bool
	}{
		{name: "failed", evt: update("", "failed", 1100, "pi_1"), want: failed},
		{name: "canceled", evt: update("", "canceled", 1100, "pi_1"), want: failed},
		{name: "refund.failed", evt: update("refund.failed", "failed", 1100, "pi_1"), want: failed},
		{name: "refund.updated", evt: update("refund.updated", "failed", 1100, "pi_1"), want: failed},
		{name: "succeeded is no news", evt: update("", "succeeded", 1100, "pi_1"), wantErr: errIgnored},
		{name: "pending is no news", evt: update("", "pending", 1100, "pi_1"), wantErr: errIgnored},
		{name: "outside PaymentIntents", evt: update("", "failed", 1100, ""), wantErr: errIgnored},
		{name: "no amount", evt: update("", "failed", 0, "pi_1"), badReq: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ev, pi, err := stripeToEvent(tt.evt)
			switch {
			case tt.wantErr != nil:
				require.ErrorIs(t, err, tt.wantErr)
			case tt.badReq:
				require.Error(t, err)
				require.NotErrorIs(t, err, errIgnored)
			default:
				require.NoError(t, err)
				require.Equal(t, "pi_1", pi)
				require.Equal(t, tt.want, ev)
			}
		})
	}
}

// A dispute event's balance transactions carry its fees by ID: the dispute fee when funds are
// withdrawn, its return when reinstated. Fees in another currency, and transactions without a
// fee, are left out.
func TestStripeDisputeFees(t *testing.T) {
	for _, tt := range []struct {
		name  string
		funds string
		want  map[string]int64
	}{
		{"none yet", `[]`, nil},
		{"withdrawn with the fee", `[{"id":"txn_w","amount":-11000,"fee":1500,"currency":"usd"}]`, map[string]int64{"txn_w": 1500}},
		{"reinstated with the fee", `[{"id":"txn_w","amount":-11000,"fee":1500,"currency":"usd"},{"id":"txn_r","amount":11000,"fee":-1500,"currency":"usd"}]`,
			map[string]int64{"txn_w": 1500, "txn_r": -1500}},
		{"reinstated without the fee", `[{"id":"txn_w","fee":1500,"currency":"usd"},{"id":"txn_r","amount":11000,"fee":0,"currency":"usd"}]`, map[string]int64{"txn_w": 1500}},
		{"settled in another currency", `[{"id":"txn_w","amount":-10000,"fee":1400,"currency":"eur"}]`, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			body := []byte(`{"id":"evt_d","object":"event","type":"charge.dispute.created","created":1,"data":{"object":{"id":"dp_1","object":"dispute","amount":11000,"currency":"usd","status":"needs_response","payment_intent":"pi_1","balance_transactions":` + tt.funds + `}}}`)
			var evt stripe.Event
			require.NoError(t, json.Unmarshal(body, &evt))
			ev, pi, err := stripeToEvent(evt)
			require.NoError(t, err)
			require.Equal(t, "pi_1", pi)
			require.Equal(t, tt.want, ev.DisputeFees)
		})
	}
}
