package server_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	ipayment "paysplit/internal/payment"
	"paysplit/internal/store"
	"paysplit/internal/stripeevent"
	"paysplit/workflows/payment"
)

// errorOf is the code and message of an API error answer.
func errorOf(t *testing.T, body map[string]any) (code, message string) {
	t.Helper()
	e, ok := body["error"].(map[string]any)
	require.True(t, ok, "an error answer: %v", body)
	return e["code"].(string), e["message"].(string)
}

// TestAReleaseOfALegWhosePayeeIsNotRegisteredIsRefused: a payment's affiliate leg is held because
// nobody registered its payee. An admin's release was answered 202, and the run, which checks the
// payee before it pays, held the leg again for the same reason: the admin was told a decision was
// sent that could only come to nothing, and not what to do. Read under the decision's lock, a
// payee that is still not registered (under its ID, nor as the client's one payee of that ID in
// another case, as the run looks it up) makes the release 409 payee_not_registered, saying which
// payee to register; nothing is sent or audited. Once registered (here in the client's own
// capitals), the release is taken and pays.
func TestAReleaseOfALegWhosePayeeIsNotRegisteredIsRefused(t *testing.T) {
	s := newStack(t, payment.Settings{SettleWindow: 0, HoldRecheckEvery: time.Hour, DecisionTimeout: time.Hour})
	c := uniqueName("unregrel")
	s.seed(c)
	id := s.heldForNobody(c)
	held := s.stored(id)
	require.Contains(t, held.Leg("affiliate").Reason, "not registered")

	for _, party := range []any{nil, map[string]any{"party": "affiliate"}} {
		code, body := s.do(http.MethodPost, "/api/v1/admin/payments/"+id+"/release", party, adminKey)
		require.Equal(t, http.StatusConflict, code, "a release that can only hold the leg again (%v): %v", party, body)
		errCode, msg := errorOf(t, body)
		require.Equal(t, "payee_not_registered", errCode)
		require.Contains(t, msg, "PUT /api/v1/admin/payees/"+c+"-nobody", "says what to register")
		// A payee registered without it is held again by the release ("has no Stripe connected
		// account"): the payment's rail is paid at its stripe_account (a PayPal one's at its
		// paypal_receiver).
		require.Contains(t, msg, "stripe_account", "says where the payee is paid on the payment's rail")
	}
	entries, err := s.Store.ListAudit(context.Background(), store.AuditFilter{Target: "payment:" + id})
	require.NoError(t, err)
	require.Empty(t, entries, "nothing was sent, so nothing audited")

	code, body := s.do(http.MethodPut, "/api/v1/admin/payees/"+c+"-Nobody", map[string]any{"client_id": c, "kind": "affiliate", "stripe_account": "acct_" + c + "nb"}, adminKey)
	require.Equal(t, http.StatusCreated, code, body)
	code, body = s.do(http.MethodPost, "/api/v1/admin/payments/"+id+"/release", nil, adminKey)
	require.Equal(t, http.StatusAccepted, code, "the payee registered, the release is taken: %v", body)
	rec := s.AwaitStatus(id, 30*time.Second, ipayment.StatusPaid)
	require.Equal(t, ipayment.LegTransferred, rec.Leg("affiliate").State)
}

// TestARetryOfAPaymentWhoseMetadataDoNotAddUpIsRefused: a Stripe capture whose complete order
// metadata do not add up to what was captured parks (the split refuses the order). An admin's
// retry was answered 202; the run read the same metadata from the same capture, and the split
// refused it again: parked again, the admin told nothing. With no order from the shop to read
// instead, the retry is 409 order_does_not_add_up, saying the figures and what to do (the shop's
// order, or a cancel); once the shop delivered the order, the retry is taken and splits it.
func TestARetryOfAPaymentWhoseMetadataDoNotAddUpIsRefused(t *testing.T) {
	s := newStack(t, payment.Settings{SettleWindow: 0, DecisionTimeout: time.Hour})
	c := uniqueName("noaddup")
	s.seed(c)
	ev := capture(c, "pi_"+c)
	ev.Metadata["subtotal"] = "9000" // 9000 - 300 + 800 + 500 = 10000, not the 11000 captured
	code, body := s.webhook(stripeevent.Sign(ev.Body(), webhookSecret, time.Now()))
	require.Equal(t, http.StatusOK, code, body)
	id := payment.WorkflowID("stripe", "pi_"+c)
	parked := s.AwaitStatus(id, 30*time.Second, ipayment.StatusNeedsAttention)
	require.Contains(t, parked.Reason, "does not equal gross")

	code, body = s.do(http.MethodPost, "/api/v1/admin/payments/"+id+"/retry", nil, adminKey)
	require.Equal(t, http.StatusConflict, code, "a retry that can only park it again: %v", body)
	errCode, msg := errorOf(t, body)
	require.Equal(t, "order_does_not_add_up", errCode)
	require.Contains(t, msg, "100.00")
	require.Contains(t, msg, "110.00")
	entries, err := s.Store.ListAudit(context.Background(), store.AuditFilter{Target: "payment:" + id})
	require.NoError(t, err)
	require.Empty(t, entries, "nothing was sent, so nothing audited")

	require.NoError(t, s.Store.SaveOrder(context.Background(), ipayment.Order{ClientID: c, OrderID: ev.Metadata["order_id"], VendorID: c + "-vendor",
		AffiliateID: c + "-aff", Platform: "shopify", Subtotal: 10000, Tax: 800, Shipping: 500, Discount: 300, Currency: "usd"}, "paid"))
	code, body = s.do(http.MethodPost, "/api/v1/admin/payments/"+id+"/retry", nil, adminKey)
	require.Equal(t, http.StatusAccepted, code, "the shop's order is there to split: %v", body)
	s.AwaitStatus(id, 30*time.Second, ipayment.StatusPaid)
}

// TestAReleaseOfAnUnregisteredPartyAsksTheOtherHeldLegs: a payment holds its vendor's leg (the
// vendor's Stripe account cannot receive transfers) and its affiliate's (nobody registered the
// payee). The account can receive now, and an admin releases the affiliate's leg: the run holds
// that leg again, and then asks every held leg's payee at once (code path 20), which pays the
// vendor. The release does not come to nothing, so it is taken (202), not refused as
// payee_not_registered; HoldRecheckEvery is an hour, so only the release's ask pays the vendor.
func TestAReleaseOfAnUnregisteredPartyAsksTheOtherHeldLegs(t *testing.T) {
	s := newStack(t, payment.Settings{SettleWindow: 0, HoldRecheckEvery: time.Hour, DecisionTimeout: time.Hour})
	c, account := uniqueName("unregother"), uniqueAccount("unregother")
	accounts := newConnectedAccounts(s)
	accounts.set(account, "inactive")
	s.seed(c)
	code, body := s.do(http.MethodPut, "/api/v1/admin/payees/"+c+"-vendor", map[string]any{"client_id": c, "kind": "vendor", "stripe_account": account}, adminKey)
	require.Equal(t, http.StatusOK, code, body)
	id := s.heldForNobody(c)
	held := s.stored(id)
	require.Equal(t, ipayment.LegHeld, held.Leg("vendor").State, held.Leg("vendor").Reason)
	require.Contains(t, held.Leg("affiliate").Reason, "not registered")

	accounts.set(account, "active")
	code, body = s.do(http.MethodPost, "/api/v1/admin/payments/"+id+"/release", map[string]any{"party": "affiliate"}, adminKey)
	require.Equal(t, http.StatusAccepted, code, "the release's ask pays the vendor: %v", body)
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		rec, err := s.Store.GetPayment(context.Background(), id)
		if assert.NoError(c, err) {
			assert.Equal(c, ipayment.LegTransferred, rec.Leg("vendor").State, rec.Leg("vendor").Reason)
		}
	}, 30*time.Second, 100*time.Millisecond)
	require.Equal(t, map[string][]int64{id: {9545}}, s.transfersTo(account), "the vendor paid once, in full")
	rec := s.stored(id)
	require.Equal(t, ipayment.LegHeld, rec.Leg("affiliate").State, "the affiliate's payee is still not registered")
}

// TestAReleaseWhileATopUpIsHeldSendsIt: a payment holds its affiliate's leg (nobody registered the
// payee) and, after a refund that failed gave the vendor its share back, the vendor's top-up (its
// new Stripe account could not receive transfers yet). The account can receive now, and an admin
// releases: the run holds the affiliate's leg again and then asks every held leg's and held
// top-up's payee at once (code path 20), which sends the vendor's top-up. A retry of the top-up is
// refused while a leg is held, and HoldRecheckEvery is 0 here (no Connect event is sent): the
// release is the one way to send it, and it is taken (202), not refused as payee_not_registered.
func TestAReleaseWhileATopUpIsHeldSendsIt(t *testing.T) {
	s := newStack(t, payment.Settings{SettleWindow: 0, HoldRecheckEvery: 0, DecisionTimeout: time.Hour})
	c, account := uniqueName("unregtopup"), uniqueAccount("unregtopup")
	accounts := newConnectedAccounts(s)
	s.seed(c)
	pi := "pi_" + c
	id := s.heldForNobody(c)

	refunded := time.Now().Add(-time.Minute)
	refund := stripeevent.Refund{EventID: "evt_" + c + "_r", PaymentIntent: pi, Charge: "ch_" + pi, Currency: "usd", Amount: 5000, AmountRefunded: 5000, Created: refunded}
	code, body := s.webhook(stripeevent.Sign(refund.Body(), webhookSecret, time.Now()))
	require.Equal(t, http.StatusOK, code, body)
	awaitRunWaits(t, s.tc, id)
	// The vendor's account was replaced by one that cannot receive yet.
	accounts.set(account, "inactive")
	code, body = s.do(http.MethodPut, "/api/v1/admin/payees/"+c+"-vendor", map[string]any{"client_id": c, "kind": "vendor", "stripe_account": account}, adminKey)
	require.Equal(t, http.StatusOK, code, body)
	failed := stripeevent.RefundUpdate{EventID: "evt_" + c + "_f", Type: "refund.failed", Refund: "re_" + c, PaymentIntent: pi, Charge: "ch_" + pi,
		Currency: "usd", Status: "failed", Amount: 5000, Created: time.Now(), Made: refunded}
	code, body = s.webhook(stripeevent.Sign(failed.Body(), webhookSecret, time.Now()))
	require.Equal(t, http.StatusOK, code, body)
	var due ipayment.Due
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		rec, err := s.Store.GetPayment(context.Background(), id)
		if assert.NoError(c, err) && assert.Len(c, rec.Leg("vendor").Dues, 1, rec.Leg("vendor").Reason) {
			due = rec.Leg("vendor").Dues[0]
			assert.True(c, due.Held, due.Reason)
		}
	}, 30*time.Second, 100*time.Millisecond)
	awaitRunWaits(t, s.tc, id)
	code, body = s.do(http.MethodPost, "/api/v1/admin/payments/"+id+"/retry", nil, adminKey)
	require.Equal(t, http.StatusConflict, code, "no retry while a leg is held: %v", body)

	accounts.set(account, "active")
	code, body = s.do(http.MethodPost, "/api/v1/admin/payments/"+id+"/release", nil, adminKey)
	require.Equal(t, http.StatusAccepted, code, "the release's ask sends the vendor's top-up: %v", body)
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		rec, err := s.Store.GetPayment(context.Background(), id)
		if assert.NoError(c, err) {
			assert.Empty(c, rec.Leg("vendor").Dues, rec.Leg("vendor").Reason)
		}
	}, 30*time.Second, 100*time.Millisecond)
	require.Equal(t, map[string][]int64{id: {due.Amount}}, s.transfersTo(account), "the top-up sent once, to the vendor's account now")
	rec := s.stored(id)
	require.Equal(t, ipayment.LegHeld, rec.Leg("affiliate").State, "the affiliate's payee is still not registered")
}

// heldForNobody captures pi_<c> of seeded client c naming the affiliate <c>-nobody, whom nobody
// registered, and returns the payment's workflow ID once it is held and its run waits.
func (s *stack) heldForNobody(c string) string {
	s.t.Helper()
	ev := capture(c, "pi_"+c)
	ev.Metadata["affiliate_id"] = c + "-nobody"
	code, body := s.webhook(stripeevent.Sign(ev.Body(), webhookSecret, time.Now()))
	require.Equal(s.t, http.StatusOK, code, body)
	id := payment.WorkflowID("stripe", "pi_"+c)
	s.AwaitStatus(id, 30*time.Second, ipayment.StatusHeld)
	awaitRunWaits(s.t, s.tc, id)
	return id
}

// stored is the payment as its run last saved it.
func (s *stack) stored(id string) ipayment.Record {
	s.t.Helper()
	rec, err := s.Store.GetPayment(context.Background(), id)
	require.NoError(s.t, err)
	return rec
}
