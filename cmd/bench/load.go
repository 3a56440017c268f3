package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"paysplit/activities"
	"paysplit/internal/money"
	ipayment "paysplit/internal/payment"
	"paysplit/internal/paypalevent"
	"paysplit/internal/stripeevent"
	"paysplit/workflows/payment"
)

// The day's mix: about 5 % refunds of payments already acknowledged, 1 % re-deliveries, the
// rest captures.
const (
	refundShare    = 0.05
	duplicateShare = 0.01
	// resignAfter: the API refuses signatures older than five minutes (Stripe's tolerance). A
	// pre-signed event still waiting after this is signed again just before it is sent.
	resignAfter = 4 * time.Minute
)

type eventKind string

const (
	kindCapture   eventKind = "capture"
	kindRefund    eventKind = "refund"
	kindDuplicate eventKind = "duplicate"
)

// plannedPayment is one payment of the day and what it must end as.
type plannedPayment struct {
	WorkflowID string
	// Provider is stripe or paypal; Ref is the provider's ID of the payment (payment intent,
	// capture).
	Provider, Ref string
	Currency      string
	Gross         int64
	// Fee is the processing fee the provider says it kept (PayPal's, in its event; stripe-mock's
	// charges hold none), FeeReturned what it says it gave back with the refund.
	Fee, FeeReturned int64
	Client           int
	Affiliate        bool
	// Refunded is the cumulative refund the day sends for it (0: none).
	Refunded   int64
	WantStatus ipayment.Status
	// VendorID and AffiliateID (empty: none) are the payees the order names; WantPlatform,
	// WantVendor and WantAffiliate the shares the client's rule gives them (benchRule.shares).
	VendorID, AffiliateID                   string
	WantPlatform, WantVendor, WantAffiliate int64
}

// event is one webhook delivery, signed before the clock starts.
type event struct {
	Kind     eventKind
	Provider string
	Payment  int
	// Parent is the event that must have been acknowledged before this one is sent (a refund
	// after its capture, a re-delivery after the original); -1 for none.
	Parent   int
	Body     []byte
	sig      string      // Stripe-Signature
	headers  http.Header // PayPal's transmission headers
	signedAt time.Time
}

type day struct {
	Payments   []plannedPayment
	Events     []event
	Refunds    int
	Duplicates int
}

// planDay draws n events for the clients: captures with order metadata, refunds (partial and
// full) of some of them, and re-deliveries of earlier events, each placed well after the event
// it depends on. concurrency spaces them so a dependent event rarely has to wait. A paypalShare
// of the payments are PayPal captures, the rest Stripe payment intents.
func planDay(rng *rand.Rand, n int, clients []benchClient, run string, at time.Time, concurrency int, paypalShare float64) day {
	var d day
	d.Refunds = int(math.Round(float64(n) * refundShare))
	d.Duplicates = int(math.Round(float64(n) * duplicateShare))
	captures := n - d.Refunds - d.Duplicates
	type placed struct {
		ev  event
		pos float64
	}
	var all []placed
	for i := range captures {
		c := rng.IntN(len(clients))
		p, md := order(rng, clients[c], fmt.Sprintf("%s-o%d", clients[c].ID, i+1))
		p.Provider, p.Ref = providerStripe, fmt.Sprintf("pi_b%sx%d", run, i+1)
		if paypalShare > 0 && rng.Float64() < paypalShare {
			p.Provider, p.Ref = providerPayPal, fmt.Sprintf("CAPB%sX%d", run, i+1)
			p.Fee = (p.Gross*349 + 5000) / 10000 // PayPal's 3.49 %, said in the capture event
		}
		p.WorkflowID, p.Client, p.WantStatus = payment.WorkflowID(p.Provider, p.Ref), c, ipayment.StatusPaid
		d.Payments = append(d.Payments, p)
		var body []byte
		if p.Provider == providerPayPal {
			body = paypalevent.Capture{EventID: fmt.Sprintf("WH-B%s-C%d", run, i+1), CaptureID: p.Ref,
				Currency: money.Currency(p.Currency), Amount: p.Gross, Fee: p.Fee, Metadata: md, Created: at}.Body()
		} else {
			body = stripeevent.Capture{
				EventID: fmt.Sprintf("evt_b%sc%d", run, i+1), PaymentIntent: p.Ref, Charge: fmt.Sprintf("ch_b%sx%d", run, i+1),
				Currency: p.Currency, Amount: p.Gross, Metadata: md, Created: at,
			}.Body()
		}
		all = append(all, placed{event{Kind: kindCapture, Provider: p.Provider, Payment: i, Parent: -1, Body: body}, float64(i)})
	}
	gap := func() float64 { return float64(2*concurrency + rng.IntN(max(1, captures/10))) }
	for k, i := range rng.Perm(captures)[:d.Refunds] {
		p := &d.Payments[i]
		if rng.IntN(5) < 3 {
			p.Refunded = max(1, p.Gross*int64(10+rng.IntN(81))/100)
			p.WantStatus = ipayment.StatusPartiallyRefunded
		} else {
			p.Refunded = p.Gross
			p.WantStatus = ipayment.StatusRefunded
		}
		var body []byte
		if p.Provider == providerPayPal {
			// One refund per payment: it is also the capture's total refunded. PayPal gives back
			// the refunded share of its fee.
			p.FeeReturned = p.Fee * p.Refunded / p.Gross
			body = paypalevent.Refund{EventID: fmt.Sprintf("WH-B%s-R%d", run, k+1), RefundID: fmt.Sprintf("REFB%sX%d", run, k+1), CaptureID: p.Ref,
				Currency: money.Currency(p.Currency), Amount: p.Refunded, TotalRefunded: p.Refunded, Fee: p.FeeReturned, Created: at}.Body()
		} else {
			body = stripeevent.Refund{
				EventID: fmt.Sprintf("evt_b%sr%d", run, k+1), PaymentIntent: p.Ref, Charge: fmt.Sprintf("ch_b%sx%d", run, i+1),
				Currency: p.Currency, Amount: p.Gross, AmountRefunded: p.Refunded, Created: at,
			}.Body()
		}
		all = append(all, placed{event{Kind: kindRefund, Provider: p.Provider, Payment: i, Parent: i, Body: body}, float64(i) + gap() + 0.5})
	}
	// Re-deliveries repeat an earlier delivery byte for byte (same event ID), as Stripe and
	// PayPal do (PayPal with a new transmission, which sign gives every event).
	for range d.Duplicates {
		orig := all[rng.IntN(len(all))]
		origIndex := slices.IndexFunc(all, func(x placed) bool { return bytes.Equal(x.ev.Body, orig.ev.Body) })
		all = append(all, placed{event{Kind: kindDuplicate, Provider: orig.ev.Provider, Payment: orig.ev.Payment, Parent: origIndex, Body: orig.ev.Body},
			orig.pos + gap() + 0.25})
	}
	// Parents are indexes into `all`; sorting by position moves them, so map them across.
	perm := make([]int, len(all))
	for i := range perm {
		perm[i] = i
	}
	slices.SortStableFunc(perm, func(a, b int) int {
		switch pa, pb := all[a].pos, all[b].pos; {
		case pa < pb:
			return -1
		case pa > pb:
			return 1
		}
		return 0
	})
	newIndex := make([]int, len(all))
	for to, from := range perm {
		newIndex[from] = to
	}
	for _, from := range perm {
		ev := all[from].ev
		if ev.Parent >= 0 {
			ev.Parent = newIndex[ev.Parent]
		}
		d.Events = append(d.Events, ev)
	}
	return d
}

// order draws an order of a client: subtotal, tax, shipping, discount in the currency's minor
// units (JPY has none), with an affiliate about half the time.
func order(rng *rand.Rand, c benchClient, orderID string) (plannedPayment, map[string]string) {
	scale := int64(100) // cents
	if c.Currency == "jpy" {
		scale = 1
	}
	// Log-uniform 5 to 500 in major units: many small baskets, a few large ones.
	subtotal := int64(math.Exp(math.Log(5)+rng.Float64()*(math.Log(500)-math.Log(5)))*float64(scale)) + 1
	var discount, shipping int64
	if rng.IntN(10) < 3 {
		discount = subtotal * int64(5+rng.IntN(16)) / 100
	}
	if rng.IntN(10) < 6 {
		shipping = int64(3+rng.IntN(13)) * scale
	}
	tax := (subtotal - discount) * int64(rng.IntN(21)) / 100
	p := plannedPayment{Currency: c.Currency, Gross: subtotal - discount + tax + shipping}
	md := map[string]string{
		"client_id": c.ID, "order_id": orderID, "vendor_id": pick(rng, c.Vendors), "platform": pick(rng, activities.Platforms),
		"subtotal": strconv.FormatInt(subtotal, 10), "tax": strconv.FormatInt(tax, 10),
		"shipping": strconv.FormatInt(shipping, 10), "discount": strconv.FormatInt(discount, 10),
	}
	if rng.IntN(2) == 0 {
		p.Affiliate = true
		md["affiliate_id"] = pick(rng, c.Affiliates)
	}
	p.VendorID, p.AffiliateID = md["vendor_id"], md["affiliate_id"]
	p.WantPlatform, p.WantVendor, p.WantAffiliate = c.Rule.shares(p.Gross, subtotal, tax, shipping, discount, p.Affiliate)
	return p, md
}

// sign signs every event now, before the clock starts: Stripe's with the endpoint secret,
// PayPal's by the PayPal fake (pp may be nil when the day has none).
func (d *day) sign(secret string, pp paypalSigner) {
	now := time.Now()
	for i := range d.Events {
		ev := &d.Events[i]
		if ev.Provider == providerPayPal {
			ev.headers = pp.Sign(ev.Body)
		} else {
			ev.sig = stripeevent.Sign(ev.Body, secret, now).Signature
		}
		ev.signedAt = now
	}
}

// delivery is what one webhook request got.
type delivery struct {
	// At is when the first attempt was sent, since the first webhook of the run; Latency is the
	// time from then to the last attempt's answer, retries and their backoff included: how long
	// the provider waited to be told the event was taken.
	At       time.Duration
	Latency  time.Duration
	Status   int
	Outcome  string
	Attempts int
	Err      string
}

// sender delivers the day's webhooks with a fixed number of concurrent senders.
type sender struct {
	base, secret string
	http         *http.Client
	concurrency  int
	// interval between scheduled sends; 0 sends as soon as a sender is free.
	interval time.Duration
	// Latencies of every attempt, including the ones that were retried.
	mu sync.Mutex
	// acks are the deliveries' times to their answer (retries included), of those answered.
	acks     []time.Duration
	resigned atomic.Int64
}

func newSender(apiURL, secret string, concurrency int, rate float64) *sender {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns, tr.MaxIdleConnsPerHost, tr.MaxConnsPerHost = concurrency, concurrency, concurrency
	s := &sender{base: apiURL + "/webhooks/", secret: secret, concurrency: concurrency,
		http: &http.Client{Transport: tr, Timeout: 30 * time.Second}}
	if rate > 0 {
		s.interval = time.Duration(float64(time.Second) / rate)
	}
	return s
}

// send delivers every event as fast as the API acknowledges them and returns what each got and
// when the first was sent. A dependent event waits for its parent's acknowledgement.
func (s *sender) send(ctx context.Context, events []event, bar *progress) ([]delivery, time.Time) {
	defer bar.finish()
	out := make([]delivery, len(events))
	acked := make([]chan struct{}, len(events))
	for i := range acked {
		acked[i] = make(chan struct{})
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range s.concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(events) {
					return
				}
				if s.interval > 0 {
					// Paced: event i goes at its slot (or as soon after as a sender is free).
					select {
					case <-time.After(time.Until(start.Add(time.Duration(i) * s.interval))):
					case <-ctx.Done():
					}
				}
				if p := events[i].Parent; p >= 0 {
					select {
					case <-acked[p]:
					case <-ctx.Done():
					}
				}
				out[i] = s.deliver(ctx, &events[i], start)
				close(acked[i])
				bar.add(1)
			}
		}()
	}
	wg.Wait()
	return out, start
}

// deliver sends one event, retrying 5xx and network errors with backoff as Stripe would.
func (s *sender) deliver(ctx context.Context, ev *event, start time.Time) delivery {
	var d delivery
	var first time.Time
	backoff := 100 * time.Millisecond
	for d.Attempts < 8 {
		if ctx.Err() != nil {
			d.Err = ctx.Err().Error()
			return d
		}
		if ev.Provider != providerPayPal && time.Since(ev.signedAt) > resignAfter {
			ev.sig, ev.signedAt = stripeevent.Sign(ev.Body, s.secret, time.Now()).Signature, time.Now()
			s.resigned.Add(1)
		}
		d.Attempts++
		if d.Attempts == 1 {
			first = time.Now()
			d.At = first.Sub(start)
		}
		d.Status, d.Outcome, d.Err = s.post(ctx, ev)
		d.Latency = time.Since(first)
		if d.Err == "" && d.Status < 500 {
			s.mu.Lock()
			s.acks = append(s.acks, d.Latency)
			s.mu.Unlock()
			return d
		}
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
		}
		backoff = min(2*backoff, 5*time.Second)
	}
	return d
}

func (s *sender) post(ctx context.Context, ev *event) (status int, outcome, errText string) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.base+ev.Provider, bytes.NewReader(ev.Body))
	if err != nil {
		return 0, "", err.Error()
	}
	for k, v := range ev.headers {
		req.Header[k] = v
	}
	if ev.sig != "" {
		req.Header.Set("Stripe-Signature", ev.sig)
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	res, err := s.http.Do(req)
	if err != nil {
		return 0, "", err.Error()
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
	var answer struct {
		Status string `json:"status"`
		Error  struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	_ = json.Unmarshal(body, &answer)
	if res.StatusCode != http.StatusOK {
		return res.StatusCode, answer.Error.Code, fmt.Sprintf("%s: %s", res.Status, bytes.TrimSpace(body))
	}
	return res.StatusCode, answer.Status, ""
}
