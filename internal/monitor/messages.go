package monitor

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// MaxDeliveryAge is how long a queued message is tried: a delivery round passes over messages
// queued longer ago (Pending's since), which stay undelivered for an operator to read.
const MaxDeliveryAge = 48 * time.Hour

// DeliveryState is where an alert message stands with its channels.
type DeliveryState string

const (
	// DeliveryPending: neither delivered nor given up, queued within MaxDeliveryAge: still tried.
	DeliveryPending DeliveryState = "pending"
	// DeliveryExpired: neither delivered nor given up, queued longer than MaxDeliveryAge ago: no
	// round tries it again.
	DeliveryExpired DeliveryState = "expired"
	// DeliveryGivenUp: no channel left to try and one refused it for good (Finish).
	DeliveryGivenUp DeliveryState = "given_up"
	// DeliveryDelivered: every configured channel took it.
	DeliveryDelivered DeliveryState = "delivered"
	// DeliveryUndelivered filters on the three states that are not delivered.
	DeliveryUndelivered DeliveryState = "undelivered"
)

// DeliveryStates are the states Messages filters on.
var DeliveryStates = []DeliveryState{DeliveryUndelivered, DeliveryPending, DeliveryExpired, DeliveryGivenUp, DeliveryDelivered}

// Message is one queued alert message and what its channels did with it. Like the message
// itself it holds IDs and summaries, never personal data: refusals and errors were stored with
// addresses redacted.
type Message struct {
	ID               int64         `json:"id"`
	AlertID          int64         `json:"alert_id"`
	MonitorID        int64         `json:"monitor_id"`
	MonitorName      string        `json:"monitor_name"`
	Event            Event         `json:"event"`
	PeriodStart      time.Time     `json:"period_start"`
	Summary          string        `json:"summary"`
	State            DeliveryState `json:"state"`
	CreatedAt        time.Time     `json:"created_at"`
	Attempts         int           `json:"attempts"`
	LastError        string        `json:"last_error"`
	WebhookSentAt    *time.Time    `json:"webhook_sent_at"`
	WebhookRefusedAt *time.Time    `json:"webhook_refused_at"`
	WebhookRefusal   *string       `json:"webhook_refusal"`
	EmailSentAt      *time.Time    `json:"email_sent_at"`
	EmailRefusedAt   *time.Time    `json:"email_refused_at"`
	EmailRefusal     *string       `json:"email_refusal"`
	DeliveredAt      *time.Time    `json:"delivered_at"`
	GivenUpAt        *time.Time    `json:"given_up_at"`
}

// MessageFilter narrows Messages; zero fields match everything but State (undelivered).
type MessageFilter struct {
	State     DeliveryState
	MonitorID int64
	// From and To bound when a message was queued: From <= created_at < To.
	From, To time.Time
	// BeforeID continues a listing after the message with this ID (the last of a page).
	BeforeID int64
	Limit    int
	// Now tells pending from expired messages.
	Now time.Time
}

// Messages lists alert messages, newest first.
func (s *Store) Messages(ctx context.Context, f MessageFilter) ([]Message, error) {
	if f.State == "" {
		f.State = DeliveryUndelivered
	}
	if !f.State.Valid() {
		return nil, fmt.Errorf("%w: state %q", ErrInvalid, f.State)
	}
	if f.Limit <= 0 || f.Limit > MaxAlertsPage {
		f.Limit = 100
	}
	since := f.Now.Add(-MaxDeliveryAge)
	// Every state but delivered says delivered_at IS NULL, so the planner reads the partial index
	// of undelivered messages (alert_notifications_pending), not the outbox, which is never pruned.
	rows, err := s.pool.Query(ctx, `
		SELECT n.id, n.alert_id, n.monitor_id, m.name, n.event, n.period_start, n.summary, n.created_at,
		       n.attempts, n.last_error, n.webhook_sent_at, n.webhook_refused_at, n.webhook_refusal,
		       n.email_sent_at, n.email_refused_at, n.email_refusal, n.delivered_at, n.given_up_at
		FROM alert_notifications n JOIN monitors m ON m.id = n.monitor_id
		WHERE CASE $1
			WHEN 'delivered' THEN n.delivered_at IS NOT NULL
			WHEN 'given_up' THEN n.delivered_at IS NULL AND n.given_up_at IS NOT NULL
			WHEN 'pending' THEN n.delivered_at IS NULL AND n.given_up_at IS NULL AND n.created_at >= $2
			WHEN 'expired' THEN n.delivered_at IS NULL AND n.given_up_at IS NULL AND n.created_at < $2
			ELSE n.delivered_at IS NULL END
			AND ($3::bigint = 0 OR n.monitor_id = $3)
			AND ($4::timestamptz IS NULL OR n.created_at >= $4) AND ($5::timestamptz IS NULL OR n.created_at < $5)
			AND ($6::bigint = 0 OR n.id < $6)
		ORDER BY n.id DESC
		LIMIT $7`, string(f.State), since, f.MonitorID, nullTime(f.From), nullTime(f.To), f.BeforeID, f.Limit)
	if err != nil {
		return nil, fmt.Errorf("monitor: list alert messages: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Message, error) {
		var m Message
		err := row.Scan(&m.ID, &m.AlertID, &m.MonitorID, &m.MonitorName, &m.Event, &m.PeriodStart, &m.Summary, &m.CreatedAt,
			&m.Attempts, &m.LastError, &m.WebhookSentAt, &m.WebhookRefusedAt, &m.WebhookRefusal,
			&m.EmailSentAt, &m.EmailRefusedAt, &m.EmailRefusal, &m.DeliveredAt, &m.GivenUpAt)
		m.State = m.state(since)
		return m, err
	})
	if err != nil {
		return nil, fmt.Errorf("monitor: list alert messages: %w", err)
	}
	return out, nil
}

// state is m's state, given the oldest queue time still tried.
func (m Message) state(since time.Time) DeliveryState {
	switch {
	case m.DeliveredAt != nil:
		return DeliveryDelivered
	case m.GivenUpAt != nil:
		return DeliveryGivenUp
	case m.CreatedAt.Before(since):
		return DeliveryExpired
	}
	return DeliveryPending
}

// Valid says whether Messages filters on s.
func (s DeliveryState) Valid() bool {
	for _, v := range DeliveryStates {
		if s == v {
			return true
		}
	}
	return false
}

// UndeliveredCounts counts the messages that did not reach every channel, by state (pending,
// expired, given up), and how long the oldest pending one has waited (0 when none).
type UndeliveredCounts struct {
	Pending, Expired, GivenUp int64
	OldestPending             time.Duration
}

// Undelivered counts the undelivered messages as of now: one statement, on the partial index of
// undelivered messages.
func (s *Store) Undelivered(ctx context.Context, now time.Time) (UndeliveredCounts, error) {
	var c UndeliveredCounts
	var oldest *time.Time
	err := s.pool.QueryRow(ctx, `
		SELECT count(*) FILTER (WHERE given_up_at IS NULL AND created_at >= $1),
		       count(*) FILTER (WHERE given_up_at IS NULL AND created_at < $1),
		       count(*) FILTER (WHERE given_up_at IS NOT NULL),
		       min(created_at) FILTER (WHERE given_up_at IS NULL AND created_at >= $1)
		FROM alert_notifications WHERE delivered_at IS NULL`, now.Add(-MaxDeliveryAge)).
		Scan(&c.Pending, &c.Expired, &c.GivenUp, &oldest)
	if err != nil {
		return c, fmt.Errorf("monitor: count undelivered alert messages: %w", err)
	}
	if oldest != nil {
		c.OldestPending = max(now.Sub(*oldest), 0)
	}
	return c, nil
}
