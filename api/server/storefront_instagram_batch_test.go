package server_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestInstagramBatchStoresWhatItCanRead: Meta batches several orders' changes in one delivery and
// never resends one answered 2xx. A batch with one order that could not be read was refused whole
// (200 invalid_order), so the batch's other orders were never stored and their payments waited for
// them for good. The readable orders are stored, each unreadable one is kept for an admin (one
// audit entry each, however often the batch is delivered).
func TestInstagramBatchStoresWhatItCanRead(t *testing.T) {
	e := newShopEnv(t, nil, "")
	c := e.client
	body := []byte(`{"object": "page", "entry": [{"id": "110493227123456", "time": 1712755200, "changes": [
		{"field": "commerce_orders", "value": ` + metaOrder("368508827392901", "64.80") + `},
		{"field": "commerce_orders", "value": ` + metaOrder("368508827392902", "99.00") + `}]}]}`)
	for range 2 { // the delivery and Meta's resend of it
		code, out := e.post(c, instagramDelivery(body))
		require.Equal(t, http.StatusOK, code, out)
		require.Contains(t, []any{"stored", "duplicate"}, out["status"], out)
	}
	got, err := e.store.GetOrder(t.Context(), c, "368508827392901")
	require.NoError(t, err, "the readable order of the batch was not stored")
	require.EqualValues(t, 6000, got.Subtotal)

	code, out := e.json(req{method: http.MethodGet, key: adminKey,
		path: "/api/v1/admin/audit?action=storefront.order_refused&target=" + url.QueryEscape("client:"+c) + "&actor=storefront:instagram"})
	require.Equal(t, http.StatusOK, code, out)
	entries, _ := out["entries"].([]any)
	require.Len(t, entries, 1, out)
	after := entries[0].(map[string]any)["after"].(map[string]any)
	require.Equal(t, "368508827392902", after["order_id"])
	require.Contains(t, after["reason"], "does not fit")
}

// metaOrder is a commerce_orders change's value: a whole USD order with the total given, which
// reads when it is 64.80 and is refused as not adding up otherwise (99.00 in the tests).
func metaOrder(id, total string) string {
	return `{"id": "` + id + `", "order_status": {"state": "CREATED"},
		"estimated_payment_details": {"subtotal": {"items": {"amount": "60.00", "currency": "USD"},
			"shipping": {"amount": "5.00", "currency": "USD"}}, "tax": {"amount": "4.80", "currency": "USD"},
			"total_amount": {"amount": "` + total + `", "currency": "USD"}},
		"items": {"data": [{"quantity": 2}]}}`
}
