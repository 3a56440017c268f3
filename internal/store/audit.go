package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// AuditEntry is one admin change: who made it, what it was, and the target before and after.
// Before is null for a creation, After for a deletion. Secrets never appear in either.
type AuditEntry struct {
	ID        int64           `json:"id"`
	Actor     string          `json:"actor"`
	Action    string          `json:"action"`
	Target    string          `json:"target"`
	Before    json.RawMessage `json:"before"`
	After     json.RawMessage `json:"after"`
	RequestID string          `json:"request_id"`
	CreatedAt time.Time       `json:"created_at"`
}

func auditJSON(v any) ([]byte, error) {
	if v == nil {
		return nil, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode audit state: %w", err)
	}
	if string(b) == "null" {
		return nil, nil
	}
	return b, nil
}

// Audit appends an entry; before and after are encoded as JSON (nil is stored as null). Call it
// inside the same InTx as the change it records.
func (s *Store) Audit(ctx context.Context, actor, action, target, requestID string, before, after any) error {
	b, err := auditJSON(before)
	if err != nil {
		return err
	}
	a, err := auditJSON(after)
	if err != nil {
		return err
	}
	_, err = s.pool.Exec(ctx, `INSERT INTO audit_log (actor, action, target, before, after, request_id)
		VALUES ($1, $2, $3, $4, $5, $6)`, actor, action, target, b, a, requestID)
	if err != nil {
		return fmt.Errorf("audit %s %s: %w", action, target, err)
	}
	return nil
}

// AuditFilter narrows ListAudit; empty fields match everything. BeforeID pages backwards: only
// entries with a smaller ID.
type AuditFilter struct {
	Actor, Action, Target string
	From, To              time.Time
	BeforeID              int64
	Limit                 int
}

// ListAudit returns entries newest first.
func (s *Store) ListAudit(ctx context.Context, f AuditFilter) ([]AuditEntry, error) {
	f.Limit = clampLimit(f.Limit)
	// $6 = 0 alone would type the cursor int4 (the literal's type), and a page past ID 2^31-1
	// of the bigserial could not be asked for.
	rows, err := s.pool.Query(ctx, `SELECT id, actor, action, target, before, after, request_id, created_at FROM audit_log
		WHERE ($1 = '' OR actor = $1) AND ($2 = '' OR action = $2) AND ($3 = '' OR target = $3)
			AND ($4::timestamptz IS NULL OR created_at >= $4) AND ($5::timestamptz IS NULL OR created_at < $5)
			AND ($6::bigint = 0 OR id < $6)
		ORDER BY id DESC LIMIT $7`, f.Actor, f.Action, f.Target, timeOrNil(f.From), timeOrNil(f.To), f.BeforeID, f.Limit)
	if err != nil {
		return nil, fmt.Errorf("list audit log: %w", err)
	}
	defer rows.Close()
	var out []AuditEntry
	for rows.Next() {
		var e AuditEntry
		if err := rows.Scan(&e.ID, &e.Actor, &e.Action, &e.Target, &e.Before, &e.After, &e.RequestID, &e.CreatedAt); err != nil {
			return nil, fmt.Errorf("scan audit entry: %w", err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// MaxPageSize bounds every paged listing.
const MaxPageSize = 200

// clampLimit turns a requested page size into one the store serves: 50 when unset.
func clampLimit(n int) int {
	switch {
	case n <= 0:
		return 50
	case n > MaxPageSize:
		return MaxPageSize
	}
	return n
}

// LockTarget serialises changes to one audit target until the transaction ends, so the "before"
// an admin change records is the state it really replaced. Call it first inside InTx.
func (s *Store) LockTarget(ctx context.Context, target string) error {
	if _, err := s.pool.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, "audit:"+target); err != nil {
		return fmt.Errorf("lock %s: %w", target, err)
	}
	return nil
}

// AuditRecordedAny reports whether an entry of action on target recorded any one of the given
// fields with its value in its "after" (a JSON object's top-level string fields). Call it inside
// InTx after LockTarget, as AuditAfterForKey.
func (s *Store) AuditRecordedAny(ctx context.Context, action, target string, fields map[string]string) (bool, error) {
	objects := make([]string, 0, len(fields))
	for k, v := range fields {
		b, err := json.Marshal(map[string]string{k: v})
		if err != nil {
			return false, fmt.Errorf("audit entry of %s %s: %w", action, target, err)
		}
		objects = append(objects, string(b))
	}
	var found bool
	err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM audit_log
		WHERE target = $1 AND action = $2 AND after @> ANY($3::jsonb[]))`, target, action, objects).Scan(&found)
	if err != nil {
		return false, fmt.Errorf("audit entry of %s %s: %w", action, target, err)
	}
	return found, nil
}

// AuditAfterForKey returns the "after" of the newest entry of action on target that recorded
// idempotencyKey (its after.idempotency_key), and whether there is one. Admin endpoints that
// take an Idempotency-Key answer a retry with what the first request did; the audit entry is
// that record, written in the same transaction as the change. Call it inside InTx after
// LockTarget, so a concurrent retry waits for the first request's entry.
func (s *Store) AuditAfterForKey(ctx context.Context, action, target, idempotencyKey string) (json.RawMessage, bool, error) {
	var after json.RawMessage
	err := s.pool.QueryRow(ctx, `SELECT after FROM audit_log
		WHERE target = $1 AND action = $2 AND after->>'idempotency_key' = $3
		ORDER BY id DESC LIMIT 1`, target, action, idempotencyKey).Scan(&after)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("audit entry of %s %s by idempotency key: %w", action, target, err)
	}
	return after, true, nil
}

// LastDecision returns the newest entry of a payment decision (payment.retry, .cancel, .release,
// .resolve) on target, whichever save of the payment it was made on, and that save (SavedKey; ""
// when the entry does not say): an admin's records it as its after.saved_at, a release or retry
// sent for Stripe's Connect event as its after.idempotency_key ("stripe-connect/<save>") too.
// Decisions are sent one at a time (the API refuses one while another waits for the run), so the
// newest is the only one that may still wait. Call it inside InTx after LockTarget, so a decision
// sent at the same time waits for this one's entry.
func (s *Store) LastDecision(ctx context.Context, target string) (e AuditEntry, savedKey string, found bool, err error) {
	err = s.pool.QueryRow(ctx, `SELECT id, actor, action, target, before, after, request_id, created_at,
			COALESCE(after->>'saved_at', substring(after->>'idempotency_key' FROM '^stripe-connect/(.*)$'), '')
		FROM audit_log
		WHERE target = $1 AND action IN ('payment.retry', 'payment.cancel', 'payment.release', 'payment.resolve')
		ORDER BY id DESC LIMIT 1`, target).Scan(&e.ID, &e.Actor, &e.Action, &e.Target, &e.Before, &e.After, &e.RequestID, &e.CreatedAt, &savedKey)
	if errors.Is(err, pgx.ErrNoRows) {
		return AuditEntry{}, "", false, nil
	}
	if err != nil {
		return AuditEntry{}, "", false, fmt.Errorf("last decision on %s: %w", target, err)
	}
	return e, savedKey, true, nil
}
