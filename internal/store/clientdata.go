package store

import (
	"context"
	"fmt"
	"time"

	"paysplit/internal/money"
)

// legsSQL expands a payment's legs (null before the split) into rows.
const legsSQL = `jsonb_array_elements(CASE WHEN jsonb_typeof(p.state->'legs') = 'array' THEN p.state->'legs' ELSE '[]'::jsonb END)`

// legHeldSQL joins each leg (of legsSQL, as leg) to l, what it is owed (net of refunds) and paid
// (net of reversals), and hl, what of it is held and why, as the weekly report and the payouts
// list both count it: a held leg's rest, with the leg's reason; otherwise its top-ups held for its
// payee (payment.Due.Held: never sent, the payee cannot receive, which keeps the payment held), up
// to what the leg is still owed, with the held top-up's reason. hl.reason is NULL when nothing is
// held. fl is what of it failed, by the same rule: a failed leg's rest, with the leg's reason;
// otherwise (not held) its top-ups the provider refused (payment.Due Refused and not Held: they
// stay due and keep the payment payout_failed), up to what the leg is still owed beyond what is
// held, with the refused top-up's reason; or, negative as money owed back, its reversals the
// provider refused (they stay due too, for an admin's retry), up to what the payee holds beyond
// what it is owed, with the refused reversal's reason (a leg is owed, or owes back, never both).
// fl.reason is NULL when nothing failed.
const legHeldSQL = `CROSS JOIN LATERAL (SELECT
		COALESCE((leg->>'amount')::bigint, 0) - COALESCE((leg->>'refunded')::bigint, 0) AS owed,
		COALESCE((leg->>'transferred')::bigint, 0) - COALESCE((leg->>'reversed')::bigint, 0) AS paid) l
	CROSS JOIN LATERAL (SELECT
			COALESCE(sum((d->>'amount')::bigint) FILTER (WHERE d->>'kind' = 'top_up' AND d->>'held' = 'true'), 0) AS held,
			min(d->>'reason') FILTER (WHERE d->>'kind' = 'top_up' AND d->>'held' = 'true') AS held_reason,
			COALESCE(sum((d->>'amount')::bigint) FILTER (WHERE d->>'kind' = 'top_up' AND d->>'refused' = 'true' AND COALESCE(d->>'held', 'false') <> 'true'), 0) AS refused,
			min(d->>'reason') FILTER (WHERE d->>'kind' = 'top_up' AND d->>'refused' = 'true' AND COALESCE(d->>'held', 'false') <> 'true') AS refused_reason,
			COALESCE(sum((d->>'amount')::bigint) FILTER (WHERE d->>'refused' = 'true' AND d->>'kind' = 'reversal'), 0) AS back_refused,
			min(d->>'reason') FILTER (WHERE d->>'refused' = 'true' AND d->>'kind' = 'reversal') AS back_refused_reason
		FROM jsonb_array_elements(CASE WHEN jsonb_typeof(leg->'dues') = 'array' THEN leg->'dues' ELSE '[]'::jsonb END) d
		WHERE d->>'kind' IN ('top_up', 'reversal')) du
	CROSS JOIN LATERAL (SELECT
		CASE WHEN leg->>'state' = 'held' THEN l.owed - l.paid ELSE LEAST(GREATEST(l.owed - l.paid, 0), du.held) END AS held,
		CASE WHEN leg->>'state' = 'held' THEN leg->>'reason'
			WHEN LEAST(l.owed - l.paid, du.held) > 0 THEN du.held_reason END AS reason) hl
	CROSS JOIN LATERAL (SELECT
		CASE WHEN leg->>'state' = 'failed' THEN l.owed - l.paid
			WHEN leg->>'state' = 'held' THEN 0
			ELSE LEAST(GREATEST(l.owed - l.paid - hl.held, 0), du.refused) - LEAST(GREATEST(l.paid - l.owed, 0), du.back_refused) END AS failed,
		CASE WHEN leg->>'state' = 'failed' THEN leg->>'reason'
			WHEN leg->>'state' = 'held' THEN NULL
			WHEN LEAST(l.owed - l.paid - hl.held, du.refused) > 0 THEN du.refused_reason
			WHEN LEAST(l.paid - l.owed, du.back_refused) > 0 THEN du.back_refused_reason END AS reason) fl`

// partiesSQL joins each payment p to l: how many legs it has (legs, 0 before the split) and each
// party's share net of refunds (platform, vendor, affiliate), as the revenue figures and the
// weekly report both sum them.
const partiesSQL = `CROSS JOIN LATERAL (
			SELECT count(*) AS legs,
				COALESCE(sum(net) FILTER (WHERE party = 'platform'), 0) AS platform,
				COALESCE(sum(net) FILTER (WHERE party = 'vendor'), 0) AS vendor,
				COALESCE(sum(net) FILTER (WHERE party = 'affiliate'), 0) AS affiliate
			FROM (SELECT leg->>'party' AS party,
					COALESCE((leg->>'amount')::bigint, 0) - COALESCE((leg->>'refunded')::bigint, 0) AS net
				FROM ` + legsSQL + ` leg) legs
		) l`

// RevenueDay is one client's captured payments of one UTC day in one currency, and how they were
// split. Everything is attributed to the day of capture, refunds included, and is net of refunds
// per party, so Gross − Refunds = Commission + VendorPayouts + AffiliatePayouts + Unsplit.
type RevenueDay struct {
	Day      time.Time
	Currency money.Currency
	Payments int64
	Gross    int64
	// Refunds is what went back from the payments: refunds and lost disputes (and PayPal
	// reversals) alike, as the payees' shares went back with both.
	Refunds int64
	// DisputesLost is the part of Refunds that lost disputes took (payment.Record.DisputesLost).
	// Storefront revenue (the KPIs) counts refunds only, as the providers state them: see
	// RefundsOnly. What a lost dispute took beyond what the payment still had
	// (DisputeLossBeyondRefunds) is in neither: it is the platform's loss, not a refund.
	DisputesLost     int64
	Commission       int64 // the platform's share
	VendorPayouts    int64
	AffiliatePayouts int64
	Unsplit          int64 // captured but not split yet (waiting for metadata or an admin)
}

// RefundsOnly is what the customers were refunded, without what lost disputes took: the refunds
// the storefront revenue KPIs subtract, the same figure as the providers' own (Stripe's
// amount_refunded, PayPal's refund transactions), so a day's revenue does not change when it
// leaves the hot window and is read from the provider.
func (d RevenueDay) RefundsOnly() int64 { return d.Refunds - d.DisputesLost }

// disputesLostSQL is a payment's part of refunded that lost disputes took (payment.Record.DisputesLost).
const disputesLostSQL = `LEAST(COALESCE((p.state->>'disputes_lost')::bigint, 0), p.refunded)`

// RevenueByDay sums one client's captured payments per day and currency, from from to to (both
// inclusive UTC days), computed from the payments' current state. Days without payments are absent.
func (s *Store) RevenueByDay(ctx context.Context, clientID string, from, to time.Time) ([]RevenueDay, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT (p.captured_at AT TIME ZONE 'UTC')::date, p.currency, count(*), sum(p.gross), sum(p.refunded),
			sum(`+disputesLostSQL+`), sum(l.platform), sum(l.vendor), sum(l.affiliate),
			sum(CASE WHEN l.legs = 0 THEN p.gross - p.refunded ELSE 0 END)
		FROM payments p `+partiesSQL+`
		WHERE p.client_id = $1 AND p.captured_at >= $2 AND p.captured_at < $3
		GROUP BY 1, 2 ORDER BY 1, 2`, clientID, DayOf(from), DayOf(to).AddDate(0, 0, 1))
	if err != nil {
		return nil, fmt.Errorf("revenue of %s: %w", clientID, err)
	}
	defer rows.Close()
	var out []RevenueDay
	for rows.Next() {
		var d RevenueDay
		var cur string
		if err := rows.Scan(&d.Day, &cur, &d.Payments, &d.Gross, &d.Refunds, &d.DisputesLost, &d.Commission, &d.VendorPayouts,
			&d.AffiliatePayouts, &d.Unsplit); err != nil {
			return nil, fmt.Errorf("scan revenue day: %w", err)
		}
		d.Day, d.Currency = DayOf(d.Day), money.Currency(cur)
		out = append(out, d)
	}
	return out, rows.Err()
}

// Payout is one payee's leg of a payment: what it is owed and what was sent.
type Payout struct {
	WorkflowID    string         `json:"payment"`
	OrderID       string         `json:"order_id"`
	PaymentStatus string         `json:"payment_status"`
	Party         string         `json:"party"`
	PayeeID       string         `json:"payee_id"`
	Currency      money.Currency `json:"currency"`
	Amount        int64          `json:"amount"`
	Refunded      int64          `json:"refunded"`
	Transferred   int64          `json:"transferred"`
	Reversed      int64          `json:"reversed"`
	State         string         `json:"state"`
	Reason        string         `json:"reason,omitempty"`
	TransferID    string         `json:"transfer_id,omitempty"`
	// Held is what of the leg is owed and held, as the weekly report counts it (legHeldSQL): a
	// held leg's rest, or a top-up held for its payee (the leg's own state stays transferred),
	// with HeldReason; state=held lists the legs whose Held is above 0 and those in state held.
	Held       int64  `json:"held"`
	HeldReason string `json:"held_reason,omitempty"`
	// Failed is what of the leg is owed and failed by the same rule (legHeldSQL's fl): a failed
	// leg's rest, or a top-up the provider refused (the leg's own state stays transferred), with
	// FailedReason; negative for a reversal the provider refused (what the payee owes back and
	// the provider would not take). state=failed lists the legs whose Failed is not 0 and those
	// in state failed.
	Failed       int64     `json:"failed"`
	FailedReason string    `json:"failed_reason,omitempty"`
	CapturedAt   time.Time `json:"captured_at"`
}

// PayoutCursor is the position after the last payout of a page. Leg is party-payee: a payment of
// a multi-vendor order has several vendor legs.
type PayoutCursor struct {
	CapturedAt time.Time
	WorkflowID string
	Leg        string
}

// Cursor is the position of p in the listing order.
func (p Payout) Cursor() PayoutCursor {
	return PayoutCursor{CapturedAt: p.CapturedAt, WorkflowID: p.WorkflowID, Leg: p.Party + "-" + p.PayeeID}
}

// PayoutFilter selects one client's payouts; From and To are inclusive UTC days (zero: open).
type PayoutFilter struct {
	ClientID string
	From, To time.Time
	State    string // leg state, e.g. transferred, held, failed; held also a leg with a top-up held (Payout.Held), failed one with a top-up or reversal refused (Payout.Failed)
	After    *PayoutCursor
	Limit    int
}

// ListPayouts returns the payee legs of one client's captured payments, newest payment first.
func (s *Store) ListPayouts(ctx context.Context, f PayoutFilter) ([]Payout, error) {
	var to any
	if !f.To.IsZero() {
		to = DayOf(f.To).AddDate(0, 0, 1)
	}
	var from any
	if !f.From.IsZero() {
		from = DayOf(f.From)
	}
	var afterAt any
	var afterWF, afterLeg string
	if f.After != nil {
		afterAt, afterWF, afterLeg = f.After.CapturedAt, f.After.WorkflowID, f.After.Leg
	}
	// The cursor is a row comparison that includes the leg, which no index of payments can
	// bound; captured_at <= the cursor's time, which it implies, is what bounds the scan of
	// payments_client (client_id, captured_at) to the page, not every newer payment.
	rows, err := s.pool.Query(ctx, `
		SELECT p.workflow_id, p.order_id, p.status, p.currency, p.captured_at, leg->>'party', COALESCE(leg->>'payee_id', ''),
			COALESCE((leg->>'amount')::bigint, 0), COALESCE((leg->>'refunded')::bigint, 0),
			COALESCE((leg->>'transferred')::bigint, 0), COALESCE((leg->>'reversed')::bigint, 0),
			COALESCE(leg->>'state', ''), COALESCE(leg->>'reason', ''), COALESCE(leg->>'transfer_id', ''),
			hl.held, COALESCE(hl.reason, ''), fl.failed, COALESCE(fl.reason, '')
		FROM payments p CROSS JOIN LATERAL `+legsSQL+` leg `+legHeldSQL+`
		WHERE p.client_id = $1 AND p.captured_at IS NOT NULL AND leg->>'party' <> 'platform'
			AND ($2::timestamptz IS NULL OR p.captured_at >= $2) AND ($3::timestamptz IS NULL OR p.captured_at < $3)
			AND ($4 = '' OR leg->>'state' = $4 OR ($4 = 'held' AND hl.held > 0) OR ($4 = 'failed' AND fl.failed <> 0))
			AND ($5::timestamptz IS NULL OR p.captured_at <= $5)
			AND ($5::timestamptz IS NULL
				OR (p.captured_at, p.workflow_id, (leg->>'party') || '-' || COALESCE(leg->>'payee_id', '')) < ($5, $6, $7::text))
		ORDER BY p.captured_at DESC, p.workflow_id DESC, (leg->>'party') || '-' || COALESCE(leg->>'payee_id', '') DESC
		LIMIT $8`, f.ClientID, from, to, f.State, afterAt, afterWF, afterLeg, clampLimit(f.Limit))
	if err != nil {
		return nil, fmt.Errorf("list payouts of %s: %w", f.ClientID, err)
	}
	defer rows.Close()
	var out []Payout
	for rows.Next() {
		var p Payout
		var cur string
		if err := rows.Scan(&p.WorkflowID, &p.OrderID, &p.PaymentStatus, &cur, &p.CapturedAt, &p.Party, &p.PayeeID,
			&p.Amount, &p.Refunded, &p.Transferred, &p.Reversed, &p.State, &p.Reason, &p.TransferID, &p.Held, &p.HeldReason, &p.Failed, &p.FailedReason); err != nil {
			return nil, fmt.Errorf("scan payout: %w", err)
		}
		p.Currency = money.Currency(cur)
		out = append(out, p)
	}
	return out, rows.Err()
}
