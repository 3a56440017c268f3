package storefront_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"paysplit/internal/storefront"
)

// TestInstagramBatchKeepsTheOrdersItCanRead: Meta batches the changes of several objects in one
// delivery (entry[] of changes[]), and a delivery answered 2xx is never sent again. One change that
// cannot be read (here an order whose total exceeds its parts) refused the whole delivery, so the
// other orders of the batch were never stored and their payments waited for them for good. The
// changes that can be read are read; the ones that cannot are named, each with its reason.
func TestInstagramBatchKeepsTheOrdersItCanRead(t *testing.T) {
	order := func(id, total string) string {
		return `{"id": "` + id + `", "order_status": {"state": "CREATED"},
			"estimated_payment_details": {"subtotal": {"items": {"amount": "60.00", "currency": "USD"},
				"shipping": {"amount": "5.00", "currency": "USD"}}, "tax": {"amount": "4.80", "currency": "USD"},
				"total_amount": {"amount": "` + total + `", "currency": "USD"}},
			"items": {"data": [{"quantity": 2}]}}`
	}
	body := `{"object": "page", "entry": [
		{"id": "110493227123456", "time": 1712755200, "changes": [
			{"field": "commerce_orders", "value": ` + order("368508827392801", "64.80") + `},
			{"field": "commerce_orders", "value": ` + order("368508827392802", "99.00") + `}]},
		{"id": "110493227123456", "time": 1712755260, "changes": [
			{"field": "commerce_orders", "value": {"id": "368508827392803", "order_status": {"state": "IN_PROGRESS"}}},
			{"field": "commerce_orders", "value": {"id": "368508827392804", "order_status": {}}}]}]}`

	res, err := storefront.ParseInstagram("acme", []byte(body))
	require.NoError(t, err, "one unreadable change refused the whole batch")
	require.Len(t, res.Orders, 1)
	require.Equal(t, "368508827392801", res.Orders[0].OrderID)
	require.Len(t, res.Updates, 1)
	require.Equal(t, "368508827392803", res.Updates[0].OrderID)
	require.Len(t, res.Refused, 2)
	require.Equal(t, "368508827392802", res.Refused[0].OrderID)
	require.ErrorIs(t, res.Refused[0].Reason, storefront.ErrInvalidOrder)
	require.Contains(t, res.Refused[0].Reason.Error(), "does not fit")
	require.Equal(t, "368508827392804", res.Refused[1].OrderID)
	require.ErrorIs(t, res.Refused[1].Reason, storefront.ErrInvalidOrder)

	// A batch of nothing readable is refused as a whole, as before: there is nothing to store.
	only := `{"object": "page", "entry": [{"id": "110493227123456", "time": 1712755200, "changes": [
		{"field": "commerce_orders", "value": ` + order("368508827392802", "99.00") + `}]}]}`
	_, err = storefront.ParseInstagram("acme", []byte(only))
	require.ErrorIs(t, err, storefront.ErrInvalidOrder)
}
