package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"paysplit/internal/money"
	"paysplit/internal/payment"
)

// ValidateOrder checks a normalized order before it is stored.
func ValidateOrder(o payment.Order) error {
	for field, v := range map[string]string{"client_id": o.ClientID, "order_id": o.OrderID} {
		if err := ValidID(field, v); err != nil {
			return err
		}
	}
	if _, err := money.ParseCurrency(string(o.Currency)); err != nil {
		return fmt.Errorf("%w: order %s currency: %v", ErrInvalid, o.OrderID, err)
	}
	if o.Subtotal < 0 || o.Tax < 0 || o.Shipping < 0 || o.Discount < 0 || o.Extras < 0 {
		return fmt.Errorf("%w: order %s has a negative amount", ErrInvalid, o.OrderID)
	}
	if len(o.Lines) == 0 {
		return ValidID("vendor_id", o.VendorID)
	}
	var sub, tax, disc int64
	for i, l := range o.Lines {
		if err := ValidID(fmt.Sprintf("lines[%d].vendor_id", i), l.VendorID); err != nil {
			return err
		}
		if l.Subtotal < 0 || l.Tax < 0 || l.Discount < 0 {
			return fmt.Errorf("%w: order %s line %d has a negative amount", ErrInvalid, o.OrderID, i)
		}
		var err error
		if sub, err = addLine(o.OrderID, i, sub, l.Subtotal); err != nil {
			return err
		}
		if tax, err = addLine(o.OrderID, i, tax, l.Tax); err != nil {
			return err
		}
		if disc, err = addLine(o.OrderID, i, disc, l.Discount); err != nil {
			return err
		}
	}
	if sub != o.Subtotal || tax != o.Tax || disc != o.Discount {
		return fmt.Errorf("%w: order %s lines (subtotal %d, tax %d, discount %d) do not add up to the order (%d, %d, %d)",
			ErrInvalid, o.OrderID, sub, tax, disc, o.Subtotal, o.Tax, o.Discount)
	}
	return nil
}

// addLine adds one line's amount to the order's running sum; a sum past int64 would wrap and could
// then "add up" to anything.
func addLine(orderID string, i int, sum, v int64) (int64, error) {
	s, err := money.AddInt(sum, v)
	if err != nil {
		return 0, fmt.Errorf("%w: order %s lines overflow at line %d: %v", ErrInvalid, orderID, i, err)
	}
	return s, nil
}

// storedShipping is what the orders table's shipping column holds: the order's shipping and its
// extras, as every release before extras wrote it (migration 00047), so that a task of that
// release reads the order whole.
func storedShipping(o payment.Order) (int64, error) {
	v, err := money.AddInt(o.Shipping, o.Extras)
	if err != nil {
		return 0, fmt.Errorf("%w: order %s shipping and extras: %v", ErrInvalid, o.OrderID, err)
	}
	return v, nil
}

// shippingAndExtras tells a stored order's extras apart from its shipping column (storedShipping):
// only while the column is the shipping they were stored with. A write of the previous release
// rewrites shipping (extras in it) and leaves the extras of the write before, which are then no
// longer this order's: the order reads as that release stored it, everything in shipping.
func shippingAndExtras(stored int64, extras, extrasOf *int64) (shipping, extra int64) {
	if extras == nil || extrasOf == nil || *extrasOf != stored || *extras > stored {
		return stored, 0
	}
	return stored - *extras, *extras
}

// SaveOrder stores or replaces a normalized order and its vendor lines in one transaction,
// whatever is stored, as a state of no known shop time (tests).
func (s *Store) SaveOrder(ctx context.Context, o payment.Order, status string) error {
	_, err := s.saveOrder(ctx, o, status, time.Time{}, true)
	return err
}

// SaveOrderIfNewer stores a whole order body the shop made at shopTime (zero: the event names no
// time), unless what is stored is newer; saved is false when nothing changed. An event is not
// newer only because it arrives later: shops deliver out of order, and an old signed body can be
// resent under a new, unsigned, delivery ID. The body's status replaces the stored one when
// takesState says so, its amounts and lines the stored ones when takesAmounts does: a body made
// after the stored body but before a status change stored since (a refund) brings its amounts and
// leaves the status alone.
func (s *Store) SaveOrderIfNewer(ctx context.Context, o payment.Order, status string, shopTime time.Time) (saved bool, err error) {
	return s.saveOrder(ctx, o, status, shopTime, false)
}

func (s *Store) saveOrder(ctx context.Context, o payment.Order, status string, shopTime time.Time, always bool) (bool, error) {
	if err := ValidateOrder(o); err != nil {
		return false, err
	}
	at := timeOrNil(shopTime)
	shipping, err := storedShipping(o)
	if err != nil {
		return false, err
	}
	saved := false
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		cur, found, err := lockOrderTimes(ctx, tx, o.ClientID, o.OrderID)
		if err != nil {
			return err
		}
		if !found {
			tag, err := tx.Exec(ctx, `
				INSERT INTO orders (client_id, order_id, platform, currency, subtotal, tax, shipping, discount, affiliate_id, status,
					shop_updated_at, shop_amounts_at, extras, extras_of_shipping)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, $12, $7)
				ON CONFLICT (client_id, order_id) DO NOTHING`,
				o.ClientID, o.OrderID, o.Platform, string(o.Currency), o.Subtotal, o.Tax, shipping, o.Discount, o.AffiliateID, status, at, o.Extras)
			if err != nil {
				return err
			}
			if tag.RowsAffected() == 1 {
				saved = true
				return replaceOrderLines(ctx, tx, o)
			}
			// Stored meanwhile by another delivery: decide against what it stored.
			if cur, found, err = lockOrderTimes(ctx, tx, o.ClientID, o.OrderID); err != nil {
				return err
			}
			if !found {
				return fmt.Errorf("order inserted concurrently and gone")
			}
		}
		if always || takesAmounts(status, at, cur) {
			if _, err := tx.Exec(ctx, `UPDATE orders SET platform = $3, currency = $4, subtotal = $5, tax = $6, shipping = $7,
					discount = $8, affiliate_id = $9, shop_amounts_at = $10, extras = $11, extras_of_shipping = $7,
					shop_write_seq = shop_write_seq + 1, updated_at = now()
				WHERE client_id = $1 AND order_id = $2`,
				o.ClientID, o.OrderID, o.Platform, string(o.Currency), o.Subtotal, o.Tax, shipping, o.Discount, o.AffiliateID, at, o.Extras); err != nil {
				return err
			}
			if err := replaceOrderLines(ctx, tx, o); err != nil {
				return err
			}
			saved = true
		}
		if always || takesState(status, at, cur) {
			if err := setOrderState(ctx, tx, o.ClientID, o.OrderID, status, at); err != nil {
				return err
			}
			saved = true
		}
		return nil // neither: a newer state and newer amounts are stored
	})
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23503" {
		return false, fmt.Errorf("%w: client %q does not exist", ErrInvalid, o.ClientID)
	}
	if err != nil {
		return false, fmt.Errorf("save order %s/%s: %w", o.ClientID, o.OrderID, err)
	}
	return saved, nil
}

// UpdateOrderStatusIfNewer sets a stored order's status from an event that carries no amounts (a
// refund, a TikTok or Meta status change) the shop made at shopTime (zero: the event names no
// time), unless the stored status is newer (takesState): saved is false then. The time is the
// status's only: the stored amounts keep the time of the body they come from, so a later body
// still brings its amounts. ErrNotFound when the order is not stored.
func (s *Store) UpdateOrderStatusIfNewer(ctx context.Context, clientID, orderID, status string, shopTime time.Time) (saved bool, err error) {
	at := timeOrNil(shopTime)
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		cur, found, err := lockOrderTimes(ctx, tx, clientID, orderID)
		switch {
		case err != nil:
			return err
		case !found:
			return fmt.Errorf("%w: order %s/%s", ErrNotFound, clientID, orderID)
		case !takesState(status, at, cur):
			return nil
		}
		saved = true
		return setOrderState(ctx, tx, clientID, orderID, status, at)
	})
	if err != nil {
		return false, fmt.Errorf("update order status %s/%s: %w", clientID, orderID, err)
	}
	return saved, nil
}

// lockOrderTimes reads what decides whether an event replaces the stored order, and locks the
// order's row until the transaction ends, so two deliveries of one order decide one after the
// other.
func lockOrderTimes(ctx context.Context, tx pgx.Tx, clientID, orderID string) (shopTimes, bool, error) {
	var cur shopTimes
	err := tx.QueryRow(ctx, `SELECT status, shop_updated_at, shop_amounts_at, updated_at FROM orders
		WHERE client_id = $1 AND order_id = $2 FOR UPDATE`, clientID, orderID).Scan(&cur.status, &cur.stateAt, &cur.amountsAt, &cur.writtenAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return shopTimes{}, false, nil
	}
	return cur, err == nil, err
}

// setOrderState stores an order's status and the shop's time of it (nil: not known). Every write
// of an order bumps shop_write_seq: the trigger of migration 00024 takes a write that does not
// (the previous release's) for one of no known time. Every write sets updated_at too (as the
// previous release's does): it bounds the shop times a write leaves unknown (afterWrite).
func setOrderState(ctx context.Context, tx pgx.Tx, clientID, orderID, status string, at *time.Time) error {
	_, err := tx.Exec(ctx, `UPDATE orders SET status = $3, shop_updated_at = $4, shop_write_seq = shop_write_seq + 1,
		updated_at = now() WHERE client_id = $1 AND order_id = $2`, clientID, orderID, status, at)
	return err
}

// timeOrNil is NULL for the zero time (an unknown time, an open end of a range).
func timeOrNil(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// replaceOrderLines writes an order's vendor lines in place of the stored ones.
func replaceOrderLines(ctx context.Context, tx pgx.Tx, o payment.Order) error {
	if _, err := tx.Exec(ctx, `DELETE FROM order_lines WHERE client_id = $1 AND order_id = $2`, o.ClientID, o.OrderID); err != nil {
		return err
	}
	lines := o.Lines
	if len(lines) == 0 {
		lines = []payment.OrderLine{{VendorID: o.VendorID, Subtotal: o.Subtotal, Tax: o.Tax, Discount: o.Discount}}
	}
	for i, l := range lines {
		if _, err := tx.Exec(ctx, `INSERT INTO order_lines (client_id, order_id, line_no, vendor_id, subtotal, tax, discount)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, o.ClientID, o.OrderID, i, l.VendorID, l.Subtotal, l.Tax, l.Discount); err != nil {
			return err
		}
	}
	return nil
}

// GetOrder reads a normalized order. A single-vendor order comes back with VendorID set and no
// Lines; a multi-vendor one with its Lines. It is GetOrderOfClient's read, whose answer of the
// client's registration it does not need: one statement reads an order, wherever it is read.
func (s *Store) GetOrder(ctx context.Context, clientID, orderID string) (payment.Order, error) {
	o, _, err := s.GetOrderOfClient(ctx, clientID, orderID)
	return o, err
}

// GetOrderOfClient reads an order (GetOrder) and, in the same statement, whether its client is
// registered (as GetClient finds it): a payment's enrichment asks both, one round trip where they
// took two. The order not found is ErrNotFound, with known still answered.
func (s *Store) GetOrderOfClient(ctx context.Context, clientID, orderID string) (o payment.Order, known bool, err error) {
	return scanOrderOfClient(s.pool.QueryRow(ctx, orderOfClientSQL, clientID, orderID), clientID, orderID)
}

const orderOfClientSQL = `SELECT EXISTS (SELECT FROM clients WHERE id = $1),
			o.platform, o.currency, o.subtotal, o.tax, o.shipping, o.discount, o.affiliate_id, o.extras, o.extras_of_shipping,
			l.vendors, l.subtotals, l.taxes, l.discounts
		FROM (SELECT) one
		LEFT JOIN orders o ON o.client_id = $1 AND o.order_id = $2
		LEFT JOIN LATERAL (SELECT array_agg(vendor_id ORDER BY line_no) AS vendors, array_agg(subtotal ORDER BY line_no) AS subtotals,
				array_agg(tax ORDER BY line_no) AS taxes, array_agg(discount ORDER BY line_no) AS discounts
			FROM order_lines WHERE client_id = o.client_id AND order_id = o.order_id) l ON true`

func scanOrderOfClient(row pgx.Row, clientID, orderID string) (o payment.Order, known bool, err error) {
	var platform, cur, affiliate *string
	var subtotal, tax, shipping, discount, extras, extrasOf *int64
	var vendors []string
	var lineSubtotals, lineTaxes, lineDiscounts []int64
	err = row.Scan(&known, &platform, &cur, &subtotal, &tax, &shipping, &discount, &affiliate, &extras, &extrasOf,
		&vendors, &lineSubtotals, &lineTaxes, &lineDiscounts)
	if err != nil {
		return payment.Order{}, false, fmt.Errorf("order %s/%s and its client: %w", clientID, orderID, err)
	}
	if platform == nil {
		return payment.Order{}, known, notFound(pgx.ErrNoRows, "order "+clientID+"/"+orderID)
	}
	o = payment.Order{ClientID: clientID, OrderID: orderID, Platform: *platform, Currency: money.Currency(*cur),
		Subtotal: *subtotal, Tax: *tax, Discount: *discount, AffiliateID: *affiliate}
	o.Shipping, o.Extras = shippingAndExtras(*shipping, extras, extrasOf)
	for i, v := range vendors {
		o.Lines = append(o.Lines, payment.OrderLine{VendorID: v, Subtotal: lineSubtotals[i], Tax: lineTaxes[i], Discount: lineDiscounts[i]})
	}
	return oneVendor(o), known, nil
}

// OrderOfClient is what GetOrderOfClient answers: the order (Err ErrNotFound when there is none)
// and whether its client is registered.
type OrderOfClient struct {
	Order payment.Order
	Known bool
	Err   error
}

// PaymentSavedAndOrderOfClient is GetPaymentSaved and GetOrderOfClient in one round trip (a
// pipeline of the two reads, each with its own snapshot as when sent apart): a new payment's
// first step asks both, the order only once the payment is found not stored, one round trip
// after the other. The payment not found is ErrNotFound in err; the order's answer, found or not,
// is in order, unless the round trip failed (err another error).
func (s *Store) PaymentSavedAndOrderOfClient(ctx context.Context, workflowID, clientID, orderID string) (r payment.Record, savedAt time.Time, order OrderOfClient, err error) {
	b := &pgx.Batch{}
	b.Queue(getPaymentSavedSQL, workflowID)
	b.Queue(orderOfClientSQL, clientID, orderID)
	br := s.pool.SendBatch(ctx, b)
	r, savedAt, err = scanPaymentSaved(br.QueryRow(), workflowID)
	order.Order, order.Known, order.Err = scanOrderOfClient(br.QueryRow(), clientID, orderID)
	if closeErr := br.Close(); closeErr != nil && (err == nil || errors.Is(err, ErrNotFound)) {
		return payment.Record{}, time.Time{}, OrderOfClient{}, fmt.Errorf("payment %s and order %s/%s: %w", workflowID, clientID, orderID, closeErr)
	}
	if err != nil && !errors.Is(err, ErrNotFound) {
		return payment.Record{}, time.Time{}, OrderOfClient{}, err
	}
	if order.Err != nil && !errors.Is(order.Err, ErrNotFound) {
		return payment.Record{}, time.Time{}, OrderOfClient{}, order.Err
	}
	return r, savedAt, order, err
}

// oneVendor is o as GetOrder answers it: an order whose lines are all one vendor's comes with
// that VendorID and no Lines.
func oneVendor(o payment.Order) payment.Order {
	if vendors := distinctVendors(o.Lines); len(vendors) == 1 {
		o.VendorID, o.Lines = vendors[0], nil
	}
	return o
}

func distinctVendors(lines []payment.OrderLine) []string {
	var out []string
	seen := map[string]bool{}
	for _, l := range lines {
		if !seen[l.VendorID] {
			seen[l.VendorID] = true
			out = append(out, l.VendorID)
		}
	}
	return out
}

// AddOrderWaiter records that a payment's workflow waits for an order.
func (s *Store) AddOrderWaiter(ctx context.Context, clientID, orderID, workflowID string) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO order_waiters (client_id, order_id, workflow_id) VALUES ($1, $2, $3)
		ON CONFLICT DO NOTHING`, clientID, orderID, workflowID)
	if err != nil {
		return fmt.Errorf("add order waiter %s/%s: %w", clientID, orderID, err)
	}
	return nil
}

// RemoveOrderWaiter forgets that a payment's workflow waits for an order (it found the order).
func (s *Store) RemoveOrderWaiter(ctx context.Context, clientID, orderID, workflowID string) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM order_waiters WHERE client_id = $1 AND order_id = $2 AND workflow_id = $3`,
		clientID, orderID, workflowID)
	if err != nil {
		return fmt.Errorf("remove order waiter %s/%s: %w", clientID, orderID, err)
	}
	return nil
}

// OrderWaiters lists the workflows waiting for an order.
func (s *Store) OrderWaiters(ctx context.Context, clientID, orderID string) ([]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT workflow_id FROM order_waiters WHERE client_id = $1 AND order_id = $2 ORDER BY created_at`, clientID, orderID)
	if err != nil {
		return nil, fmt.Errorf("order waiters %s/%s: %w", clientID, orderID, err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// RecordDelivery remembers a webhook delivery ID; first is false when it was seen before.
func (s *Store) RecordDelivery(ctx context.Context, provider, deliveryID, clientID string) (first bool, err error) {
	tag, err := s.pool.Exec(ctx, `INSERT INTO webhook_deliveries (provider, delivery_id, client_id) VALUES ($1, $2, $3)
		ON CONFLICT DO NOTHING`, provider, deliveryID, clientID)
	if err != nil {
		return false, fmt.Errorf("record %s delivery %s: %w", provider, deliveryID, err)
	}
	return tag.RowsAffected() == 1, nil
}

// ForgetDelivery removes a delivery record, so a delivery whose processing failed can be retried
// by the provider instead of being dropped as a duplicate.
func (s *Store) ForgetDelivery(ctx context.Context, provider, deliveryID string) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM webhook_deliveries WHERE provider = $1 AND delivery_id = $2`, provider, deliveryID)
	if err != nil {
		return fmt.Errorf("forget %s delivery %s: %w", provider, deliveryID, err)
	}
	return nil
}

// ActionOrderDisagrees is the audit action that flags a payment split on other vendors than its
// order, as the shop delivered it, sells from.
const ActionOrderDisagrees = "payment.order_disagrees"

// FlagSplitOnOtherVendors records, once per payment and disagreement, an audit entry (by actor)
// on a split payment whose vendors are not those its shop's order sells from; flagged says it
// wrote one. Nothing is paid or undone: an admin decides. Both sides call it after their own
// write is committed (the payment's save, the shop's order), as the order's waiters are read, so
// a payment saved while its order is stored is flagged by one of them, or both: the second finds
// the first's entry.
func (s *Store) FlagSplitOnOtherVendors(ctx context.Context, actor string, r payment.Record, shop payment.Order) (flagged bool, err error) {
	split, sold := sortedVendors(r.Order), sortedVendors(shop)
	if len(r.Legs) == 0 || slices.EqualFunc(split, sold, strings.EqualFold) {
		return false, nil
	}
	target := "payment:" + r.WorkflowID
	key := strings.Join(split, ",") + " / " + strings.Join(sold, ",")
	err = s.InTx(ctx, func(tx *Store) error {
		if err := tx.LockTarget(ctx, target); err != nil {
			return err
		}
		done, err := tx.AuditRecordedAny(ctx, ActionOrderDisagrees, target, map[string]string{"disagreement": key})
		if err != nil || done {
			return err
		}
		flagged = true
		return tx.Audit(ctx, actor, ActionOrderDisagrees, target, "",
			map[string]any{"status": r.Status, "vendors": split},
			map[string]any{"shop_vendors": sold, "order_id": shop.OrderID, "disagreement": key})
	})
	if err != nil {
		return false, fmt.Errorf("flag payment %s split on other vendors: %w", r.WorkflowID, err)
	}
	return flagged, nil
}

// sortedVendors is the order's vendors sorted without regard to case, as payee IDs match
// (RegisteredPayeeID): "acme-Bob" in a payment's metadata is the shop's "acme-bob".
func sortedVendors(o payment.Order) []string {
	v := o.Vendors()
	slices.SortFunc(v, func(a, b string) int { return strings.Compare(strings.ToLower(a), strings.ToLower(b)) })
	return slices.CompactFunc(v, strings.EqualFold)
}

// ActionOrderRefused is the audit action of a shop's signed order delivery that could not be read
// (store.RecordRefusedDelivery).
const ActionOrderRefused = "storefront.order_refused"

// RefusedDelivery is a shop's authentic delivery of an order that cannot be read (a line without
// a vendor, amounts that do not add up, ...). The shop cannot correct a body it already sent and
// resends the same bytes, so it is answered 2xx and kept visible here instead: what it was and
// why, nothing of the customer.
type RefusedDelivery struct {
	Platform   string `json:"platform"`
	ClientID   string `json:"client_id"`
	OrderID    string `json:"order_id,omitempty"` // "" when the body names none that is valid
	Topic      string `json:"topic"`
	DeliveryID string `json:"delivery_id"`
	Reason     string `json:"reason"`
}

// maxRefusalReason bounds the reason kept: parser messages are short, and an audit entry must not
// grow with whatever a body held.
const maxRefusalReason = 500

// RecordRefusedDelivery writes the audit entry of a refused delivery (actor
// storefront:<platform>, target client:<client>), once per delivery ID: a resend of the same
// delivery finds its entry (recorded is false). Read with the admin API's audit log
// (action=storefront.order_refused).
func (s *Store) RecordRefusedDelivery(ctx context.Context, d RefusedDelivery) (recorded bool, err error) {
	if len(d.Reason) > maxRefusalReason {
		d.Reason = strings.ToValidUTF8(d.Reason[:maxRefusalReason], "") + "…"
	}
	target := "client:" + d.ClientID
	err = s.InTx(ctx, func(tx *Store) error {
		if err := tx.LockTarget(ctx, target); err != nil {
			return err
		}
		done, err := tx.AuditRecordedAny(ctx, ActionOrderRefused, target,
			map[string]string{"delivery_key": d.Platform + "/" + d.DeliveryID})
		if err != nil || done {
			return err
		}
		recorded = true
		return tx.Audit(ctx, "storefront:"+d.Platform, ActionOrderRefused, target, "", nil, struct {
			RefusedDelivery
			DeliveryKey string `json:"delivery_key"`
		}{d, d.Platform + "/" + d.DeliveryID})
	})
	if err != nil {
		return false, fmt.Errorf("record refused %s delivery %s: %w", d.Platform, d.DeliveryID, err)
	}
	return recorded, nil
}
