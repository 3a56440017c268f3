package scale_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"paysplit/internal/ledger"
	"paysplit/internal/monitor"
	"paysplit/testenv"
)

// nMessages alert messages over a year, one every 160 s: kept for good, so the outbox only grows.
const nMessages = 200_000

// The admin list of alert messages and the API's gauges of undelivered ones (read at every
// scrape) must read the undelivered messages, a handful, not every message ever queued: almost
// all were delivered, and the outbox is never pruned.
func TestAlertMessagesReadTheUndeliveredNotTheOutbox(t *testing.T) {
	pool := testenv.OwnDatabase(t) // the outbox is counted whole
	ctx := t.Context()
	now := time.Now()
	// Of the messages: one in 20,000 given up (10), one in 10,000 expired otherwise (10), the
	// newest 3 pending; the rest delivered.
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO alerts (id, monitor_id, state, summary, fired_at) VALUES (1, 1, 'firing', 'x', now())`, nil},
		{`INSERT INTO alert_notifications (alert_id, monitor_id, event, period_start, summary, created_at, delivered_at, given_up_at)
		SELECT 1, 1, 'firing', ts, 'x', ts,
			CASE WHEN g%10000 = 0 OR g <= 3 THEN NULL ELSE ts END,
			CASE WHEN g%20000 = 0 THEN ts END
		FROM (SELECT g, $1::timestamptz - make_interval(secs => g * 160) AS ts FROM generate_series(1, $2::int) g) s
		ORDER BY g DESC`, []any{now, nMessages}},
		{`ANALYZE alert_notifications`, nil},
	} {
		if _, err := pool.Exec(ctx, q.sql, q.args...); err != nil {
			t.Fatal(err)
		}
	}
	const undelivered = 23
	for _, state := range monitor.DeliveryStates {
		if state == monitor.DeliveryDelivered {
			continue // nearly every message: a page of them is a page of the table
		}
		t.Run(string(state), func(t *testing.T) {
			var got []monitor.Message
			qs := recorded(t, pool, "FROM alert_notifications", func(p *pgxpool.Pool) (err error) {
				got, err = monitor.NewStore(p, ledger.New(p)).Messages(ctx, monitor.MessageFilter{State: state, Limit: 50, Now: now})
				return err
			})
			if len(got) == 0 {
				t.Fatal("no message listed")
			}
			if read, how := readBy(t, pool, qs, "alert_notifications"); read > 10*undelivered {
				t.Errorf("listing %s messages read %.0f of %d messages to list %d (scans: %v)", state, read, nMessages, len(got), how)
			}
		})
	}
	t.Run("gauges", func(t *testing.T) {
		var n monitor.UndeliveredCounts
		qs := recorded(t, pool, "FROM alert_notifications", func(p *pgxpool.Pool) (err error) {
			n, err = monitor.NewStore(p, ledger.New(p)).Undelivered(ctx, now)
			return err
		})
		if got := fmt.Sprint(n.Pending, n.Expired, n.GivenUp); got != "3 10 10" {
			t.Fatalf("pending, expired, given up = %s, want 3 10 10", got)
		}
		if read, how := readBy(t, pool, qs, "alert_notifications"); read > 10*undelivered {
			t.Errorf("counting the undelivered messages read %.0f of %d messages (scans: %v)", read, nMessages, how)
		}
	})
}
