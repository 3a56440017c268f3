package monitor

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"paysplit/internal/alert"
)

// AlertState is an incident's state.
type AlertState string

const (
	AlertFiring   AlertState = "firing"
	AlertResolved AlertState = "resolved"
)

// Alert is one incident of one monitor.
type Alert struct {
	ID          int64      `json:"id"`
	MonitorID   int64      `json:"monitor_id"`
	MonitorName string     `json:"monitor_name"`
	Kind        Kind       `json:"kind"`
	State       AlertState `json:"state"`
	Summary     string     `json:"summary"`
	Value       int64      `json:"value"`
	Subjects    []string   `json:"subjects"`
	FiredAt     time.Time  `json:"fired_at"`
	ResolvedAt  *time.Time `json:"resolved_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
	// Payment is the stored payment the alert is about when its one subject is a payment's
	// workflow ID (a PayPal payout taken back, a held_leg_age alert with one payment; only kinds
	// whose subjects are payments, PaymentSubjectKinds), else nil: an admin acting on the alert
	// starts from it.
	Payment *PaymentRef `json:"payment"`
}

// PaymentRef names a payment as the platform does, never with personal data: its workflow ID,
// provider, and the client and order it is for.
type PaymentRef struct {
	WorkflowID string `json:"workflow_id"`
	Provider   string `json:"provider"`
	ClientID   string `json:"client_id"`
	OrderID    string `json:"order_id"`
}

// AdminURL is the payment's page in the admin API (GET /api/v1/admin/payments/{workflow_id}),
// relative to the API's address.
func (p PaymentRef) AdminURL() string {
	return "/api/v1/admin/payments/" + url.PathEscape(p.WorkflowID)
}

// WorkflowURL is the payment's workflow in the Temporal UI at base (TEMPORAL_UI_URL) in
// namespace, or "" when base is empty: the one link the admin API's alerts and the worker's
// alert messages both give.
func (p PaymentRef) WorkflowURL(base, namespace string) string {
	if base == "" {
		return ""
	}
	return strings.TrimRight(base, "/") + "/namespaces/" + url.PathEscape(namespace) + "/workflows/" + url.PathEscape(p.WorkflowID)
}

// Linked is the payment with the links an admin acts from (nil for none): what the admin API's
// alert listing and the worker's alert messages both say of the payment an alert is about.
func (p *PaymentRef) Linked(base, namespace string) *alert.Payment {
	if p == nil {
		return nil
	}
	return &alert.Payment{WorkflowID: p.WorkflowID, Provider: p.Provider, ClientID: p.ClientID, OrderID: p.OrderID,
		AdminURL: p.AdminURL(), WorkflowURL: p.WorkflowURL(base, namespace)}
}

// alertPaymentJoin joins an alert (a, its monitor m) to the stored payment it is about (p): its
// one subject is the payment's workflow ID, and its kind's subjects are payments (the kinds, a
// text array, are parameter $<kinds>): a kpi_sync_stale alert names a client, whose ID may equal
// another client's workflow ID. ->> is NULL, never an error, on anything but an array: no stored
// row can fail the query. One primary key lookup per alert.
func alertPaymentJoin(kinds int) string {
	return fmt.Sprintf(`LEFT JOIN payments p ON p.workflow_id = a.subjects->>0 AND a.subjects->>1 IS NULL AND m.kind = ANY($%d::text[])`, kinds)
}

// alertPaymentCols are the columns of alertPaymentJoin's payment, scanned by paymentCols.
const alertPaymentCols = `p.workflow_id, p.provider, p.client_id, p.order_id`

// paymentCols scans alertPaymentCols, all NULL when the alert is about no payment.
type paymentCols struct{ wf, provider, clientID, orderID *string }

func (c *paymentCols) dest() []any { return []any{&c.wf, &c.provider, &c.clientID, &c.orderID} }

// ref is the payment scanned, nil for none.
func (c *paymentCols) ref() *PaymentRef {
	if c.wf == nil {
		return nil
	}
	return &PaymentRef{WorkflowID: *c.wf, Provider: *c.provider, ClientID: *c.clientID, OrderID: *c.orderID}
}

// AlertFilter narrows Alerts; zero fields match everything.
type AlertFilter struct {
	State     AlertState
	MonitorID int64
	// OneOff keeps only alerts of events that happened once (RaiseEvent): stored resolved as they
	// fired (resolved_at = fired_at), they are never among the firing ones, yet an admin must act.
	OneOff bool
	// From and To bound the time an alert fired: From <= fired_at < To.
	From, To time.Time
	// After continues a listing after this alert (the last of the previous page).
	After *AlertCursor
	Limit int
}

// AlertCursor is an alert's place in the listing's order.
type AlertCursor struct {
	FiredAt time.Time
	ID      int64
}

// MaxAlertsPage bounds a page of Alerts (one more row than an API page, to know whether
// another follows).
const MaxAlertsPage = 501

// Alerts lists incidents, newest first.
func (s *Store) Alerts(ctx context.Context, f AlertFilter) ([]Alert, error) {
	if f.State != "" && f.State != AlertFiring && f.State != AlertResolved {
		return nil, fmt.Errorf("%w: state %q must be firing or resolved", ErrInvalid, f.State)
	}
	if f.OneOff && f.State == AlertFiring {
		return nil, fmt.Errorf("%w: one-off alerts are stored resolved: state firing lists none", ErrInvalid)
	}
	if f.Limit <= 0 || f.Limit > MaxAlertsPage {
		f.Limit = 100
	}
	var afterAt *time.Time
	var afterID int64
	if f.After != nil {
		afterAt, afterID = &f.After.FiredAt, f.After.ID
	}
	// $2 = 0 alone would type the monitor ID int4 (the literal's type): monitors.id is a bigserial.
	// The order is alerts_recent's, so a page after a cursor is one index range.
	rows, err := s.pool.Query(ctx, `
		SELECT a.id, a.monitor_id, m.name, m.kind, a.state, a.summary, a.value, a.subjects,
		       a.fired_at, a.resolved_at, a.updated_at, `+alertPaymentCols+`
		FROM alerts a JOIN monitors m ON m.id = a.monitor_id
		`+alertPaymentJoin(9)+`
		WHERE ($1 = '' OR a.state = $1) AND ($2::bigint = 0 OR a.monitor_id = $2)
			AND ($4::timestamptz IS NULL OR a.fired_at >= $4) AND ($5::timestamptz IS NULL OR a.fired_at < $5)
			AND ($6::timestamptz IS NULL OR (a.fired_at, a.id) < ($6, $7::bigint))
			AND (NOT $8::boolean OR (a.state = 'resolved' AND a.resolved_at = a.fired_at))
		ORDER BY a.fired_at DESC, a.id DESC
		LIMIT $3`, string(f.State), f.MonitorID, f.Limit, nullTime(f.From), nullTime(f.To), afterAt, afterID, f.OneOff, PaymentSubjectKinds)
	if err != nil {
		return nil, fmt.Errorf("monitor: list alerts: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Alert, error) {
		var a Alert
		var subjects []byte
		var pay paymentCols
		err := row.Scan(append([]any{&a.ID, &a.MonitorID, &a.MonitorName, &a.Kind, &a.State, &a.Summary, &a.Value, &subjects,
			&a.FiredAt, &a.ResolvedAt, &a.UpdatedAt}, pay.dest()...)...)
		if err != nil {
			return a, err
		}
		a.Payment = pay.ref()
		return a, json.Unmarshal(subjects, &a.Subjects)
	})
	if err != nil {
		return nil, fmt.Errorf("monitor: list alerts: %w", err)
	}
	return out, nil
}

// Channel is a way notifications leave the system.
type Channel string

const (
	ChannelWebhook Channel = "webhook"
	ChannelEmail   Channel = "email"
)

// Notification is one queued message about an incident.
type Notification struct {
	ID          int64      `json:"id"`
	AlertID     int64      `json:"alert_id"`
	MonitorID   int64      `json:"monitor_id"`
	MonitorName string     `json:"monitor_name"`
	Kind        Kind       `json:"kind"`
	Event       Event      `json:"event"`
	PeriodStart time.Time  `json:"period_start"`
	Summary     string     `json:"summary"`
	Subjects    []string   `json:"subjects"`
	FiredAt     time.Time  `json:"fired_at"`
	ResolvedAt  *time.Time `json:"resolved_at"`
	CreatedAt   time.Time  `json:"created_at"`
	// Payment is the stored payment the alert is about, as Alert.Payment: on-call's email and
	// webhook name it.
	Payment *PaymentRef `json:"payment"`
	// Sent records the channels that already took the message, so a retry only resends the rest.
	Sent map[Channel]bool `json:"-"`
	// Refused records the channels that refused the message for good (Refuse): they are not sent
	// it again.
	Refused  map[Channel]bool `json:"-"`
	Attempts int              `json:"attempts"`
}

// Pending returns undelivered notifications queued at or after since with an ID above after,
// oldest first (a delivery round pages on with the last ID it saw); one given up (Finish: no
// channel left to try, one of them refused it for good) is not pending.
func (s *Store) Pending(ctx context.Context, limit int, since time.Time, after int64) ([]Notification, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT n.id, n.alert_id, n.monitor_id, m.name, m.kind, n.event, n.period_start, n.summary, a.subjects,
		       a.fired_at, a.resolved_at, n.created_at, n.webhook_sent_at IS NOT NULL, n.email_sent_at IS NOT NULL,
		       n.attempts, n.webhook_refused_at IS NOT NULL, n.email_refused_at IS NOT NULL, `+alertPaymentCols+`
		FROM alert_notifications n
		JOIN alerts a ON a.id = n.alert_id
		JOIN monitors m ON m.id = n.monitor_id
		`+alertPaymentJoin(4)+`
		WHERE n.delivered_at IS NULL AND n.given_up_at IS NULL AND n.created_at >= $2 AND n.id > $3
		ORDER BY n.id
		LIMIT $1`, limit, since, after, PaymentSubjectKinds)
	if err != nil {
		return nil, fmt.Errorf("monitor: pending notifications: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Notification, error) {
		var n Notification
		var subjects []byte
		var webhook, email, webhookRefused, emailRefused bool
		var pay paymentCols
		err := row.Scan(append([]any{&n.ID, &n.AlertID, &n.MonitorID, &n.MonitorName, &n.Kind, &n.Event, &n.PeriodStart, &n.Summary,
			&subjects, &n.FiredAt, &n.ResolvedAt, &n.CreatedAt, &webhook, &email, &n.Attempts, &webhookRefused, &emailRefused},
			pay.dest()...)...)
		if err != nil {
			return n, err
		}
		n.Payment = pay.ref()
		n.Sent = map[Channel]bool{ChannelWebhook: webhook, ChannelEmail: email}
		n.Refused = map[Channel]bool{ChannelWebhook: webhookRefused, ChannelEmail: emailRefused}
		return n, json.Unmarshal(subjects, &n.Subjects)
	})
	if err != nil {
		return nil, fmt.Errorf("monitor: pending notifications: %w", err)
	}
	return out, nil
}

// MarkSent records that channel took notification id.
func (s *Store) MarkSent(ctx context.Context, id int64, ch Channel, at time.Time) error {
	col := map[Channel]string{ChannelWebhook: "webhook_sent_at", ChannelEmail: "email_sent_at"}[ch]
	if col == "" {
		return fmt.Errorf("%w: channel %q", ErrInvalid, ch)
	}
	if _, err := s.pool.Exec(ctx, `UPDATE alert_notifications SET `+col+` = coalesce(`+col+`, $2) WHERE id = $1`, id, at); err != nil {
		return fmt.Errorf("monitor: mark notification %d sent by %s: %w", id, ch, err)
	}
	return nil
}

// Refuse records that channel refused notification id for good, for reason (an SMTP server's 5xx
// to the message's end of DATA, a webhook's 4xx other than 408/429): no round sends it there
// again. The first refusal and its reason are kept; the reason's bytes are made storable as
// Finish's are.
func (s *Store) Refuse(ctx context.Context, id int64, ch Channel, reason string, at time.Time) error {
	col := map[Channel]string{ChannelWebhook: "webhook", ChannelEmail: "email"}[ch]
	if col == "" {
		return fmt.Errorf("%w: channel %q", ErrInvalid, ch)
	}
	_, err := s.pool.Exec(ctx, `UPDATE alert_notifications
		SET `+col+`_refusal = CASE WHEN `+col+`_refused_at IS NULL THEN $3 ELSE `+col+`_refusal END,
		    `+col+`_refused_at = coalesce(`+col+`_refused_at, $2)
		WHERE id = $1`, id, at, storable(reason))
	if err != nil {
		return fmt.Errorf("monitor: mark notification %d refused by %s: %w", id, ch, err)
	}
	return nil
}

// deliveryLockKey names the advisory lock one delivery round holds (pg_try_advisory_lock).
const deliveryLockKey int64 = 0x7061797370616c74 // "payspalt"

// LockDelivery makes this the only delivery round running: two rounds at once (the daily
// verification's and the monitors' schedules both deliver, and an activity retried after a
// timeout may overlap its first attempt) would both send the same queued messages. ok is false
// while another round holds it; unlock ends this one's hold.
func (s *Store) LockDelivery(ctx context.Context) (unlock func(), ok bool, err error) {
	pool, isPool := s.pool.(*pgxpool.Pool)
	if !isPool {
		return func() {}, true, nil // inside a caller's transaction: the caller serialises
	}
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("monitor: delivery lock: %w", err)
	}
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, deliveryLockKey).Scan(&ok); err != nil || !ok {
		conn.Release()
		if err != nil {
			return nil, false, fmt.Errorf("monitor: delivery lock: %w", err)
		}
		return nil, false, nil
	}
	return func() {
		// A session lock outlives the statement: unlock on the same connection, or drop the
		// connection so the lock goes with it.
		uctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, err := conn.Exec(uctx, `SELECT pg_advisory_unlock($1)`, deliveryLockKey); err != nil {
			_ = conn.Conn().Close(uctx)
		}
		conn.Release()
	}, true, nil
}

// Finish records one delivery attempt. done says no configured channel is left to try: each
// took the message or refused it for good (Refuse). A done message is delivered when none
// refused it, otherwise given up (given_up_at): neither delivered nor tried again. A message not
// done keeps lastErr to be tried again with. A receiver's reply quoted in the error may be in
// another encoding or hold a NUL: those bytes are replaced, as Postgres would refuse the text and
// the attempt would go unrecorded.
func (s *Store) Finish(ctx context.Context, id int64, done bool, lastErr string, at time.Time) error {
	if _, err := s.pool.Exec(ctx, `UPDATE alert_notifications
		SET attempts = attempts + 1, last_error = $2,
		    delivered_at = CASE WHEN $3 AND webhook_refused_at IS NULL AND email_refused_at IS NULL THEN $4::timestamptz END,
		    given_up_at = CASE WHEN $3 AND (webhook_refused_at IS NOT NULL OR email_refused_at IS NOT NULL) THEN $4::timestamptz END
		WHERE id = $1`, id, storable(lastErr), done, at); err != nil {
		return fmt.Errorf("monitor: finish notification %d: %w", id, err)
	}
	return nil
}

// storable is text Postgres takes: invalid UTF-8 replaced, NULs dropped.
func storable(s string) string {
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "")
}

// nullTime is NULL for the zero time (an open end).
func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}
