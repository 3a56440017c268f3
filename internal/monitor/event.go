package monitor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// RaiseEvent records one occurrence of something that happened once, which no evaluation will
// ever find cleared (a PayPal payout item taken back after it was paid), as an alert of the
// system's own monitor of kind k, and queues its one "firing" message for the webhook and email.
// Each occurrence is an alert of its own: the incident model's one firing alert per monitor
// would fold a second occurrence into the first's alert and announce it only with the next
// period's reminder. The alert is stored resolved as it fires (resolved_at = fired_at): nothing
// later clears it, and a firing alert of the monitor would block the next occurrence's; what is
// to be done is the admin's (the summary says so). Its message is keyed by the occurrence's time,
// one microsecond on from the monitor's latest when two come at the same instant.
//
// It does not deduplicate: the caller raises once per occurrence, in the transaction that records
// the occurrence (InTx), so a redelivery finds the record and raises nothing, and a crash between
// the two loses neither. The monitor's row is locked until that transaction ends, which orders
// the occurrences' messages.
func (s *Store) RaiseEvent(ctx context.Context, k Kind, summary string, value int64, subjects []string, now time.Time) (Outcome, error) {
	out := Outcome{Action: ActionOpen}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var id int64
		err := tx.QueryRow(ctx, `SELECT id FROM monitors WHERE kind = $1 AND system AND deleted_at IS NULL
			ORDER BY id LIMIT 1 FOR UPDATE`, string(k)).Scan(&id)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("system monitor %s: %w", k, ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("lock system monitor %s: %w", k, err)
		}
		subj, err := json.Marshal(nonNil(subjects))
		if err != nil {
			return fmt.Errorf("encode subjects: %w", err)
		}
		err = tx.QueryRow(ctx, `
			INSERT INTO alerts (monitor_id, state, summary, value, subjects, fired_at, resolved_at, updated_at)
			VALUES ($1, 'resolved', $2, $3, $4, $5, $5, $5) RETURNING id`, id, summary, value, subj, now).Scan(&out.AlertID)
		if err != nil {
			return fmt.Errorf("open alert: %w", err)
		}
		var latest *time.Time
		err = tx.QueryRow(ctx, `SELECT max(period_start) FROM alert_notifications
			WHERE monitor_id = $1 AND event = $2 AND period_start >= $3`, id, string(EventFiring), now).Scan(&latest)
		if err != nil {
			return fmt.Errorf("queue notification: %w", err)
		}
		at := now
		if latest != nil {
			at = latest.Add(time.Microsecond)
		}
		err = tx.QueryRow(ctx, `
			INSERT INTO alert_notifications (alert_id, monitor_id, event, period_start, summary)
			VALUES ($1, $2, $3, $4, $5) RETURNING id`, out.AlertID, id, string(EventFiring), at, summary).Scan(&out.NotificationID)
		return wrapErr("queue notification", err)
	})
	if err != nil {
		return Outcome{}, fmt.Errorf("monitor: raise %s: %w", k, err)
	}
	return out, nil
}
