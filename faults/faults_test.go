package faults

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"paysplit/api/server"
	ipayment "paysplit/internal/payment"
	"paysplit/internal/store"
	"paysplit/internal/stripeevent"
	"paysplit/testenv"
	"paysplit/testenv/stack"
	"paysplit/workflows/payment"
)

// summary adds up every scenario for the line printed at the end of the run.
var summary struct {
	mu                                                          sync.Mutex
	scenarios, events, workflows, transfers, suppressed, faults int
	lost                                                        int64
	doubles                                                     int
}

func TestMain(m *testing.M) {
	testenv.MainThen(m, func(int) {
		summary.mu.Lock()
		defer summary.mu.Unlock()
		line := fmt.Sprintf("fault suite: %d scenarios, %d events sent, %d workflows, %d transfers, %d duplicates suppressed, %d faults injected, money lost %d, double payments %d\n",
			summary.scenarios, summary.events, summary.workflows, summary.transfers, summary.suppressed, summary.faults, summary.lost, summary.doubles)
		fmt.Print(line)
		// go test shows a passing package's output only with -v; `make test` prints this file.
		if path := os.Getenv("FAULT_SUMMARY"); path != "" {
			_ = os.WriteFile(path, []byte(line), 0o644)
		}
	})
}

// finish runs the book checks a scenario ends with and adds it to the summary.
func finish(t *testing.T, s *stack.Stack, events, unique, faults int) {
	t.Helper()
	b := s.Check()
	summary.mu.Lock()
	defer summary.mu.Unlock()
	// Counted before the assertions below end a failing scenario: the summary shows its losses.
	summary.lost += b.MoneyLost
	summary.doubles += b.DoublePayments
	require.Zero(t, b.MoneyLost, "money lost")
	require.Zero(t, b.DoublePayments, "double payments")
	summary.scenarios++
	summary.events += events
	summary.workflows += b.Workflows
	summary.transfers += b.Transfers
	summary.suppressed += events - unique
	summary.faults += faults
}

// open keeps payment runs open for late events, so every event lands in one execution.
var open = payment.Settings{SettleWindow: time.Hour, StripeAttempts: 10, StripeRetryInterval: 100 * time.Millisecond}

func sign(body []byte) stripeevent.Delivery {
	return stripeevent.Sign(body, stack.WebhookSecret, time.Now())
}

// deliver sends a body n times at once and n times more afterwards, like a provider that
// retries both eagerly and late; every answer must be 200 (asserted: it may run on a goroutine
// of its own, as the soak's do).
func deliver(t *testing.T, s *stack.Stack, body []byte, n int) int {
	t.Helper()
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			code, out := s.StripeWebhook(sign(body))
			assert.Equal(t, http.StatusOK, code, out)
		})
	}
	wg.Wait()
	for range n {
		code, out := s.StripeWebhook(sign(body))
		assert.Equal(t, http.StatusOK, code, out)
	}
	return 2 * n
}

// TestDuplicateDeliveries delivers a capture and a refund three times at once and three times
// later, in both acknowledgement modes: one workflow, two transfers, one refund either way.
func TestDuplicateDeliveries(t *testing.T) {
	for _, tt := range []struct {
		name   string
		ack    server.WebhookAck
		client string
	}{
		{"ack once Temporal holds it", server.AckOnTemporal, "dup"},
		{"ack once stored", server.AckOnStore, "dupinbox"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := stack.New(t, stack.Options{Settings: open, WebhookAck: tt.ack})
			s.Seed(tt.client)
			pi := "pi_" + tt.client + "1"
			events := deliver(t, s, stack.Capture(tt.client, pi).Body(), 3)
			id := payment.WorkflowID("stripe", pi)
			s.AwaitStatus(id, 30*time.Second, ipayment.StatusPaid)

			refund := stripeevent.Refund{EventID: "evt_" + tt.client + "_re", PaymentIntent: pi, Charge: "ch_" + pi, Currency: "usd",
				Amount: 11000, AmountRefunded: 1100, Created: time.Now()}
			events += deliver(t, s, refund.Body(), 3)
			rec := s.AwaitStatus(id, 30*time.Second, ipayment.StatusPartiallyRefunded)
			require.EqualValues(t, 1100, rec.Refunded, "six deliveries, one refund")
			require.Len(t, s.Stripe.Transfers(), 2)
			finish(t, s, events, 2, 0)
		})
	}
}

func TestOutOfOrderEvents(t *testing.T) {
	s := stack.New(t, stack.Options{Settings: open})
	s.Seed("ooo")
	events := 0

	// A full refund before its capture: nothing is paid out.
	refund := stripeevent.Refund{EventID: "evt_ooo_re", PaymentIntent: "pi_ooo1", Charge: "ch_pi_ooo1", Currency: "usd", Amount: 11000, AmountRefunded: 11000, Created: time.Now()}
	events += deliver(t, s, refund.Body(), 1)
	events += deliver(t, s, stack.Capture("ooo", "pi_ooo1").Body(), 1)
	s.AwaitStatus(payment.WorkflowID("stripe", "pi_ooo1"), 30*time.Second, ipayment.StatusRefunded)

	// A dispute opened and lost before its capture; both events name the funds Stripe withdrew
	// with its 15.00 dispute fee, which is booked once.
	withdrawn := []stripeevent.DisputeFunds{{ID: "txn_dp1_withdrawn", Amount: -11000, Fee: 1500}}
	for _, d := range []stripeevent.Dispute{
		{EventID: "evt_ooo_d1", Type: "charge.dispute.created", Dispute: "dp_1", PaymentIntent: "pi_ooo2", Charge: "ch_pi_ooo2", Currency: "usd", Status: "needs_response", Amount: 11000, Funds: withdrawn, Created: time.Now()},
		{EventID: "evt_ooo_d2", Type: "charge.dispute.closed", Dispute: "dp_1", PaymentIntent: "pi_ooo2", Charge: "ch_pi_ooo2", Currency: "usd", Status: "lost", Amount: 11000, Funds: withdrawn, Created: time.Now()},
	} {
		events += deliver(t, s, d.Body(), 1)
	}
	events += deliver(t, s, stack.Capture("ooo", "pi_ooo2").Body(), 1)
	disputed := s.AwaitStatus(payment.WorkflowID("stripe", "pi_ooo2"), 30*time.Second, ipayment.StatusRefunded)
	require.EqualValues(t, 1500, disputed.DisputeFees, "the dispute fee, once")

	// The order after its payment: the payment waits, the order wakes it.
	partial := stack.Capture("ooo", "pi_ooo3")
	partial.Metadata = map[string]string{"client_id": "ooo", "order_id": "order-ooo3"}
	events += deliver(t, s, partial.Body(), 1)
	id := payment.WorkflowID("stripe", "pi_ooo3")
	s.AwaitStatus(id, 30*time.Second, ipayment.StatusAwaitingMetadata)
	deliverOrder(t, s, ipayment.Order{ClientID: "ooo", OrderID: "order-ooo3", VendorID: "ooo-vendor", Platform: "shopify",
		Subtotal: 10000, Tax: 800, Shipping: 500, Discount: 300, Currency: "usd"})
	rec := s.AwaitStatus(id, 30*time.Second, ipayment.StatusPaid)
	require.Len(t, rec.Legs, 2, "no affiliate on this order")
	require.Empty(t, transfersOf(s, "pi_ooo1"), "a payment refunded before capture pays nobody")
	require.Empty(t, transfersOf(s, "pi_ooo2"), "a payment lost to a dispute before capture pays nobody")
	finish(t, s, events, 5, 0)
}

// TestLateCaptureSurvivesAWorkerKill: a refund comes without its capture, the payment needs
// attention, the worker dies while the run waits on, and the capture comes twice with no worker
// running. A new worker takes the run from its history: one split, the refund applied, each payee
// paid once (code path 9).
func TestLateCaptureSurvivesAWorkerKill(t *testing.T) {
	settings := open
	settings.CaptureWait = time.Second
	s := stack.New(t, stack.Options{Settings: settings, NoWorker: true})
	s.Seed("latekill")
	first := testenv.StartWorker(t, s.WorkerEnv())
	refund := stripeevent.Refund{EventID: "evt_latekill_re", PaymentIntent: "pi_latekill1", Charge: "ch_pi_latekill1", Currency: "usd",
		Amount: 1100, AmountRefunded: 1100, Created: time.Now()}
	events := deliver(t, s, refund.Body(), 1)
	id := payment.WorkflowID("stripe", "pi_latekill1")
	rec := s.AwaitStatus(id, 30*time.Second, ipayment.StatusNeedsAttention)
	require.Contains(t, rec.Reason, "no capture event", "worker log:\n%s", first.Log())
	first.Kill(t)

	events += deliver(t, s, stack.Capture("latekill", "pi_latekill1").Body(), 1)
	second := testenv.StartWorker(t, s.WorkerEnv())
	rec = s.AwaitStatus(id, 60*time.Second, ipayment.StatusPartiallyRefunded)
	require.EqualValues(t, 1100, rec.Refunded, "the refund that came first, once; worker log:\n%s", second.Log())
	require.Len(t, transfersOf(s, "pi_latekill1"), 2, "one transfer per payee, none twice")
	require.Equal(t, 1, s.Runs(id), "the run that waited took the capture")
	finish(t, s, events, 2, 1)
}

// deliverOrder does what a storefront order webhook does once verified: store the order and
// wake the payments waiting for it.
func deliverOrder(t *testing.T, s *stack.Stack, o ipayment.Order) {
	t.Helper()
	ctx := context.Background()
	require.NoError(t, s.Store.SaveOrder(ctx, o, "paid"))
	waiters, err := s.Store.OrderWaiters(ctx, o.ClientID, o.OrderID)
	require.NoError(t, err)
	require.NotEmpty(t, waiters, "the payment registered itself as waiting")
	for _, id := range waiters {
		require.NoError(t, s.Temporal.SignalWorkflow(ctx, id, "", payment.SignalEvent, payment.Event{ID: "order-" + o.OrderID, Kind: payment.EventOrderReady}))
	}
}

func transfersOf(s *stack.Stack, pi string) []string {
	var keys []string
	for _, tr := range s.Stripe.Transfers() {
		if tr.Metadata["workflow_id"] == payment.WorkflowID("stripe", pi) {
			keys = append(keys, tr.IdempotencyKey)
		}
	}
	return keys
}

// TestLostWebhooksAreFoundByReconciliation loses two webhooks for good (a provider gives up after
// days of retries; an endpoint was misconfigured): a refund of a paid payment and a capture.
// Stripe did both; the books know neither, and nobody was paid from the capture. The day's
// reconciliation reports each, and once they are delivered (an admin resends them from Stripe's
// dashboard) the books and Stripe agree again.
func TestLostWebhooksAreFoundByReconciliation(t *testing.T) {
	s := stack.New(t, stack.Options{Settings: open})
	s.Seed("lost")
	paid, missed := payment.WorkflowID("stripe", "pi_lost1"), payment.WorkflowID("stripe", "pi_lost2")
	events := deliver(t, s, stack.Capture("lost", "pi_lost1").Body(), 1)
	s.AwaitStatus(paid, 30*time.Second, ipayment.StatusPaid)

	refund := stripeevent.Refund{EventID: "evt_lost1_re", PaymentIntent: "pi_lost1", Charge: "ch_pi_lost1", Currency: "usd",
		Amount: 11000, AmountRefunded: 2200, Created: time.Now()}.Body()
	capture := stack.Capture("lost", "pi_lost2").Body()
	s.LoseWebhook(refund)
	s.LoseWebhook(capture)
	mine := func(p, _ string) bool { return p == paid || p == missed }
	require.Equal(t, map[string][]stack.Drift{"extra_at_provider": {
		{Payment: paid, Payee: "(refunded)", Ledger: 0, Provider: 2200},
		{Payment: missed, Payee: "(captured)", Ledger: 0, Provider: 11000},
	}}, s.Reconcile("stripe", mine), "reconciliation finds what the lost webhooks said")

	events += deliver(t, s, refund, 1)
	events += deliver(t, s, capture, 1)
	rec := s.AwaitStatus(paid, 30*time.Second, ipayment.StatusPartiallyRefunded)
	require.EqualValues(t, 2200, rec.Refunded)
	s.AwaitStatus(missed, 30*time.Second, ipayment.StatusPaid)
	require.Empty(t, s.Reconcile("stripe", mine), "delivered late, nothing is missing")
	finish(t, s, events, 3, 2)
}

func TestWorkerKilledBetweenTransferAndLedgerEntry(t *testing.T) {
	settings := open
	settings.PayoutTimeout = 3 * time.Second // the server notices the dead worker's activity quickly
	s := stack.New(t, stack.Options{Settings: settings, NoWorker: true})
	s.Seed("kill")
	first := testenv.StartWorker(t, s.WorkerEnv())

	// The vendor's transfer reaches Stripe, then the worker dies before it hears back.
	held := s.Stripe.HoldFirstVendorTransfer()
	events := deliver(t, s, stack.Capture("kill", "pi_kill1").Body(), 1)
	key := held.Await(t, func() string { return "worker log:\n" + first.Log() })
	first.Kill(t)
	held.Release()

	second := testenv.StartWorker(t, s.WorkerEnv())
	id := payment.WorkflowID("stripe", "pi_kill1")
	rec := s.AwaitStatus(id, 60*time.Second, ipayment.StatusPaid)
	require.EqualValues(t, 9545, rec.Leg("vendor").Transferred, "worker log:\n%s", second.Log())

	var sends, replays int
	for _, c := range s.Stripe.Calls(http.MethodPost, "/v1/transfers") {
		if c.IdempotencyKey == key {
			sends++
			if c.Replayed {
				replays++
			}
		}
	}
	// The run's history never heard of the transfer (its worker died in the task that sent it),
	// but the rail recorded the key's first send: the new worker finds the transfer by its key
	// rather than sending it again, which Stripe would have made anew once it forgot the key
	// (TestWorkerKilledMidTransferThenStripeForgotTheKey).
	require.Equal(t, 1, sends, "sent once: the new worker found the transfer under its key")
	require.Zero(t, replays)
	require.NotEmpty(t, s.Stripe.Calls(http.MethodGet, "/v1/transfers"), "looked up by its key")
	require.Len(t, transfersOf(s, "pi_kill1"), 2, "one transfer per payee, none twice")
	finish(t, s, events, 1, 1)
}

func TestPostgresDropsConnectionsDuringABurst(t *testing.T) {
	pool, dbURL := testenv.Postgres(t)
	_ = pool
	u, err := url.Parse(dbURL)
	require.NoError(t, err)
	pg := testenv.NewTCPProxy(t, u.Host)
	u.Host = pg.Addr
	s := stack.New(t, stack.Options{Settings: open, WorkerDatabaseURL: u.String()})
	s.Seed("pgdown")

	const n = 12
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, out := s.StripeWebhook(sign(stack.Capture("pgdown", fmt.Sprintf("pi_pg%02d", i)).Body()))
			require.Equal(t, http.StatusOK, code, out)
		}()
		if i == n/3 {
			// A third of the burst in, Postgres goes away for a while: every pooled connection
			// breaks and new ones are refused, as in a restart.
			pg.Cut()
			time.AfterFunc(3*time.Second, pg.Restore)
		}
	}
	wg.Wait()
	for i := range n {
		s.AwaitStatus(payment.WorkflowID("stripe", fmt.Sprintf("pi_pg%02d", i)), 90*time.Second, ipayment.StatusPaid)
	}
	require.Len(t, s.Stripe.Transfers(), 2*n)
	finish(t, s, n, n, 1)
}

// Postgres itself crashes in the middle of a burst (every server process killed, no checkpoint)
// and comes back 3 s later, recovering from its write-ahead log. The whole stack runs on it, and
// the API acknowledges webhooks once stored (the inbox): the third of the burst acknowledged just
// before the crash, whose runs are then mid-way, must come out of recovery and be paid; what
// arrives while the server is down is refused with a 503 and delivered again, as Stripe does; and
// nothing is paid twice.
func TestPostgresCrashesAndRestartsDuringABurst(t *testing.T) {
	pg := testenv.OwnPostgres(t)
	s := stack.New(t, stack.Options{Settings: open, DatabaseURL: pg.URL, WebhookAck: server.AckOnStore})
	s.Seed("pgcrash")

	const n = 12
	var acknowledged, refused atomic.Int32
	deliver := func(i int) {
		body := stack.Capture("pgcrash", fmt.Sprintf("pi_crash%02d", i)).Body()
		for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
			code, out := s.StripeWebhook(sign(body))
			if code == http.StatusOK {
				acknowledged.Add(1)
				assert.Contains(t, []any{"accepted", "duplicate"}, out["status"])
				return
			}
			assert.Equal(t, http.StatusServiceUnavailable, code, "while Postgres is down: %v", out)
			refused.Add(1)
		}
		t.Errorf("pi_crash%02d never acknowledged", i)
	}
	burst := func(from, to int) *sync.WaitGroup {
		var wg sync.WaitGroup
		for i := from; i < to; i++ {
			wg.Go(func() { deliver(i) })
		}
		return &wg
	}
	burst(0, n/3).Wait()
	require.Zero(t, refused.Load(), "acknowledged before the crash")
	var paidBefore int
	require.NoError(t, s.Pool.QueryRow(context.Background(), `SELECT count(*) FROM payments WHERE status = 'paid'`).Scan(&paidBefore))
	pg.Crash()
	rest := burst(n/3, n)
	time.Sleep(3 * time.Second)
	pg.Start()
	rest.Wait()
	require.Positive(t, refused.Load(), "deliveries met the server down")
	require.Contains(t, pg.Log(), "database system was interrupted", "Postgres recovered from a crash")

	for i := range n {
		s.AwaitStatus(payment.WorkflowID("stripe", fmt.Sprintf("pi_crash%02d", i)), 90*time.Second, ipayment.StatusPaid)
	}
	require.Len(t, s.Stripe.Transfers(), 2*n)
	t.Logf("%d of the %d acknowledged before the crash were paid by then; %d deliveries refused while Postgres was down", paidBefore, n/3, refused.Load())
	finish(t, s, int(acknowledged.Load()), n, 1)
}

func TestStripeRateLimitsAndErrors(t *testing.T) {
	s := stack.New(t, stack.Options{Settings: open})
	s.Seed("flaky")
	var mu sync.Mutex
	injected := 0
	// pi_fl1's vendor transfer meets two 429s, a 409 (an earlier request under its key still
	// running, as Stripe says while it is) and a 500 before Stripe takes it; pi_fl2's affiliate
	// transfer is refused with a 400 until an admin retries.
	plan := map[string][]int{"pi_fl1/vendor": {429, 429, 409, 500}, "pi_fl2/affiliate": {400}}
	bodies := map[int]string{409: `{"error":{"type":"idempotency_error","code":"idempotency_key_in_use","message":"injected 409"}}`}
	s.Stripe.Inject = func(r *http.Request, form url.Values) (int, string) {
		if r.URL.Path != "/v1/transfers" {
			return 0, ""
		}
		k := strings.TrimPrefix(form.Get("metadata[payment_id]"), "") + "/" + form.Get("metadata[party]")
		mu.Lock()
		defer mu.Unlock()
		if codes := plan[k]; len(codes) > 0 {
			plan[k] = codes[1:]
			injected++
			if body, ok := bodies[codes[0]]; ok {
				return codes[0], body
			}
			return codes[0], fmt.Sprintf(`{"error":{"type":"invalid_request_error","message":"injected %d"}}`, codes[0])
		}
		return 0, ""
	}
	events := deliver(t, s, stack.Capture("flaky", "pi_fl1").Body(), 1)
	events += deliver(t, s, stack.Capture("flaky", "pi_fl2").Body(), 1)
	rec1 := s.AwaitStatus(payment.WorkflowID("stripe", "pi_fl1"), 60*time.Second, ipayment.StatusPaid)
	require.Zero(t, rec1.Leg("vendor").Attempt, "the vendor's first key: none of the answers was a refusal")

	id2 := payment.WorkflowID("stripe", "pi_fl2")
	rec := s.AwaitStatus(id2, 60*time.Second, ipayment.StatusPayoutFailed)
	require.Contains(t, rec.Reason, "injected 400", "a 400 is not retried: it goes to the admin path")
	code, out := s.Do(http.MethodPost, "/api/v1/admin/payments/"+id2+"/retry", nil, stack.AdminKey)
	require.Equal(t, http.StatusAccepted, code, out)
	rec = s.AwaitStatus(id2, 30*time.Second, ipayment.StatusPaid)
	require.Equal(t, id2+"/transfer/affiliate-flaky-aff/1", rec.Leg("affiliate").TransferKey)
	mu.Lock()
	faults := injected
	mu.Unlock()
	require.Equal(t, 5, faults)
	finish(t, s, events, 2, faults)
}

// TestRefundFailsWhileStripeErrs: a refund is taken back from the payees, then fails (Stripe says
// so twice, each event delivered twice at once and twice later), and the transfers that pay the
// payees their shares again meet a 429 and a 500 before Stripe takes them; a charge.refunded from
// before the failure is delivered late. Each payee is paid its share again once, and nothing is
// refunded twice or lost.
func TestRefundFailsWhileStripeErrs(t *testing.T) {
	s := stack.New(t, stack.Options{Settings: open})
	s.Seed("refl")
	pi := "pi_refl1"
	id := payment.WorkflowID("stripe", pi)
	events := deliver(t, s, stack.Capture("refl", pi).Body(), 1)
	s.AwaitStatus(id, 30*time.Second, ipayment.StatusPaid)
	refund := stripeevent.Refund{EventID: "evt_refl_re", PaymentIntent: pi, Charge: "ch_" + pi, Currency: "usd",
		Amount: 11000, AmountRefunded: 2200, Created: time.Now().Add(-time.Minute)}
	events += deliver(t, s, refund.Body(), 2)
	s.AwaitStatus(id, 30*time.Second, ipayment.StatusPartiallyRefunded)

	var mu sync.Mutex
	injected := 0
	plan := map[string][]int{"vendor": {429, 500}, "affiliate": {500}}
	s.Stripe.Inject = func(r *http.Request, form url.Values) (int, string) {
		if r.URL.Path != "/v1/transfers" || form.Get("metadata[refund_failed]") == "" {
			return 0, ""
		}
		mu.Lock()
		defer mu.Unlock()
		if codes := plan[form.Get("metadata[party]")]; len(codes) > 0 {
			plan[form.Get("metadata[party]")] = codes[1:]
			injected++
			return codes[0], fmt.Sprintf(`{"error":{"type":"api_error","message":"injected %d"}}`, codes[0])
		}
		return 0, ""
	}
	for _, typ := range []string{"charge.refund.updated", "refund.failed"} {
		failed := stripeevent.RefundUpdate{EventID: "evt_refl_" + typ, Type: typ, Refund: "re_refl", PaymentIntent: pi, Charge: "ch_" + pi,
			Currency: "usd", Status: "failed", Amount: 2200, Created: time.Now(), Made: refund.Created}
		events += deliver(t, s, failed.Body(), 2)
	}
	refund.EventID = "evt_refl_re_late" // the figure from before the failure, told again late
	events += deliver(t, s, refund.Body(), 1)
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		rec, err := s.Store.GetPayment(context.Background(), id)
		if !assert.NoError(c, err) {
			return
		}
		assert.Equal(c, ipayment.StatusPaid, rec.Status)
		assert.Zero(c, rec.Refunded)
		for _, l := range rec.Legs {
			if l.Party != "platform" {
				assert.Equal(c, l.Amount, l.Transferred-l.Reversed, "%s holds its whole share again", l.Party)
			}
		}
	}, 60*time.Second, 200*time.Millisecond)
	mu.Lock()
	require.Equal(t, 3, injected)
	mu.Unlock()
	finish(t, s, events, 5, 3)
}

// TestReversalsRefusedOrLostThenRetried: two payments are partly refunded (each refund delivered
// twice at once and twice later). Stripe refuses one vendor's reversal (its connected account is
// short); it makes the other's but every answer is lost. Both stay due, their payments
// payout_failed, until an admin retries, after Stripe has forgotten the keys and twice for one
// of them: the refused reversal is made under a new key, the lost one is found under its own, and
// each vendor gives back its share once.
func TestReversalsRefusedOrLostThenRetried(t *testing.T) {
	s := stack.New(t, stack.Options{Settings: payment.Settings{SettleWindow: time.Hour, StripeAttempts: 3, StripeRetryInterval: 50 * time.Millisecond}})
	s.Seed("revf")
	refused, lost := payment.WorkflowID("stripe", "pi_revf1"), payment.WorkflowID("stripe", "pi_revf2")
	events := 0
	for _, pi := range []string{"pi_revf1", "pi_revf2"} {
		events += deliver(t, s, stack.Capture("revf", pi).Body(), 1)
		s.AwaitStatus(payment.WorkflowID("stripe", pi), 30*time.Second, ipayment.StatusPaid)
	}
	var mu sync.Mutex
	faults := 0
	vendorReversal := func(key, id string) bool {
		return strings.HasPrefix(key, id+"/") && strings.HasSuffix(key, "/vendor-revf-vendor")
	}
	s.Stripe.Inject = func(r *http.Request, _ url.Values) (int, string) {
		if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/reversals") {
			// Stripe cannot be asked either: a retry that finds its key sent before looks the
			// reversal up (stripe_key_sends), and would otherwise learn it was made.
			return http.StatusBadGateway, `{"error":{"type":"api_error","message":"upstream connection reset"}}`
		}
		if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/reversals") || !vendorReversal(r.Header.Get("Idempotency-Key"), refused) {
			return 0, ""
		}
		mu.Lock()
		defer mu.Unlock()
		faults++
		return http.StatusBadRequest, `{"error":{"type":"invalid_request_error","code":"insufficient_funds","message":"The destination account has insufficient funds to cover the reversal."}}`
	}
	s.Stripe.LoseAnswer = func(c testenv.StripeCall) bool {
		if !strings.HasSuffix(c.Path, "/reversals") || !vendorReversal(c.IdempotencyKey, lost) {
			return false
		}
		mu.Lock()
		defer mu.Unlock()
		faults++
		return true
	}
	for _, pi := range []string{"pi_revf1", "pi_revf2"} {
		refund := stripeevent.Refund{EventID: "evt_" + pi + "_re", PaymentIntent: pi, Charge: "ch_" + pi, Currency: "usd",
			Amount: 1100, AmountRefunded: 1100, Created: time.Now()}
		events += deliver(t, s, refund.Body(), 2)
	}
	for _, id := range []string{refused, lost} {
		rec := s.AwaitStatus(id, 60*time.Second, ipayment.StatusPayoutFailed)
		require.Len(t, rec.Leg("vendor").Dues, 1, "%s: %s", id, rec.Reason)
	}
	s.Stripe.Inject, s.Stripe.LoseAnswer = nil, nil
	s.Stripe.ForgetKeys() // the admin comes back days later
	for _, id := range []string{refused, lost, lost} {
		code, out := s.Do(http.MethodPost, "/api/v1/admin/payments/"+id+"/retry", nil, stack.AdminKey)
		require.Contains(t, []int{http.StatusAccepted, http.StatusConflict}, code, out) // the second may find nothing due
	}
	for _, id := range []string{refused, lost} {
		rec := s.AwaitStatus(id, 60*time.Second, ipayment.StatusPartiallyRefunded)
		require.Empty(t, rec.Leg("vendor").Dues)
		require.EqualValues(t, 955, rec.Leg("vendor").Reversed, id)
	}
	keys := map[string]int{}
	for _, tr := range s.Stripe.Transfers() {
		for _, rv := range tr.Reversals {
			keys[rv.IdempotencyKey]++
		}
	}
	require.Equal(t, 1, keys[refused+"/refund/1100.a1/vendor-revf-vendor"], "made under a new key after the refusal")
	require.Equal(t, 1, keys[lost+"/refund/1100/vendor-revf-vendor"], "found under its own key, not made again")
	mu.Lock()
	defer mu.Unlock()
	finish(t, s, events, 4, faults)
}

// TestTransferHeldInDoubtReleasedAfterStripeForgot: every answer to a vendor transfer is lost,
// so it waits in doubt; at the admin's retry the vendor's account is gone (the leg is held, still
// in doubt); days later, after Stripe forgot the key, the admin fixes the account and releases.
// The release asks under the key, finds the transfer made to the old account and books it: the
// vendor is paid once, and the duplicate capture deliveries changed nothing.
func TestTransferHeldInDoubtReleasedAfterStripeForgot(t *testing.T) {
	s := stack.New(t, stack.Options{Settings: payment.Settings{SettleWindow: time.Hour, StripeAttempts: 3, StripeRetryInterval: 50 * time.Millisecond}})
	s.Seed("heldf")
	id := payment.WorkflowID("stripe", "pi_heldf")
	var mu sync.Mutex
	faults := 0
	s.Stripe.LoseAnswer = func(c testenv.StripeCall) bool {
		if c.Path != "/v1/transfers" || !strings.HasPrefix(c.IdempotencyKey, id+"/transfer/vendor-") {
			return false
		}
		mu.Lock()
		defer mu.Unlock()
		faults++
		return true
	}
	// Stripe cannot be asked either: a retry that finds its key sent before looks the transfer up
	// (stripe_key_sends), and would otherwise learn it was made.
	s.Stripe.Inject = func(r *http.Request, _ url.Values) (int, string) {
		if r.Method == http.MethodGet && r.URL.Path == "/v1/transfers" {
			return http.StatusBadGateway, `{"error":{"type":"api_error","message":"upstream connection reset"}}`
		}
		return 0, ""
	}
	events := deliver(t, s, stack.Capture("heldf", "pi_heldf").Body(), 1)
	s.AwaitStatus(id, 60*time.Second, ipayment.StatusPayoutFailed)

	payee := func(account string) {
		body := map[string]any{"client_id": "heldf", "kind": "vendor"}
		if account != "" {
			body["stripe_account"] = account
		}
		code, out := s.Do(http.MethodPut, "/api/v1/admin/payees/heldf-vendor", body, stack.AdminKey)
		require.Equal(t, http.StatusOK, code, out)
	}
	payee("")
	code, out := s.Do(http.MethodPost, "/api/v1/admin/payments/"+id+"/retry", nil, stack.AdminKey)
	require.Equal(t, http.StatusAccepted, code, out)
	rec := s.AwaitStatus(id, 30*time.Second, ipayment.StatusHeld)
	require.True(t, rec.Leg("vendor").InDoubt(id), "held, still in doubt")

	s.Stripe.LoseAnswer, s.Stripe.Inject = nil, nil
	s.Stripe.ForgetKeys() // the admin comes back days later
	payee("acct_heldfixed")
	code, out = s.Do(http.MethodPost, "/api/v1/admin/payments/"+id+"/release", nil, stack.AdminKey)
	require.Equal(t, http.StatusAccepted, code, out)
	rec = s.AwaitStatus(id, 30*time.Second, ipayment.StatusPaid)
	vendorTransfers := 0
	for _, tr := range s.Stripe.Transfers() {
		if tr.Metadata["workflow_id"] == id && tr.Metadata["party"] == "vendor" {
			vendorTransfers++
			require.Equal(t, tr.ID, rec.Leg("vendor").TransferID)
		}
	}
	require.Equal(t, 1, vendorTransfers, "made once, to the old account, and booked")
	mu.Lock()
	defer mu.Unlock()
	finish(t, s, events, 1, faults)
}

// TestTemporalUnreachable cuts the API's line to Temporal (the worker keeps its own) while a
// capture is delivered three times, in both acknowledgement modes. Acknowledged once Temporal
// holds it (the default): 503 each time and nothing stored, and the provider's next delivery, once
// the line is back, goes through. Acknowledged once stored (WEBHOOK_ACK=inbox): 200, the event
// waits in the inbox with why, and the relay forwards it once the line is back, without another
// delivery. Either way no payment starts half-way and it is paid once.
func TestTemporalUnreachable(t *testing.T) {
	t.Run("ack once Temporal holds it", func(t *testing.T) {
		s, body, id := temporalDown(t, server.AckOnTemporal, "gone")
		// Each answer waits for the API's Temporal deadline (10 s): the three are sent at once.
		var wg sync.WaitGroup
		for range 3 {
			wg.Go(func() {
				code, out := s.StripeWebhook(sign(body))
				assert.Equal(t, http.StatusServiceUnavailable, code, "the provider must deliver again: %v", out)
			})
		}
		wg.Wait()
		_, err := s.Store.GetPayment(context.Background(), id)
		require.ErrorIs(t, err, store.ErrNotFound, "nothing was stored for a webhook Temporal never took")
		var stored int
		require.NoError(t, s.Pool.QueryRow(context.Background(), `SELECT count(*) FROM webhook_inbox WHERE event_id = 'evt_pi_gone1'`).Scan(&stored))
		require.Zero(t, stored, "and nothing waits anywhere")

		s.TemporalLine.Restore()
		events := 3 + deliver(t, s, body, 1)
		s.AwaitStatus(id, 30*time.Second, ipayment.StatusPaid)
		finish(t, s, events, 1, 1)
	})
	t.Run("ack once stored", func(t *testing.T) {
		s, body, id := temporalDown(t, server.AckOnStore, "gone-inbox")
		var answers []string
		for range 3 {
			code, out := s.StripeWebhook(sign(body))
			require.Equal(t, http.StatusOK, code, "the event is stored while Temporal is away: %v", out)
			answers = append(answers, fmt.Sprint(out["status"]))
		}
		require.Equal(t, []string{"accepted", "duplicate", "duplicate"}, answers)

		// The relay tried, failed and keeps the event for later; no payment exists half-way.
		require.EventuallyWithT(t, func(c *assert.CollectT) {
			var attempts int
			var lastError *string
			var forwarded *time.Time
			require.NoError(c, s.Pool.QueryRow(context.Background(), `SELECT attempts, last_error, forwarded_at FROM webhook_inbox
				WHERE provider = 'stripe' AND event_id = 'evt_pi_gone-inbox1'`).Scan(&attempts, &lastError, &forwarded))
			assert.GreaterOrEqual(c, attempts, 1)
			assert.NotNil(c, lastError, "the failed attempt says why")
			assert.Nil(c, forwarded)
		}, 30*time.Second, 100*time.Millisecond)
		_, err := s.Store.GetPayment(context.Background(), id)
		require.ErrorIs(t, err, store.ErrNotFound, "nothing ran for an event Temporal never took")

		s.TemporalLine.Restore()
		s.AwaitStatus(id, 30*time.Second, ipayment.StatusPaid)

		// A refund acknowledged while Temporal is away again is applied once it is back: the
		// provider was told it was taken and will not send it again.
		s.TemporalLine.Cut()
		refund := stripeevent.Refund{EventID: "evt_gone-inbox_re", PaymentIntent: "pi_gone-inbox1", Charge: "ch_pi_gone-inbox1",
			Currency: "usd", Amount: 11000, AmountRefunded: 2750, Created: time.Now()}
		code, out := s.StripeWebhook(sign(refund.Body()))
		require.Equal(t, http.StatusOK, code, "stored while Temporal is away: %v", out)
		require.EventuallyWithT(t, func(c *assert.CollectT) {
			var lastError *string
			var forwarded *time.Time
			require.NoError(c, s.Pool.QueryRow(context.Background(), `SELECT last_error, forwarded_at FROM webhook_inbox
				WHERE provider = 'stripe' AND event_id = 'evt_gone-inbox_re'`).Scan(&lastError, &forwarded))
			assert.NotNil(c, lastError, "the relay tried while Temporal was away, and failed")
			assert.Nil(c, forwarded, "a refund Temporal did not take is not forwarded")
		}, 30*time.Second, 100*time.Millisecond)
		s.TemporalLine.Restore()
		s.AwaitStatus(id, 30*time.Second, ipayment.StatusPartiallyRefunded)
		finish(t, s, 4, 2, 2)
	})
}

// temporalDown starts a stack whose API reaches Temporal through a line that is cut, with a
// seeded client (the rule is chosen by the capture's time, so the client exists first).
func temporalDown(t *testing.T, ack server.WebhookAck, client string) (*stack.Stack, []byte, string) {
	s := stack.New(t, stack.Options{Settings: open, CuttableTemporal: true, WebhookAck: ack})
	s.Seed(client)
	s.TemporalLine.Cut()
	pi := "pi_" + client + "1"
	return s, stack.Capture(client, pi).Body(), payment.WorkflowID("stripe", pi)
}

// TestAPIReplicaStopsAfterAcknowledging: a replica acknowledges captures and is stopped at once
// (a scale-in, a deploy's SIGTERM) while its relay may still hold some of them; one more request
// reaches it while it stops. Nothing is lost or forwarded twice: what it held it releases, what it
// took after stopping it stores for a claim, and the other replica's relay forwards the rest.
func TestAPIReplicaStopsAfterAcknowledging(t *testing.T) {
	s := stack.New(t, stack.Options{Settings: open, WebhookAck: server.AckOnStore})
	s.Seed("scale")
	replica, srv := s.Replica(server.RelayOptions{})
	capture := func(i int) string {
		pi := fmt.Sprintf("pi_scale%d", i)
		code, out := s.StripeWebhookTo(replica.URL, sign(stack.Capture("scale", pi).Body()))
		require.Equal(t, http.StatusOK, code, out)
		require.Equal(t, "accepted", out["status"])
		return payment.WorkflowID("stripe", pi)
	}
	var ids []string
	for i := range 3 {
		ids = append(ids, capture(i))
	}
	require.NoError(t, srv.Close())
	ids = append(ids, capture(3))

	for _, id := range ids {
		s.AwaitStatus(id, 30*time.Second, ipayment.StatusPaid)
	}
	var forwarded int
	require.NoError(t, s.Pool.QueryRow(context.Background(), `SELECT count(*) FROM webhook_inbox
		WHERE event_id LIKE 'evt_pi_scale%' AND forwarded_at IS NOT NULL`).Scan(&forwarded))
	require.Equal(t, 4, forwarded)
	finish(t, s, 4, 4, 1)
}
