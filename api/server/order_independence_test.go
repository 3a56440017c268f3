package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"

	"paysplit/api/server"
	"paysplit/internal/ledger"
	ipayment "paysplit/internal/payment"
	"paysplit/internal/paypalevent"
	"paysplit/internal/split"
	"paysplit/internal/stripeevent"
	stackpkg "paysplit/testenv/stack"
	"paysplit/workflows/payment"
)

// Order independence. Providers do not deliver a payment's events in the order they happened,
// and deliver them again; a shop's order webhook can come before or after the payment. For each
// scenario below, TestEventOrderDoesNotChangeTheOutcome delivers the payment's events through the
// real endpoints (signed Stripe, PayPal and Shopify webhooks) in their own order first, then in a
// deterministic sample of other orders with some events delivered twice, each to a payment of
// its own, and asserts the outcome is the same whatever the order: the payment's status and
// figures, each leg's share and what it was sent net, the books per account, what the provider
// moved per leg, and that no run failed.

// orderEvent is one delivery of a scenario's payment: label names it in failure messages.
type orderEvent struct {
	label string
	// capture and order say what the event brings: the run can end once both came (a payment
	// whose metadata carries the whole order needs no order event). noRun says the event starts
	// no run (a storefront's order webhook, an event the API ignores).
	capture, order, noRun bool
	send                  func(s *stack, n int)
}

type orderScenario struct {
	name, client, provider string
	// events of payment n, in the order they happened.
	events func(n int) []orderEvent
	// paymentID of payment n (Stripe's PaymentIntent, PayPal's capture).
	paymentID func(n int) string
	samples   int
	want      ipayment.Status
}

// orderOutcome is what must not depend on the order of a payment's events.
type orderOutcome struct {
	Status                   ipayment.Status
	Refunded, DisputesLost   int64
	DisputeLossBeyondRefunds int64
	Disputed                 bool
	DisputeFees, Fee         int64
	// Legs by party and payee: the share, its part of refunds, what it is still owed after
	// refunds, and what the provider sent it net (Stripe: transfers less reversals; PayPal,
	// whose payouts cannot be pulled back, is compared on what is owed).
	Legs map[string]legOutcome
	// Books per account: a payee's payable as what it is owed (net of what it was sent), the
	// provider's balance before payouts (both depend on when the payout went, not on the money).
	Books map[string]int64
}

type legOutcome struct {
	Amount, Refunded, Owed, SentNet int64
}

func TestEventOrderDoesNotChangeTheOutcome(t *testing.T) {
	// A capture not come within a second of its payment's first event is late: the payment needs
	// attention and still takes it (code path 9).
	s := newStackLogged(t, payment.Settings{SettleWindow: 0, EnrichPoll: 2 * time.Second, EnrichWait: time.Hour, CaptureWait: time.Second,
		StripeAttempts: 10, StripeRetryInterval: 100 * time.Millisecond})
	// Storefront secrets are sealed: the shops' webhooks go to a replica that has the key.
	shop := newAPI(t, func(d *server.Deps) { d.Temporal, d.TaskQueue = s.tc, s.Queue })
	rng := rand.New(rand.NewPCG(20261127, 1))
	for _, sc := range orderScenarios(shop.url) {
		t.Run(sc.name, func(t *testing.T) {
			st := &stack{Stack: s.Stack, t: t, api: s.api, tc: s.tc, ledger: s.ledger, stripe: s.stripe, paypal: s.paypal, logs: s.logs}
			if sc.provider == "paypal" {
				st.SeedPayPal(sc.client, "VNDR"+strings.ToUpper(sc.client[:4])+"00001", sc.client+"-aff@example.com")
			} else {
				st.seed(sc.client)
				setShopifySecret(st, shop.url, sc.client)
			}
			// Payment 0 takes the events as they happened, each after the run before it closed;
			// the others a shuffled order, some events twice, and either all at once or each after
			// the run before it closed (a capture after its payment's run gave up waiting for it).
			orders := make([][]orderEvent, sc.samples+1)
			for n := range orders {
				evs := sc.events(n)
				if n > 0 {
					rng.Shuffle(len(evs), func(i, j int) { evs[i], evs[j] = evs[j], evs[i] })
					for _, e := range slices.Clone(evs) {
						if rng.IntN(3) == 0 {
							at := rng.IntN(len(evs) + 1)
							evs = slices.Insert(evs, at, e)
						}
					}
				}
				orders[n] = evs
			}
			// Payment 0 is paced: it is what the others are held to, so what it does must not
			// depend on the machine's speed. Sent at once with the others, on a loaded machine its
			// refund once reached the run before the payout (the run had missed its order's wake,
			// TestAnOrderStoredWhileItsPaymentLooksForItWakesIt, and waited for its poll) and was
			// taken before it: the transfers sent less, two movements instead of four (a transfer
			// and its reversal per leg). A right outcome, but no longer the most movements, which
			// the other orders are held to.
			paced := make([]bool, len(orders))
			for n := range orders {
				paced[n] = n == 0 || rng.IntN(2) == 0 // payment 0 draws nothing: the samples stay
			}
			// Unpaced payments are sent first, interleaved, so their events race their runs.
			for step := 0; ; step++ {
				sent := false
				for n, evs := range orders {
					if !paced[n] && step < len(evs) {
						evs[step].send(st, n)
						sent = true
					}
				}
				if !sent {
					break
				}
			}
			for n, evs := range orders {
				if !paced[n] {
					continue
				}
				id := payment.WorkflowID(sc.provider, sc.paymentID(n))
				var captured, ordered, started bool
				for _, e := range evs {
					if e.capture && !captured && started {
						// The run that the events before the capture started gave up waiting
						// for it (CaptureWait): the capture comes late (code path 9). A liveness
						// bound, not a speed one: a CI run with a test of another package beside
						// it on two cores once took over 30 s to save the run's first status.
						st.AwaitStatus(id, time.Minute, ipayment.StatusNeedsAttention)
					}
					started = started || !e.noRun
					e.send(st, n)
					captured, ordered = captured || e.capture, ordered || e.order
					if captured && ordered {
						// The run can end: the next event reaches it closed, or closing.
						st.awaitRunsClosed(id)
					}
				}
			}

			outcomes, moves := make([]orderOutcome, len(orders)), make([]int, len(orders))
			for n := range orders {
				id := payment.WorkflowID(sc.provider, sc.paymentID(n))
				st.awaitRunsClosed(id)
				outcomes[n], moves[n] = st.outcomeOf(id), st.movements(id)
			}
			require.Equal(t, sc.want, outcomes[0].Status, "the events in the order they happened")
			for n := 1; n < len(orders); n++ {
				assert.Equal(t, outcomes[0], outcomes[n], "payment %d (%s), events %s", n, pace(paced[n]), labels(orders[n]))
				// Told earlier, a refund sends less rather than taking back: never more movements
				// than in the order things happened.
				assert.LessOrEqual(t, moves[n], moves[0], "payment %d (%s): money movements; events %s", n, pace(paced[n]), labels(orders[n]))
			}
		})
	}
}

func pace(paced bool) string {
	if paced {
		return "each event after the run closed"
	}
	return "all events at once"
}

func labels(evs []orderEvent) string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.label
	}
	return strings.Join(out, ", ")
}

func orderScenarios(shopAPI string) []orderScenario {
	at := time.Now().Add(-time.Hour).Truncate(time.Second)
	pi := func(client string) func(int) string {
		return func(n int) string { return fmt.Sprintf("pi_%s%d", client, n) }
	}
	stripeSend := func(label string, body func(n int) []byte) orderEvent {
		return orderEvent{label: label, send: func(s *stack, n int) {
			s.t.Helper()
			code, out := s.webhook(stripeevent.Sign(body(n), webhookSecret, time.Now()))
			require.Equal(s.t, http.StatusOK, code, "%s: %v", label, out)
		}}
	}
	captureOf := func(client string, whole bool) orderEvent {
		e := stripeSend("capture", func(n int) []byte {
			c := capture(client, pi(client)(n))
			c.Created = at
			if !whole {
				c.Metadata = map[string]string{"client_id": client, "order_id": shopifyOrderID(n)}
			}
			return c.Body()
		})
		e.capture, e.order = true, whole
		return e
	}
	refund := func(client, id string, cumulative int64, after time.Duration) orderEvent {
		return stripeSend("refund to "+fmt.Sprint(cumulative), func(n int) []byte {
			p := pi(client)(n)
			return stripeevent.Refund{EventID: fmt.Sprintf("evt_%s_%s", p, id), PaymentIntent: p, Charge: "ch_" + p, Currency: "usd",
				Amount: 11000, AmountRefunded: cumulative, Created: at.Add(after)}.Body()
		})
	}
	dispute := func(client, typ, status string, after time.Duration) orderEvent {
		return stripeSend(typ, func(n int) []byte {
			p := pi(client)(n)
			return stripeevent.Dispute{EventID: fmt.Sprintf("evt_%s_%s", p, typ), Type: typ, Dispute: "dp_" + p, PaymentIntent: p, Charge: "ch_" + p,
				Currency: "usd", Status: status, Amount: 11000, Created: at.Add(after),
				Funds: []stripeevent.DisputeFunds{{ID: "txn_dp_" + p, Amount: -11000, Fee: 1500}}}.Body()
		})
	}
	refundFailed := func(client, id string, amount int64, made, after time.Duration) orderEvent {
		return stripeSend("refund "+id+" failed", func(n int) []byte {
			p := pi(client)(n)
			return stripeevent.RefundUpdate{EventID: fmt.Sprintf("evt_%s_%s_failed", p, id), Refund: fmt.Sprintf("re_%s_%s", p, id), PaymentIntent: p,
				Charge: "ch_" + p, Currency: "usd", Status: "failed", Amount: amount, Created: at.Add(after), Made: at.Add(made)}.Body()
		})
	}
	shopOrder := func(client string) orderEvent {
		return orderEvent{label: "shop order", order: true, noRun: true, send: func(s *stack, n int) {
			s.t.Helper()
			code, out := postShopifyOrder(s, shopAPI, client, n, at)
			require.Equal(s.t, http.StatusOK, code, "shop order: %v", out)
		}}
	}

	pp := func(n int) string { return fmt.Sprintf("PPORD%07d", n) }
	paypalSend := func(label string, body func(n int) []byte) orderEvent {
		return orderEvent{label: label, send: func(s *stack, n int) {
			s.t.Helper()
			code, out := s.PayPalWebhook(body(n))
			require.Equal(s.t, http.StatusOK, code, "%s: %v", label, out)
		}}
	}
	ppCapture := paypalSend("capture", func(n int) []byte {
		c := stackpkg.PayPalCapture("ordpp", pp(n), true)
		c.Created = at
		return c.Body()
	})
	ppCapture.capture, ppCapture.order = true, true
	// A capture PayPal held (an eCheck, a review) is told PENDING first, then COMPLETED; the API
	// answers the first 200 and takes nothing from it.
	ppPending := paypalSend("capture pending", func(n int) []byte {
		return paypalevent.Build("WH-PEND-"+pp(n), "PAYMENT.CAPTURE.PENDING", at.Add(-time.Minute), map[string]any{
			"id": pp(n), "status": "PENDING", "amount": paypalevent.Amount(11000, "usd"),
			"status_details": map[string]string{"reason": "PENDING_REVIEW"}, "custom_id": "client_id=ordpp",
		})
	})
	ppPending.noRun = true
	ppDispute := func(typ, outcome string, after time.Duration) orderEvent {
		return paypalSend(typ, func(n int) []byte {
			return paypalevent.Dispute{EventID: fmt.Sprintf("WH-%s-%s", typ, pp(n)), Type: typ, DisputeID: "PP-D-" + pp(n), CaptureID: pp(n),
				Outcome: outcome, Currency: "usd", Amount: 9900, Created: at.Add(after)}.Body()
		})
	}

	return []orderScenario{
		{
			name: "a capture and its shop order", client: "ordcap", provider: "stripe", paymentID: pi("ordcap"), samples: 12, want: ipayment.StatusPaid,
			events: func(int) []orderEvent {
				return []orderEvent{captureOf("ordcap", false), shopOrder("ordcap")}
			},
		},
		{
			name: "two partial refunds then a full one", client: "ordref", provider: "stripe", paymentID: pi("ordref"), samples: 16, want: ipayment.StatusRefunded,
			events: func(int) []orderEvent {
				return []orderEvent{captureOf("ordref", true), refund("ordref", "re1", 1100, time.Minute),
					refund("ordref", "re2", 3300, 2*time.Minute), refund("ordref", "re3", 11000, 3*time.Minute)}
			},
		},
		{
			// Stripe's amount_refunded leaves out a refund once it failed: 11.00 refunded, failed,
			// then 22.00 refunded (the charge says 22.00 refunded in all).
			name: "a refund, its failure, another refund", client: "ordfail", provider: "stripe", paymentID: pi("ordfail"), samples: 12,
			want: ipayment.StatusPartiallyRefunded,
			events: func(int) []orderEvent {
				return []orderEvent{captureOf("ordfail", true), refund("ordfail", "re1", 1100, time.Minute),
					refundFailed("ordfail", "re1", 1100, time.Minute, 2*time.Minute), refund("ordfail", "re2", 2200, 3*time.Minute)}
			},
		},
		{
			// The buyer's bank disputes the whole charge after a partial refund: Stripe takes the
			// disputed amount all the same, so the platform loses what the refund had given back.
			name: "a refund and a dispute lost", client: "orddis", provider: "stripe", paymentID: pi("orddis"), samples: 16, want: ipayment.StatusRefunded,
			events: func(int) []orderEvent {
				return []orderEvent{captureOf("orddis", true), refund("orddis", "re1", 1100, time.Minute),
					dispute("orddis", "charge.dispute.created", "needs_response", 2*time.Minute),
					dispute("orddis", "charge.dispute.closed", "lost", 3*time.Minute)}
			},
		},
		{
			name: "a capture whose order comes later, and a refund", client: "ordlate", provider: "stripe", paymentID: pi("ordlate"), samples: 8,
			want: ipayment.StatusPartiallyRefunded,
			events: func(int) []orderEvent {
				return []orderEvent{captureOf("ordlate", false), shopOrder("ordlate"), refund("ordlate", "re1", 2200, time.Minute)}
			},
		},
		{
			name: "a PayPal capture pending then completed, a refund and a reversal", client: "ordpp", provider: "paypal", paymentID: pp, samples: 16, want: ipayment.StatusRefunded,
			events: func(int) []orderEvent {
				return []orderEvent{ppPending, ppCapture,
					paypalSend("refund", func(n int) []byte {
						return paypalevent.Refund{EventID: "WH-REF-" + pp(n), RefundID: "REF-" + pp(n), CaptureID: pp(n), Currency: "usd",
							Amount: 1100, TotalRefunded: 1100, Created: at.Add(time.Minute)}.Body()
					}),
					ppDispute("CUSTOMER.DISPUTE.CREATED", "", 2*time.Minute),
					paypalSend("reversal", func(n int) []byte {
						return paypalevent.Reversal{EventID: "WH-REV-" + pp(n), ReversalID: "REV-" + pp(n), CaptureID: pp(n), Currency: "usd",
							Amount: 9900, Created: at.Add(3 * time.Minute)}.Body()
					}),
					ppDispute("CUSTOMER.DISPUTE.RESOLVED", "RESOLVED_BUYER_FAVOUR", 4*time.Minute)}
			},
		},
	}
}

func shopifyOrderID(n int) string { return fmt.Sprint(8100000000000 + n) }

func setShopifySecret(s *stack, shopAPI, client string) {
	s.t.Helper()
	b, err := json.Marshal(map[string]any{"secret": shopSecrets["shopify"]})
	require.NoError(s.t, err)
	req, err := http.NewRequest(http.MethodPut, shopAPI+"/api/v1/admin/clients/"+client+"/webhook-secrets/shopify", bytes.NewReader(b))
	require.NoError(s.t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+adminKey)
	code, body := s.send(req)
	require.Equal(s.t, http.StatusCreated, code, body)
}

// postShopifyOrder delivers a Shopify orders/paid for payment n's order: 100.00 from the client's
// vendor, 3.00 off, 8.00 tax, 5.00 shipping (110.00, the capture's amount), referred by its
// affiliate.
func postShopifyOrder(s *stack, shopAPI, client string, n int, at time.Time) (int, map[string]any) {
	s.t.Helper()
	body, err := json.Marshal(map[string]any{
		"id": json.Number(shopifyOrderID(n)), "currency": "USD", "presentment_currency": "USD", "financial_status": "paid",
		"updated_at": at.Format(time.RFC3339), "cancelled_at": nil, "taxes_included": false,
		"note_attributes": []map[string]string{{"name": "affiliate_id", "value": "aff"}},
		"line_items": []map[string]any{{
			"vendor": "Vendor", "price": "100.00", "quantity": 1, "total_discount": "0.00",
			"discount_allocations": []map[string]string{{"amount": "3.00"}},
			"tax_lines":            []map[string]any{{"price": "8.00", "rate": 0.08, "title": "Tax"}},
		}},
		"shipping_lines": []map[string]any{{"price": "5.00", "discount_allocations": []any{}, "tax_lines": []any{}}},
	})
	require.NoError(s.t, err)
	d := shopifyDelivery("orders/paid", fmt.Sprintf("ord-%s-%d-%d", client, n, time.Now().UnixNano()), body)
	req, err := http.NewRequest(http.MethodPost, shopAPI+"/webhooks/shopify/"+client, bytes.NewReader(body))
	require.NoError(s.t, err)
	for k, v := range d.header {
		req.Header.Set(k, v)
	}
	return s.send(req)
}

// awaitRunsClosed waits until the payment's latest run has closed (the events already
// acknowledged have all reached a run: acknowledged once Temporal held them) and asserts that
// every run of it completed.
func (s *stack) awaitRunsClosed(id string) {
	s.t.Helper()
	ctx := context.Background()
	for {
		d, err := s.tc.DescribeWorkflow(ctx, id, "")
		require.NoError(s.t, err, id)
		info := d.RawResponse.GetWorkflowExecutionInfo()
		runID := info.GetExecution().GetRunId()
		if info.GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
			require.Equal(s.t, enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED, info.GetStatus(), "run %s of %s", runID, id)
			break
		}
		wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		var rec ipayment.Record
		err = s.tc.GetWorkflow(wctx, id, runID).Get(wctx, &rec)
		cancel()
		if err != nil {
			s.logRun(id, runID)
		}
		require.NoError(s.t, err, "run %s of %s", runID, id)
	}
	require.EventuallyWithT(s.t, func(c *assert.CollectT) {
		res, err := s.tc.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: fmt.Sprintf("WorkflowId = '%s'", id)})
		if !assert.NoError(c, err) {
			return
		}
		for _, e := range res.GetExecutions() {
			assert.Equal(c, enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED, e.GetStatus(), "run %s of %s", e.GetExecution().GetRunId(), id)
		}
	}, 10*time.Second, 50*time.Millisecond)
}

// outcomeOf reads a settled payment's outcome from the store, the books and the provider.
func (s *stack) outcomeOf(id string) orderOutcome {
	s.t.Helper()
	rec, err := s.Store.GetPayment(context.Background(), id)
	require.NoError(s.t, err)
	out := orderOutcome{Status: rec.Status, Refunded: rec.Refunded, DisputesLost: rec.DisputesLost, DisputeLossBeyondRefunds: rec.DisputeLossBeyondRefunds,
		Disputed: rec.Disputed, DisputeFees: rec.DisputeFees, Fee: rec.Fee, Legs: map[string]legOutcome{}, Books: s.paymentBalances(id)}
	sent := s.sentNet(rec)
	var paid int64
	for _, l := range rec.Legs {
		name := l.Name()
		if l.Party == split.PartyPlatform {
			out.Legs[name] = legOutcome{Amount: l.Amount, Refunded: l.Refunded, Owed: l.Amount - l.Refunded}
			continue
		}
		net := l.Transferred - l.Reversed
		assert.Equal(s.t, sent[name], net, "%s: what the provider sent the %s leg net, and what the leg says; the record: %s", id, name, recordJSON(rec))
		paid += net
		lo := legOutcome{Amount: l.Amount, Refunded: l.Refunded, Owed: l.Amount - l.Refunded}
		if rec.Provider == "stripe" {
			lo.SentNet = net
		}
		out.Legs[name] = lo
		acct := ledger.VendorPayable(l.PayeeID)
		if l.Party == split.PartyAffiliate {
			acct = ledger.AffiliatePayable(l.PayeeID)
		}
		out.Books[acct] -= net
	}
	out.Books["provider:"+rec.Provider] += paid
	for k, v := range out.Books {
		if v == 0 {
			delete(out.Books, k)
		}
	}
	return out
}

// movements counts the money movements the provider made for a payment (Stripe's transfers and
// reversals, PayPal's payouts), one per idempotency key, and asserts that no key was sent for two
// amounts.
func (s *stack) movements(id string) int {
	s.t.Helper()
	amounts := map[string]string{}
	for _, c := range s.stripe.Calls(http.MethodPost, "") {
		if strings.HasPrefix(c.IdempotencyKey, id+"/") {
			if prev, ok := amounts[c.IdempotencyKey]; ok {
				assert.Equal(s.t, prev, c.Form.Get("amount"), "key %s sent for two amounts", c.IdempotencyKey)
			}
			amounts[c.IdempotencyKey] = c.Form.Get("amount")
		}
	}
	for _, p := range s.paypal.Payouts() {
		if strings.HasPrefix(p.SenderBatchID, id+"/") {
			if prev, ok := amounts[p.SenderBatchID]; ok {
				assert.Equal(s.t, prev, p.Value, "key %s paid twice", p.SenderBatchID)
			}
			amounts[p.SenderBatchID] = p.Value
		}
	}
	return len(amounts)
}

// sentNet is what the provider sent each payee leg of a payment, net of reversals, by
// "<party>-<payee>": Stripe's transfers, or PayPal's payouts (which are never pulled back).
func (s *stack) sentNet(rec ipayment.Record) map[string]int64 {
	out := map[string]int64{}
	if rec.Provider == "stripe" {
		for _, tr := range s.stripe.Transfers() {
			if tr.Metadata["workflow_id"] == rec.WorkflowID {
				out[tr.Metadata["party"]+"-"+tr.Metadata["payee_id"]] += tr.Amount - tr.AmountReversed
			}
		}
		return out
	}
	for _, p := range s.paypal.Payouts() {
		wf, rest, _ := strings.Cut(p.SenderBatchID, "/")
		if wf != rec.WorkflowID {
			continue
		}
		for _, l := range rec.Legs {
			if l.Party != split.PartyPlatform && slices.ContainsFunc(strings.Split(rest, "/"), func(seg string) bool { return seg == l.Name() }) {
				v, err := parseCents(p.Value)
				require.NoError(s.t, err)
				out[l.Name()] += v
			}
		}
	}
	return out
}

func parseCents(v string) (int64, error) {
	var whole, frac int64
	_, err := fmt.Sscanf(strings.Replace(v, ".", " ", 1), "%d %d", &whole, &frac)
	return whole*100 + frac, err
}

func recordJSON(rec ipayment.Record) string {
	b, _ := json.Marshal(rec)
	return string(b)
}

// logRun logs what a run that did not close waits for: its pending workflow task and activities,
// its history's events, and what the worker logged of the payment. A run past its liveness bound
// once failed with "context deadline exceeded" alone (payment 0 of "a refund, its failure, another
// refund", one CPU hog beside the package), and its Temporal was gone with the test binary. A
// workflow task given again and again (timed out, or failed: a panic, a replay that does not
// match) is in no history (its attempts after the first are not recorded) and local activities
// are no pending activities: the pending task's attempt and the worker's log say those.
func (s *stack) logRun(id, runID string) {
	ctx := context.Background()
	if d, err := s.tc.DescribeWorkflow(ctx, id, runID); err == nil {
		if wt := d.RawResponse.GetPendingWorkflowTask(); wt != nil {
			s.t.Logf("run %s: pending workflow task %s, attempt %d, scheduled %s, started %s", runID, wt.GetState(), wt.GetAttempt(),
				wt.GetScheduledTime().AsTime().Format(time.RFC3339Nano), wt.GetStartedTime().AsTime().Format(time.RFC3339Nano))
		}
		for _, pa := range d.RawResponse.GetPendingActivities() {
			s.t.Logf("run %s: pending activity %s, %s, attempt %d, last failure %v", runID, pa.GetActivityType().GetName(), pa.GetState(), pa.GetAttempt(), pa.GetLastFailure())
		}
	}
	s.logPollers()
	it := s.tc.GetWorkflowHistory(ctx, id, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			s.t.Logf("run %s: history: %v", runID, err)
			return
		}
		s.t.Logf("run %s: %d %s %s %v", runID, ev.GetEventId(), ev.GetEventTime().AsTime().Format(time.RFC3339Nano), ev.GetEventType(), ev.GetAttributes())
	}
	s.logWorker(id)
}

// logWorker logs the warnings and errors logged of workflow id (the SDK tags its lines with the
// workflow's ID: WorkflowID=<id>), the last 200 at most.
func (s *stack) logWorker(id string) {
	if s.logs == nil {
		return
	}
	var lines []string
	for _, l := range strings.Split(s.logs.String(), "\n") {
		if strings.Contains(l+" ", " WorkflowID="+id+" ") {
			lines = append(lines, l)
		}
	}
	for _, l := range lines[max(0, len(lines)-200):] {
		s.t.Logf("worker: %s", l)
	}
}

// logPollers logs when each worker last polled the stack's task queue for workflow tasks (its
// normal queue, where a run's first task is): a first task never started with no poll there
// since it was scheduled is a worker polling elsewhere (stack.WorkerOptions), not a slow one.
func (s *stack) logPollers() {
	res, err := s.tc.WorkflowService().DescribeTaskQueue(context.Background(), &workflowservice.DescribeTaskQueueRequest{
		Namespace: "default", TaskQueue: &taskqueuepb.TaskQueue{Name: s.Queue, Kind: enumspb.TASK_QUEUE_KIND_NORMAL},
		TaskQueueType: enumspb.TASK_QUEUE_TYPE_WORKFLOW,
	})
	if err != nil {
		s.t.Logf("task queue %s: %v", s.Queue, err)
		return
	}
	for _, p := range res.GetPollers() {
		s.t.Logf("task queue %s (workflow tasks): poller %s last polled at %s", s.Queue, p.GetIdentity(), p.GetLastAccessTime().AsTime().Format(time.RFC3339Nano))
	}
	if len(res.GetPollers()) == 0 {
		s.t.Logf("task queue %s (workflow tasks): no poller", s.Queue)
	}
}
