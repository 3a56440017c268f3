package faults

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"paysplit/internal/money"
	ipayment "paysplit/internal/payment"
	"paysplit/internal/paypalevent"
	"paysplit/internal/stripeevent"
	"paysplit/testenv"
	"paysplit/testenv/stack"
	"paysplit/workflows/payment"
)

// TestSoak mixes what the fixed scenarios test one at a time: a stream of Stripe and PayPal
// payments in USD, JPY and KWD with random orders (tax, shipping, discount, an affiliate
// sometimes, an order with extras delivered by the shop after its payment), random partial and
// full refunds (several partial ones, cumulative as Stripe and PayPal tell them; a Stripe
// payment's first one sometimes before its capture, its last sometimes failing afterwards, in
// the second it was made or later),
// Stripe and PayPal disputes won or lost after the refunds, duplicate deliveries, and faults
// chosen by a seeded RNG: Stripe transfers answered 429 or 500, lost answers, transfers and
// reversals refused until an admin retries, PayPal payouts answered 429, the worker killed (once
// while Stripe holds a transfer's answer) and Postgres cut from the worker. At the end every
// payment is settled or waits for an admin, who retries (and releases) through the API, each
// decision waited on until the run saved what came of it; the books must then agree
// (stack.Check) and the ledger's chain verify.
//
// FAULT_SOAK_PAYMENTS sets the stream's length (default soakDefaultPayments), FAULT_SOAK_SEED
// the seed (default soakDefaultSeed, so the default run is the same plan every time; "random"
// draws one from the clock, logged, to explore); a failure prints both to replay it.
func TestSoak(t *testing.T) {
	seed, n := soakParams(t)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("soak failed: replay with FAULT_SOAK_SEED=%d FAULT_SOAK_PAYMENTS=%d go test -run TestSoak ./faults/", seed, n)
		}
	})
	t.Logf("soak: seed %d, %d payments", seed, n)
	// The widened mix (currencies, disputes, refunds before their capture) is drawn from a second
	// stream of the same seed: a seed's payments, faults, kills and cuts are what they were before.
	k := newSoak(t, rand.New(rand.NewPCG(uint64(seed), 0x5eed)), rand.New(rand.NewPCG(uint64(seed), 0x3a1d)), n)
	t.Logf("soak: plan %s", k.summary())
	k.run()
	t.Log("soak: stream sent")
	k.decide()
	k.check()
}

// soakDefaultPayments keeps the default run of the suite short (about a minute on CI).
const soakDefaultPayments = 30

// soakDefaultSeed is the default run's seed: a test run that lands code plays one plan, which a
// failure names; exploring other plans is FAULT_SOAK_SEED=random.
const soakDefaultSeed = 1

func soakParams(t *testing.T) (seed int64, n int) {
	seed, n = soakDefaultSeed, soakDefaultPayments
	switch v := os.Getenv("FAULT_SOAK_SEED"); v {
	case "":
	case "random":
		seed = time.Now().UnixNano()
	default:
		var err error
		seed, err = strconv.ParseInt(v, 10, 64)
		require.NoError(t, err, "FAULT_SOAK_SEED")
	}
	if v := os.Getenv("FAULT_SOAK_PAYMENTS"); v != "" {
		var err error
		n, err = strconv.Atoi(v)
		require.NoError(t, err, "FAULT_SOAK_PAYMENTS")
	}
	return seed, n
}

// soakFault is what strikes one payment.
type soakFault int

const (
	faultNone            soakFault = iota
	faultTransfer429               // the vendor transfer meets a 429 once
	faultTransfer500s              // two 500s: the third attempt goes through
	faultTransferLost              // Stripe makes the vendor transfer, its answer is lost once
	faultTransferRefused           // refused until an admin retries
	faultReversalRefused           // the vendor's reversal refused until an admin retries
	faultPayout429                 // PayPal: the vendor payout meets a 429 once
)

// soakDispute is how a Stripe payment's dispute, if any, ends.
type soakDispute int

const (
	disputeNone soakDispute = iota
	disputeWon
	disputeLost
)

var faultNames = [...]string{"none", "transfer 429", "transfer 500s", "transfer answer lost", "transfer refused",
	"reversal refused", "payout 429"}

// soakPayment is one payment of the stream and what the test told about it.
type soakPayment struct {
	i        int
	paypal   bool
	currency money.Currency // usd, jpy (no minor unit) or kwd (three)
	client   string
	id       string // workflow ID
	ref      string // PaymentIntent or PayPal capture ID
	order    ipayment.Order
	gross    int64
	late     bool    // the order comes from the shop after the payment (Stripe only)
	refunds  []int64 // cumulative refunded after each refund event
	dups     int     // deliveries of each event at once (and as many later)
	waitPaid bool    // refunds wait until the payment settled
	// refundFirst: the first refund is delivered before the capture (Stripe sends events in
	// no order); the capture then comes to the run the refund started.
	refundFirst bool
	// dispute: a payment disputed after its refunds, for what they left, won or lost. Stripe
	// withdraws the funds with a dispute fee (and reinstates them when won); PayPal takes a lost
	// dispute's money with a reversal of its own.
	dispute soakDispute
	// refundFails: a Stripe payment's last refund fails after it was told (the card expired):
	// Stripe says so with charge.refund.updated and refund.failed, and the payees are paid their
	// part of it again.
	refundFails bool
	// failsAtOnce: that failure is told in the second the refund was made (a card the issuer
	// refuses refunds on): the refund's own charge.refunded and its failure carry the same time.
	failsAtOnce bool
	fault       soakFault
	mu          sync.Mutex
	made        map[int]time.Time // when each refund was told, for its failure
	struck      int               // faults injected so far
	cleared     bool              // an admin decided: the refusal is lifted
}

// wantRefunded is what the payment has refunded in the end: its refunds, and what a lost
// dispute took (the rest of the gross).
func (p *soakPayment) wantRefunded() int64 {
	if p.dispute == disputeLost {
		return p.gross
	}
	return p.refundedInTheEnd()
}

// refundedInTheEnd is what the refunds refunded once the last one failed, if it does.
func (p *soakPayment) refundedInTheEnd() int64 {
	if p.refundFails && len(p.refunds) > 1 {
		return p.refunds[len(p.refunds)-2]
	}
	if p.refundFails {
		return 0
	}
	return p.refunded()
}

// refundMade is when the j-th refund was made: the first call's time.
func (p *soakPayment) refundMade(j int) time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.made == nil {
		p.made = map[int]time.Time{}
	}
	if _, ok := p.made[j]; !ok {
		p.made[j] = time.Now()
	}
	return p.made[j]
}

func (p *soakPayment) refunded() int64 {
	if len(p.refunds) == 0 {
		return 0
	}
	return p.refunds[len(p.refunds)-1]
}

// strike reports whether the payment's fault strikes once more, and counts it.
func (p *soakPayment) strike(limit int) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cleared || (limit > 0 && p.struck >= limit) {
		return false
	}
	p.struck++
	return true
}

type soak struct {
	t        *testing.T
	s        *stack.Stack
	rng      *rand.Rand
	wide     *rand.Rand // the widened mix's draws (TestSoak)
	runID    string
	payments []*soakPayment
	byID     map[string]*soakPayment
	pg       *testenv.TCPProxy
	hold     *holdHook
	env      map[string]string

	mu      sync.Mutex
	worker  *testenv.WorkerProcess
	workers []*testenv.WorkerProcess // every one started, for their logs
	events  int
	unique  int
	globals int // worker kills, Postgres cuts
}

func newSoak(t *testing.T, rng, wide *rand.Rand, n int) *soak {
	settings := payment.Settings{SettleWindow: time.Hour, StripeAttempts: 3, StripeRetryInterval: 50 * time.Millisecond,
		PayoutTimeout: 3 * time.Second}
	s := stack.New(t, stack.Options{Settings: settings, NoWorker: true, PayPal: true})
	// IDs of this run's own: Temporal outlives the test, and the runs stay open.
	k := &soak{t: t, s: s, rng: rng, wide: wide, runID: strconv.FormatInt(time.Now().UnixNano(), 36), byID: map[string]*soakPayment{}}
	s.Seed("soaka")
	s.Seed("soakb")
	s.SeedPayPal("soakp", "SOAKVENDOR001", "soak-affiliate@example.com")
	u, err := url.Parse(s.DatabaseURL)
	require.NoError(t, err)
	k.pg = testenv.NewTCPProxy(t, u.Host)
	u.Host = k.pg.Addr
	k.env = s.WorkerEnv()
	k.env["DATABASE_URL"] = u.String()
	for i := range n {
		k.payments = append(k.payments, k.plan(i))
	}
	for _, p := range k.payments {
		k.byID[p.id] = p
	}
	k.planFailsAtOnce()
	s.Stripe.Inject = k.injectStripe
	s.Stripe.LoseAnswer = k.loseStripe
	k.hold = newHoldHook()
	s.Stripe.AfterForward = k.hold.afterForward
	s.PayPal.FailPayout = k.failPayout
	k.startWorker()
	t.Cleanup(func() {
		if t.Failed() {
			k.mu.Lock()
			defer k.mu.Unlock()
			for i, w := range k.workers {
				log := w.Log()
				t.Logf("soak: worker %d's log (tail):\n%s", i, log[max(0, len(log)-3000):])
			}
			k.explainUnsettled()
		}
	})
	return k
}

// explainUnsettled logs, for each payment not in the status it should end in, its plan, what
// its run waits on in Temporal and the workers' log lines about it.
func (k *soak) explainUnsettled() {
	ctx := context.Background()
	for _, p := range k.payments {
		rec, err := k.s.Store.GetPayment(ctx, p.id)
		if err == nil && rec.Status == wantStatus(p) && rec.Refunded == p.wantRefunded() {
			continue
		}
		k.t.Logf("soak: %s not settled (%s, %s): plan %s, fault %s, refunds %v of %d, refund first %v, last fails %v (at once %v), dispute %d, late %v, waitPaid %v, dups %d",
			p.id, rec.Status, rec.Reason, p.currency, faultNames[p.fault], p.refunds, p.gross, p.refundFirst, p.refundFails, p.failsAtOnce, p.dispute, p.late, p.waitPaid, p.dups)
		if desc, err := k.s.Temporal.DescribeWorkflow(ctx, p.id, ""); err == nil {
			d := desc.RawResponse
			k.t.Logf("soak: %s in Temporal: %s, pending task %v, activities %v", p.id, d.GetWorkflowExecutionInfo().GetStatus(),
				d.GetPendingWorkflowTask(), d.GetPendingActivities())
		}
		var lines []string
		for _, w := range k.workers {
			for line := range strings.Lines(w.Log()) {
				if strings.Contains(line, p.id) {
					lines = append(lines, line)
				}
			}
		}
		k.t.Logf("soak: %s in the workers' logs (last 30 of %d lines):\n%s", p.id, len(lines), strings.Join(lines[max(0, len(lines)-30):], ""))
	}
}

// summary counts the plan's payments by rail and fault, for the log.
func (k *soak) summary() string {
	counts := map[string]int{}
	for _, p := range k.payments {
		counts[faultNames[p.fault]]++
		counts[string(p.currency)]++
		if p.refundFirst {
			counts["refund first"]++
		}
		if p.refundFails {
			counts["refund fails"]++
		}
		if p.failsAtOnce {
			counts["refund fails at once"]++
		}
		if p.dispute != disputeNone {
			counts[[]string{"", "dispute won", "dispute lost"}[p.dispute]]++
		}
		if p.paypal {
			counts["paypal"]++
		}
		if p.late {
			counts["order late"]++
		}
		if len(p.refunds) > 0 {
			counts[fmt.Sprintf("%d refunds", len(p.refunds))]++
		}
	}
	return fmt.Sprint(counts)
}

// plan draws one payment: its rail, order, refunds, deliveries and fault.
func (k *soak) plan(i int) *soakPayment {
	r := k.rng
	p := &soakPayment{i: i, paypal: r.IntN(5) == 0, dups: 1 + r.IntN(2), waitPaid: r.IntN(2) == 0}
	p.client = []string{"soaka", "soakb"}[r.IntN(2)]
	if p.paypal {
		p.client = "soakp"
	}
	p.ref = fmt.Sprintf("soak%d-%s", i, k.runID)
	if !p.paypal {
		p.ref = "pi_" + p.ref
	}
	o := ipayment.Order{ClientID: p.client, OrderID: "order-" + p.ref, VendorID: p.client + "-vendor", Platform: "shopify",
		Subtotal: 1000 + r.Int64N(20000), Currency: "usd"}
	if r.IntN(2) == 0 {
		o.Tax = r.Int64N(o.Subtotal / 5)
	}
	if r.IntN(2) == 0 {
		o.Shipping = r.Int64N(1500)
	}
	if r.IntN(3) == 0 {
		o.Discount = r.Int64N(o.Subtotal / 4)
	}
	if r.IntN(2) == 0 {
		o.AffiliateID = p.client + "-aff"
	}
	p.late = !p.paypal && r.IntN(4) == 0
	if p.late && r.IntN(2) == 0 {
		o.Extras = 1 + r.Int64N(800)
	}
	p.order = o
	p.gross = o.Subtotal - o.Discount + o.Tax + o.Shipping + o.Extras
	p.refunds = k.planRefunds(p.gross)
	p.fault = k.planFault(p)
	k.planWide(p)
	if p.paypal {
		p.id = payment.WorkflowID("paypal", p.ref)
	} else {
		p.id = payment.WorkflowID("stripe", p.ref)
	}
	return p
}

// planRefunds draws none, one or several cumulative refunds, the last sometimes in full.
func (k *soak) planRefunds(gross int64) []int64 {
	var out []int64
	var total int64
	for range k.rng.IntN(4) {
		if total >= gross {
			break
		}
		step := 1 + k.rng.Int64N((gross-total+1)/2)
		if k.rng.IntN(4) == 0 {
			step = gross - total
		}
		total += step
		out = append(out, total)
	}
	return out
}

// planWide draws, from the second stream, the payment's currency (a quarter of them JPY, a
// quarter KWD on Stripe; a quarter JPY on PayPal), whether its first refund comes before its
// capture, and whether it is disputed.
func (k *soak) planWide(p *soakPayment) {
	r := k.wide
	p.currency = money.USD
	switch c := r.IntN(4); {
	case c == 0:
		p.currency = money.JPY
	case c == 1 && !p.paypal:
		p.currency = money.KWD
	}
	p.order.Currency = p.currency
	p.refundFirst = !p.paypal && !p.late && len(p.refunds) > 0 && r.IntN(6) == 0
	p.refundFails = !p.paypal && len(p.refunds) > 0 && r.IntN(5) == 0
	if r.IntN(8) == 0 && p.refundedInTheEnd() < p.gross {
		p.dispute = soakDispute(1 + r.IntN(2))
	}
}

// planFailsAtOnce has every other failing refund fail in the second it was made, the first of
// them or the second as one draw from the second stream says: a plan with two failing refunds
// plays both kinds. It draws after every payment's plan, so that a seed's draws before it, from
// either stream, stay as they were.
func (k *soak) planFailsAtOnce() {
	nth := k.wide.IntN(2)
	for _, p := range k.payments {
		if p.refundFails {
			p.failsAtOnce = nth%2 == 0
			nth++
		}
	}
}

func (k *soak) planFault(p *soakPayment) soakFault {
	if k.rng.IntN(3) != 0 {
		return faultNone
	}
	if p.paypal {
		return faultPayout429
	}
	f := soakFault(1 + k.rng.IntN(int(faultReversalRefused)))
	if f == faultReversalRefused && p.refunded() == 0 { // a lost dispute, drawn later, is not counted on
		return faultTransfer429
	}
	return f
}

// run sends the stream, a few payments at a time, with the worker killed (once while Stripe
// holds a transfer's answer) and Postgres cut at drawn points.
func (k *soak) run() {
	n := len(k.payments)
	// Two kills and a cut in the default run, more in a longer one.
	kills, cuts := map[int]bool{}, map[int]bool{}
	for range 2 + n/50 {
		kills[k.rng.IntN(max(n, 1))] = true
	}
	for range 1 + n/100 {
		cuts[k.rng.IntN(max(n, 1))] = true
	}
	holdAt := k.rng.IntN(max(n/2, 1))
	sem := make(chan struct{}, 4)
	var sends, faults sync.WaitGroup
	streamDone := make(chan struct{})
	for i, p := range k.payments {
		switch {
		case i == holdAt:
			faults.Go(func() { k.holdThenKill(streamDone) })
		case kills[i]:
			k.killWorker()
		}
		if cuts[i] {
			k.cutPostgres()
		}
		sem <- struct{}{}
		sends.Go(func() {
			defer func() { <-sem }()
			k.send(p)
		})
	}
	sends.Wait()
	close(streamDone)
	faults.Wait()
}

// killWorker kills the worker and starts another, as a crash and its restart.
func (k *soak) killWorker() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.worker.Kill(k.t)
	k.startWorker()
	k.globals++
	k.t.Log("soak: worker killed and restarted")
}

// startWorker starts a worker program, the one a kill ends next.
func (k *soak) startWorker() {
	k.worker = testenv.StartWorker(k.t, k.env)
	k.workers = append(k.workers, k.worker)
}

// holdHook holds the answer of the first transfer Stripe makes once armed (holdThenKill). It is
// installed before the stack runs: the proxy reads AfterForward unlocked.
type holdHook struct {
	armed   atomic.Bool
	once    sync.Once
	arrived chan string
	held    chan struct{}
}

func newHoldHook() *holdHook {
	return &holdHook{arrived: make(chan string, 1), held: make(chan struct{})}
}

func (h *holdHook) afterForward(c testenv.StripeCall) {
	if !h.armed.Load() || c.Path != "/v1/transfers" || c.Replayed || c.Status != http.StatusOK {
		return
	}
	h.once.Do(func() {
		h.arrived <- c.IdempotencyKey
		<-h.held
	})
}

// holdThenKill holds the answer of the next transfer Stripe makes and, once one is held, kills
// the worker that sent it and lets the answer go to nobody; a new worker must find the transfer
// by its key. Should no transfer come before the stream is sent, the worker is killed anyway.
func (k *soak) holdThenKill(streamDone <-chan struct{}) {
	k.hold.armed.Store(true)
	select {
	case key := <-k.hold.arrived:
		k.t.Logf("soak: worker killed while Stripe held the answer for %s", key)
	case <-streamDone:
		k.t.Log("soak: no transfer to hold came; worker killed")
	}
	k.killWorker()
	k.hold.armed.Store(false)
	close(k.hold.held)
}

// cutPostgres cuts the worker's line to Postgres for two seconds once the worker polls: the
// worker program stops when it cannot migrate at start, for its orchestrator to restart it,
// which the soak does not play. No kill meanwhile, for the same reason.
func (k *soak) cutPostgres() {
	k.mu.Lock()
	defer k.mu.Unlock()
	require.Eventually(k.t, func() bool { return strings.Contains(k.worker.Log(), "Started Worker") }, 60*time.Second, 50*time.Millisecond,
		"the worker started")
	k.pg.Cut()
	k.t.Log("soak: the worker's Postgres line cut for 2 s")
	time.Sleep(2 * time.Second) // how long Postgres is away, not a wait for an outcome
	k.pg.Restore()
	k.globals++
}

// send delivers one payment's events: the capture (and the shop's order when it comes late),
// then its refunds, each delivered p.dups times at once and as many times later.
func (k *soak) send(p *soakPayment) {
	t := k.t
	if p.refundFirst {
		k.count(k.deliverRefund(p, 0, p.refunds[0], p.refunds[0]))
	}
	if p.paypal {
		k.count(deliverPayPal(t, k.s, k.payPalCapture(p).Body(), p.dups))
	} else {
		k.count(deliver(t, k.s, k.stripeCapture(p).Body(), p.dups))
	}
	if p.late {
		k.s.AwaitStatus(p.id, 60*time.Second, ipayment.StatusAwaitingMetadata)
		deliverOrder(t, k.s, p.order)
	}
	for j, total := range p.refunds {
		if j == 0 && p.refundFirst {
			continue
		}
		if p.waitPaid && j == 0 {
			k.awaitSettled(p, 60*time.Second, 0, soakWaiting...)
		}
		amount := total
		if j > 0 {
			amount -= p.refunds[j-1]
		}
		k.count(k.deliverRefund(p, j, amount, total))
	}
	if p.refundFails {
		k.count(k.deliverRefundFailed(p))
	}
	if p.dispute != disputeNone {
		if p.waitPaid && len(p.refunds) == 0 {
			k.awaitSettled(p, 60*time.Second, 0, soakWaiting...)
		}
		k.count(k.deliverDispute(p))
	}
}

// deliverPayPalDispute opens a PayPal dispute of amount and resolves it for the seller (won) or
// for the buyer, PayPal having reversed that much of the capture (lost), each event delivered
// p.dups times at once and as many later.
func (k *soak) deliverPayPalDispute(p *soakPayment, amount int64) int {
	d := paypalevent.Dispute{DisputeID: "PP-D-" + p.ref, CaptureID: p.ref, Currency: p.currency, Amount: amount}
	bodies := [][]byte{}
	d.EventID, d.Type, d.Created = "WH-DSP-"+p.ref+"-1", "CUSTOMER.DISPUTE.CREATED", time.Now()
	bodies = append(bodies, d.Body())
	d.EventID, d.Type, d.Outcome = "WH-DSP-"+p.ref+"-2", "CUSTOMER.DISPUTE.RESOLVED", "RESOLVED_SELLER_FAVOUR"
	if p.dispute == disputeLost {
		bodies = append(bodies, paypalevent.Reversal{EventID: "WH-REV-" + p.ref, ReversalID: "REV-" + p.ref, CaptureID: p.ref,
			Currency: p.currency, Amount: amount, Created: time.Now()}.Body())
		d.Outcome = "RESOLVED_BUYER_FAVOUR"
	}
	d.Created = time.Now()
	bodies = append(bodies, d.Body())
	events := 0
	for _, b := range bodies {
		events += deliverPayPal(k.t, k.s, b, p.dups)
	}
	return events
}

// deliverRefundFailed tells that the payment's last refund failed, as charge.refund.updated and
// refund.failed, each delivered p.dups times at once and as many later.
func (k *soak) deliverRefundFailed(p *soakPayment) int {
	j := len(p.refunds) - 1
	amount := p.refunds[j] - p.refundedInTheEnd()
	// Stripe tells most refunds' failures days after the refund (the card's bank sends it back):
	// those come in a later second. Events carry whole seconds; a failure told in the refund's
	// own second (failsAtOnce) is undone from code path 25 only (code path 24 took it as left out
	// of the refund's own figure, undoing nothing: seed 1 with 50 payments failed on it then).
	created := p.refundMade(j)
	if !p.failsAtOnce {
		time.Sleep(time.Until(p.refundMade(j).Truncate(time.Second).Add(time.Second)))
		created = time.Now()
	}
	events := 0
	for _, typ := range []string{"charge.refund.updated", "refund.failed"} {
		f := stripeevent.RefundUpdate{EventID: fmt.Sprintf("evt_%s_re%d_%s", p.ref, j, typ), Type: typ, Refund: fmt.Sprintf("re_%s_%d", p.ref, j),
			PaymentIntent: p.ref, Charge: "ch_" + p.ref, Currency: string(p.currency), Status: "failed", Amount: amount,
			Created: created, Made: p.refundMade(j)}
		events += deliver(k.t, k.s, f.Body(), p.dups)
	}
	return events
}

// deliverDispute opens and closes a dispute of what the payment's refunds left (Stripe takes
// that much from the balance with its 15.00 dispute fee, in the payment's currency's minor
// units, and gives the amount back when the dispute is won), each event delivered p.dups times
// at once and as many later.
func (k *soak) deliverDispute(p *soakPayment) int {
	amount := p.gross - p.refundedInTheEnd()
	if p.paypal {
		return k.deliverPayPalDispute(p, amount)
	}
	funds := []stripeevent.DisputeFunds{{ID: "txn_" + p.ref + "_w", Amount: -amount, Fee: 1500}}
	status := "lost"
	if p.dispute == disputeWon {
		status = "won"
		funds = append(funds, stripeevent.DisputeFunds{ID: "txn_" + p.ref + "_r", Amount: amount})
	}
	events := 0
	for _, d := range []stripeevent.Dispute{
		{EventID: "evt_" + p.ref + "_d1", Type: "charge.dispute.created", Status: "needs_response", Funds: funds[:1]},
		{EventID: "evt_" + p.ref + "_d2", Type: "charge.dispute.closed", Status: status, Funds: funds},
	} {
		d.Dispute, d.PaymentIntent, d.Charge, d.Currency, d.Amount, d.Created = "dp_"+p.ref, p.ref, "ch_"+p.ref, string(p.currency), amount, time.Now()
		events += deliver(k.t, k.s, d.Body(), p.dups)
	}
	return events
}

func (k *soak) count(events int) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.events += events
	k.unique++
}

func (k *soak) stripeCapture(p *soakPayment) stripeevent.Capture {
	md := map[string]string{"client_id": p.client, "order_id": p.order.OrderID}
	if !p.late {
		for k, v := range orderMetadata(p.order) {
			md[k] = v
		}
	}
	return stripeevent.Capture{EventID: "evt_" + p.ref, PaymentIntent: p.ref, Charge: "ch_" + p.ref, Currency: string(p.currency),
		Amount: p.gross, Created: time.Now(), Metadata: md}
}

func (k *soak) payPalCapture(p *soakPayment) paypalevent.Capture {
	c := stack.PayPalCapture(p.client, p.ref, p.order.AffiliateID != "")
	for k, v := range orderMetadata(p.order) {
		c.Metadata[k] = v
	}
	c.Amount, c.Fee, c.Currency = p.gross, payPalFee(p.gross), p.currency
	return c
}

// payPalFee is PayPal's 3.49 % + 0.49, rounded half up.
func payPalFee(gross int64) int64 { return min(gross, (gross*349+5000)/10000+49) }

// orderMetadata is an order as a store plugin puts it in a payment's metadata.
func orderMetadata(o ipayment.Order) map[string]string {
	md := map[string]string{"vendor_id": o.VendorID, "platform": o.Platform, "subtotal": fmt.Sprint(o.Subtotal),
		"tax": fmt.Sprint(o.Tax), "shipping": fmt.Sprint(o.Shipping), "discount": fmt.Sprint(o.Discount)}
	if o.AffiliateID != "" {
		md["affiliate_id"] = o.AffiliateID
	}
	return md
}

// deliverRefund delivers the j-th refund of a payment (amount, total refunded so far).
func (k *soak) deliverRefund(p *soakPayment, j int, amount, total int64) int {
	if p.paypal {
		fee := payPalFee(p.gross)
		r := paypalevent.Refund{EventID: fmt.Sprintf("WH-REF-%s-%d", p.ref, j), RefundID: fmt.Sprintf("REF-%s-%d", p.ref, j),
			CaptureID: p.ref, Currency: p.currency, Amount: amount, TotalRefunded: total, Fee: fee * amount / p.gross, Created: time.Now()}
		return deliverPayPal(k.t, k.s, r.Body(), p.dups)
	}
	r := stripeevent.Refund{EventID: fmt.Sprintf("evt_%s_re%d", p.ref, j), PaymentIntent: p.ref, Charge: "ch_" + p.ref,
		Currency: string(p.currency), Amount: p.gross, AmountRefunded: total, Created: p.refundMade(j)}
	return deliver(k.t, k.s, r.Body(), p.dups)
}

// paymentOfKey is the payment an idempotency key (<workflow>/<kind>/...) belongs to, when the
// rest of the key holds infix.
func (k *soak) paymentOfKey(key, infix string) *soakPayment {
	id, rest, _ := strings.Cut(key, "/")
	if p := k.byID[id]; p != nil && strings.Contains("/"+rest, infix) {
		return p
	}
	return nil
}

var (
	stripe429     = `{"error":{"type":"rate_limit_error","message":"injected: too many requests"}}`
	stripe500     = `{"error":{"type":"api_error","message":"injected: internal error"}}`
	stripeRefused = `{"error":{"type":"invalid_request_error","code":"insufficient_funds","message":"injected: the destination account has insufficient funds."}}`
)

// injectStripe answers the drawn faults' requests before they reach Stripe.
func (k *soak) injectStripe(r *http.Request, _ url.Values) (int, string) {
	if r.Method != http.MethodPost {
		return 0, ""
	}
	key := r.Header.Get("Idempotency-Key")
	if r.URL.Path == "/v1/transfers" {
		p := k.paymentOfKey(key, "/transfer/vendor-")
		if p == nil {
			return 0, ""
		}
		switch {
		case p.fault == faultTransfer429 && p.strike(1):
			return http.StatusTooManyRequests, stripe429
		case p.fault == faultTransfer500s && p.strike(2):
			return http.StatusInternalServerError, stripe500
		case p.fault == faultTransferRefused && p.strike(0):
			return http.StatusBadRequest, stripeRefused
		}
		return 0, ""
	}
	if strings.HasSuffix(r.URL.Path, "/reversals") {
		if p := k.paymentOfKey(key, "/vendor-"); p != nil && p.fault == faultReversalRefused && p.strike(0) {
			return http.StatusBadRequest, stripeRefused
		}
	}
	return 0, ""
}

func (k *soak) loseStripe(c testenv.StripeCall) bool {
	if c.Path != "/v1/transfers" || c.Replayed {
		return false
	}
	p := k.paymentOfKey(c.IdempotencyKey, "/transfer/vendor-")
	return p != nil && p.fault == faultTransferLost && p.strike(1)
}

func (k *soak) failPayout(senderBatchID string) int {
	p := k.paymentOfKey(senderBatchID, "/transfer/vendor-")
	if p != nil && p.fault == faultPayout429 && p.strike(1) {
		return http.StatusTooManyRequests
	}
	return 0
}

var (
	soakSettled = []ipayment.Status{ipayment.StatusPaid, ipayment.StatusPartiallyRefunded, ipayment.StatusRefunded}
	soakWaiting = []ipayment.Status{ipayment.StatusPayoutFailed, ipayment.StatusHeld, ipayment.StatusNeedsAttention}
)

// awaitSettled waits until the payment is settled with every refund told so far applied, or
// waits for an admin, and returns its record.
func (k *soak) awaitSettled(p *soakPayment, within time.Duration, refunded int64, also ...ipayment.Status) ipayment.Record {
	var rec ipayment.Record
	require.EventuallyWithT(k.t, func(c *assert.CollectT) {
		r, err := k.s.Store.GetPayment(context.Background(), p.id)
		if !assert.NoError(c, err) {
			return
		}
		rec = r
		settled := containsStatus(soakSettled, r.Status) && r.Refunded == refunded
		assert.True(c, settled || containsStatus(also, r.Status), "%s (%s, refunded %d of %d told): %s (%s)",
			p.id, faultNames[p.fault], r.Refunded, refunded, r.Status, r.Reason)
	}, within, 100*time.Millisecond)
	return rec
}

func containsStatus(list []ipayment.Status, s ipayment.Status) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// decide waits for every payment to settle or wait for an admin; the admin lifts what refused
// the waiting ones and retries them (releasing a held one), until every payment is settled.
func (k *soak) decide() {
	var waiting []*soakPayment
	for _, p := range k.payments {
		rec := k.awaitSettled(p, 90*time.Second, p.wantRefunded(), soakWaiting...)
		if containsStatus(soakWaiting, rec.Status) {
			waiting = append(waiting, p)
		}
	}
	k.t.Logf("soak: %d of %d payments wait for an admin", len(waiting), len(k.payments))
	for _, p := range waiting {
		p.mu.Lock()
		p.cleared = true
		p.mu.Unlock()
	}
	for round := 0; len(waiting) > 0; round++ {
		require.Less(k.t, round, 5, "payments still waiting for an admin after %d rounds of decisions", round)
		var next []*soakPayment
		for _, p := range waiting {
			before, code, out := k.act(p)
			k.t.Logf("soak: round %d: %s (%s, %s: %s): %d %v", round, p.id, faultNames[p.fault], before.Status, before.Reason, code, out["error"])
			rec := k.awaitMoved(p, before, 60*time.Second)
			if !containsStatus(soakSettled, rec.Status) {
				next = append(next, p)
			}
		}
		waiting = next
	}
	for _, p := range k.payments {
		rec := k.awaitSettled(p, 30*time.Second, p.wantRefunded())
		assert.Equal(k.t, wantStatus(p), rec.Status, "%s (%s): refunds %v of %d, dispute %d", p.id, faultNames[p.fault], p.refunds, p.gross, p.dispute)
	}
}

// act is the admin's decision on a payment that waits: a release when it is held, else a
// retry. It returns the record the decision was made on and the API's answer: 202, or 409 when
// the run has not yet saved what came of an earlier decision (decision_pending) or the payment
// changed meanwhile.
func (k *soak) act(p *soakPayment) (ipayment.Record, int, map[string]any) {
	rec, err := k.s.Store.GetPayment(context.Background(), p.id)
	require.NoError(k.t, err)
	action := "retry"
	if rec.Status == ipayment.StatusHeld {
		action = "release"
	}
	code, out := k.s.Do(http.MethodPost, "/api/v1/admin/payments/"+p.id+"/"+action, nil, stack.AdminKey)
	require.Contains(k.t, []int{http.StatusAccepted, http.StatusConflict}, code, "%s %s (%s, %s): %v", action, p.id, rec.Status, rec.Reason, out)
	return rec, code, out
}

// awaitMoved waits until the run saved what came of a decision made on before: the payment
// settled with every refund told applied, or another status, decision asked or retry of dues
// taken. The API answers a decision at once, before the run takes it, so the record read right
// after it is still before's: a next round of decisions on it would be refused as pending, and
// rounds without a wait end before the run could settle anything.
func (k *soak) awaitMoved(p *soakPayment, before ipayment.Record, within time.Duration) ipayment.Record {
	var rec ipayment.Record
	require.EventuallyWithT(k.t, func(c *assert.CollectT) {
		r, err := k.s.Store.GetPayment(context.Background(), p.id)
		if !assert.NoError(c, err) {
			return
		}
		rec = r
		settled := containsStatus(soakSettled, r.Status) && r.Refunded == p.wantRefunded()
		moved := r.Status != before.Status || r.Decision != before.Decision || r.DueRetries != before.DueRetries
		assert.True(c, settled || moved, "%s (%s): still %s (%s), decision %d, dues retried %d, refunded %d of %d told",
			p.id, faultNames[p.fault], r.Status, r.Reason, r.Decision, r.DueRetries, r.Refunded, p.wantRefunded())
	}, within, 100*time.Millisecond)
	return rec
}

func wantStatus(p *soakPayment) ipayment.Status {
	switch p.wantRefunded() {
	case 0:
		return ipayment.StatusPaid
	case p.gross:
		return ipayment.StatusRefunded
	}
	return ipayment.StatusPartiallyRefunded
}

// check runs the book checks and verifies the ledger's chain.
func (k *soak) check() {
	v, err := k.s.Ledger.Verify(context.Background())
	require.NoError(k.t, err)
	require.True(k.t, v.OK, "ledger chain: %+v", v.Break)
	faults := k.globals
	for _, p := range k.payments {
		faults += p.struck
	}
	finish(k.t, k.s, k.events, k.unique, faults)
}
