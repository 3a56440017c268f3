package server_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paysplit/api/server"
	ipayment "paysplit/internal/payment"
	"paysplit/internal/stripeevent"
	"paysplit/workflows/payment"
)

// TestRedeliveryAfterTheInboxForgotItPaysOnce: forwarded inbox events are pruned with the KPI
// retention (from a day old with KPI_RETENTION_DAYS=1), sooner than Stripe stops retrying (3
// days) or lets a delivery be resent (30). A delivery that comes after its row went is no longer
// answered duplicate by the inbox: it is stored and forwarded again, and Temporal and the
// workflow must take it as what it is. The capture's run is closed (RejectDuplicate: nothing
// starts); the refund starts a follow-up run, which finds the refund applied. Nothing moves,
// nothing is booked again.
func TestRedeliveryAfterTheInboxForgotItPaysOnce(t *testing.T) {
	s := newStackAck(t, payment.Settings{SettleWindow: 0}, server.AckOnStore)
	const pi = "pi_pruned1"
	id := s.paid("pruned", pi)
	refund := stripeevent.Refund{EventID: "evt_pruned_re1", PaymentIntent: pi, Charge: "ch_" + pi, Currency: "usd", Amount: 11000,
		AmountRefunded: 1100, Created: time.Now()}
	code, body := s.webhook(stripeevent.Sign(refund.Body(), webhookSecret, time.Now()))
	require.Equal(t, http.StatusOK, code, body)
	require.Equal(t, ipayment.StatusPartiallyRefunded, s.result(id).Status)

	ctx := context.Background()
	calls := len(s.stripe.Calls(http.MethodPost, ""))
	entries, err := s.ledger.EntriesByReference(ctx, id)
	require.NoError(t, err)
	balances, runs := s.paymentBalances(id), s.runs(id)

	// The retention's DELETE (store.PruneWebhookInbox), for this payment's rows alone: the
	// database is shared with the package's other tests.
	_, err = s.Pool.Exec(ctx, `DELETE FROM webhook_inbox WHERE payment_id = $1 AND forwarded_at IS NOT NULL`, pi)
	require.NoError(t, err)

	for _, body := range [][]byte{capture("pruned", pi).Body(), refund.Body()} {
		code, out := s.webhook(stripeevent.Sign(body, webhookSecret, time.Now()))
		require.Equal(t, http.StatusOK, code, out)
		require.Equal(t, "accepted", out["status"], "stored again: the inbox no longer knows it")
	}
	rec := s.result(id) // the refund's follow-up run, finished
	require.Equal(t, ipayment.StatusPartiallyRefunded, rec.Status)
	require.EqualValues(t, 1100, rec.Refunded)
	require.Equal(t, runs+1, s.runs(id), "the capture started nothing; the refund one follow-up run")
	require.Len(t, s.stripe.Calls(http.MethodPost, ""), calls, "nothing sent to Stripe again")
	again, err := s.ledger.EntriesByReference(ctx, id)
	require.NoError(t, err)
	require.Len(t, again, len(entries), "nothing booked again")
	require.Equal(t, balances, s.paymentBalances(id))
	s.requireBooksBalanced()
}
