package server_test

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/converter"

	ipayment "paysplit/internal/payment"
	"paysplit/internal/stripeevent"
	"paysplit/workflows/payment"
	"paysplit/workflows/searchattr"
)

// searchAttributes are the payment search attributes the payment's latest run carries, as the
// Temporal UI shows them (absent ones are missing from the map).
func (s *stack) searchAttributes(id string) map[string]any {
	s.t.Helper()
	d, err := s.tc.DescribeWorkflow(context.Background(), id, "")
	require.NoError(s.t, err)
	out := map[string]any{}
	for name, p := range d.RawResponse.GetWorkflowExecutionInfo().GetSearchAttributes().GetIndexedFields() {
		if _, ok := searchattr.Definitions()[name]; !ok {
			continue
		}
		var v any
		require.NoError(s.t, converter.GetDefaultDataConverter().FromPayload(p, &v))
		if n, ok := v.(float64); ok {
			v = int64(n)
		}
		out[name] = v
	}
	return out
}

// attributesOf is what the README promises an admin finds on a payment's run: its client, vendor,
// order, currency, amount and the status Postgres holds for it.
func attributesOf(rec ipayment.Record) map[string]any {
	return map[string]any{
		"ClientId": rec.Order.ClientID, "VendorId": rec.Order.VendorID, "OrderId": rec.Order.OrderID,
		"Currency": string(rec.Currency), "AmountMinor": rec.Gross, "PaymentStatus": string(rec.Status),
	}
}

// A refund after the payment's run closed starts a follow-up run. Admins find payments in the
// Temporal UI by ClientId, OrderId and PaymentStatus (README, "Temporal search attributes"): the
// follow-up run must carry them too, with PaymentStatus the status the store holds, also when the
// refund leaves the status as it was.
func TestFollowUpRunsCarryTheSearchAttributes(t *testing.T) {
	s := newStack(t, payment.Settings{SettleWindow: 0})
	id := s.paid("sa", "pi_sa1")
	rec, err := s.Store.GetPayment(context.Background(), id)
	require.NoError(t, err)
	require.Equal(t, attributesOf(rec), s.searchAttributes(id), "the first run")

	for i, refunded := range []int64{1100, 2200, 11000} {
		refund := stripeevent.Refund{EventID: fmt.Sprintf("evt_sa1_r%d", i), PaymentIntent: "pi_sa1", Charge: "ch_pi_sa1", Currency: "usd",
			Amount: 11000, AmountRefunded: refunded, Created: time.Now()}
		code, body := s.webhook(stripeevent.Sign(refund.Body(), webhookSecret, time.Now()))
		require.Equal(t, http.StatusOK, code, body)
		require.Equal(t, "accepted", body["status"])
		res := s.result(id)
		require.Equal(t, i+2, s.runs(id), "a follow-up run per refund")
		stored, err := s.Store.GetPayment(context.Background(), id)
		require.NoError(t, err)
		require.Equal(t, res.Status, stored.Status)
		assert.Equal(t, attributesOf(stored), s.searchAttributes(id), "the follow-up run of refund %d (%s)", i+1, stored.Status)
	}

	// The README's query finds the refunded payment's open-or-closed latest run by its client.
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		res, err := s.tc.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{
			Query: "ClientId = 'sa' AND OrderId = 'order-pi_sa1' AND PaymentStatus = 'refunded'",
		})
		if assert.NoError(c, err) {
			assert.Len(c, res.Executions, 1)
		}
	}, 10*time.Second, 100*time.Millisecond)
}

// A refund that comes before its capture starts the payment's run, which waits for the capture
// with the store saying awaiting_capture: the UI says so too.
func TestRunWaitingForItsCaptureCarriesItsStatus(t *testing.T) {
	s := newStack(t, payment.Settings{SettleWindow: 0})
	s.seed("sa2")
	id := payment.WorkflowID("stripe", "pi_sa2")
	refund := stripeevent.Refund{EventID: "evt_sa2_r", PaymentIntent: "pi_sa2", Charge: "ch_pi_sa2", Currency: "usd", Amount: 5000, AmountRefunded: 5000, Created: time.Now()}
	code, body := s.webhook(stripeevent.Sign(refund.Body(), webhookSecret, time.Now()))
	require.Equal(t, http.StatusOK, code, body)
	s.AwaitStatus(id, 30*time.Second, ipayment.StatusAwaitingCapture)
	require.Equal(t, string(ipayment.StatusAwaitingCapture), s.searchAttributes(id)["PaymentStatus"])
}

// A capture whose payment parks (here its client is unknown: no rule, no payees) waits for an
// admin, needs_attention; admins find it in the UI by its client and order as any payment.
func TestParkedPaymentCarriesItsClientAndOrder(t *testing.T) {
	s := newStack(t, payment.Settings{SettleWindow: 0})
	id := payment.WorkflowID("stripe", "pi_sa3")
	code, body := s.webhook(stripeevent.Sign(capture("nosa", "pi_sa3").Body(), webhookSecret, time.Now()))
	require.Equal(t, http.StatusOK, code, body)
	s.AwaitStatus(id, 30*time.Second, ipayment.StatusNeedsAttention)
	attrs := s.searchAttributes(id)
	assert.Equal(t, string(ipayment.StatusNeedsAttention), attrs["PaymentStatus"])
	assert.Equal(t, "nosa", attrs["ClientId"])
	assert.Equal(t, "order-pi_sa3", attrs["OrderId"])
}

// TestPaymentCapturedAfterItsRefundCarriesItsClientEndToEnd: a refund that comes before its capture
// starts the payment's run, without the attributes a capture's start carries; the capture then
// comes by signal. A payment that then waits for its order, or parks for its metadata (an unknown
// platform), is its client's: the admin's search by client lists it, and admins find it in the
// Temporal UI by `ClientId = 'x'` as they find one whose capture came first (code path 18; before,
// the run had no ClientId until its split, and one parked for its metadata was no client's), and
// by its amount and currency, which a capture's start carries. The admin then cancels it, and it
// stays its client's; its history is recorded for the replay tests. A refund after that starts a
// follow-up run, which the API starts with what the record knows: its client and amount too.
func TestPaymentCapturedAfterItsRefundCarriesItsClientEndToEnd(t *testing.T) {
	s := newStack(t, payment.Settings{SettleWindow: 0, EnrichWait: time.Hour, EnrichPoll: time.Minute})
	tests := []struct {
		name, client, history string
		metadata              func(md map[string]string) map[string]string
		status                ipayment.Status
		want                  map[string]any // the order attributes the run carries while it waits
	}{
		{"waiting for its order", "sa-wait", "stripe_order_wait_after_refund_cancelled.json", func(md map[string]string) map[string]string {
			return map[string]string{"client_id": md["client_id"], "order_id": md["order_id"]}
		}, ipayment.StatusAwaitingMetadata, map[string]any{"ClientId": "sa-wait", "OrderId": "order-pi_sa_wait"}},
		{"parked for an unknown platform", "sa-ebay", "stripe_parked_after_refund_cancelled.json", func(md map[string]string) map[string]string {
			md["platform"] = "ebay"
			return md
		}, ipayment.StatusNeedsAttention, map[string]any{"ClientId": "sa-ebay", "OrderId": "order-pi_sa_ebay", "VendorId": "sa-ebay-vendor"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.client
			pi := "pi_" + strings.ReplaceAll(c, "-", "_")
			id := payment.WorkflowID("stripe", pi)
			s.seed(c)
			refund := stripeevent.Refund{EventID: "evt_" + pi + "_r", PaymentIntent: pi, Charge: "ch_" + pi, Currency: "usd", Amount: 11000, AmountRefunded: 1100, Created: time.Now()}
			code, body := s.webhook(stripeevent.Sign(refund.Body(), webhookSecret, time.Now()))
			require.Equal(t, http.StatusOK, code, body)
			s.AwaitStatus(id, 30*time.Second, ipayment.StatusAwaitingCapture)

			ev := capture(c, pi)
			ev.Metadata = tt.metadata(ev.Metadata)
			code, body = s.webhook(stripeevent.Sign(ev.Body(), webhookSecret, time.Now()))
			require.Equal(t, http.StatusOK, code, body)
			s.AwaitStatus(id, 30*time.Second, tt.status)

			code, found := s.do(http.MethodGet, "/api/v1/admin/payments?client_id="+c, nil, adminKey)
			require.Equal(t, http.StatusOK, code, found)
			require.Len(t, found["payments"], 1, "the admin's search by client")
			require.Equal(t, id, found["payments"].([]any)[0].(map[string]any)["workflow_id"])

			want := maps.Clone(tt.want)
			want["PaymentStatus"] = string(tt.status)
			want["Currency"], want["AmountMinor"] = string(ev.Currency), ev.Amount
			require.EventuallyWithT(t, func(ct *assert.CollectT) {
				attrs := s.searchAttributes(id)
				for _, name := range []string{"ClientId", "OrderId", "VendorId", "PaymentStatus", "Currency", "AmountMinor"} {
					assert.Equal(ct, want[name], attrs[name], name)
				}
			}, 10*time.Second, 100*time.Millisecond)
			require.EventuallyWithT(t, func(ct *assert.CollectT) {
				res, err := s.tc.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{
					Query: fmt.Sprintf("ClientId = '%s' AND PaymentStatus = '%s'", c, tt.status),
				})
				if assert.NoError(ct, err) && assert.Len(ct, res.Executions, 1) {
					assert.Equal(ct, id, res.Executions[0].GetExecution().GetWorkflowId())
				}
			}, 10*time.Second, 100*time.Millisecond)

			code, out := s.do(http.MethodPost, "/api/v1/admin/payments/"+id+"/cancel", nil, adminKey)
			require.Equal(t, http.StatusAccepted, code, out)
			rec := s.result(id)
			require.Equal(t, ipayment.StatusCancelled, rec.Status, rec.Reason)
			require.Equal(t, c, rec.Order.ClientID, "cancelled, it is still its client's")
			require.Equal(t, c, s.searchAttributes(id)["ClientId"])
			s.record(tt.history, s.history(id))

			refund.EventID, refund.AmountRefunded = refund.EventID+"2", 2200
			code, body = s.webhook(stripeevent.Sign(refund.Body(), webhookSecret, time.Now()))
			require.Equal(t, http.StatusOK, code, body)
			s.result(id)
			require.Equal(t, 2, s.runs(id), "a follow-up run for the refund")
			attrs := s.searchAttributes(id)
			for _, name := range []string{"ClientId", "OrderId", "VendorId", "Currency", "AmountMinor"} {
				assert.Equal(t, want[name], attrs[name], "the follow-up run's %s", name)
			}
		})
	}
}

// The README's flow on a real dev server: a payout Stripe refuses leaves the payment
// payout_failed, the run waiting for a decision; `PaymentStatus = 'payout_failed'` finds it by
// its client; the admin signal sent as the Temporal UI sends it (JSON {"Action": "retry"}) pays
// it, and the UI then shows it paid.
func TestPayoutFailedFoundAndRetriedFromTheUI(t *testing.T) {
	s := newStack(t, payment.Settings{SettleWindow: 0})
	s.seed("sa4")
	id := payment.WorkflowID("stripe", "pi_sa4")
	refused := id + "/transfer/vendor-sa4-vendor/0"
	s.stripe.Inject = func(r *http.Request, _ url.Values) (int, string) {
		if r.URL.Path == "/v1/transfers" && r.Header.Get("Idempotency-Key") == refused {
			return http.StatusBadRequest, `{"error":{"type":"invalid_request_error","code":"balance_insufficient","message":"You have insufficient available funds in your Stripe account."}}`
		}
		return 0, ""
	}
	code, body := s.webhook(stripeevent.Sign(capture("sa4", "pi_sa4").Body(), webhookSecret, time.Now()))
	require.Equal(t, http.StatusOK, code, body)
	s.AwaitStatus(id, 30*time.Second, ipayment.StatusPayoutFailed)
	require.Equal(t, "payout_failed", s.searchAttributes(id)["PaymentStatus"])
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		res, err := s.tc.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{
			Query: "PaymentStatus = 'payout_failed' AND ClientId = 'sa4'",
		})
		if assert.NoError(c, err) && assert.Len(c, res.Executions, 1) {
			assert.Equal(c, id, res.Executions[0].GetExecution().GetWorkflowId())
		}
	}, 10*time.Second, 100*time.Millisecond)

	s.stripe.Inject = nil
	require.NoError(t, s.tc.SignalWorkflow(context.Background(), id, "", payment.SignalAdmin, map[string]any{"Action": "retry"}))
	rec := s.result(id)
	require.Equal(t, ipayment.StatusPaid, rec.Status, rec.Reason)
	require.Equal(t, "paid", s.searchAttributes(id)["PaymentStatus"])
}
