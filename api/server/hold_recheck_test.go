package server_test

import (
	"context"
	"fmt"
	"net/http"
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
	id := s.heldVendorPayment("recheckco", "pi_recheck")

	code, body := s.do(http.MethodPut, "/api/v1/admin/payees/recheckco-vendor", map[string]any{"client_id": "recheckco", "kind": "vendor", "stripe_account": "acct_recheck1"}, adminKey)
	require.Equal(t, http.StatusOK, code, body)

	rec := s.result(id)
	require.Equal(t, ipayment.StatusPaid, rec.Status)
	require.Equal(t, []string{"9545"}, s.amountsSentTo("acct_recheck1"), "the vendor paid once, in full")
	code, audit := s.do(http.MethodGet, "/api/v1/admin/audit?action=payment.release&target=payment:"+id, nil, adminKey)
	require.Equal(t, http.StatusOK, code, audit)
	require.Contains(t, audit, "entries")
	require.Empty(t, audit["entries"], "no one released it")
	s.requireBooksBalanced()
	s.record("stripe_hold_recheck.json", s.history(id))
}

// Of a payment's two legs held, the one whose payee an admin fixed is paid by the ask, and the
// payment stays held for the other (code path 19): listed among the held payouts with the
// affiliate's reason, its release taken by the admin API (a paying_out payment's is refused, 409
// invalid_state), and paid once the affiliate can receive.
func TestHeldLegsTheOtherStaysHeldOnceTheAskPaysOne(t *testing.T) {
	s := newStack(t, payment.Settings{SettleWindow: 0, HoldRecheckEvery: 2 * time.Second})
	const client = "twoheldco"
	s.seed(client)
	for id, kind := range map[string]string{client + "-vendor": "vendor", client + "-aff": "affiliate"} {
		code, body := s.do(http.MethodPut, "/api/v1/admin/payees/"+id, map[string]any{"client_id": client, "kind": kind}, adminKey)
		require.Equal(t, http.StatusOK, code, body)
	}
	code, body := s.webhook(stripeevent.Sign(capture(client, "pi_twoheld").Body(), webhookSecret, time.Now()))
	require.Equal(t, http.StatusOK, code, body)
	id := payment.WorkflowID("stripe", "pi_twoheld")
	s.AwaitStatus(id, 20*time.Second, ipayment.StatusHeld)

	code, body = s.do(http.MethodPut, "/api/v1/admin/payees/"+client+"-vendor", map[string]any{"client_id": client, "kind": "vendor", "stripe_account": "acct_twoheldv1"}, adminKey)
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
	require.Equal(t, []string{"9545"}, s.amountsSentTo("acct_twoheldv1"), "the vendor paid once")
	require.Equal(t, []string{"485"}, s.amountsSentTo("acct_twohelda1"), "the affiliate paid once")
	s.requireBooksBalanced()
}
