package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"paysplit/internal/payment"
)

// OrderRecord is order metadata delivered by a storefront, keyed by the payment it belongs to.
type OrderRecord struct {
	Provider   string        `json:"provider"`
	PaymentRef string        `json:"payment_ref"`
	Order      payment.Order `json:"order"`
}

// SaveOrderRecord stores (or replaces) the order metadata for a payment reference.
func (s *Store) SaveOrderRecord(ctx context.Context, r OrderRecord) error {
	o := r.Order
	_, err := s.pool.Exec(ctx, `
		INSERT INTO order_records (provider, payment_ref, client_id, order_id, vendor_id, affiliate_id, platform,
			subtotal, tax, shipping, discount)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
		ON CONFLICT (provider, payment_ref) DO UPDATE SET client_id = EXCLUDED.client_id, order_id = EXCLUDED.order_id,
			vendor_id = EXCLUDED.vendor_id, affiliate_id = EXCLUDED.affiliate_id, platform = EXCLUDED.platform,
			subtotal = EXCLUDED.subtotal, tax = EXCLUDED.tax, shipping = EXCLUDED.shipping, discount = EXCLUDED.discount`,
		r.Provider, r.PaymentRef, o.ClientID, o.OrderID, o.VendorID, o.AffiliateID, o.Platform,
		o.Subtotal, o.Tax, o.Shipping, o.Discount)
	if err != nil {
		return fmt.Errorf("save order record %s/%s: %w", r.Provider, r.PaymentRef, err)
	}
	return nil
}

// GetOrderRecord reads the order metadata for a payment reference.
func (s *Store) GetOrderRecord(ctx context.Context, provider, ref string) (OrderRecord, error) {
	r := OrderRecord{Provider: provider, PaymentRef: ref}
	o := &r.Order
	err := s.pool.QueryRow(ctx, `SELECT client_id, order_id, vendor_id, affiliate_id, platform, subtotal, tax, shipping, discount
		FROM order_records WHERE provider = $1 AND payment_ref = $2`, provider, ref).
		Scan(&o.ClientID, &o.OrderID, &o.VendorID, &o.AffiliateID, &o.Platform, &o.Subtotal, &o.Tax, &o.Shipping, &o.Discount)
	if err != nil {
		return OrderRecord{}, notFound(err, "order record "+provider+"/"+ref)
	}
	return r, nil
}

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
	_, err = s.pool.Exec(ctx, `
		INSERT INTO payments (workflow_id, provider, payment_id, charge_id, client_id, order_id, vendor_id, currency,
			gross, refunded, rule_version, status, reason, state, captured_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
		ON CONFLICT (workflow_id) DO UPDATE SET charge_id = EXCLUDED.charge_id, client_id = EXCLUDED.client_id,
			order_id = EXCLUDED.order_id, vendor_id = EXCLUDED.vendor_id, currency = EXCLUDED.currency,
			gross = EXCLUDED.gross, refunded = EXCLUDED.refunded, rule_version = EXCLUDED.rule_version,
			status = EXCLUDED.status, reason = EXCLUDED.reason, state = EXCLUDED.state,
			captured_at = EXCLUDED.captured_at, updated_at = now()`,
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

// PaymentFilter narrows ListPayments; empty fields match everything.
type PaymentFilter struct {
	ClientID, VendorID, OrderID, Status string
	Limit                               int
}

// ListPayments returns stored payments, newest first.
func (s *Store) ListPayments(ctx context.Context, f PaymentFilter) ([]payment.Record, error) {
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 100
	}
	rows, err := s.pool.Query(ctx, `SELECT state FROM payments
		WHERE ($1 = '' OR client_id = $1) AND ($2 = '' OR vendor_id = $2) AND ($3 = '' OR order_id = $3) AND ($4 = '' OR status = $4)
		ORDER BY created_at DESC LIMIT $5`, f.ClientID, f.VendorID, f.OrderID, f.Status, f.Limit)
	if err != nil {
		return nil, fmt.Errorf("list payments: %w", err)
	}
	defer rows.Close()
	var out []payment.Record
	for rows.Next() {
		var state []byte
		if err := rows.Scan(&state); err != nil {
			return nil, fmt.Errorf("scan payment: %w", err)
		}
		var r payment.Record
		if err := json.Unmarshal(state, &r); err != nil {
			return nil, fmt.Errorf("decode payment: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}
