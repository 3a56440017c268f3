package server

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"paysplit/internal/store"
	"paysplit/testenv"
	"paysplit/workflows/payment"
)

// TestRelayDoesNotWaitForeverOnAStalledDatabase: the relay's writes after a batch (marking what it
// forwarded, rescheduling what Temporal did not take) run after the relay's own context may have
// ended, so that a stop does not lose them; they still need a bound of their own. Postgres that
// does not answer (here: a row lock held elsewhere; in production a stalled disk, or a connection
// whose peer vanished without a reset) kept the relay's only loop in that write, forwarding
// nothing more, and kept Shutdown waiting for it past any deadline the caller gave.
func TestRelayDoesNotWaitForeverOnAStalledDatabase(t *testing.T) {
	t.Cleanup(setRelayStoreTimeout(300 * time.Millisecond))
	pool, _ := testenv.Postgres(t)
	st := store.New(pool)
	for _, tt := range []struct {
		name    string
		deliver error
	}{
		{"marking it forwarded", nil},
		{"rescheduling it", errors.New("temporal refused it")},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			queue := "relay-stall-" + time.Now().Format("150405.000000")
			r := &relay{store: st, taskQueue: queue, logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
				opts: RelayOptions{Poll: time.Hour}.withDefaults(), kick: make(chan struct{}, 1),
				forwarded: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "t"}, []string{"provider", "outcome"})}
			r.local, r.slots = make(chan store.InboxEvent, r.opts.Buffer), make(chan struct{}, r.opts.Buffer)
			delivered := make(chan struct{})
			r.deliver = func(context.Context, string, string, payment.Event, json.RawMessage) (string, error) {
				close(delivered)
				return "accepted", tt.deliver
			}

			e := store.InboxEvent{Provider: "stripe", EventID: queue, PaymentID: queue, TaskQueue: queue, Event: json.RawMessage(`{"ID":"x"}`)}
			id, first, err := st.AcceptEvent(ctx, e, r.opts.Lease)
			require.NoError(t, err)
			require.True(t, first)
			e.ID, e.Attempts, e.LeasedUntil = id, 1, time.Now().Add(r.opts.Lease)

			// Postgres stops answering for that row until the test ends.
			lock, err := pool.Begin(ctx)
			require.NoError(t, err)
			t.Cleanup(func() { _ = lock.Rollback(context.Background()) })
			_, err = lock.Exec(ctx, `SELECT 1 FROM webhook_inbox WHERE id = $1 FOR UPDATE`, id)
			require.NoError(t, err)

			r.start()
			require.True(t, r.reserve())
			r.hand(e)
			<-delivered
			closed := make(chan struct{})
			go func() { r.close(); close(closed) }()
			select {
			case <-closed:
			case <-time.After(10 * time.Second): // bounded, so the test fails instead of hanging
				t.Fatal("the relay is still waiting for Postgres; close cannot return")
			}
		})
	}
}
