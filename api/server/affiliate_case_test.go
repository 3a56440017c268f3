package server_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paysplit/internal/ledger"
	ipayment "paysplit/internal/payment"
	"paysplit/internal/stripeevent"
	"paysplit/workflows/payment"
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

// TestAffiliateNamedInLowerCaseIsPaidEndToEnd: the checkout's metadata names the affiliate
// <client>-jane (as a store plugin slugs it); the admin registered <client>-Jane. The payment is
// paid, the affiliate's share to Jane's account under the registered ID (its transfer's key and
// ledger account), nothing held. Before, the leg was held for a payee nobody had registered.
func TestAffiliateNamedInLowerCaseIsPaidEndToEnd(t *testing.T) {
	s := newStack(t, payment.Settings{SettleWindow: 0})
	c := "capsco"
	s.seed(c)
	code, body := s.do(http.MethodPut, "/api/v1/admin/payees/"+c+"-Jane", map[string]any{"client_id": c, "kind": "affiliate", "stripe_account": "acct_jane1"}, adminKey)
	require.Equal(t, http.StatusCreated, code, body)
	ev := capture(c, "pi_capsjane")
	ev.Metadata["affiliate_id"] = c + "-jane"
	code, body = s.webhook(stripeevent.Sign(ev.Body(), webhookSecret, time.Now()))
	require.Equal(t, http.StatusOK, code, body)
	id := payment.WorkflowID("stripe", "pi_capsjane")
	rec := s.AwaitStatus(id, 30*time.Second, ipayment.StatusPaid, ipayment.StatusHeld)
	require.Equal(t, ipayment.StatusPaid, rec.Status, rec.Reason)

	sent := map[string]string{}
	for _, tr := range s.stripe.Calls(http.MethodPost, "/v1/transfers") {
		if strings.HasPrefix(tr.IdempotencyKey, id+"/") {
			sent[tr.IdempotencyKey] = tr.Form.Get("destination")
		}
	}
	require.Equal(t, map[string]string{id + "/transfer/vendor-" + c + "-vendor/0": "acct_vendor1", id + "/transfer/affiliate-" + c + "-Jane/0": "acct_jane1"}, sent)
	require.Equal(t, int64(0), s.paymentBalances(id)[ledger.AffiliatePayable(c+"-Jane")], "booked and paid under the registered ID")
	require.NotContains(t, s.paymentBalances(id), ledger.AffiliatePayable(c+"-jane"))
	s.requireBooksBalanced()
}

// TestAffiliateHeldUnderTheShopsSpellingIsPaidOnceRegisteredWithCapitals: the checkout names the
// affiliate <client>-jane before anyone registered it, so its leg is split and booked under that
// ID and held "not registered". The admin then registers the affiliate as <client>-Jane (how the
// client spells it). The hold's recheck pays the held leg to Jane's account, under the key and
// ledger account it was split with; before, it asked for <client>-jane exactly and the leg stayed
// held for good, unless the admin registered <client>-jane too: one affiliate as two payees.
func TestAffiliateHeldUnderTheShopsSpellingIsPaidOnceRegisteredWithCapitals(t *testing.T) {
	s := newStack(t, payment.Settings{SettleWindow: 0, HoldRecheckEvery: 2 * time.Second})
	c := "heldcaseco"
	s.seed(c)
	ev := capture(c, "pi_heldcase")
	ev.Metadata["affiliate_id"] = c + "-jane"
	code, body := s.webhook(stripeevent.Sign(ev.Body(), webhookSecret, time.Now()))
	require.Equal(t, http.StatusOK, code, body)
	id := payment.WorkflowID("stripe", "pi_heldcase")
	held := s.AwaitStatus(id, 30*time.Second, ipayment.StatusHeld)
	require.Contains(t, held.Leg("affiliate").Reason, "not registered")

	code, body = s.do(http.MethodPut, "/api/v1/admin/payees/"+c+"-Jane", map[string]any{"client_id": c, "kind": "affiliate", "stripe_account": "acct_heldjane1"}, adminKey)
	require.Equal(t, http.StatusCreated, code, body)

	rec := s.AwaitStatus(id, 30*time.Second, ipayment.StatusPaid)
	leg := rec.Leg("affiliate")
	require.Equal(t, c+"-jane", leg.PayeeID, "the leg keeps the ID it was split and booked under")
	require.Len(t, s.transfersTo("acct_heldjane1")[id], 1, "paid once, to the account registered")
	require.Equal(t, int64(0), s.paymentBalances(id)[ledger.AffiliatePayable(c+"-jane")], "its payable paid out")
	s.requireBooksBalanced()
}
