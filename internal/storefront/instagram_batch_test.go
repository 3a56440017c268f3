package storefront_test

import (
	"strings"
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

// TestInstagramBatchOfTheBoundPage: one Meta app signs every Page's deliveries alike with its app
// secret, so Page B's commerce_orders delivery posted to the URL of a client bound to Page A
// verified and was read as A's client's orders. Meta names the Page per entry (entry[].id) and a
// batch may hold entries of several Pages: read for a bound client, only the bound Page's entries
// are read, and each commerce_orders change of another Page is named in Result.Foreign with its
// Page, not read (an unreadable one is not the client's refusal either). The bound Page's changes
// are read whatever else the batch holds: Meta never sends it again.
func TestInstagramBatchOfTheBoundPage(t *testing.T) {
	const pageA, pageB = "110493227123456", "220000000000002"
	order := func(id, total string) string {
		return `{"id": "` + id + `", "order_status": {"state": "CREATED"},
			"estimated_payment_details": {"subtotal": {"items": {"amount": "60.00", "currency": "USD"},
				"shipping": {"amount": "5.00", "currency": "USD"}}, "tax": {"amount": "4.80", "currency": "USD"},
				"total_amount": {"amount": "` + total + `", "currency": "USD"}},
			"items": {"data": [{"quantity": 2}]}}`
	}
	change := func(value string) string { return `{"field": "commerce_orders", "value": ` + value + `}` }
	entry := func(id string, changes ...string) string {
		return `{"id": ` + id + `, "time": 1712755200, "changes": [` + strings.Join(changes, ",") + `]}`
	}
	batch := func(entries ...string) []byte {
		return []byte(`{"object": "page", "entry": [` + strings.Join(entries, ",") + `]}`)
	}
	mixed := batch(
		entry(`"`+pageB+`"`, change(order("900000000000001", "64.80")), change(`{"id": "900000000000002", "order_status": {}}`),
			`{"field": "feed", "value": {"item": "post"}}`),
		entry(`"`+pageA+`"`, change(order("368508827392801", "64.80")), change(order("368508827392802", "99.00"))),
		entry(pageA, change(`{"id": "368508827392803", "order_status": {"state": "IN_PROGRESS"}}`)), // the ID as a JSON number
		entry(`""`, change(`{"id": "900000000000003", "order_status": {"state": "COMPLETED"}}`)),
	)
	foreign := []storefront.ForeignChange{{Shop: pageB, OrderID: "900000000000001"}, {Shop: pageB, OrderID: "900000000000002"},
		{Shop: "", OrderID: "900000000000003"}}

	tests := []struct {
		name                   string
		body                   []byte
		page                   string
		orders, updates, refus []string
		foreign                []storefront.ForeignChange
		ignored                bool
		err                    error
	}{
		{name: "bound: the page's entries read, the others named", body: mixed, page: pageA,
			orders: []string{"368508827392801"}, updates: []string{"368508827392803"}, refus: []string{"368508827392802"}, foreign: foreign},
		{name: "not bound: every entry is the client's, as before", body: mixed, page: "",
			orders: []string{"900000000000001", "368508827392801"}, updates: []string{"368508827392803", "900000000000003"},
			refus: []string{"900000000000002", "368508827392802"}},
		{name: "bound: nothing of the page", body: batch(entry(`"`+pageB+`"`, change(order("900000000000001", "64.80")),
			change(`{"id": "900000000000002", "order_status": {}}`))), page: pageA, ignored: true, foreign: foreign[:2]},
		{name: "bound: another page's entry of other fields only is nothing foreign", body: batch(
			entry(`"`+pageB+`"`, `{"field": "feed", "value": {}}`), entry(`"`+pageA+`"`, change(order("368508827392801", "64.80")))),
			page: pageA, orders: []string{"368508827392801"}},
		{name: "bound: the page's changes all unreadable, another page's readable", body: batch(
			entry(`"`+pageA+`"`, change(order("368508827392802", "99.00"))), entry(`"`+pageB+`"`, change(order("900000000000001", "64.80")))),
			page: pageA, refus: []string{"368508827392802"}, foreign: foreign[:1], err: storefront.ErrInvalidOrder},
	}
	ids := func(n int, id func(int) string) []string {
		var out []string
		for i := range n {
			out = append(out, id(i))
		}
		return out
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := storefront.ParseInstagramOf("acme", tc.body, tc.page)
			if tc.err != nil {
				require.ErrorIs(t, err, tc.err)
			} else {
				require.NoError(t, err)
			}
			require.Equal(t, tc.orders, ids(len(res.Orders), func(i int) string { return res.Orders[i].OrderID }), "orders")
			require.Equal(t, tc.updates, ids(len(res.Updates), func(i int) string { return res.Updates[i].OrderID }), "updates")
			require.Equal(t, tc.refus, ids(len(res.Refused), func(i int) string { return res.Refused[i].OrderID }), "refused")
			require.Equal(t, tc.foreign, res.Foreign, "foreign")
			require.Equal(t, tc.ignored, res.Ignored, "ignored")
			for _, o := range res.Orders {
				if tc.page == "" {
					break
				}
				require.Equal(t, "acme-"+pageA, o.VendorID, "the vendor is the page the order came from")
			}
		})
	}
}
