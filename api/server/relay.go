package server

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/propagation"

	"paysplit/internal/batch"
	"paysplit/internal/store"
	"paysplit/workflows/payment"
)

// The webhook inbox (Deps.WebhookAck = AckOnStore): a verified provider event is acknowledged
// once it is stored in Postgres (Stripe asks for a 2xx quickly, before any processing), and this
// relay forwards it to its payment's workflow. Acknowledgements then cost one insert however busy
// Temporal is, and an event that arrives while Temporal is down is not lost: it waits here until
// Temporal is back.
// Every API replica runs a relay; they share the queue through leases (FOR UPDATE SKIP LOCKED).

// RelayOptions tunes the relay; zero values take the defaults.
type RelayOptions struct {
	// Parallel is how many events are forwarded at once (default 32).
	Parallel int
	// Batch is how many events one claim takes (default 4 × Parallel).
	Batch int
	// Poll is how often the queue is checked without a local arrival (default 1s): for events
	// stored by other replicas and for retries.
	Poll time.Duration
	// Lease is how long a claimed event is left to its relay (default 30s).
	Lease time.Duration
	// MaxBackoff caps the wait between attempts at one event (default 1 minute).
	MaxBackoff time.Duration
	// Buffer is how many events this API may hold in memory to forward without a claim
	// (default 4096, a few MiB: a burst this size costs one write per event less).
	Buffer int
}

func (o RelayOptions) withDefaults() RelayOptions {
	if o.Parallel <= 0 {
		o.Parallel = 32
	}
	if o.Batch <= 0 {
		o.Batch = 4 * o.Parallel
	}
	if o.Poll <= 0 {
		o.Poll = time.Second
	}
	if o.Lease <= 0 {
		o.Lease = 30 * time.Second
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = time.Minute
	}
	if o.Buffer <= 0 {
		o.Buffer = 4096
	}
	return o
}

type relay struct {
	store     *store.Store
	taskQueue string
	// deliver hands an event to Temporal: ev as this build reads it, stored as the inbox holds it
	// (what is sent).
	deliver func(ctx context.Context, provider, paymentID string, ev payment.Event, stored json.RawMessage) (string, error)
	logger  *slog.Logger
	opts    RelayOptions
	kick    chan struct{}
	// local carries events this API stored already leased to itself, so they are forwarded
	// from memory without a claim; slots bounds them (a full buffer stores events unleased,
	// for a claim to take).
	local     chan store.InboxEvent
	slots     chan struct{}
	forwarded *prometheus.CounterVec
	stop      context.CancelFunc
	done      chan struct{}
	// closing turns the fast path off: once the relay stops, events are stored for a claim.
	closing atomic.Bool
}

// reserve takes a slot in the local buffer, or reports that it is full; it never blocks.
func (r *relay) reserve() bool {
	if r.closing.Load() {
		return false
	}
	select {
	case r.slots <- struct{}{}:
		return true
	default:
		return false
	}
}

// release gives back a slot reserve took for an event that was not stored.
func (r *relay) release() { <-r.slots }

// hand passes a stored, self-leased event to the relay; its slot was reserved first.
func (r *relay) hand(e store.InboxEvent) { r.local <- e }

// wake tells the relay an event arrived; it never blocks.
func (r *relay) wake() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

func (r *relay) start() {
	ctx, cancel := context.WithCancel(context.Background())
	r.stop, r.done = cancel, make(chan struct{})
	go func() {
		defer close(r.done)
		r.run(ctx)
	}()
}

// close stops the relay and waits for the batch in flight. What it holds and did not forward
// (handed to it, or in a batch cut short) it releases for any relay to claim at once, so a
// rolling deploy does not hold events for a lease; after a crash the lease does the same, later.
func (r *relay) close() {
	if r.stop == nil {
		return
	}
	r.closing.Store(true)
	r.stop()
	<-r.done
	r.releaseHeld(store.InboxIDs(r.takeHanded(nil, r.opts.Buffer)))
}

// relayStoreTimeout bounds the writes a batch ends with (marking what was forwarded, rescheduling
// what was not). They run on after the relay's context ended, so a stop does not lose them, and
// so need a bound of their own: without one, a Postgres that does not answer (a stalled disk, a
// connection whose peer vanished without a reset, a row lock held elsewhere) kept the relay's
// only loop there, forwarding nothing more, and Shutdown waiting for it past its deadline. A
// write given up on costs a second delivery after the lease, which the workflow takes as a
// duplicate. A variable, so tests can shorten it.
var relayStoreTimeout = 10 * time.Second

// relayClock is this API host's clock as the relay reads it: how long the leases it holds in
// memory have left. A variable, so tests can set it off the database's, as another host's may be.
var relayClock = time.Now

// afterBatch is the context of a batch's closing writes: ctx's values, not its end, and
// relayStoreTimeout.
func afterBatch(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), relayStoreTimeout)
}

// releaseHeld makes events this relay held claimable now.
func (r *relay) releaseHeld(ids []int64) {
	if len(ids) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := r.store.ReleaseInbox(ctx, ids); err != nil {
		r.logger.Warn("webhook relay: releasing held events failed; their lease frees them", "events", len(ids), "error", err)
	}
}

// run forwards what this API hands it as it comes, and claims from the table at start, when an
// event was stored for a claim (kick) and every Poll (other replicas' events, retries due).
func (r *relay) run(ctx context.Context) {
	tick := time.NewTicker(r.opts.Poll)
	defer tick.Stop()
	r.drain(ctx)
	for {
		select {
		case <-ctx.Done():
			return
		case e := <-r.local:
			batch := r.gather(e)
			if ctx.Err() != nil { // stopped while these arrived: the next relay takes them
				r.releaseHeld(store.InboxIDs(batch))
				return
			}
			r.forward(ctx, r.stillHeld(ctx, batch))
		case <-r.kick:
			r.drain(ctx)
		case <-tick.C:
			r.drain(ctx)
		}
	}
}

// gather takes the events handed in since the last batch, up to a batch.
func (r *relay) gather(first store.InboxEvent) []store.InboxEvent {
	<-r.slots
	return r.takeHanded([]store.InboxEvent{first}, r.opts.Batch)
}

// takeHanded appends to taken the events waiting in the local buffer, without waiting, until it
// holds limit, and frees their slots.
func (r *relay) takeHanded(taken []store.InboxEvent, limit int) []store.InboxEvent {
	return batch.Waiting(r.local, taken, limit, func(store.InboxEvent) { <-r.slots })
}

// renewMargin is how much of its lease an event handed in memory must have left to be forwarded
// as it is: a forward of a batch may take that long. Nearer its end, the lease is renewed first.
const renewMargin = 10 * time.Second

// stillHeld returns the events of a batch from memory this relay may still forward. A burst can
// queue more in memory than Temporal takes within a lease; when a lease runs out a claim (by this
// relay's poll or another replica) takes the event from the table, and forwarding the memory copy
// too would deliver it twice (harmless to the payment, but a wasted start, signal or even run).
// Events near the end of their lease are renewed, fenced by their attempt count; those another
// relay claimed, or that were forwarded meanwhile, are dropped.
func (r *relay) stillHeld(ctx context.Context, batch []store.InboxEvent) []store.InboxEvent {
	var fresh, expiring []store.InboxEvent
	for _, e := range batch {
		if e.LeasedUntil.Sub(relayClock()) > renewMargin {
			fresh = append(fresh, e)
		} else {
			expiring = append(expiring, e)
		}
	}
	if len(expiring) == 0 {
		// Each request hands its event over when its own commit returns, so events committed
		// together can reach memory in any order: a payment's events go in arrival order.
		slices.SortFunc(batch, func(a, b store.InboxEvent) int { return cmp.Compare(a.ID, b.ID) })
		return batch
	}
	renewedAt := relayClock()
	held, err := r.store.RenewInbox(ctx, expiring, r.opts.Lease)
	if err != nil {
		r.logger.Warn("webhook relay: renewing leases failed; a claim forwards those events", "events", len(expiring), "error", err)
	}
	kept := map[int64]bool{}
	for _, id := range held {
		kept[id] = true
	}
	for _, e := range expiring {
		if !kept[e.ID] {
			r.forwarded.WithLabelValues(e.Provider, "left_to_claim").Inc()
			continue
		}
		r.forwarded.WithLabelValues(e.Provider, "lease_renewed").Inc()
		e.LeasedUntil = renewedAt.Add(r.opts.Lease)
		fresh = append(fresh, e)
	}
	// A payment's events are forwarded in arrival order.
	slices.SortFunc(fresh, func(a, b store.InboxEvent) int { return cmp.Compare(a.ID, b.ID) })
	return fresh
}

// drain claims and forwards batches until the table holds nothing due for this task queue.
func (r *relay) drain(ctx context.Context) {
	for ctx.Err() == nil {
		batch, err := r.store.ClaimInbox(ctx, r.taskQueue, r.opts.Batch, r.opts.Lease)
		if err != nil {
			if ctx.Err() == nil {
				r.logger.Error("webhook relay: reading the inbox failed", "error", err)
			}
			return
		}
		if len(batch) == 0 {
			return
		}
		r.forward(ctx, batch)
		if len(batch) < r.opts.Batch {
			return
		}
	}
}

// forward hands a batch to Temporal: a payment's events in arrival order, payments in parallel.
func (r *relay) forward(ctx context.Context, batch []store.InboxEvent) {
	groups := map[string][]store.InboxEvent{}
	var order []string
	for _, e := range batch {
		k := e.Provider + "/" + e.PaymentID
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], e)
	}
	var (
		mu   sync.Mutex
		done []int64
		wg   sync.WaitGroup
		sem  = make(chan struct{}, r.opts.Parallel)
	)
	for _, k := range order {
		sem <- struct{}{}
		wg.Add(1)
		go func(events []store.InboxEvent) {
			defer func() { <-sem; wg.Done() }()
			ok := r.forwardInOrder(ctx, events)
			mu.Lock()
			done = append(done, ok...)
			mu.Unlock()
		}(groups[k])
	}
	wg.Wait()
	// A crash before this line forwards these again after the lease: the workflow and Temporal's
	// ID reuse policy make a second delivery of the same event a no-op.
	mctx, cancel := afterBatch(ctx)
	defer cancel()
	if err := r.store.MarkForwarded(mctx, done); err != nil {
		r.logger.Error("webhook relay: marking events forwarded failed", "error", err, "events", len(done))
	}
}

// forwardInOrder delivers one payment's events; the first that fails is rescheduled with the
// rest behind it, so they stay in order. It returns the IDs delivered.
func (r *relay) forwardInOrder(ctx context.Context, events []store.InboxEvent) []int64 {
	var ok []int64
	for i, e := range events {
		outcome, err := r.forwardOne(ctx, e)
		if err != nil {
			r.retryLater(ctx, events[i:], err)
			return ok
		}
		r.forwarded.WithLabelValues(e.Provider, outcome).Inc()
		ok = append(ok, e.ID)
	}
	return ok
}

func (r *relay) forwardOne(ctx context.Context, e store.InboxEvent) (string, error) {
	var ev payment.Event
	if err := json.Unmarshal(e.Event, &ev); err != nil {
		return "", fmt.Errorf("stored event %d is not a payment event: %w", e.ID, err)
	}
	// The workflow's spans continue the trace of the webhook request that brought the event.
	ctx = propagation.TraceContext{}.Extract(ctx, propagation.MapCarrier(e.Trace))
	// Sent as stored: an event a newer replica stored keeps what this build does not know of it.
	return r.deliver(ctx, e.Provider, e.PaymentID, ev, e.Event)
}

func (r *relay) retryLater(ctx context.Context, events []store.InboxEvent, cause error) {
	if ctx.Err() != nil {
		// Stopping: hand them to the next relay now rather than after a backoff or the lease.
		r.releaseHeld(store.InboxIDs(events))
		return
	}
	wait := backoff(events[0].Attempts, r.opts.MaxBackoff)
	r.forwarded.WithLabelValues(events[0].Provider, "retry").Inc()
	r.logger.Warn("webhook relay: Temporal did not take an event; retrying", "provider", events[0].Provider,
		"event_id", events[0].EventID, "attempts", events[0].Attempts, "retry_in", wait, "error", cause)
	rctx, cancel := afterBatch(ctx)
	defer cancel()
	if err := r.store.RetryInboxAfter(rctx, store.InboxIDs(events), wait, cause.Error()); err != nil {
		r.logger.Error("webhook relay: rescheduling failed; the lease retries them", "events", len(events), "error", err)
	}
}

// backoff doubles from 250 ms with each attempt, up to max.
func backoff(attempts int, max time.Duration) time.Duration {
	d := 250 * time.Millisecond
	for i := 1; i < attempts && d < max; i++ {
		d *= 2
	}
	return min(d, max)
}

// Shutdown stops serving (waiting for requests in flight, as echo.Shutdown does), then the inbox
// writer and the relay.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.Echo.Shutdown(ctx)
	s.inbox.Close()
	s.relay.close()
	return err
}

// Close stops serving at once, then the inbox writer's batching (a request still arriving is
// stored alone) and the relay.
func (s *Server) Close() error {
	err := s.Echo.Close()
	s.inbox.Close()
	s.relay.close()
	return err
}

// registerInboxGauges exposes the relay's backlog, read from Postgres once per scrape: a growing
// backlog or an old oldest event means Temporal is not taking events.
func (s *Server) registerInboxGauges() {
	s.metrics.registry.MustRegister(&inboxCollector{store: s.deps.Store, logger: s.deps.Logger})
}

var (
	inboxPendingDesc = prometheus.NewDesc("paysplit_webhook_inbox_pending",
		"Webhook events stored and not yet forwarded to Temporal.", nil, nil)
	inboxOldestDesc = prometheus.NewDesc("paysplit_webhook_inbox_oldest_seconds",
		"How long the oldest unforwarded webhook event has waited.", nil, nil)
)

// inboxCollector reports both backlog gauges from one query. When Postgres does not answer, it
// reports the last backlog it read, its oldest event older by the time since: nothing can be
// forwarded without Postgres, so the backlog is at least that, and an alert on it must not
// resolve as if the inbox had emptied just when events may be piling up.
type inboxCollector struct {
	store  *store.Store
	logger *slog.Logger
	last   lastRead[store.InboxBacklog]
}

func (c *inboxCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- inboxPendingDesc
	ch <- inboxOldestDesc
}

func (c *inboxCollector) Collect(ch chan<- prometheus.Metric) {
	b := c.last.read(time.Now(), c.store.InboxBacklog, func(b store.InboxBacklog, since time.Duration) store.InboxBacklog {
		if b.Pending > 0 {
			b.OldestWait += since
		}
		return b
	}, c.logger, "inbox backlog for metrics: reporting the last one read")
	ch <- prometheus.MustNewConstMetric(inboxPendingDesc, prometheus.GaugeValue, float64(b.Pending))
	ch <- prometheus.MustNewConstMetric(inboxOldestDesc, prometheus.GaugeValue, b.OldestWait.Seconds())
}

// lastRead is a gauge's read of Postgres at each scrape (within 2 s), and the last one that
// answered, which a scrape reports, aged by the time since, when Postgres does not: a backlog
// cannot shrink while nothing can be done about it without Postgres.
type lastRead[T any] struct {
	mu   sync.Mutex
	last T
	at   time.Time
}

// read answers get's reading at now, or, when it fails (logged as msg), the last reading with
// aged applied to it and the time since it was read.
func (l *lastRead[T]) read(now time.Time, get func(context.Context) (T, error), aged func(last T, since time.Duration) T,
	logger *slog.Logger, msg string) T {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	v, err := get(ctx)
	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil {
		logger.Warn(msg, "error", err)
		return aged(l.last, now.Sub(l.at))
	}
	l.last, l.at = v, now
	return v
}
