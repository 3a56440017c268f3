package server_test

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestInstagramBatchRefusedWholeKeepsEachOrderForAnAdmin: a Meta batch that is refused whole (no
// order of it can be stored) is answered 200 and never sent again, so the audit entries are all an
// admin ever learns of its orders. Each refused order must get its own entry naming it, as in a
// batch partly stored (TestInstagramBatchStoresWhatItCanRead): one entry for the whole batch named
// no order when the batch was of several, and gave only one order's reason; an unreadable order
// of a batch whose only readable order was another platform's was not recorded at all.
func TestInstagramBatchRefusedWholeKeepsEachOrderForAnAdmin(t *testing.T) {
	e := newShopEnv(t, nil, "")
	batch := func(changes ...string) []byte {
		body := `{"object": "page", "entry": [{"id": "110493227123456", "time": 1712755200, "changes": [`
		for i, ch := range changes {
			if i > 0 {
				body += ","
			}
			body += `{"field": "commerce_orders", "value": ` + ch + `}`
		}
		return []byte(body + `]}]}`)
	}
	tests := []struct {
		name  string
		woo   bool // WooCommerce's order 7311 is stored first
		body  []byte
		want  map[string]string // order ID -> part of its entry's reason
		after string            // an order the batch must not have stored, "" for none
	}{
		{
			name: "two unreadable orders",
			body: batch(metaOrder("368508827392911", "99.00"), metaOrder("368508827392912", "98.00")),
			want: map[string]string{"368508827392911": "does not fit", "368508827392912": "does not fit"},
		},
		{
			name: "an unreadable order and another platform's",
			woo:  true,
			body: batch(metaOrder("368508827392921", "99.00"), metaOrder("7311", "64.80")),
			want: map[string]string{"368508827392921": "does not fit", "7311": "already stored from woocommerce"},
		},
		{
			name: "two changes of other platforms' orders",
			woo:  true,
			body: batch(metaOrder("7311", "64.80"), `{"id": "7311", "order_status": {"state": "CANCELLED"}}`),
			want: map[string]string{"7311": "already stored from woocommerce"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := e.newShopClient()
			if tc.woo {
				code, out := e.post(c, wooDelivery("order.created", "wc-"+c, shopSample(t, "woocommerce_order_created.json")))
				require.Equal(t, http.StatusOK, code, out)
			}
			for range 2 { // the delivery and a resend of it
				code, out := e.post(c, instagramDelivery(tc.body))
				require.Equal(t, http.StatusOK, code, out)
				require.Equal(t, "invalid_order", out["status"], out)
			}
			code, out := e.json(req{method: http.MethodGet, key: adminKey,
				path: "/api/v1/admin/audit?action=storefront.order_refused&target=" + url.QueryEscape("client:"+c) + "&actor=storefront:instagram"})
			require.Equal(t, http.StatusOK, code, out)
			entries, _ := out["entries"].([]any)
			got := map[string]string{}
			for _, en := range entries {
				after := en.(map[string]any)["after"].(map[string]any)
				id, _ := after["order_id"].(string)
				reason, _ := after["reason"].(string)
				got[id] = reason
			}
			require.Len(t, got, len(tc.want), "one entry per refused order, each naming it: %v", got)
			for id, reason := range tc.want {
				require.Contains(t, got, id, "refused order %s has no entry of its own: %v", id, got)
				require.Contains(t, got[id], reason)
			}
		})
	}
}

// TestInstagramBatchResentAfterACrashRecordsItsConflict: a Meta batch whose store committed (the
// delivery's claim with it) while the process died before its refused orders were recorded is
// sent again by Meta, which had no answer: the resend is a duplicate. An unreadable order of it is
// recorded then (the parse names it again), but an order refused for being another platform's
// (e53d908) was named only by the store that is not run again, and was recorded nowhere.
func TestInstagramBatchResentAfterACrashRecordsItsConflict(t *testing.T) {
	e := newShopEnv(t, nil, "")
	c := e.client
	code, out := e.post(c, wooDelivery("order.created", "wc-crash-1", shopSample(t, "woocommerce_order_created.json"))) // order 7311
	require.Equal(t, http.StatusOK, code, out)
	batch := metaWith(t, shopSample(t, "instagram_commerce_order.json"), metaStatuses(1712755203, "CANCELLED", "7311"))

	// What the first delivery committed before the process died: its claim (and its own order).
	sum := sha256.Sum256(batch)
	first, err := e.store.RecordDelivery(t.Context(), "instagram", c+"/sha256-"+hex.EncodeToString(sum[:]), c)
	require.NoError(t, err)
	require.True(t, first)

	for range 2 { // Meta's resend, and another
		code, out = e.post(c, instagramDelivery(batch))
		require.Equal(t, http.StatusOK, code, out)
		require.Equal(t, "duplicate", out["status"], out)
	}
	code, out = e.json(req{method: http.MethodGet, key: adminKey,
		path: "/api/v1/admin/audit?action=storefront.order_refused&target=" + url.QueryEscape("client:"+c) + "&actor=storefront:instagram"})
	require.Equal(t, http.StatusOK, code, out)
	entries, _ := out["entries"].([]any)
	require.Len(t, entries, 1, "the change of WooCommerce's order 7311 is kept for an admin, once: %v", out)
	after := entries[0].(map[string]any)["after"].(map[string]any)
	require.Equal(t, "7311", after["order_id"])
	require.Contains(t, after["reason"], "already stored from woocommerce")
}
