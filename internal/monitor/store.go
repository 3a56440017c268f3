package monitor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"paysplit/internal/ledger"
	"paysplit/internal/store"
)

// Store keeps monitors, their alerts and the notification outbox in Postgres, and gathers the
// observations monitors are evaluated on.
type Store struct {
	pool   db
	ledger *ledger.Ledger
	// KPISyncEvery is the deployment's KPI sync period (KPI_SYNC_EVERY), that of the clients
	// without their own: kpi_sync_stale holds a client to two of its periods. 0: unknown.
	KPISyncEvery time.Duration
}

// db is what both *pgxpool.Pool and pgx.Tx offer (Begin on a Tx opens a savepoint).
type db interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Begin(ctx context.Context) (pgx.Tx, error)
}

// NewStore returns a store on a pool migrated with db.Migrate.
func NewStore(pool *pgxpool.Pool, l *ledger.Ledger) *Store { return &Store{pool: pool, ledger: l} }

// InTx returns a store whose every call is part of tx, so a change can commit together with
// something else (the admin API's audit entry) or not at all.
func (s *Store) InTx(tx pgx.Tx) *Store {
	return &Store{pool: tx, ledger: s.ledger, KPISyncEvery: s.KPISyncEvery}
}

const monitorColumns = `id, name, kind, params, period_seconds, system, created_by, created_at,
	last_status, last_summary, last_evaluated_at`

func scanMonitor(row pgx.CollectableRow) (Monitor, error) {
	var m Monitor
	var params []byte
	var periodSeconds int64
	var status string
	err := row.Scan(&m.ID, &m.Name, &m.Kind, &params, &periodSeconds, &m.System, &m.CreatedBy, &m.CreatedAt,
		&status, &m.LastSummary, &m.LastEvaluatedAt)
	if err != nil {
		return m, err
	}
	m.Period = time.Duration(periodSeconds) * time.Second
	m.LastStatus = Status(status)
	if err := json.Unmarshal(params, &m.Params); err != nil {
		return m, fmt.Errorf("decode params of monitor %d: %w", m.ID, err)
	}
	return m, nil
}

// Create validates and stores a new monitor.
func (s *Store) Create(ctx context.Context, m Monitor, actor string) (Monitor, error) {
	m, err := Normalize(m)
	if err != nil {
		return Monitor{}, err
	}
	params, err := json.Marshal(m.Params)
	if err != nil {
		return Monitor{}, fmt.Errorf("monitor: encode params: %w", err)
	}
	rows, err := s.pool.Query(ctx, `
		INSERT INTO monitors (name, kind, params, period_seconds, created_by)
		VALUES ($1, $2, $3, $4, $5)
		RETURNING `+monitorColumns, m.Name, string(m.Kind), params, int64(m.Period/time.Second), actor)
	if err != nil {
		return Monitor{}, fmt.Errorf("monitor: create %q: %w", m.Name, err)
	}
	created, err := pgx.CollectExactlyOneRow(rows, scanMonitor)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		return Monitor{}, fmt.Errorf("%w: a monitor named %q already exists", ErrInvalid, m.Name)
	}
	if err != nil {
		return Monitor{}, fmt.Errorf("monitor: create %q: %w", m.Name, err)
	}
	return created, nil
}

// List returns the live monitors, oldest first.
func (s *Store) List(ctx context.Context) ([]Monitor, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+monitorColumns+` FROM monitors WHERE deleted_at IS NULL ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("monitor: list: %w", err)
	}
	out, err := pgx.CollectRows(rows, scanMonitor)
	if err != nil {
		return nil, fmt.Errorf("monitor: list: %w", err)
	}
	return out, nil
}

// Get returns a live monitor, or ErrNotFound.
func (s *Store) Get(ctx context.Context, id int64) (Monitor, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+monitorColumns+` FROM monitors WHERE id = $1 AND deleted_at IS NULL`, id)
	if err != nil {
		return Monitor{}, fmt.Errorf("monitor: get %d: %w", id, err)
	}
	m, err := pgx.CollectExactlyOneRow(rows, scanMonitor)
	if errors.Is(err, pgx.ErrNoRows) {
		return Monitor{}, fmt.Errorf("monitor %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return Monitor{}, fmt.Errorf("monitor: get %d: %w", id, err)
	}
	return m, nil
}

// System returns the system's own monitor of kind k (ledger_chain).
func (s *Store) System(ctx context.Context, k Kind) (Monitor, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+monitorColumns+` FROM monitors
		WHERE kind = $1 AND system AND deleted_at IS NULL ORDER BY id LIMIT 1`, string(k))
	if err != nil {
		return Monitor{}, fmt.Errorf("monitor: system %s: %w", k, err)
	}
	m, err := pgx.CollectExactlyOneRow(rows, scanMonitor)
	if errors.Is(err, pgx.ErrNoRows) {
		return Monitor{}, fmt.Errorf("monitor: system %s: %w", k, ErrNotFound)
	}
	if err != nil {
		return Monitor{}, fmt.Errorf("monitor: system %s: %w", k, err)
	}
	return m, nil
}

// Delete retires a monitor. Its open incident, if any, is resolved (and announced) so nothing
// stays firing for a monitor nobody evaluates any more. Its history stays.
func (s *Store) Delete(ctx context.Context, id int64, now time.Time) error {
	m, err := s.Get(ctx, id)
	if err != nil {
		return err
	}
	if m.System {
		return fmt.Errorf("%w: monitor %d (%s) belongs to the system and cannot be deleted", ErrSystem, id, m.Name)
	}
	tag, err := s.pool.Exec(ctx, `UPDATE monitors SET deleted_at = $2 WHERE id = $1 AND deleted_at IS NULL`, id, now)
	if err != nil {
		return fmt.Errorf("monitor: delete %d: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("monitor %d: %w", id, ErrNotFound)
	}
	if _, err := s.Apply(ctx, id, Result{Status: StatusOK, Summary: "monitor deleted"}, now); err != nil {
		return fmt.Errorf("monitor: delete %d: resolve its alert: %w", id, err)
	}
	return nil
}

// Observe gathers what m is evaluated on at now.
func (s *Store) Observe(ctx context.Context, m Monitor, now time.Time) (Observation, error) {
	switch m.Kind {
	case KindBalanceAbove:
		return s.observeBalance(ctx, m, now)
	case KindHeldLegAge:
		return s.observeStalled(ctx, m, heldWhere)
	case KindPayoutFailedAge:
		return s.observeStalled(ctx, m, `status = 'payout_failed'`)
	case KindKPISyncStale:
		return s.observeKPISync(ctx, m)
	case KindReconciliationDrift:
		return s.observeRecon(ctx, m)
	case KindWebhookInboxAge:
		return s.observeInbox(ctx, m)
	case KindLedgerChain:
		return Observation{Unavailable: "the journal chain is evaluated by chain verification"}, nil
	case KindPayoutTakenBack:
		return Observation{Unavailable: "raised by the PayPal webhook for each payout item taken back"}, nil
	}
	return Observation{}, fmt.Errorf("%w: kind %q", ErrInvalid, m.Kind)
}

// observeInbox reads the oldest webhook events still waiting for the relay, and how many wait.
func (s *Store) observeInbox(ctx context.Context, m Monitor) (Observation, error) {
	var obs Observation
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM webhook_inbox WHERE forwarded_at IS NULL`).Scan(&obs.WaitingTotal); err != nil {
		return obs, fmt.Errorf("monitor %d: webhook inbox: %w", m.ID, err)
	}
	rows, err := s.pool.Query(ctx, `SELECT provider || '/' || event_id, received_at FROM webhook_inbox
		WHERE forwarded_at IS NULL ORDER BY received_at, id LIMIT $1`, maxSubjects)
	if err != nil {
		return obs, fmt.Errorf("monitor %d: webhook inbox: %w", m.ID, err)
	}
	if obs.Waiting, err = pgx.CollectRows(rows, pgx.RowToStructByPos[InboxWait]); err != nil {
		return obs, fmt.Errorf("monitor %d: webhook inbox: %w", m.ID, err)
	}
	return obs, nil
}

func (s *Store) observeBalance(ctx context.Context, m Monitor, now time.Time) (Observation, error) {
	p := m.Params
	opening, points, err := s.ledger.BalanceHistory(ctx, p.Account, p.Currency, now.Add(-m.Window()), now)
	if err != nil {
		return Observation{}, fmt.Errorf("monitor %d: %w", m.ID, err)
	}
	obs := Observation{Opening: p.Side.Normal(opening)}
	for _, pt := range points {
		obs.Changes = append(obs.Changes, BalancePoint{At: pt.At, Balance: p.Side.Normal(pt.Balance)})
	}
	return obs, nil
}

// heldWhere is a held_leg_age monitor's condition: the payment is held, or one of its legs is. It
// is the predicate of the partial index payments_held (migration 00018), which keeps an
// evaluation to the held payments; the planner uses the index only while the two are the same.
const heldWhere = `(status = 'held' OR state->'legs' @> '[{"state": "held"}]')`

// observeStalled reads the payments in a state that waits for an admin (where: a condition on
// the payments table, a constant of this package), each since it entered its status
// (status_since): saves that leave the status as it was (an automatic retry that failed again,
// an event that touched the payment) do not restart the wait.
func (s *Store) observeStalled(ctx context.Context, m Monitor, where string) (Observation, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT workflow_id, status_since FROM payments
		WHERE `+where+`
		  AND ($1 = '' OR client_id = $1)
		ORDER BY status_since, workflow_id`, m.Params.ClientID)
	if err != nil {
		return Observation{}, fmt.Errorf("monitor %d: %s payments: %w", m.ID, m.Kind, err)
	}
	stalled, err := pgx.CollectRows(rows, pgx.RowToStructByPos[Stalled])
	if err != nil {
		return Observation{}, fmt.Errorf("monitor %d: %s payments: %w", m.ID, m.Kind, err)
	}
	return Observation{Stalled: stalled}, nil
}

// observeRecon reads each provider's latest reconciliation run and its differences, where the
// reconciliation's tables exist.
func (s *Store) observeRecon(ctx context.Context, m Monitor) (Observation, error) {
	var exists bool
	if err := s.pool.QueryRow(ctx, `SELECT to_regclass('reconciliation_runs') IS NOT NULL AND to_regclass('reconciliation_drifts') IS NOT NULL`).Scan(&exists); err != nil {
		return Observation{}, fmt.Errorf("monitor %d: reconciliation tables: %w", m.ID, err)
	}
	if !exists {
		return Observation{Unavailable: "reconciliation data is not available yet"}, nil
	}
	rows, err := s.pool.Query(ctx, `
		WITH latest AS (
			SELECT DISTINCT ON (provider) id, provider, created_at
			FROM reconciliation_runs ORDER BY provider, window_end DESC, id DESC
		)
		SELECT l.provider, l.id, l.created_at, count(d.run_id),
		       coalesce(array_agg(DISTINCT d.payment) FILTER (WHERE d.run_id IS NOT NULL), '{}')
		FROM latest l LEFT JOIN reconciliation_drifts d ON d.run_id = l.id AND ($1 = '' OR d.currency = $1)
		GROUP BY l.provider, l.id, l.created_at
		ORDER BY l.provider`, string(m.Params.Currency))
	if err != nil {
		return Observation{}, fmt.Errorf("monitor %d: reconciliation runs: %w", m.ID, err)
	}
	runs, err := pgx.CollectRows(rows, pgx.RowToStructByPos[ReconRun])
	if err != nil {
		return Observation{}, fmt.Errorf("monitor %d: reconciliation runs: %w", m.ID, err)
	}
	return Observation{Recon: runs}, nil
}

// observeKPISync reads, per client, the oldest last good sync of the sources its KPIs count (our
// ledger, GA4 while the client has a property: store.KPISettings.KPISources), which is the API's
// last_synced_at; a source tried and never synced counts as synced at the epoch, as the API calls
// it stale. Each client comes with its sync period (its sync_every_seconds, else KPISyncEvery).
// It read the last write to kpi_daily, which the ledger's sync makes every few minutes:
// a client whose GA4 had failed for days was stale on its dashboard and "synced" here.
// An offboarded client comes marked: its syncs stopped on purpose, so it is never stale, and a
// monitor of that client alone resolves rather than firing (or staying open) forever.
func (s *Store) observeKPISync(ctx context.Context, m Monitor) (Observation, error) {
	var exists bool
	if err := s.pool.QueryRow(ctx, `SELECT to_regclass('kpi_sync_status') IS NOT NULL`).Scan(&exists); err != nil {
		return Observation{}, fmt.Errorf("monitor %d: kpi table: %w", m.ID, err)
	}
	if !exists {
		return Observation{Unavailable: "KPI sync data is not available yet"}, nil
	}
	rows, err := s.pool.Query(ctx, `
		SELECT st.client_id, min(COALESCE(st.last_success_at, 'epoch'::timestamptz)),
		       COALESCE(NULLIF(max(k.sync_every_seconds), 0), $2::integer),
		       EXISTS (SELECT 1 FROM clients c WHERE c.id = st.client_id AND c.status = 'offboarded')
		FROM kpi_sync_status st LEFT JOIN kpi_settings k ON k.client_id = st.client_id
		WHERE `+store.CountedKPISources+`
		  AND ($1 = '' OR st.client_id = $1)
		GROUP BY st.client_id ORDER BY st.client_id`, m.Params.ClientID, int32(s.KPISyncEvery/time.Second))
	if err != nil {
		return Observation{}, fmt.Errorf("monitor %d: kpi syncs: %w", m.ID, err)
	}
	synced, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (ClientSync, error) {
		var c ClientSync
		var periodSeconds int64
		err := row.Scan(&c.ClientID, &c.At, &periodSeconds, &c.Offboarded)
		c.Period = time.Duration(periodSeconds) * time.Second
		return c, err
	})
	if err != nil {
		return Observation{}, fmt.Errorf("monitor %d: kpi syncs: %w", m.ID, err)
	}
	return Observation{Synced: synced}, nil
}

// Outcome is what one applied evaluation did.
type Outcome struct {
	Action  Action `json:"action"`
	AlertID int64  `json:"alert_id,omitempty"`
	// NotificationID is the message queued for delivery, 0 when deduplicated or none was due.
	NotificationID int64 `json:"notification_id,omitempty"`
}

// Apply records an evaluation of monitor id made at now: it opens, keeps or resolves the
// monitor's incident (Decide) and queues the notification that calls for, unless one for the
// same monitor, event and period was queued before. Evaluations of one monitor are serialised
// by a row lock, so concurrent evaluators (the schedule, an activity retry, an admin) can
// neither open two incidents nor queue the same message twice.
func (s *Store) Apply(ctx context.Context, id int64, r Result, now time.Time) (Outcome, error) {
	var out Outcome
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var periodSeconds int64
		err := tx.QueryRow(ctx, `SELECT period_seconds FROM monitors WHERE id = $1 FOR UPDATE`, id).Scan(&periodSeconds)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("monitor %d: %w", id, ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("lock monitor: %w", err)
		}
		var open bool
		err = tx.QueryRow(ctx, `SELECT id FROM alerts WHERE monitor_id = $1 AND state = 'firing'`, id).Scan(&out.AlertID)
		switch {
		case err == nil:
			open = true
		case !errors.Is(err, pgx.ErrNoRows):
			return fmt.Errorf("open alert: %w", err)
		}

		subjects, err := json.Marshal(nonNil(r.Subjects))
		if err != nil {
			return fmt.Errorf("encode subjects: %w", err)
		}
		out.Action = Decide(open, r.Status)
		switch out.Action {
		case ActionOpen:
			err = tx.QueryRow(ctx, `
				INSERT INTO alerts (monitor_id, state, summary, value, subjects, fired_at, updated_at)
				VALUES ($1, 'firing', $2, $3, $4, $5, $5) RETURNING id`, id, r.Summary, r.Value, subjects, now).Scan(&out.AlertID)
		case ActionKeep:
			_, err = tx.Exec(ctx, `UPDATE alerts SET summary = $2, value = $3, subjects = $4, updated_at = $5 WHERE id = $1`,
				out.AlertID, r.Summary, r.Value, subjects, now)
		case ActionResolve:
			// The summary stays what fired; the resolution's own words go in its notification.
			_, err = tx.Exec(ctx, `UPDATE alerts SET state = 'resolved', resolved_at = $2, updated_at = $2 WHERE id = $1`,
				out.AlertID, now)
		}
		if err != nil {
			return fmt.Errorf("%s alert: %w", out.Action, err)
		}

		period := time.Duration(periodSeconds) * time.Second
		if ev, start, due := NotificationFor(out.Action, now, period); due {
			if out.NotificationID, err = queueNotification(ctx, tx, out.AlertID, id, ev, start, period, r.Summary, now); err != nil {
				return err
			}
		}

		_, err = tx.Exec(ctx, `UPDATE monitors SET last_status = $2, last_summary = $3, last_evaluated_at = $4 WHERE id = $1`,
			id, string(r.Status), r.Summary, now)
		if err != nil {
			return fmt.Errorf("record evaluation: %w", err)
		}
		return nil
	})
	if err != nil {
		return Outcome{}, fmt.Errorf("monitor: apply evaluation of %d: %w", id, err)
	}
	return out, nil
}

// queueNotification queues the message ev of incident alertID in the period starting at start,
// unless the incident already has one there (a repeat evaluation, a retry): its ID, or 0. The
// outbox's unique key is the monitor's (monitor_id, event, period_start), which deduplicated a
// new incident's message against an earlier incident's of the same period: a monitor that
// resolved and fired again in one period went unannounced until the next (the admin's last
// message said "resolved"). A message about another incident than the period's first goes under
// the evaluation's time instead of the period's start. The key stays as it was, so a previous
// release's worker (a rolling deploy, a rollback) still inserts with its ON CONFLICT. Apply holds
// the monitor's row, so one evaluation at a time gets here.
func queueNotification(ctx context.Context, tx pgx.Tx, alertID, monitorID int64, ev Event, start time.Time,
	period time.Duration, summary string, now time.Time) (int64, error) {
	var queued bool
	// By the monitor too: the unique key's index serves the period's range.
	err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM alert_notifications
		WHERE monitor_id = $1 AND event = $2 AND period_start >= $3 AND period_start < $4 AND alert_id = $5)`,
		monitorID, string(ev), start, start.Add(period), alertID).Scan(&queued)
	if err != nil || queued {
		return 0, wrapErr("queue notification", err)
	}
	for _, at := range []time.Time{start, now} {
		var nid int64
		err := tx.QueryRow(ctx, `
			INSERT INTO alert_notifications (alert_id, monitor_id, event, period_start, summary)
			VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (monitor_id, event, period_start) DO NOTHING
			RETURNING id`, alertID, monitorID, string(ev), at, summary).Scan(&nid)
		if !errors.Is(err, pgx.ErrNoRows) {
			return nid, wrapErr("queue notification", err)
		}
	}
	return 0, nil // two evaluations at the same instant: the first's message stands
}

func wrapErr(what string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", what, err)
}

// RecordError notes on the monitor that it could not be evaluated; its incident is untouched.
func (s *Store) RecordError(ctx context.Context, id int64, msg string, now time.Time) error {
	_, err := s.pool.Exec(ctx, `UPDATE monitors SET last_status = $2, last_summary = $3, last_evaluated_at = $4 WHERE id = $1`,
		id, string(StatusError), msg, now)
	if err != nil {
		return fmt.Errorf("monitor: record error of %d: %w", id, err)
	}
	return nil
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
