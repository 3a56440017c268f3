package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"paysplit/internal/payment"
	"paysplit/internal/split"
)

// HeldPayment is a held payment with a leg, or a top-up due, held for a payee paid at a Stripe
// account.
type HeldPayment struct {
	Record payment.Record
	// SavedAt is when the payment's run last saved it (its row's updated_at): a release is made
	// once per save, so deliveries of Stripe's events about the account while the run has not yet
	// taken a release do not send it another.
	SavedAt time.Time
	// Parties are the parties of its legs held whose payee is paid at the account.
	Parties []split.Party
	// TopUps says a top-up due on a leg whose payee is paid at the account is held for it
	// (payment.Due.Held): sent by a retry of the payment's dues, not a release.
	TopUps bool
}

// HeldAtStripeAccount lists the Stripe payments that are held (status held, as the admin API
// releases) with a leg held, or a top-up due held (Due.Held), whose payee is paid at account now
// (payees.stripe_account) and a payee of the payment's client, oldest workflow ID first. A leg
// held because its payee is another client's is not listed: no event about the account can
// cure that (the payee cannot move: payee_in_books), and each account.updated (Stripe sends one
// for any change of the account) would release it to be held again, a signal and an audit entry
// each time. A leg's payee is found as its payee check finds it (store.RegisteredPayeeID): its
// own ID, else the client's one payee of that ID in another case, where a leg split under a
// shop's spelling before the admin registered it with capitals is paid. The held payments are a
// handful, read through payments_status.
func (s *Store) HeldAtStripeAccount(ctx context.Context, account string) ([]HeldPayment, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT p.state, p.updated_at,
			coalesce(array_agg(DISTINCT l->>'party' ORDER BY l->>'party') FILTER (WHERE l->>'state' = 'held'), '{}'),
			coalesce(bool_or(l->'dues' @> '[{"kind": "top_up", "held": true}]'), false)
		FROM payments p
		CROSS JOIN LATERAL jsonb_array_elements(p.state->'legs') l
		JOIN payees y ON y.id = `+registeredPayeeSQL("l->>'payee_id'", "p.client_id")+`
		WHERE p.status = 'held' AND p.provider = 'stripe' AND y.stripe_account = $1 AND y.client_id = p.client_id
			AND (l->>'state' = 'held' OR l->'dues' @> '[{"kind": "top_up", "held": true}]')
		GROUP BY p.workflow_id -- its primary key: state and updated_at come with it
		ORDER BY p.workflow_id`, account)
	if err != nil {
		return nil, fmt.Errorf("payments held at %s: %w", account, err)
	}
	defer rows.Close()
	var out []HeldPayment
	for rows.Next() {
		var state []byte
		var h HeldPayment
		var parties []string
		if err := rows.Scan(&state, &h.SavedAt, &parties, &h.TopUps); err != nil {
			return nil, fmt.Errorf("payments held at %s: %w", account, err)
		}
		if err := json.Unmarshal(state, &h.Record); err != nil {
			return nil, fmt.Errorf("payments held at %s: decode: %w", account, err)
		}
		for _, p := range parties {
			h.Parties = append(h.Parties, split.Party(p))
		}
		out = append(out, h)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("payments held at %s: %w", account, err)
	}
	return out, nil
}
