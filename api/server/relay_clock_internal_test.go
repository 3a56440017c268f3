package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
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

// TestRelayRetryTimesAreTheDatabasesClock: an event Temporal did not take was put back for
// another attempt at this host's time.Now() plus the backoff, and every replica's claim compares
// that with Postgres' now(). A host whose clock ran an hour ahead of the database's put the event
// out of every relay's reach for an hour (a payment's capture an hour late); one an hour behind
// made it due at once, so the relays forwarded it again and again without backing off while
// Temporal was down. The retry time is now the database's now() plus the backoff, whatever the
// host's clock says.
func TestRelayRetryTimesAreTheDatabasesClock(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	st := store.New(pool)
	for _, skew := range []time.Duration{time.Hour, -time.Hour} {
		t.Run(fmt.Sprintf("host clock %v off", skew), func(t *testing.T) {
			t.Cleanup(skewRelayClock(skew))
			ctx := t.Context()
			queue := fmt.Sprintf("relay-clock-%d-%s", skew/time.Minute, time.Now().Format("150405.000000"))
			r := &relay{store: st, taskQueue: queue, logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
				opts:      RelayOptions{Poll: time.Hour}.withDefaults(),
				forwarded: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "t"}, []string{"provider", "outcome"})}
			r.deliver = func(context.Context, string, string, payment.Event, json.RawMessage) (string, error) {
				return "", errors.New("temporal unavailable")
			}
			e := store.InboxEvent{Provider: "stripe", EventID: queue, PaymentID: queue, TaskQueue: queue, Event: json.RawMessage(`{"ID":"x"}`)}
			id, first, err := st.AcceptEvent(ctx, e, r.opts.Lease)
			require.NoError(t, err)
			require.True(t, first)
			e.ID, e.Attempts = id, 1

			var before, after, next time.Time
			require.NoError(t, pool.QueryRow(ctx, `SELECT now()`).Scan(&before))
			r.forward(ctx, []store.InboxEvent{e})
			require.NoError(t, pool.QueryRow(ctx, `SELECT now(), next_attempt_at FROM webhook_inbox WHERE id = $1 AND last_error IS NOT NULL`, id).
				Scan(&after, &next))
			wait := backoff(e.Attempts, r.opts.MaxBackoff)
			require.False(t, next.Before(before.Add(wait)), "due %v after the database's now(), before its backoff (%v) ended", next.Sub(before), wait)
			require.False(t, next.After(after.Add(wait)), "due %v after the database's now(), beyond its backoff (%v)", next.Sub(after), wait)
		})
	}
}
