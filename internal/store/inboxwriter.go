package store

import (
	"context"
	"errors"
	"sync"
	"time"

	"paysplit/internal/batch"
)

// InboxWriter stores the events of concurrent webhook requests together (group commit): while
// its writers are busy, requests queue, and a free writer stores everything queued in one
// AcceptEvents, one commit for all. A lone event is written at once; a burst of hundreds a
// second becomes a few dozen statements, each holding one pool connection and one WAL flush
// instead of one per event, which is what a webhook's acknowledgement waits on. Nothing is
// acknowledged before its commit, so an event is no less durable than written alone.
type InboxWriter struct {
	store   *Store
	max     int
	timeout time.Duration
	reqs    chan inboxWrite
	stop    chan struct{}
	once    sync.Once
	wg      sync.WaitGroup
}

type inboxWrite struct {
	accept Accept
	reply  chan inboxReply // buffered: a writer never waits for a caller that gave up
}

type inboxReply struct {
	accepted Accepted
	err      error
}

// NewInboxWriter starts writers goroutines (at least 1) that store up to batch events (at least
// 1) a statement, each statement given timeout (10s if 0) whatever its callers' deadlines.
func (s *Store) NewInboxWriter(writers, batch int, timeout time.Duration) *InboxWriter {
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	w := &InboxWriter{store: s, max: max(batch, 1), timeout: timeout, reqs: make(chan inboxWrite), stop: make(chan struct{})}
	for range max(writers, 1) {
		w.wg.Add(1)
		go w.run()
	}
	return w
}

// Accept stores one event as Store.AcceptEvent does, in a statement shared with whatever other
// requests are waiting; once the writer is closed, in a statement of its own (a request that
// reaches a stopping API is still stored).
func (w *InboxWriter) Accept(ctx context.Context, e InboxEvent, lease time.Duration) (id int64, first bool, err error) {
	req := inboxWrite{accept: Accept{Event: e, Lease: lease}, reply: make(chan inboxReply, 1)}
	select {
	case w.reqs <- req:
	case <-w.stop:
		return w.store.AcceptEvent(ctx, e, lease)
	case <-ctx.Done():
		return 0, false, ctx.Err()
	}
	// Taken by a writer, which always replies: the answer says whether the event is stored.
	r := <-req.reply
	return r.accepted.ID, r.accepted.First, r.err
}

// Close stops the writers once the statements in flight are answered; Accept writes alone after.
func (w *InboxWriter) Close() {
	w.once.Do(func() { close(w.stop) })
	w.wg.Wait()
}

func (w *InboxWriter) run() {
	defer w.wg.Done()
	for {
		select {
		case <-w.stop:
			return
		case first := <-w.reqs:
			w.write(w.gather(first))
		}
	}
}

// gather takes the requests already waiting, without waiting, up to max.
func (w *InboxWriter) gather(first inboxWrite) []inboxWrite {
	return batch.Waiting(w.reqs, []inboxWrite{first}, w.max, nil)
}

func (w *InboxWriter) write(batch []inboxWrite) {
	accepts := make([]Accept, len(batch))
	for i, r := range batch {
		accepts[i] = r.accept
	}
	ctx, cancel := context.WithTimeout(context.Background(), w.timeout)
	defer cancel()
	out, err := w.store.AcceptEvents(ctx, accepts)
	if errors.Is(err, ErrInvalid) && len(batch) > 1 {
		// One event Postgres refuses (a NUL character) fails the whole statement: store each
		// alone, so only that event is refused and not the requests that shared its statement.
		for _, r := range batch {
			id, first, err := w.store.AcceptEvent(ctx, r.accept.Event, r.accept.Lease)
			r.reply <- inboxReply{accepted: Accepted{ID: id, First: first}, err: err}
		}
		return
	}
	for i, r := range batch {
		if err != nil {
			r.reply <- inboxReply{err: err}
			continue
		}
		r.reply <- inboxReply{accepted: out[i]}
	}
}
