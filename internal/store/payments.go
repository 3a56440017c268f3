package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"paysplit/internal/payment"

	"github.com/jackc/pgx/v5"
)

// SavePayment writes the workflow's current view of a payment. The workflow is the only writer
// of its row, so last-write-wins is correct.
func (s *Store) SavePayment(ctx context.Context, r payment.Record) error {
	state, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encode payment %s: %w", r.WorkflowID, err)
	}
	var captured *time.Time
	if !r.CapturedAt.IsZero() {
		captured = &r.CapturedAt
	}
	// A payment waiting for its order has no order yet (r.Order is empty until the split), but
	// its capture named the client and the order it waits for (order_waiters, recorded by Enrich
	// before the first save, once the client was known): it is that client's payment, captured
	// and not split yet, and must be in the client's figures (revenue's and the report's "not
	// split yet", storefront revenue, the admin's search and stuck payments by client), as it is
	// in Stripe's and PayPal's lists. With client_id '' it was in none of them. Later saves
	// without a client keep the client the row has (the waiter may be pruned after a cancel), so
	// order_waiters, which has no index on workflow_id, is read once per waiting payment, not on
	// each of its saves while it waits.
	_, err = s.pool.Exec(ctx, `
		INSERT INTO payments (workflow_id, provider, payment_id, charge_id, client_id, order_id, vendor_id, currency,
			gross, refunded, rule_version, status, reason, state, captured_at)
		SELECT $1, $2, $3, $4, CASE WHEN $5 = '' THEN COALESCE(w.client_id, '') ELSE $5 END,
			CASE WHEN $5 = '' THEN COALESCE(w.order_id, '') ELSE $6 END, $7, $8, $9, $10, $11, $12, $13, $14, $15
		FROM (SELECT) one LEFT JOIN LATERAL (SELECT client_id, order_id FROM order_waiters
			WHERE $5 = '' AND workflow_id = $1
				AND NOT EXISTS (SELECT FROM payments filed WHERE filed.workflow_id = $1 AND filed.client_id <> '')
			ORDER BY created_at LIMIT 1) w ON true
		ON CONFLICT (workflow_id) DO UPDATE SET charge_id = EXCLUDED.charge_id,
			client_id = COALESCE(NULLIF(EXCLUDED.client_id, ''), payments.client_id),
			order_id = CASE WHEN EXCLUDED.client_id = '' THEN payments.order_id ELSE EXCLUDED.order_id END,
			vendor_id = EXCLUDED.vendor_id, currency = EXCLUDED.currency,
			gross = EXCLUDED.gross, refunded = EXCLUDED.refunded, rule_version = EXCLUDED.rule_version,
			status = EXCLUDED.status, reason = EXCLUDED.reason, state = EXCLUDED.state,
			captured_at = EXCLUDED.captured_at, updated_at = now()`, // status_since: a trigger (migration 00017)
		r.WorkflowID, r.Provider, r.PaymentID, r.ChargeID, r.Order.ClientID, r.Order.OrderID, r.Order.VendorID,
		string(r.Currency), r.Gross, r.Refunded, r.RuleVersion, string(r.Status), r.Reason, state, captured)
	if err != nil {
		return fmt.Errorf("save payment %s: %w", r.WorkflowID, err)
	}
	return nil
}

// GetPayment reads a payment's stored state.
func (s *Store) GetPayment(ctx context.Context, workflowID string) (payment.Record, error) {
	var state []byte
	if err := s.pool.QueryRow(ctx, `SELECT state FROM payments WHERE workflow_id = $1`, workflowID).Scan(&state); err != nil {
		return payment.Record{}, notFound(err, "payment "+workflowID)
	}
	var r payment.Record
	if err := json.Unmarshal(state, &r); err != nil {
		return payment.Record{}, fmt.Errorf("decode payment %s: %w", workflowID, err)
	}
	return r, nil
}

// GetPaymentSaved reads a payment's stored state and when its run saved it (its row's
// updated_at): an admin's decision is made on that save (SavedKey).
func (s *Store) GetPaymentSaved(ctx context.Context, workflowID string) (payment.Record, time.Time, error) {
	return scanPaymentSaved(s.pool.QueryRow(ctx, getPaymentSavedSQL, workflowID), workflowID)
}

const getPaymentSavedSQL = `SELECT state, updated_at FROM payments WHERE workflow_id = $1`

func scanPaymentSaved(row pgx.Row, workflowID string) (payment.Record, time.Time, error) {
	var state []byte
	var savedAt time.Time
	if err := row.Scan(&state, &savedAt); err != nil {
		return payment.Record{}, time.Time{}, notFound(err, "payment "+workflowID)
	}
	var r payment.Record
	if err := json.Unmarshal(state, &r); err != nil {
		return payment.Record{}, time.Time{}, fmt.Errorf("decode payment %s: %w", workflowID, err)
	}
	return r, savedAt, nil
}

// SavedKey names a save of a payment (its row's updated_at, as GetPaymentSaved and HeldPayment
// read it) in the audit entries of the decisions made on it.
func SavedKey(savedAt time.Time) string { return savedAt.UTC().Format(time.RFC3339Nano) }

// PaymentFilter narrows ListPayments; empty fields match everything.
type PaymentFilter struct {
	ClientID, VendorID, OrderID, Status string
	// Statuses matches any of several statuses (as well as Status, when both are set).
	Statuses []string
	// From and To bound the payment's time, its capture time (the creation time before
	// capture): From <= t < To.
	From, To time.Time
	// After continues a listing after the payment at this position (the last of the previous page).
	After *PaymentCursor
	Limit int
}

// PaymentCursor is a payment's position in ListPayments' order: its time (as From and To
// bound it), then its workflow ID, both descending.
type PaymentCursor struct {
	At         time.Time
	WorkflowID string
}

// paymentAt is a payment's time in ListPayments, for its filter, its order and its cursor alike:
// the indexes payments_at and payments_client_at (migration 00018) and payments_vendor_at (00020)
// are on this expression.
const paymentAt = `COALESCE(captured_at, created_at)`

// listPaymentsSQL reads a page of payments in the order of payments_at (or, for one client,
// payments_client_at, for one vendor payments_vendor_at), so the newest page, a window or the page after a cursor is one index
// range, whatever the size of the table.
const listPaymentsSQL = `SELECT state, ` + paymentAt + `, workflow_id, client_id, order_id FROM payments
		WHERE ($1 = '' OR client_id = $1) AND ($2 = '' OR vendor_id = $2) AND ($3 = '' OR order_id = $3) AND ($4 = '' OR status = $4)
			AND (cardinality($6::text[]) = 0 OR status = ANY($6))
			AND ($7::timestamptz IS NULL OR ` + paymentAt + ` >= $7)
			AND ($8::timestamptz IS NULL OR ` + paymentAt + ` < $8)
			AND ($9::timestamptz IS NULL OR (` + paymentAt + `, workflow_id) < ($9, $10::text))
		ORDER BY ` + paymentAt + ` DESC, workflow_id DESC LIMIT $5`

// PaymentsMissing returns which of the workflow IDs have no stored payment, in one query:
// reconciliation asks it of the thousands of captures a provider lists for two weeks, nearly
// all of them known.
func (s *Store) PaymentsMissing(ctx context.Context, workflowIDs []string) (map[string]bool, error) {
	rows, err := s.pool.Query(ctx, `SELECT id FROM unnest($1::text[]) id
		WHERE NOT EXISTS (SELECT FROM payments p WHERE p.workflow_id = id)`, workflowIDs)
	if err != nil {
		return nil, fmt.Errorf("payments missing among %d: %w", len(workflowIDs), err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("payments missing among %d: %w", len(workflowIDs), err)
	}
	out := make(map[string]bool, len(ids))
	for _, id := range ids {
		out[id] = true
	}
	return out, nil
}

// GetPaymentView reads a payment as the admin API shows it: GetPayment's state, with the client
// and order its row is filed under when the state has no order yet (a payment waiting for it,
// see SavePayment), so the payment a search by client lists names that client.
func (s *Store) GetPaymentView(ctx context.Context, workflowID string) (payment.Record, error) {
	var state []byte
	var clientID, orderID string
	if err := s.pool.QueryRow(ctx, `SELECT state, client_id, order_id FROM payments WHERE workflow_id = $1`, workflowID).Scan(&state, &clientID, &orderID); err != nil {
		return payment.Record{}, notFound(err, "payment "+workflowID)
	}
	var r payment.Record
	if err := json.Unmarshal(state, &r); err != nil {
		return payment.Record{}, fmt.Errorf("decode payment %s: %w", workflowID, err)
	}
	return withRowsOrder(r, clientID, orderID), nil
}

// withRowsOrder names the row's client and order in a record that has no order yet. Only views
// take it: the workflow's own state (GetPayment) stays as the workflow saved it.
func withRowsOrder(r payment.Record, clientID, orderID string) payment.Record {
	if r.Order.ClientID == "" {
		r.Order.ClientID, r.Order.OrderID = clientID, orderID
	}
	return r
}

// ListPayments returns stored payments, newest first (by capture time, creation time before
// capture; ties by workflow ID), a page after f.After.
func (s *Store) ListPayments(ctx context.Context, f PaymentFilter) ([]payment.Record, error) {
	page, err := s.ListPaymentsPage(ctx, f)
	if err != nil {
		return nil, err
	}
	out := make([]payment.Record, 0, len(page))
	for _, p := range page {
		out = append(out, p.Record)
	}
	return out, nil
}

// ListedPayment is a payment as ListPaymentsPage returns it, with its position for a cursor.
type ListedPayment struct {
	payment.Record
	Cursor PaymentCursor
}

// ListPaymentsPage is ListPayments with each payment's cursor.
func (s *Store) ListPaymentsPage(ctx context.Context, f PaymentFilter) ([]ListedPayment, error) {
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 100
	}
	statuses := f.Statuses
	if statuses == nil {
		statuses = []string{}
	}
	var afterAt any
	var afterWF string
	if f.After != nil {
		afterAt, afterWF = f.After.At, f.After.WorkflowID
	}
	rows, err := s.pool.Query(ctx, listPaymentsSQL, f.ClientID, f.VendorID, f.OrderID, f.Status, f.Limit, statuses,
		timeOrNil(f.From), timeOrNil(f.To), afterAt, afterWF)
	if err != nil {
		return nil, fmt.Errorf("list payments: %w", err)
	}
	defer rows.Close()
	var out []ListedPayment
	for rows.Next() {
		var state []byte
		var c PaymentCursor
		var clientID, orderID string
		if err := rows.Scan(&state, &c.At, &c.WorkflowID, &clientID, &orderID); err != nil {
			return nil, fmt.Errorf("scan payment: %w", err)
		}
		var r payment.Record
		if err := json.Unmarshal(state, &r); err != nil {
			return nil, fmt.Errorf("decode payment: %w", err)
		}
		out = append(out, ListedPayment{Record: withRowsOrder(r, clientID, orderID), Cursor: c})
	}
	return out, rows.Err()
}
