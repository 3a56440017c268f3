package server_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestAffiliateRegisteredWithCapitalsGetsItsCoupon: an admin registers the client's affiliate as
// <client>-Jane; the shop sends the coupon JANE, which becomes the candidate payee ID
// <client>-jane. The order is the affiliate's, under the ID it is registered as (before, no
// affiliate at all: the lookup was exact). Registering <client>-jane as well is refused with 409
// payee_id_taken: it would be the same payee to every order.
func TestAffiliateRegisteredWithCapitalsGetsItsCoupon(t *testing.T) {
	e := newShopEnv(t, nil, "")
	c := e.client
	put := func(id string) (int, map[string]any) {
		return e.json(req{method: http.MethodPut, path: "/api/v1/admin/payees/" + id, key: adminKey,
			body: map[string]any{"client_id": c, "kind": "affiliate", "stripe_account": "acct_jane1"}})
	}
	code, body := put(c + "-Jane")
	require.Equal(t, http.StatusCreated, code, body)

	for i, coupon := range []string{"JANE", "jane", "Jane"} {
		orderID := fmt.Sprintf("%d", 880+i)
		order := fmt.Sprintf(`{"id":%s,"status":"processing","currency":"USD","meta_data":[{"key":"_dokan_vendor_id","value":"3"}],
			"line_items":[{"quantity":1,"subtotal":"5.00","total":"4.50"}],"discount_total":"0.50","total":"4.50","coupon_lines":[{"code":"SPRING"},{"code":%q}]}`, orderID, coupon)
		code, out := e.post(c, wooDelivery("order.created", "case-"+orderID, []byte(order)))
		require.Equal(t, http.StatusOK, code, out)
		got, err := e.store.GetOrder(context.Background(), c, orderID)
		require.NoError(t, err)
		require.Equal(t, c+"-Jane", got.AffiliateID, "coupon %s", coupon)
	}

	code, body = put(c + "-jane")
	require.Equal(t, http.StatusConflict, code, body)
	require.Equal(t, "payee_id_taken", errCode(body))
	code, body = put(c + "-Jane")
	require.Equal(t, http.StatusOK, code, body, "the registered spelling is updated as before")
}
