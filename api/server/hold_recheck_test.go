package server_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	ipayment "paysplit/internal/payment"
	"paysplit/internal/split"
	"paysplit/internal/stripeevent"
	"paysplit/workflows/payment"
)

// A vendor whose leg was held is paid once an admin fixes the payee, without a release of each
// of its payments (code path 19): the run asks again by itself (PAYMENT_HOLD_RECHECK_EVERY), and
// what it sends goes to the account the payee has now, once.
func TestHeldLegPaidOnceTheAdminFixesThePayee(t *testing.T) {
	s := newStack(t, payment.Settings{SettleWindow: 0, HoldRecheckEvery: 2 * time.Second})
	id := s.heldPayment("recheckco", "pi_recheck", "vendor")

	code, body := s.do(http.MethodPut, "/api/v1/admin/payees/recheckco-vendor", map[string]any{"client_id": "recheckco", "kind": "vendor", "stripe_account": "acct_recheck1"}, adminKey)
	require.Equal(t, http.StatusOK, code, body)

	rec := s.result(id)
	require.Equal(t, ipayment.StatusPaid, rec.Status)
	require.Equal(t, map[string][]int64{id: {9545}}, s.transfersTo("acct_recheck1"), "the vendor paid once, in full")
	require.Empty(t, s.releases(id, ""), "no one released it")
	s.requireBooksBalanced()
	s.record("stripe_hold_recheck.json", s.history(id))
}

// Stripe refuses a transfer to an account it restricted after the payee's check: the leg is held,
// not failed (a failure waits for an admin and, without a decision, compensates every leg), and
// once the account can receive again the run pays it by itself, under a new key.
func TestTransferRefusedByARestrictedAccountIsHeldThenPaid(t *testing.T) {
	s := newStack(t, payment.Settings{SettleWindow: 0, HoldRecheckEvery: 2 * time.Second})
	client, account := uniqueName("refusedco"), uniqueAccount("refused")
	accounts := newConnectedAccounts(s)
	accounts.set(account, "active")
	s.stripe.Inject = func(r *http.Request, form url.Values) (int, string) {
		if r.Method == http.MethodPost && r.URL.Path == "/v1/transfers" && form.Get("destination") == account && strings.HasSuffix(r.Header.Get("Idempotency-Key"), "/0") {
			accounts.set(account, "inactive") // restricted between the check and the transfer
			return http.StatusBadRequest, `{"error":{"type":"invalid_request_error","param":"destination",` +
				`"message":"Your destination account needs to have at least one of the following capabilities enabled: transfers, crypto_transfers, legacy_payments"}}`
		}
		return accounts.inject(r, form)
	}
	s.seed(client)
	code, body := s.do(http.MethodPut, "/api/v1/admin/payees/"+client+"-vendor", map[string]any{"client_id": client, "kind": "vendor", "stripe_account": account}, adminKey)
	require.Equal(t, http.StatusOK, code, body)
	pi := "pi_" + client
	code, body = s.webhook(stripeevent.Sign(capture(client, pi).Body(), webhookSecret, time.Now()))
	require.Equal(t, http.StatusOK, code, body)
	id := payment.WorkflowID("stripe", pi)

	held := s.AwaitStatus(id, 30*time.Second, ipayment.StatusHeld)
	require.Equal(t, ipayment.LegHeld, held.Leg("vendor").State)
	require.Contains(t, held.Leg("vendor").Reason, "transfers capability inactive")
	accounts.set(account, "active")

	rec := s.result(id)
	require.Equal(t, ipayment.StatusPaid, rec.Status)
	require.Equal(t, map[string][]int64{id: {9545}}, s.transfersTo(account), "paid once, in full")
	require.True(t, strings.HasSuffix(rec.Leg("vendor").TransferKey, "/1"), "under a new key: %s", rec.Leg("vendor").TransferKey)
	s.requireBooksBalanced()
}

// Of a payment's two legs held, the one whose payee an admin fixed is paid by the ask, and the
// payment stays held for the other (code path 19): listed among the held payouts with the
// affiliate's reason, its release taken by the admin API (a paying_out payment's is refused, 409
// invalid_state), and paid once the affiliate can receive.
func TestHeldLegsTheOtherStaysHeldOnceTheAskPaysOne(t *testing.T) {
	s := newStack(t, payment.Settings{SettleWindow: 0, HoldRecheckEvery: 2 * time.Second})
	const client = "twoheldco"
	id := s.heldPayment(client, "pi_twoheld", "vendor", "affiliate")

	code, body := s.do(http.MethodPut, "/api/v1/admin/payees/"+client+"-vendor", map[string]any{"client_id": client, "kind": "vendor", "stripe_account": "acct_twoheldv1"}, adminKey)
	require.Equal(t, http.StatusOK, code, body)
	var rec ipayment.Record
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		r, err := s.Store.GetPayment(context.Background(), id)
		if assert.NoError(c, err) {
			rec = r
			assert.Equal(c, ipayment.LegTransferred, r.Leg(split.PartyVendor).State)
		}
	}, 30*time.Second, 100*time.Millisecond, "the ask pays the vendor")
	require.Equal(t, ipayment.LegHeld, rec.Leg(split.PartyAffiliate).State)
	require.Equal(t, ipayment.StatusHeld, rec.Status, "stored: %s", rec.Reason)
	require.Contains(t, rec.Reason, "affiliate leg held")
	code, payouts := s.do(http.MethodGet, "/api/v1/admin/payouts?client_id="+client+"&status=held", nil, adminKey)
	require.Equal(t, http.StatusOK, code, payouts)
	require.Contains(t, fmt.Sprint(payouts), id, "listed among the held payouts")

	code, body = s.do(http.MethodPost, "/api/v1/admin/payments/"+id+"/release", map[string]any{"party": "affiliate"}, adminKey)
	require.Equal(t, http.StatusAccepted, code, "the admin can still release the affiliate's leg: %v", body)

	code, body = s.do(http.MethodPut, "/api/v1/admin/payees/"+client+"-aff", map[string]any{"client_id": client, "kind": "affiliate", "stripe_account": "acct_twohelda1"}, adminKey)
	require.Equal(t, http.StatusOK, code, body)
	rec = s.result(id)
	require.Equal(t, ipayment.StatusPaid, rec.Status)
	require.Equal(t, map[string][]int64{id: {9545}}, s.transfersTo("acct_twoheldv1"), "the vendor paid once")
	require.Equal(t, map[string][]int64{id: {485}}, s.transfersTo("acct_twohelda1"), "the affiliate paid once")
	s.requireBooksBalanced()
}
