package paypalevent_test

import (
	"encoding/json"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"paysplit/internal/money"
	"paysplit/internal/paypalevent"
)

func TestAmountUsesTheCurrencyExponent(t *testing.T) {
	for _, tt := range []struct {
		minor    int64
		currency string
		want     map[string]string
	}{
		{11000, "usd", map[string]string{"currency_code": "USD", "value": "110.00"}},
		{1200, "jpy", map[string]string{"currency_code": "JPY", "value": "1200"}},
		{1234, "kwd", map[string]string{"currency_code": "KWD", "value": "1.234"}},
	} {
		assert.Equal(t, tt.want, paypalevent.Amount(tt.minor, money.Currency(tt.currency)))
	}
}

func TestCaptureAndRefund(t *testing.T) {
	at := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	var capture struct {
		ID         string         `json:"id"`
		EventType  string         `json:"event_type"`
		CreateTime string         `json:"create_time"`
		Resource   map[string]any `json:"resource"`
	}
	body := paypalevent.Capture{EventID: "WH-1", CaptureID: "CAP1", Currency: "eur", Amount: 1999,
		Metadata: map[string]string{"client_id": "acme", "order_id": "o-1"}, Created: at}.Body()
	require.NoError(t, json.Unmarshal(body, &capture))
	assert.Equal(t, "WH-1", capture.ID)
	assert.Equal(t, "PAYMENT.CAPTURE.COMPLETED", capture.EventType)
	assert.Equal(t, "2026-11-26T10:00:00Z", capture.CreateTime)
	assert.Equal(t, "CAP1", capture.Resource["id"])
	assert.Equal(t, map[string]any{"currency_code": "EUR", "value": "19.99"}, capture.Resource["amount"])
	custom, err := url.ParseQuery(capture.Resource["custom_id"].(string))
	require.NoError(t, err)
	assert.Equal(t, url.Values{"client_id": {"acme"}, "order_id": {"o-1"}}, custom)
	assert.NotContains(t, capture.Resource, "invoice_id", "left out when empty")
	assert.NotContains(t, capture.Resource, "seller_receivable_breakdown", "no fee, no breakdown")

	body = paypalevent.Capture{EventID: "WH-3", CaptureID: "CAP3", Currency: "eur", Amount: 1999, Fee: 119, Created: at}.Body()
	require.NoError(t, json.Unmarshal(body, &capture))
	assert.Equal(t, map[string]any{
		"gross_amount": map[string]any{"currency_code": "EUR", "value": "19.99"},
		"paypal_fee":   map[string]any{"currency_code": "EUR", "value": "1.19"},
		"net_amount":   map[string]any{"currency_code": "EUR", "value": "18.80"},
	}, capture.Resource["seller_receivable_breakdown"])

	var refund struct {
		EventType string `json:"event_type"`
		Resource  struct {
			Amount    map[string]string `json:"amount"`
			Breakdown struct {
				Total map[string]string `json:"total_refunded_amount"`
				Fee   map[string]string `json:"paypal_fee"`
				Net   map[string]string `json:"net_amount"`
			} `json:"seller_payable_breakdown"`
			Links []map[string]string `json:"links"`
		} `json:"resource"`
	}
	body = paypalevent.Refund{EventID: "WH-2", RefundID: "REF1", CaptureID: "CAP1", Currency: "eur", Amount: 500, TotalRefunded: 700, Fee: 17, Created: at}.Body()
	require.NoError(t, json.Unmarshal(body, &refund))
	assert.Equal(t, "PAYMENT.CAPTURE.REFUNDED", refund.EventType)
	assert.Equal(t, "5.00", refund.Resource.Amount["value"])
	assert.Equal(t, "7.00", refund.Resource.Breakdown.Total["value"])
	assert.Equal(t, "0.17", refund.Resource.Breakdown.Fee["value"], "the fee given back")
	assert.Equal(t, "4.83", refund.Resource.Breakdown.Net["value"], "what the refund took from the balance")
	assert.Equal(t, "https://api.paypal.com/v2/payments/captures/CAP1", refund.Resource.Links[0]["href"])
}

// A payout item event carries PayPal's payout item details: the amount as {"currency", "value"}
// (not a capture's currency_code) and sender_batch_id at the resource's top level.
func TestPayoutItemBody(t *testing.T) {
	b := paypalevent.PayoutItem{EventID: "WH-1", Type: "PAYMENT.PAYOUTS-ITEM.REFUNDED", ItemID: "ITEM1", BatchID: "BATCH1",
		SenderBatchID: "payment-paypal-C/transfer/vendor-v/0", Receiver: "r@example.com", Currency: "usd", Amount: 9545,
		Created: time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)}.Body()
	var evt struct {
		EventType    string `json:"event_type"`
		ResourceType string `json:"resource_type"`
		Resource     struct {
			ItemID        string `json:"payout_item_id"`
			Status        string `json:"transaction_status"`
			SenderBatchID string `json:"sender_batch_id"`
			Item          struct {
				Amount map[string]string `json:"amount"`
			} `json:"payout_item"`
		} `json:"resource"`
	}
	if err := json.Unmarshal(b, &evt); err != nil {
		t.Fatal(err)
	}
	if evt.ResourceType != "payouts_item" || evt.Resource.Status != "REFUNDED" || evt.Resource.ItemID != "ITEM1" ||
		evt.Resource.SenderBatchID != "payment-paypal-C/transfer/vendor-v/0" ||
		evt.Resource.Item.Amount["currency"] != "USD" || evt.Resource.Item.Amount["value"] != "95.45" {
		t.Fatalf("unexpected event: %s", b)
	}
}
