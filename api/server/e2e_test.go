package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"paysplit/api/server"
	"paysplit/internal/ledger"
	ipayment "paysplit/internal/payment"
	"paysplit/internal/split"
	"paysplit/internal/store"
	"paysplit/internal/stripeevent"
	"paysplit/testenv"
	stackpkg "paysplit/testenv/stack"
	"paysplit/workflows/payment"
)

func TestMain(m *testing.M) { testenv.Main(m) }

const (
	adminKey      = stackpkg.AdminKey
	webhookSecret = stackpkg.WebhookSecret
)

// stack is the whole platform (testenv/stack) under the short names these tests use.
type stack struct {
	*stackpkg.Stack
	t      *testing.T
	api    *httptest.Server
	tc     client.Client
	ledger *ledger.Ledger
	stripe *testenv.StripeProxy
	paypal *testenv.PayPal
	// logs, when set, holds the worker's and the API's warnings and errors (newStackLogged).
	logs *testenv.LogBuffer
}

func newStack(t *testing.T, settings payment.Settings) *stack {
	return newStackAck(t, settings, server.AckOnTemporal)
}

// newStackLogged is newStack keeping the worker's and the API's warnings and errors in the
// stack's logs: a workflow task that fails (a panic, a replay that does not match) or a step
// retried is said there, and in no run's history.
func newStackLogged(t *testing.T, settings payment.Settings) *stack {
	logs := &testenv.LogBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	s := stackpkg.New(t, stackpkg.Options{Settings: settings, WebhookAck: server.AckOnTemporal, Logger: logger})
	return &stack{Stack: s, t: t, api: s.API, tc: s.Temporal, ledger: s.Ledger, stripe: s.Stripe, paypal: s.PayPal, logs: logs}
}

// newStackAck starts the platform with the API acknowledging webhooks as ack says.
func newStackAck(t *testing.T, settings payment.Settings, ack server.WebhookAck) *stack {
	s := stackpkg.New(t, stackpkg.Options{Settings: settings, WebhookAck: ack})
	return &stack{Stack: s, t: t, api: s.API, tc: s.Temporal, ledger: s.Ledger, stripe: s.Stripe, paypal: s.PayPal}
}

func (s *stack) do(method, path string, body any, key string) (int, map[string]any) {
	s.t.Helper()
	return s.Do(method, path, body, key)
}

func (s *stack) send(req *http.Request) (int, map[string]any) {
	s.t.Helper()
	return s.Send(req)
}

// webhook delivers a Stripe event and, once it is acknowledged, waits for the relay to hand it
// to Temporal, so the test can read the workflow next.
func (s *stack) webhook(d stripeevent.Delivery) (int, map[string]any) {
	s.t.Helper()
	code, out := s.StripeWebhook(d)
	forwardedAfter(s, "stripe", d.Body, code, out)
	return code, out
}

func forwardedAfter(s *stack, provider string, body []byte, code int, out map[string]any) {
	s.t.Helper()
	if code == http.StatusOK && (out["status"] == "accepted" || out["status"] == "duplicate") {
		s.Forwarded(provider, body)
	}
}

// seed registers a client with a vendor, an affiliate and a 10% / 5% rule through the admin API.
func (s *stack) seed(client string) {
	s.t.Helper()
	s.Seed(client)
}

func capture(client, pi string) stripeevent.Capture { return stackpkg.Capture(client, pi) }

// requireBooksBalanced fails unless every journal entry balances.
func (s *stack) requireBooksBalanced() {
	s.t.Helper()
	unbalanced, err := s.ledger.Unbalanced(context.Background())
	require.NoError(s.t, err)
	require.Empty(s.t, unbalanced)
}

// paid seeds client, captures pi for it and waits until it is paid; it returns its workflow ID.
func (s *stack) paid(client, pi string) string {
	s.t.Helper()
	s.seed(client)
	code, body := s.webhook(stripeevent.Sign(capture(client, pi).Body(), webhookSecret, time.Now()))
	require.Equal(s.t, http.StatusOK, code, body)
	id := payment.WorkflowID("stripe", pi)
	require.Equal(s.t, ipayment.StatusPaid, s.result(id).Status)
	return id
}

func (s *stack) result(id string) ipayment.Record {
	s.t.Helper()
	return s.Result(id)
}

func (s *stack) paymentBalances(id string) map[string]int64 {
	s.t.Helper()
	return s.PaymentBalances(id)
}

func (s *stack) runs(id string) int {
	s.t.Helper()
	return s.Runs(id)
}

func (s *stack) history(id string) []byte {
	s.t.Helper()
	return s.History(id)
}

func TestStripePaymentEndToEnd(t *testing.T) {
	s := newStack(t, payment.Settings{SettleWindow: 0})
	s.seed("acme")
	ev := capture("acme", "pi_e2e1")
	delivery := stripeevent.Sign(ev.Body(), webhookSecret, time.Now())

	code, body := s.webhook(delivery)
	require.Equal(t, http.StatusOK, code, body)
	require.Equal(t, "accepted", body["status"])
	id := payment.WorkflowID("stripe", "pi_e2e1")
	rec := s.result(id)
	require.Equal(t, ipayment.StatusPaid, rec.Status, rec.Reason)
	require.Equal(t, 1, rec.RuleVersion)

	transfers := s.stripe.Calls(http.MethodPost, "/v1/transfers")
	require.Len(t, transfers, 2)
	want := map[string]struct {
		amount, dest string
	}{
		id + "/transfer/vendor-acme-vendor/0": {"9545", "acct_vendor1"},
		id + "/transfer/affiliate-acme-aff/0": {"485", "acct_affiliate1"},
	}
	for _, tr := range transfers {
		w, ok := want[tr.IdempotencyKey]
		require.True(t, ok, "unexpected idempotency key %q", tr.IdempotencyKey)
		assert.Equal(t, w.amount, tr.Form.Get("amount"))
		assert.Equal(t, w.dest, tr.Form.Get("destination"))
		assert.Equal(t, "ch_pi_e2e1", tr.Form.Get("source_transaction"))
		assert.Equal(t, "order-pi_e2e1", tr.Form.Get("transfer_group"))
		assert.Equal(t, id, tr.Form.Get("metadata[workflow_id]"))
	}

	ctx := context.Background()
	unbalanced, err := s.ledger.Unbalanced(ctx)
	require.NoError(t, err)
	require.Empty(t, unbalanced)
	entries, err := s.ledger.EntriesByReference(ctx, id)
	require.NoError(t, err)
	require.Len(t, entries, 4, "capture, its processing fee and two transfers")
	require.Equal(t, map[string]int64{
		ledger.VendorPayable("acme-vendor"): 0, ledger.AffiliatePayable("acme-aff"): 0,
		ledger.PlatformRevenue: -970, ledger.ProcessingFees("stripe"): 349, ledger.ProviderBalance("stripe"): 970 - 349,
	}, s.paymentBalances(id), "Stripe kept its fee (2.9 %% + 30 of 110.00) from the gross; the platform bears it")
	require.Len(t, s.stripe.Calls(http.MethodGet, "/v1/charges/ch_pi_e2e1"), 1, "the fee read once, with the charge")

	// The admin API shows the legs with their transfers.
	code, view := s.do(http.MethodGet, "/api/v1/admin/payments/"+id, nil, adminKey)
	require.Equal(t, http.StatusOK, code, view)
	require.Equal(t, "paid", view["status"])
	require.EqualValues(t, 349, view["fee"])
	legs := view["legs"].([]any)
	require.Len(t, legs, 3)
	for _, l := range legs {
		leg := l.(map[string]any)
		if leg["party"] == "platform" {
			assert.Nil(t, leg["transfer_id"])
			assert.EqualValues(t, 970, leg["amount"])
		} else {
			assert.NotEmpty(t, leg["transfer_id"])
		}
	}

	// The same webhook three more times: acknowledged, nothing new anywhere.
	for range 3 {
		code, body = s.webhook(stripeevent.Sign(ev.Body(), webhookSecret, time.Now()))
		require.Equal(t, http.StatusOK, code, body)
		require.Equal(t, "duplicate", body["status"])
	}
	require.Len(t, s.stripe.Calls(http.MethodPost, "/v1/transfers"), 2)
	entries, err = s.ledger.EntriesByReference(ctx, id)
	require.NoError(t, err)
	require.Len(t, entries, 4)
	require.Equal(t, 1, s.runs(id), "one workflow execution for the payment")

	// No customer data reached the workflow's history.
	hist := s.history(id)
	require.NotContains(t, string(hist), "someone@example.com")
	s.record("stripe_paid.json", hist)

	// A refund after the run closed starts a follow-up run that reverses the payees' shares.
	refund := stripeevent.Refund{EventID: "evt_re1", PaymentIntent: "pi_e2e1", Charge: "ch_pi_e2e1", Currency: "usd", Amount: 11000, AmountRefunded: 1100, Created: time.Now()}
	code, body = s.webhook(stripeevent.Sign(refund.Body(), webhookSecret, time.Now()))
	require.Equal(t, http.StatusOK, code, body)
	rec = s.result(id)
	require.Equal(t, ipayment.StatusPartiallyRefunded, rec.Status)
	s.record("stripe_refund_followup.json", s.history(id))
	reversals := s.stripe.Calls(http.MethodPost, "")
	var keys []string
	for _, c := range reversals {
		if c.IdempotencyKey != "" && c.Path != "/v1/transfers" {
			keys = append(keys, c.IdempotencyKey)
		}
	}
	require.ElementsMatch(t, []string{id + "/refund/1100/vendor-acme-vendor", id + "/refund/1100/affiliate-acme-aff"}, keys)
	unbalanced, err = s.ledger.Unbalanced(ctx)
	require.NoError(t, err)
	require.Empty(t, unbalanced)
	// The platform keeps 970 − 97 of its commission; the payees' payables are settled. Stripe
	// returns no processing fee on a refund: the fee stays the platform's expense.
	require.Equal(t, map[string]int64{
		ledger.VendorPayable("acme-vendor"): 0, ledger.AffiliatePayable("acme-aff"): 0,
		ledger.PlatformRevenue: -873, ledger.ProcessingFees("stripe"): 349, ledger.ProviderBalance("stripe"): 873 - 349,
	}, s.paymentBalances(id))
}

// A paid payment is disputed and the dispute lost: the payees' transfers are reversed as for a
// full refund, and the books carry what it cost the platform: the processing fee Stripe kept and
// its dispute fee, which both dispute events state and which is booked once.
func TestLostDisputeEndToEnd(t *testing.T) {
	s := newStack(t, payment.Settings{SettleWindow: 0})
	id := s.paid("dispco", "pi_disp1")

	withdrawn := []stripeevent.DisputeFunds{{ID: "txn_disp1_w", Amount: -11000, Fee: 1500}}
	for _, d := range []stripeevent.Dispute{
		{EventID: "evt_disp1_c", Type: "charge.dispute.created", Status: "needs_response"},
		{EventID: "evt_disp1_l", Type: "charge.dispute.closed", Status: "lost"},
	} {
		d.Dispute, d.PaymentIntent, d.Charge, d.Currency, d.Amount, d.Funds, d.Created = "dp_disp1", "pi_disp1", "ch_pi_disp1", "usd", 11000, withdrawn, time.Now()
		code, body := s.webhook(stripeevent.Sign(d.Body(), webhookSecret, time.Now()))
		require.Equal(t, http.StatusOK, code, body)
		s.result(id)
		// Each event came after the last run closed: a follow-up run of its own, recorded.
		s.record("stripe_dispute_"+d.Status+"_followup.json", s.history(id))
	}
	rec := s.result(id)
	require.Equal(t, ipayment.StatusRefunded, rec.Status)
	require.EqualValues(t, 1500, rec.DisputeFees)
	require.Equal(t, map[string]int64{
		ledger.VendorPayable("dispco-vendor"): 0, ledger.AffiliatePayable("dispco-aff"): 0, ledger.PlatformRevenue: 0,
		ledger.ProcessingFees("stripe"): 349 + 1500, ledger.ProviderBalance("stripe"): -(349 + 1500),
	}, s.paymentBalances(id), "everything taken back from the payees; the platform is out the two fees")
}

// A payment refunded in full is disputed all the same, and the dispute lost: Stripe takes the
// disputed amount from the platform's balance again (code path 13). The payees gave their shares
// back with the refund and are not charged again; the platform's loss is booked once
// (dispute_losses:stripe), the admin API shows it, and the books reconcile with Stripe.
func TestLostDisputeAfterRefundEndToEnd(t *testing.T) {
	s := newStack(t, payment.Settings{SettleWindow: 0})
	id := s.paid("disprf", "pi_disprf1")
	refund := stripeevent.Refund{EventID: "evt_disprf1_r", PaymentIntent: "pi_disprf1", Charge: "ch_pi_disprf1", Currency: "usd", Amount: 11000, AmountRefunded: 11000, Created: time.Now()}
	code, body := s.webhook(stripeevent.Sign(refund.Body(), webhookSecret, time.Now()))
	require.Equal(t, http.StatusOK, code, body)
	require.Equal(t, ipayment.StatusRefunded, s.result(id).Status)

	withdrawn := []stripeevent.DisputeFunds{{ID: "txn_disprf1_w", Amount: -11000, Fee: 1500}}
	for _, d := range []stripeevent.Dispute{
		{EventID: "evt_disprf1_c", Type: "charge.dispute.created", Status: "needs_response"},
		{EventID: "evt_disprf1_l", Type: "charge.dispute.closed", Status: "lost"},
		{EventID: "evt_disprf1_l2", Type: "charge.dispute.closed", Status: "lost"}, // sent again
	} {
		d.Dispute, d.PaymentIntent, d.Charge, d.Currency, d.Amount, d.Funds, d.Created = "dp_disprf1", "pi_disprf1", "ch_pi_disprf1", "usd", 11000, withdrawn, time.Now()
		code, body := s.webhook(stripeevent.Sign(d.Body(), webhookSecret, time.Now()))
		require.Equal(t, http.StatusOK, code, body)
		s.result(id)
		if d.EventID == "evt_disprf1_l" {
			s.record("stripe_dispute_lost_after_refund_followup.json", s.history(id))
		}
	}
	rec := s.result(id)
	require.Equal(t, ipayment.StatusRefunded, rec.Status)
	require.False(t, rec.Disputed)
	require.EqualValues(t, 11000, rec.DisputeLossBeyondRefunds)
	require.Equal(t, map[string]int64{
		ledger.VendorPayable("disprf-vendor"): 0, ledger.AffiliatePayable("disprf-aff"): 0, ledger.PlatformRevenue: 0,
		ledger.ProcessingFees("stripe"): 349 + 1500, ledger.DisputeLosses("stripe"): 11000, ledger.ProviderBalance("stripe"): -(349 + 1500 + 11000),
	}, s.paymentBalances(id), "the payees' shares went back with the refund; the platform is out the fees and the disputed amount")
	code, view := s.do(http.MethodGet, "/api/v1/admin/payments/"+id, nil, adminKey)
	require.Equal(t, http.StatusOK, code, view)
	require.EqualValues(t, 11000, view["dispute_loss_beyond_refunds"])
	require.EqualValues(t, 11000, view["refunded"])
	mine := func(p, _ string) bool { return p == id }
	require.Empty(t, s.Reconcile("stripe", mine), "Stripe's transfers, reversals and charge agree with the books")
}

// A full refund fails after it was made (the customer's card was closed): Stripe gives the money
// back and says so twice (charge.refund.updated, refund.failed). The payees, whose shares were
// taken back with the refund, are paid them again, once; the books and Stripe agree after.
func TestFailedRefundEndToEnd(t *testing.T) {
	s := newStack(t, payment.Settings{SettleWindow: 0})
	id := s.paid("refail", "pi_rf1")
	paid := s.paymentBalances(id)

	refunded := time.Now().Add(-time.Minute)
	refund := stripeevent.Refund{EventID: "evt_rf1_r", PaymentIntent: "pi_rf1", Charge: "ch_pi_rf1", Currency: "usd", Amount: 11000, AmountRefunded: 11000, Created: refunded}
	code, body := s.webhook(stripeevent.Sign(refund.Body(), webhookSecret, time.Now()))
	require.Equal(t, http.StatusOK, code, body)
	require.Equal(t, ipayment.StatusRefunded, s.result(id).Status)

	for _, typ := range []string{"charge.refund.updated", "refund.failed"} {
		failed := stripeevent.RefundUpdate{EventID: "evt_rf1_" + typ, Type: typ, Refund: "re_rf1", PaymentIntent: "pi_rf1", Charge: "ch_pi_rf1",
			Currency: "usd", Status: "failed", Amount: 11000, Created: time.Now(), Made: refunded}
		code, body = s.webhook(stripeevent.Sign(failed.Body(), webhookSecret, time.Now()))
		require.Equal(t, http.StatusOK, code, body)
		require.Equal(t, "accepted", body["status"])
		rec := s.result(id)
		require.Equal(t, ipayment.StatusPaid, rec.Status, rec.Reason)
		require.Zero(t, rec.Refunded)
		if typ == "charge.refund.updated" {
			s.record("stripe_refund_failed_followup.json", s.history(id)) // the run that undid it
		}
	}
	// The late re-send of a refund figure from before the failure redoes nothing.
	refund.EventID = "evt_rf1_r_late"
	code, body = s.webhook(stripeevent.Sign(refund.Body(), webhookSecret, time.Now()))
	require.Equal(t, http.StatusOK, code, body)
	require.Equal(t, ipayment.StatusPaid, s.result(id).Status)

	topUps := map[string]string{}
	for _, tr := range s.stripe.Calls(http.MethodPost, "/v1/transfers") {
		if strings.Contains(tr.IdempotencyKey, "/refund-failed/") {
			topUps[tr.IdempotencyKey] = tr.Form.Get("amount")
		}
	}
	require.Equal(t, map[string]string{id + "/refund-failed/re_rf1/vendor-refail-vendor": "9545", id + "/refund-failed/re_rf1/affiliate-refail-aff": "485"}, topUps,
		"each payee paid its share again, once")
	require.Equal(t, paid, s.paymentBalances(id), "the books stand as before the refund")
	s.requireBooksBalanced()
	code, view := s.do(http.MethodGet, "/api/v1/admin/payments/"+id, nil, adminKey)
	require.Equal(t, http.StatusOK, code, view)
	require.Len(t, view["failed_refunds"], 1)
	require.Equal(t, "re_rf1", view["failed_refunds"].([]any)[0].(map[string]any)["id"])
	mine := func(p, _ string) bool { return p == id }
	require.Empty(t, s.Reconcile("stripe", mine), "Stripe's transfers, reversals and refunded amount agree with the books")
}

// refundedWithoutCapture starts a stack whose payments wait a second for their capture, and
// refunds 50.00 of pi for client before its capture, until the payment needs attention.
func refundedWithoutCapture(t *testing.T, client, pi string) (*stack, string) {
	s := newStack(t, payment.Settings{SettleWindow: 0, CaptureWait: time.Second})
	s.seed(client)
	id := payment.WorkflowID("stripe", pi)
	refund := stripeevent.Refund{EventID: "evt_" + pi + "_r", PaymentIntent: pi, Charge: "ch_" + pi, Currency: "usd", Amount: 5000, AmountRefunded: 5000, Created: time.Now()}
	code, body := s.webhook(stripeevent.Sign(refund.Body(), webhookSecret, time.Now()))
	require.Equal(t, http.StatusOK, code, body)
	rec := s.AwaitStatus(id, 30*time.Second, ipayment.StatusNeedsAttention)
	require.Contains(t, rec.Reason, "no capture event")
	return s, id
}

// A capture that comes after its refund's run needed attention (code path 9) is taken by the run
// still open, not answered as a duplicate, and paid with the refund that came first.
func TestLateCaptureEndToEnd(t *testing.T) {
	s, id := refundedWithoutCapture(t, "late", "pi_late")
	code, body := s.do(http.MethodPost, "/api/v1/admin/payments/"+id+"/retry", nil, adminKey)
	require.Equal(t, http.StatusConflict, code, body)
	require.Equal(t, "awaiting_capture", body["error"].(map[string]any)["code"], body)

	code, body = s.webhook(stripeevent.Sign(capture("late", "pi_late").Body(), webhookSecret, time.Now()))
	require.Equal(t, http.StatusOK, code, body)
	require.Equal(t, "accepted", body["status"], "a late capture is not a duplicate")
	rec := s.result(id)
	require.Equal(t, ipayment.StatusPartiallyRefunded, rec.Status, rec.Reason)
	require.EqualValues(t, 11000, rec.Gross)
	require.EqualValues(t, 5000, rec.Refunded)
	require.Equal(t, 1, s.runs(id), "the run that waited took it")
	s.record("stripe_late_capture.json", s.history(id))
	var sent int64
	for _, c := range s.stripe.Calls(http.MethodPost, "/v1/transfers") {
		if strings.Contains(c.IdempotencyKey, "pi_late") {
			n, err := strconv.ParseInt(c.Form.Get("amount"), 10, 64)
			require.NoError(t, err)
			sent += n
		}
	}
	var payees int64
	for _, leg := range rec.Legs {
		if leg.Party != split.PartyPlatform {
			payees += leg.Amount - leg.Refunded
			require.Equal(t, leg.Amount-leg.Refunded, leg.Transferred, "%s paid its share less the refund", leg.PayeeID)
		}
	}
	require.Positive(t, sent)
	require.Equal(t, payees, sent, "the payees got their shares less the refund, once")
	s.requireBooksBalanced()
}

// An admin cancels a payment whose refund came without its capture: the run ends cancelled, and a
// capture after that is not taken.
func TestLateCaptureWaitCancelledEndToEnd(t *testing.T) {
	s, id := refundedWithoutCapture(t, "gone", "pi_gone")
	code, body := s.do(http.MethodPost, "/api/v1/admin/payments/"+id+"/cancel", nil, adminKey)
	require.Equal(t, http.StatusAccepted, code, body)
	rec := s.result(id)
	require.Equal(t, ipayment.StatusCancelled, rec.Status)
	require.Contains(t, rec.Reason, "while waiting for its capture")

	code, body = s.webhook(stripeevent.Sign(capture("gone", "pi_gone").Body(), webhookSecret, time.Now()))
	require.Equal(t, http.StatusOK, code, body)
	require.Equal(t, "duplicate", body["status"], "the cancelled payment's run is closed")
	for _, c := range s.stripe.Calls(http.MethodPost, "/v1/transfers") {
		require.NotContains(t, c.IdempotencyKey, "pi_gone", "a cancelled payment pays nobody")
	}
}

func TestRefundBeforeCaptureEndToEnd(t *testing.T) {
	s := newStack(t, payment.Settings{SettleWindow: 0})
	s.seed("early")
	refund := stripeevent.Refund{EventID: "evt_re2", PaymentIntent: "pi_e2e2", Charge: "ch_pi_e2e2", Currency: "usd", Amount: 11000, AmountRefunded: 11000, Created: time.Now()}
	code, body := s.webhook(stripeevent.Sign(refund.Body(), webhookSecret, time.Now()))
	require.Equal(t, http.StatusOK, code, body)
	code, body = s.webhook(stripeevent.Sign(capture("early", "pi_e2e2").Body(), webhookSecret, time.Now()))
	require.Equal(t, http.StatusOK, code, body)
	rec := s.result(payment.WorkflowID("stripe", "pi_e2e2"))
	require.Equal(t, ipayment.StatusRefunded, rec.Status)
	s.record("stripe_refund_before_capture.json", s.history(payment.WorkflowID("stripe", "pi_e2e2")))
	for _, c := range s.stripe.Calls(http.MethodPost, "/v1/transfers") {
		require.NotContains(t, c.IdempotencyKey, "pi_e2e2", "a fully refunded payment pays nobody")
	}

	// The refund fails: a follow-up run pays each payee its whole share, as any payout.
	id := payment.WorkflowID("stripe", "pi_e2e2")
	failed := stripeevent.RefundUpdate{EventID: "evt_re2_failed", Refund: "re_e2e2", PaymentIntent: "pi_e2e2", Charge: "ch_pi_e2e2",
		Currency: "usd", Status: "failed", Amount: 11000, Created: time.Now().Add(time.Second), Made: refund.Created}
	code, body = s.webhook(stripeevent.Sign(failed.Body(), webhookSecret, time.Now()))
	require.Equal(t, http.StatusOK, code, body)
	rec = s.result(id)
	require.Equal(t, ipayment.StatusPaid, rec.Status, rec.Reason)
	sent := map[string]string{}
	for _, c := range s.stripe.Calls(http.MethodPost, "/v1/transfers") {
		if strings.HasPrefix(c.IdempotencyKey, id+"/") {
			sent[c.IdempotencyKey] = c.Form.Get("amount")
		}
	}
	require.Equal(t, map[string]string{id + "/transfer/vendor-early-vendor/0": "9545", id + "/transfer/affiliate-early-aff/0": "485"}, sent)
	s.requireBooksBalanced()
}

func TestWebhookRejectsBadInput(t *testing.T) {
	s := newStack(t, payment.Settings{})
	body := capture("acme", "pi_bad").Body()
	tests := []struct {
		name   string
		d      stripeevent.Delivery
		status int
		code   string
	}{
		{"wrong secret", stripeevent.Sign(body, "whsec_other", time.Now()), 400, "invalid_signature"},
		{"too old", stripeevent.Sign(body, webhookSecret, time.Now().Add(-6*time.Minute)), 400, "invalid_signature"},
		{"no signature", stripeevent.Delivery{Body: body}, 400, "invalid_signature"},
		{"tampered body", stripeevent.Delivery{Body: append([]byte(" "), body...), Signature: stripeevent.Sign(body, webhookSecret, time.Now()).Signature}, 400, "invalid_signature"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out := s.webhook(tt.d)
			require.Equal(t, tt.status, code)
			require.Equal(t, tt.code, out["error"].(map[string]any)["code"])
		})
	}
	other := []byte(`{"id":"evt_x","object":"event","api_version":"2023-10-16","created":1,"type":"customer.created","data":{"object":{"id":"cus_1","object":"customer"}}}`)
	code, out := s.webhook(stripeevent.Sign(other, webhookSecret, time.Now()))
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "ignored", out["status"])
	require.Equal(t, 0, s.runs("payment-stripe-cus_1"))
}

// TestWebhookAnswers503WhenNothingHoldsTheEvent: a webhook is answered 503, so the provider
// delivers again, when what would hold the event is away: Temporal when the API acknowledges once
// Temporal took it (the default), Postgres when it acknowledges once the inbox stored it.
func TestWebhookAnswers503WhenNothingHoldsTheEvent(t *testing.T) {
	live, _ := testenv.Postgres(t)
	dead, err := pgxpool.New(context.Background(), "postgres://paysplit@127.0.0.1:1/none?sslmode=disable&connect_timeout=1")
	require.NoError(t, err)
	defer dead.Close()
	down, err := client.NewLazyClient(client.Options{HostPort: "127.0.0.1:1"})
	require.NoError(t, err)
	defer down.Close()
	tests := []struct {
		name string
		ack  server.WebhookAck
		pool *pgxpool.Pool
		code string
	}{
		{"temporal away, ack once Temporal holds it", server.AckOnTemporal, live, "temporal_unavailable"},
		{"postgres away, ack once stored", server.AckOnStore, dead, "storage_unavailable"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := stripeevent.Sign(capture("acme", fmt.Sprintf("pi_down%d", i)).Body(), webhookSecret, time.Now())
			code, body := postToBareServer(t, server.Deps{Pool: tt.pool, Store: store.New(tt.pool), Ledger: ledger.New(tt.pool), Temporal: down, WebhookAck: tt.ack}, d)
			require.Equal(t, http.StatusServiceUnavailable, code, "Stripe must deliver again")
			require.Equal(t, tt.code, body["error"].(map[string]any)["code"], body)
		})
	}
}

// record saves a history for the replay tests in workflows/payment when RECORD_HISTORY is set
// (`make record-histories`), so every change to the workflow is replayed against real runs.
func (s *stack) record(name string, hist []byte) {
	if os.Getenv("RECORD_HISTORY") == "" {
		return
	}
	require.NoError(s.t, os.WriteFile(filepath.Join("..", "..", "workflows", "payment", "testdata", name), hist, 0o644))
}

// TestWebhookWithTextPostgresRefusesIs400: a signed event whose order metadata holds a NUL
// character cannot be stored (Postgres refuses it in jsonb): it is answered 400 with the reason,
// since delivering it again cannot help, and not 503, which would have Stripe retry for days.
func TestWebhookWithTextPostgresRefusesIs400(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	c := capture("acme", "pi_nul")
	c.Metadata["order_id"] = "order-\x00-1"
	d := stripeevent.Sign(c.Body(), webhookSecret, time.Now())
	code, body := postToBareServer(t, server.Deps{Pool: pool, Store: store.New(pool), Ledger: ledger.New(pool), WebhookAck: server.AckOnStore}, d)
	require.Equal(t, http.StatusBadRequest, code, "%v", body)
	require.Equal(t, "invalid_event", body["error"].(map[string]any)["code"], body)
	require.Contains(t, body["error"].(map[string]any)["message"], "NUL")
}

// postToBareServer delivers a signed Stripe event to an API built from deps alone (no stack: the
// services deps name may be away) and returns the answer's status and body.
func postToBareServer(t *testing.T, deps server.Deps, d stripeevent.Delivery) (int, map[string]any) {
	t.Helper()
	deps.TaskQueue, deps.AdminAPIKey, deps.StripeWebhookSecret = "q", adminKey, webhookSecret
	deps.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	srv := server.New(deps)
	defer srv.Close()
	api := httptest.NewServer(srv)
	defer api.Close()
	req, err := http.NewRequest(http.MethodPost, api.URL+"/webhooks/stripe", bytes.NewReader(d.Body))
	require.NoError(t, err)
	req.Header.Set("Stripe-Signature", d.Signature)
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	var body map[string]any
	require.NoError(t, json.NewDecoder(res.Body).Decode(&body))
	return res.StatusCode, body
}
