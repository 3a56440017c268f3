package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// EarlyStatus is a status change for an order not stored yet (a Shopify refund, a TikTok or Meta
// status change delivered before the order): shops deliver out of order, so it is kept and
// applied, by the rule every status is (takesState), when the order arrives. It holds IDs, the
// status and the shop's time of it; a Shopify refund also what it gave back, in its currency,
// which the order's amounts tell a full refund from a partial one by.
type EarlyStatus struct {
	ClientID, OrderID, Platform, Status string
	Refunded                            int64
	Currency                            string
	// ShopTime is the shop's time of the status (zero: the event named none).
	ShopTime time.Time
}

// LockOrderKey holds, until the transaction ends, the right to decide whether one order is
// stored: a status change that finds no order and keeps itself, and the order's own delivery
// that stores it and takes the kept statuses, each take it first. Without it the two could run
// at once, neither seeing the other's uncommitted row, and the status was kept for no one. Called
// outside a transaction it holds nothing.
func (s *Store) LockOrderKey(ctx context.Context, clientID, orderID string) error {
	_, err := s.pool.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('order:' || $1 || '/' || $2, 0))`, clientID, orderID)
	if err != nil {
		return fmt.Errorf("lock order %s/%s: %w", clientID, orderID, err)
	}
	return nil
}

// KeepEarlyStatus keeps a status change whose order is not stored yet.
func (s *Store) KeepEarlyStatus(ctx context.Context, e EarlyStatus) error {
	if err := ValidID("order_id", e.OrderID); err != nil {
		return err
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO early_order_statuses (client_id, order_id, platform, status, refunded, currency, shop_time)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		e.ClientID, e.OrderID, e.Platform, e.Status, e.Refunded, e.Currency, timeOrNil(e.ShopTime))
	if err != nil {
		return fmt.Errorf("keep early status of order %s/%s: %w", e.ClientID, e.OrderID, err)
	}
	return nil
}

// TakeEarlyStatuses removes and returns the status changes kept for an order of the platform, in
// the order they arrived. Those kept under another platform (an order ID the client used on two
// shops, which the order's storing refuses anyway) stay, for retention to prune.
func (s *Store) TakeEarlyStatuses(ctx context.Context, clientID, orderID, platform string) ([]EarlyStatus, error) {
	rows, err := s.pool.Query(ctx, `WITH taken AS (DELETE FROM early_order_statuses
			WHERE client_id = $1 AND order_id = $2 AND platform = $3
			RETURNING id, client_id, order_id, platform, status, refunded, currency, shop_time)
		SELECT client_id, order_id, platform, status, refunded, currency, shop_time FROM taken ORDER BY id`,
		clientID, orderID, platform)
	if err != nil {
		return nil, fmt.Errorf("take early statuses of order %s/%s: %w", clientID, orderID, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (EarlyStatus, error) {
		var e EarlyStatus
		var at *time.Time
		err := r.Scan(&e.ClientID, &e.OrderID, &e.Platform, &e.Status, &e.Refunded, &e.Currency, &at)
		if at != nil {
			e.ShopTime = *at
		}
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("take early statuses of order %s/%s: %w", clientID, orderID, err)
	}
	return out, nil
}
