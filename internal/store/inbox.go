package store

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
)

// InboxEvent is a verified provider event waiting to reach its payment's workflow. Event is the
// reduced event the workflow takes, as JSON; Trace is the W3C trace context of the request that
// brought it, so the workflow's spans continue the webhook's trace.
type InboxEvent struct {
	ID        int64
	Provider  string
	EventID   string
	PaymentID string
	// TaskQueue is where the event's workflow runs; only relays for that queue forward it.
	TaskQueue string
	Event     json.RawMessage
	Trace     map[string]string
	Attempts  int
	// LeasedUntil is, for an event its relay holds in memory, when its lease ends at the latest
	// by the relay's own clock (taken before the insert that set the lease).
	LeasedUntil time.Time
}

// InboxIDs are the events' IDs, in their order.
func InboxIDs(events []InboxEvent) []int64 {
	ids := make([]int64, len(events))
	for i, e := range events {
		ids[i] = e.ID
	}
	return ids
}

// AcceptEvent stores a verified event for a relay; first is false when the provider delivered
// this event before (it is already stored or forwarded), so the caller answers "duplicate".
// With lease > 0 the event is stored already claimed (attempt 1, leased for lease) by the caller's
// own relay, which forwards it from memory: no other relay takes it unless that lease runs out.
// id is the stored event's ID when first.
func (s *Store) AcceptEvent(ctx context.Context, e InboxEvent, lease time.Duration) (id int64, first bool, err error) {
	out, err := s.AcceptEvents(ctx, []Accept{{Event: e, Lease: lease}})
	if err != nil {
		return 0, false, err
	}
	return out[0].ID, out[0].First, nil
}

// Accept is one event for AcceptEvents and the lease it is stored under (see AcceptEvent).
type Accept struct {
	Event InboxEvent
	Lease time.Duration
}

// Accepted is what AcceptEvents did with one event: its ID and true when this delivery stored
// it, 0 and false when it was stored before (or earlier in the same call).
type Accepted struct {
	ID    int64
	First bool
}

// AcceptEvents stores events as AcceptEvent does, all in one statement: one commit, one WAL
// flush, however many they are. The result is in the events' order.
func (s *Store) AcceptEvents(ctx context.Context, events []Accept) ([]Accepted, error) {
	out := make([]Accepted, len(events))
	type key struct{ provider, eventID string }
	index := make(map[key]int, len(events)) // first position of each event in the call
	var cols struct {
		provider, eventID, paymentID, queue, event []string
		trace                                      []*string
		attempts                                   []int32
		lease                                      []float64
	}
	for i, a := range events {
		e := a.Event
		k := key{e.Provider, e.EventID}
		if _, dup := index[k]; dup {
			continue // a second delivery inside one call: stored once, by the first
		}
		index[k] = i
		var trace *string
		if len(e.Trace) > 0 {
			b, err := json.Marshal(e.Trace)
			if err != nil {
				return nil, fmt.Errorf("encode trace of %s event %s: %w", e.Provider, e.EventID, err)
			}
			t := string(b)
			trace = &t
		}
		var attempts int32
		if a.Lease > 0 {
			attempts = 1
		}
		cols.provider = append(cols.provider, e.Provider)
		cols.eventID = append(cols.eventID, e.EventID)
		cols.paymentID = append(cols.paymentID, e.PaymentID)
		cols.queue = append(cols.queue, e.TaskQueue)
		cols.event = append(cols.event, string(e.Event))
		cols.trace = append(cols.trace, trace)
		cols.attempts = append(cols.attempts, attempts)
		cols.lease = append(cols.lease, max(a.Lease, 0).Seconds())
	}
	// ORDER BY n: IDs are drawn in the events' order, which claims follow.
	rows, err := s.pool.Query(ctx, `INSERT INTO webhook_inbox (provider, event_id, payment_id, task_queue, event, trace, attempts, next_attempt_at)
		SELECT provider, event_id, payment_id, task_queue, event::jsonb, trace::jsonb, attempts, now() + make_interval(secs => lease)
		FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::int[], $8::float8[])
			WITH ORDINALITY AS t(provider, event_id, payment_id, task_queue, event, trace, attempts, lease, n)
		ORDER BY n
		ON CONFLICT (provider, event_id) DO NOTHING RETURNING id, provider, event_id`,
		cols.provider, cols.eventID, cols.paymentID, cols.queue, cols.event, cols.trace, cols.attempts, cols.lease)
	if err != nil {
		return nil, fmt.Errorf("store %d inbox events: %w", len(events), err)
	}
	var id int64
	var k key
	_, err = pgx.ForEachRow(rows, []any{&id, &k.provider, &k.eventID}, func() error {
		out[index[k]] = Accepted{ID: id, First: true}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store %d inbox events: %w", len(events), err)
	}
	return out, nil
}

// ClaimInbox takes up to limit events of a task queue due for forwarding, oldest first, and leases them for
// lease: another relay (another API replica) skips them until the lease ends, and a relay that
// dies mid-forward leaves them to be taken again then.
func (s *Store) ClaimInbox(ctx context.Context, taskQueue string, limit int, lease time.Duration) ([]InboxEvent, error) {
	rows, err := s.pool.Query(ctx, `
		UPDATE webhook_inbox SET attempts = attempts + 1, next_attempt_at = now() + make_interval(secs => $2)
		WHERE id IN (
			SELECT id FROM webhook_inbox WHERE task_queue = $3 AND forwarded_at IS NULL AND next_attempt_at <= now()
			ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)
		RETURNING id, provider, event_id, payment_id, task_queue, event, COALESCE(trace, '{}'::jsonb), attempts`,
		limit, lease.Seconds(), taskQueue)
	if err != nil {
		return nil, fmt.Errorf("claim inbox events: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (InboxEvent, error) {
		var e InboxEvent
		err := r.Scan(&e.ID, &e.Provider, &e.EventID, &e.PaymentID, &e.TaskQueue, &e.Event, &e.Trace, &e.Attempts)
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("claim inbox events: %w", err)
	}
	// RETURNING follows no order; the relay forwards a payment's events in arrival order.
	slices.SortFunc(out, func(a, b InboxEvent) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

// RenewInbox extends the leases of events a relay holds, for lease from now, and returns the
// IDs it still holds. attempts is what each was stored or claimed with: a claim by another relay
// (after the lease ran out) counts an attempt, and such an event is no longer this relay's;
// nor is one already forwarded. Claims and renewals lock the row, so exactly one of them wins.
func (s *Store) RenewInbox(ctx context.Context, events []InboxEvent, lease time.Duration) ([]int64, error) {
	if len(events) == 0 {
		return nil, nil
	}
	ids, attempts := make([]int64, len(events)), make([]int32, len(events))
	for i, e := range events {
		ids[i], attempts[i] = e.ID, int32(e.Attempts)
	}
	rows, err := s.pool.Query(ctx, `
		UPDATE webhook_inbox w SET next_attempt_at = now() + make_interval(secs => $3)
		FROM unnest($1::bigint[], $2::int[]) AS h(id, attempts)
		WHERE w.id = h.id AND w.attempts = h.attempts AND w.forwarded_at IS NULL
		RETURNING w.id`, ids, attempts, lease.Seconds())
	if err != nil {
		return nil, fmt.Errorf("renew %d inbox leases: %w", len(events), err)
	}
	held, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("renew %d inbox leases: %w", len(events), err)
	}
	return held, nil
}

// MarkForwarded records that Temporal holds these events.
func (s *Store) MarkForwarded(ctx context.Context, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	_, err := s.pool.Exec(ctx, `UPDATE webhook_inbox SET forwarded_at = now(), last_error = NULL WHERE id = ANY($1)`, ids)
	if err != nil {
		return fmt.Errorf("mark %d inbox events forwarded: %w", len(ids), err)
	}
	return nil
}

// RetryInboxAfter puts events back for another attempt after wait, keeping why they failed (its
// first 500 characters). The time is the database's now() plus wait, as leases are: every
// replica's claim compares it with now(), and a time from a host whose clock is off would hold
// the events back by as much, or make them due at once.
func (s *Store) RetryInboxAfter(ctx context.Context, ids []int64, wait time.Duration, reason string) error {
	_, err := s.pool.Exec(ctx, `UPDATE webhook_inbox SET next_attempt_at = now() + make_interval(secs => $2), last_error = left($3, 500)
		WHERE id = ANY($1)`, ids, wait.Seconds(), reason)
	if err != nil {
		return fmt.Errorf("reschedule %d inbox events: %w", len(ids), err)
	}
	return nil
}

// ReleaseInbox makes leased events claimable now (a relay that stops hands them on); forwarded
// ones are left alone.
func (s *Store) ReleaseInbox(ctx context.Context, ids []int64) error {
	_, err := s.pool.Exec(ctx, `UPDATE webhook_inbox SET next_attempt_at = now() WHERE id = ANY($1) AND forwarded_at IS NULL`, ids)
	if err != nil {
		return fmt.Errorf("release %d inbox events: %w", len(ids), err)
	}
	return nil
}

// InboxBacklog is what waits to be forwarded: how many events and how long the oldest has waited.
type InboxBacklog struct {
	Pending    int64
	OldestWait time.Duration
}

// InboxBacklog measures the relay's queue, for metrics and readiness.
func (s *Store) InboxBacklog(ctx context.Context) (InboxBacklog, error) {
	var b InboxBacklog
	var oldest *time.Time
	var now time.Time
	err := s.pool.QueryRow(ctx, `SELECT count(*), min(received_at), now() FROM webhook_inbox WHERE forwarded_at IS NULL`).Scan(&b.Pending, &oldest, &now)
	if err != nil {
		return b, fmt.Errorf("inbox backlog: %w", err)
	}
	if oldest != nil {
		b.OldestWait = now.Sub(*oldest)
	}
	return b, nil
}

// InboxEntry is one stored webhook event as an operator sees it: where it stands, never its payload.
type InboxEntry struct {
	ID            int64      `json:"id"`
	Provider      string     `json:"provider"`
	EventID       string     `json:"event_id"`
	PaymentID     string     `json:"payment_id"`
	TaskQueue     string     `json:"task_queue"`
	ReceivedAt    time.Time  `json:"received_at"`
	Attempts      int        `json:"attempts"`
	NextAttemptAt time.Time  `json:"next_attempt_at"`
	LastError     *string    `json:"last_error"`
	ForwardedAt   *time.Time `json:"forwarded_at"`
}

// InboxFilter selects inbox events: Forwarded false lists what still waits (oldest first),
// true what Temporal took (newest first); Provider narrows to one provider.
type InboxFilter struct {
	Forwarded bool
	Provider  string
	Limit     int
}

// ListInbox lists inbox events for operators.
func (s *Store) ListInbox(ctx context.Context, f InboxFilter) ([]InboxEntry, error) {
	const columns = `SELECT id, provider, event_id, payment_id, task_queue, received_at, attempts, next_attempt_at, last_error, forwarded_at
		FROM webhook_inbox WHERE `
	q := columns + `forwarded_at IS NULL AND ($1 = '' OR provider = $1) ORDER BY id LIMIT $2`
	if f.Forwarded {
		q = columns + `forwarded_at IS NOT NULL AND ($1 = '' OR provider = $1) ORDER BY forwarded_at DESC, id DESC LIMIT $2`
	}
	if f.Limit <= 0 {
		f.Limit = 100
	}
	rows, err := s.pool.Query(ctx, q, f.Provider, f.Limit)
	if err != nil {
		return nil, fmt.Errorf("list inbox events: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[InboxEntry])
	if err != nil {
		return nil, fmt.Errorf("list inbox events: %w", err)
	}
	return out, nil
}
