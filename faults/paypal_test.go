package faults

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	ipayment "paysplit/internal/payment"
	"paysplit/internal/paypalevent"
	"paysplit/testenv"
	"paysplit/testenv/stack"
	"paysplit/workflows/payment"
)

// deliverPayPal sends a PayPal event n times at once and n times more afterwards, as PayPal
// retries; every answer must be 200 (asserted: it may run on its own goroutine).
func deliverPayPal(t *testing.T, s *stack.Stack, body []byte, n int) int {
	t.Helper()
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			code, out := s.PayPalWebhook(body)
			assert.Equal(t, http.StatusOK, code, out)
		})
	}
	wg.Wait()
	for range n {
		code, out := s.PayPalWebhook(body)
		assert.Equal(t, http.StatusOK, code, out)
	}
	return 2 * n
}

// TestPayPalPayoutsUnderFaults runs four PayPal payments through the real worker program, with
// every delivery sent twice at once and twice later, and PayPal honouring only sender_batch_id
// (not PayPal-Request-Id) to tell a payout sent again:
//   - ppf1: the vendor's payout meets a 429, a 503 and a 500 before PayPal takes it; after it is
//     paid, a partial refund: both payees keep their payouts and owe their parts back;
//   - ppf2: PayPal makes the vendor's and the affiliate's payouts and loses both answers (500);
//     the retry is refused as a duplicate sender_batch_id, with the link to the batch, which is
//     booked; after it, a full refund;
//   - ppf3 (no affiliate): the worker is SIGKILLed once PayPal made the vendor's payout and before
//     it answered; a new worker sends the key again and books the batch PayPal links;
//   - ppf4: a partial refund arrives before its capture, and the affiliate's payout meets a 429:
//     the payees are paid their shares less their parts of the refund.
//
// Each payee leg is paid once, by PayPal's own record, and the books agree (stack.Check).
func TestPayPalPayoutsUnderFaults(t *testing.T) {
	settings := open
	settings.PayoutTimeout = 3 * time.Second // the server notices the dead worker's payout quickly
	s := stack.New(t, stack.Options{Settings: settings, NoWorker: true, PayPal: true})
	const client = "ppf"
	s.SeedPayPal(client, "PPFVENDOR0001", "ppf-affiliate@example.com")
	// Capture IDs of this run's own: Temporal outlives the test, and the runs stay open.
	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	capture := func(c string) string { return c + "-" + run }
	wf := func(c string) string { return payment.WorkflowID("paypal", capture(c)) }
	// The faults find a payout by what it pays (<payment>/transfer/<party>-...), not by its whole
	// key, so they strike the same payouts whatever keys the platform sends.
	vendorKey := func(capture string) string { return wf(capture) + "/transfer/vendor-" }
	affKey := func(capture string) string { return wf(capture) + "/transfer/affiliate-" }
	leg := func(key string) string {
		for _, c := range []string{"PPF1", "PPF2", "PPF3", "PPF4"} {
			for _, k := range []string{vendorKey(c), affKey(c)} {
				if strings.HasPrefix(key, k) {
					return k
				}
			}
		}
		return ""
	}

	var mu sync.Mutex
	faults := 0
	fail := map[string][]int{vendorKey("PPF1"): {429, 503, 500}, affKey("PPF4"): {429}}
	lose := map[string]bool{vendorKey("PPF2"): true, affKey("PPF2"): true}
	s.PayPal.IgnoreRequestIDs = true // only sender_batch_id stops a payout made twice
	s.PayPal.FailPayout = func(key string) int {
		mu.Lock()
		defer mu.Unlock()
		if codes := fail[leg(key)]; len(codes) > 0 {
			fail[leg(key)] = codes[1:]
			faults++
			return codes[0]
		}
		return 0
	}
	s.PayPal.LosePayoutAnswer = func(key string) bool {
		mu.Lock()
		defer mu.Unlock()
		if lose[leg(key)] {
			delete(lose, leg(key)) // the retry is answered: a duplicate, with the link
			faults++
			return true
		}
		return false
	}
	// PPF3's vendor payout is made, then the worker dies before PayPal's answer reaches it.
	arrived, release := make(chan testenv.PayPalPayout, 1), make(chan struct{})
	var once sync.Once
	s.PayPal.PayoutMade = func(p testenv.PayPalPayout) {
		if leg(p.SenderBatchID) == vendorKey("PPF3") {
			once.Do(func() {
				arrived <- p
				<-release
			})
		}
	}
	first := testenv.StartWorker(t, s.WorkerEnv())

	// PPF4's refund comes before its capture: the run waits for the capture with it.
	refund := func(c string, amount, fee int64) []byte {
		return paypalevent.Refund{EventID: "WH-REF-" + capture(c), RefundID: "REF-" + capture(c), CaptureID: capture(c), Currency: "usd",
			Amount: amount, TotalRefunded: amount, Fee: fee, Created: time.Now()}.Body()
	}
	events := deliverPayPal(t, s, refund("PPF4", 5500, 192), 2)
	s.AwaitStatus(wf("PPF4"), 30*time.Second, ipayment.StatusAwaitingCapture)

	var wg sync.WaitGroup
	var sent sync.Mutex
	for _, c := range []struct {
		capture   string
		affiliate bool
	}{{"PPF1", true}, {"PPF2", true}, {"PPF3", false}, {"PPF4", true}} {
		wg.Go(func() {
			n := deliverPayPal(t, s, stack.PayPalCapture(client, capture(c.capture), c.affiliate).Body(), 2)
			sent.Lock()
			events += n
			sent.Unlock()
		})
	}
	var killed testenv.PayPalPayout
	select {
	case killed = <-arrived:
	case <-time.After(60 * time.Second):
		t.Fatalf("PPF3's vendor payout never reached PayPal; worker log:\n%s", first.Log())
	}
	first.Kill(t)
	close(release)
	wg.Wait()
	mu.Lock()
	faults++
	mu.Unlock()
	testenv.StartWorker(t, s.WorkerEnv())

	paid := map[string]ipayment.Record{}
	for _, c := range []string{"PPF1", "PPF2", "PPF3"} {
		paid[c] = s.AwaitStatus(wf(c), 60*time.Second, ipayment.StatusPaid)
	}
	rec4 := s.AwaitStatus(wf("PPF4"), 60*time.Second, ipayment.StatusPartiallyRefunded)
	for _, l := range rec4.Legs {
		if l.Party != "platform" {
			assert.Equal(t, l.Amount-l.Refunded, l.Transferred, "PPF4: the %s, paid after the refund, got its share less its part", l.Party)
		}
	}
	rec3, rec1 := paid["PPF3"], paid["PPF1"]
	assert.Equal(t, killed.ItemID, rec3.Leg("vendor").TransferID, "PPF3: the batch made before the kill is the one booked")
	assert.Zero(t, rec1.Leg("vendor").Attempt, "PPF1: the vendor's first key: none of the answers was a refusal")

	// Refunds after the payouts: a partial one and a full one.
	events += deliverPayPal(t, s, refund("PPF1", 2200, 77), 2)
	events += deliverPayPal(t, s, refund("PPF2", 11000, 384), 2)
	rec1 = s.AwaitStatus(wf("PPF1"), 30*time.Second, ipayment.StatusPartiallyRefunded)
	rec2 := s.AwaitStatus(wf("PPF2"), 30*time.Second, ipayment.StatusRefunded)
	for _, rec := range []ipayment.Record{rec1, rec2} {
		books := s.PaymentBalances(rec.WorkflowID)
		for _, l := range rec.Legs {
			if l.Party == "platform" {
				continue
			}
			assert.Equal(t, l.Amount, l.Transferred, "%s: the %s keeps its whole payout", rec.WorkflowID, l.Party)
			assert.Positive(t, l.Refunded)
			assert.Equal(t, l.Refunded, books[fmt.Sprintf("%s_payable:%s", l.Party, l.PayeeID)],
				"%s: the %s owes its part of the refund back", rec.WorkflowID, l.Party)
			assert.True(t, strings.Contains(l.Reason, "cannot be reversed"), "%s: %s", rec.WorkflowID, l.Reason)
		}
	}

	byKey := map[string]int{}
	for _, p := range s.PayPal.Payouts() {
		byKey[p.SenderBatchID]++
	}
	assert.Len(t, byKey, 7, "one payout per payee leg: %v", byKey)
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, 7, faults, "3 + 1 errors before the payout, 2 answers lost, 1 worker killed")
	finish(t, s, events, 7, faults)
}
