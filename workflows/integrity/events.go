package integrity

import (
	"context"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
)

// LedgerEventsChannel is the Postgres channel the journal and payments tables notify on.
const LedgerEventsChannel = "paysplit_ledger_events"

// WatchLedgerEvents evaluates the monitors when the books move: it listens for the database's
// ledger notifications and triggers the monitors schedule at most once per debounce interval,
// so a burst of payments costs one evaluation, not one per entry. It returns when ctx ends;
// a lost connection is re-established.
func WatchLedgerEvents(ctx context.Context, pool *pgxpool.Pool, c client.Client, debounce time.Duration, logger *slog.Logger) {
	trigger := func() {
		tctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		// BufferOne: an evaluation already running is followed by one more, never skipped.
		if err := c.ScheduleClient().GetHandle(tctx, ScheduleMonitors).Trigger(tctx, client.ScheduleTriggerOptions{
			Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_BUFFER_ONE,
		}); err != nil {
			logger.Warn("could not trigger monitor evaluation", "error", err)
		}
	}
	for ctx.Err() == nil {
		if err := listen(ctx, pool, debounce, trigger); err != nil && ctx.Err() == nil {
			logger.Warn("ledger event listener stopped; reconnecting", "error", err)
			select {
			case <-ctx.Done():
			case <-time.After(5 * time.Second):
			}
		}
	}
}

func listen(ctx context.Context, pool *pgxpool.Pool, debounce time.Duration, trigger func()) error {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return err
	}
	if _, err := conn.Exec(ctx, "LISTEN "+LedgerEventsChannel); err != nil {
		conn.Release()
		return err
	}
	// Notifications are read on their own goroutine: waiting with a deadline would cancel the
	// read and break the connection.
	events, failed := make(chan struct{}, 1), make(chan error, 1)
	go func() {
		defer conn.Release()
		for {
			if _, err := conn.Conn().WaitForNotification(ctx); err != nil {
				if ctx.Err() == nil {
					conn.Conn().Close(context.Background()) //nolint:errcheck // a broken connection is dropped
				}
				failed <- err
				return
			}
			select {
			case events <- struct{}{}:
			default: // one pending event is enough
			}
		}
	}()
	timer := time.NewTimer(debounce)
	timer.Stop()
	pending := false
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-failed:
			return err
		case <-events:
			if !pending {
				pending = true
				timer.Reset(debounce)
			}
		case <-timer.C:
			pending = false
			trigger()
		}
	}
}
