package store

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/jackc/pgx/v5"

	"paysplit/internal/ledger"
)

// Payee kinds.
const (
	KindVendor    = "vendor"
	KindAffiliate = "affiliate"
)

var (
	stripeAccountPattern  = regexp.MustCompile(`^acct_[A-Za-z0-9]{1,64}$`)
	paypalReceiverPattern = regexp.MustCompile(`^([A-Z0-9]{13}|[^@\s]{1,64}@[^@\s]{1,190}\.[A-Za-z]{2,})$`)
)

// Payee is a vendor or affiliate that receives a share, with where to send it.
type Payee struct {
	ID            string `json:"id"`
	ClientID      string `json:"client_id"`
	Kind          string `json:"kind"`
	StripeAccount string `json:"stripe_account"`
	// PayPalReceiver is a PayPal payer ID or a business email, for payouts of PayPal payments.
	PayPalReceiver string    `json:"paypal_receiver"`
	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `json:"updated_at"`
}

// Validate checks a payee before it is written.
func (p Payee) Validate() error {
	if err := ValidID("payee_id", p.ID); err != nil {
		return err
	}
	if err := ValidID("client_id", p.ClientID); err != nil {
		return err
	}
	if p.Kind != KindVendor && p.Kind != KindAffiliate {
		return fmt.Errorf("%w: kind %q must be vendor or affiliate", ErrInvalid, p.Kind)
	}
	if p.StripeAccount != "" && !stripeAccountPattern.MatchString(p.StripeAccount) {
		return fmt.Errorf("%w: stripe_account %q must look like acct_<id>", ErrInvalid, p.StripeAccount)
	}
	if p.PayPalReceiver != "" && !paypalReceiverPattern.MatchString(p.PayPalReceiver) {
		return fmt.Errorf("%w: paypal_receiver %q must be a PayPal payer ID (13 characters) or an email address", ErrInvalid, p.PayPalReceiver)
	}
	return nil
}

// UpsertPayee creates or updates a payee of an existing client.
func (s *Store) UpsertPayee(ctx context.Context, p Payee) (Payee, bool, error) {
	if err := p.Validate(); err != nil {
		return Payee{}, false, err
	}
	var created bool
	err := s.pool.QueryRow(ctx, `
		INSERT INTO payees (id, client_id, kind, stripe_account, paypal_receiver) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (id) DO UPDATE SET client_id = EXCLUDED.client_id, kind = EXCLUDED.kind,
			stripe_account = EXCLUDED.stripe_account, paypal_receiver = EXCLUDED.paypal_receiver, updated_at = now()
		RETURNING created_at, updated_at, (xmax = 0)`, p.ID, p.ClientID, p.Kind, p.StripeAccount, p.PayPalReceiver).
		Scan(&p.CreatedAt, &p.UpdatedAt, &created)
	if isForeignKeyViolation(err) {
		return Payee{}, false, fmt.Errorf("%w: client %q does not exist", ErrInvalid, p.ClientID)
	}
	if err != nil {
		return Payee{}, false, fmt.Errorf("upsert payee %s: %w", p.ID, err)
	}
	return p, created, nil
}

// PayeeInBooks reports whether the payee's share is in the books or on its way there: the ledger
// has entries on its account (a split books its share there, paid or not), or a payment resolved
// it to pay it (ResolvePayee), whose entries the payment books with its next save. Before a move,
// call it in the transaction that holds the payee (LockPayee): a payment's resolve then waits
// for the move, and the check waits for a booking in flight (awaitBookings).
func (s *Store) PayeeInBooks(ctx context.Context, p Payee) (bool, error) {
	if err := s.awaitBookings(ctx); err != nil {
		return false, fmt.Errorf("payee %s in the books: %w", p.ID, err)
	}
	var in bool
	err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM payees WHERE id = $1 AND resolved_at IS NOT NULL)
		OR EXISTS (SELECT 1 FROM postings WHERE account = ANY($2))`,
		p.ID, []string{ledger.VendorPayable(p.ID), ledger.AffiliatePayable(p.ID)}).Scan(&in)
	if err != nil {
		return false, fmt.Errorf("payee %s in the books: %w", p.ID, err)
	}
	return in, nil
}

// awaitBookings takes the ledger's chain lock FOR SHARE until the transaction ends. Every append
// holds it FOR UPDATE until it commits (migration 00003), so this waits for a booking in flight,
// whose postings the next statement sees (it reads after the wait), and holds new bookings until
// the transaction ends. A booking starting after the check would still book the payee under the
// client it had. Only a move takes it, rare and short; reads never wait for it.
func (s *Store) awaitBookings(ctx context.Context) error {
	if _, err := s.pool.Exec(ctx, `SELECT 1 FROM ledger_chain_head WHERE ledger = 'main' FOR SHARE`); err != nil {
		return fmt.Errorf("wait for bookings in flight: %w", err)
	}
	return nil
}

// ResolvePayee reads the payee a payment of clientID pays as a kind, and marks it resolved
// (payees.resolved_at) when it is that client's and kind: from then on PayeeInBooks counts it,
// so an admin cannot move it while the payment's payouts and entries are on their way to the
// books. A payee of another client or kind comes back unmarked, for the caller to hold the leg.
func (s *Store) ResolvePayee(ctx context.Context, id, clientID, kind string) (Payee, error) {
	for range 3 {
		p, resolved, err := s.readPayee(ctx, id, "")
		if err != nil || p.ClientID != clientID || p.Kind != kind || resolved {
			return p, err
		}
		// A move holding the row makes the update wait; it then re-reads the row and marks it
		// only if it is still the client's. A payee marked once is never written again here.
		p, err = scanPayee(s.pool.QueryRow(ctx, `UPDATE payees SET resolved_at = coalesce(resolved_at, now())
			WHERE id = $1 AND client_id = $2 AND kind = $3 RETURNING `+payeeColumns, id, clientID, kind))
		if !errors.Is(err, pgx.ErrNoRows) {
			if err != nil {
				return Payee{}, fmt.Errorf("resolve payee %s: %w", id, err)
			}
			return p, nil
		}
		// Moved meanwhile: read again what it is now.
	}
	return Payee{}, fmt.Errorf("resolve payee %s: it moved between clients or kinds while read", id)
}

// LockPayee reads one payee FOR UPDATE, for a transaction that may move it (PayeeInBooks).
func (s *Store) LockPayee(ctx context.Context, id string) (Payee, error) {
	p, _, err := s.readPayee(ctx, id, " FOR UPDATE")
	return p, err
}

// readPayee reads one payee and whether a payment resolved it; lock is "" or a locking clause.
func (s *Store) readPayee(ctx context.Context, id, lock string) (Payee, bool, error) {
	var p Payee
	var resolved bool
	err := s.pool.QueryRow(ctx, `SELECT `+payeeColumns+`, resolved_at IS NOT NULL FROM payees WHERE id = $1`+lock, id).
		Scan(&p.ID, &p.ClientID, &p.Kind, &p.StripeAccount, &p.PayPalReceiver, &p.CreatedAt, &p.UpdatedAt, &resolved)
	if err != nil {
		return Payee{}, false, notFound(err, "payee "+id)
	}
	return p, resolved, nil
}

const payeeColumns = `id, client_id, kind, stripe_account, paypal_receiver, created_at, updated_at`

func scanPayee(row pgx.Row) (Payee, error) {
	var p Payee
	err := row.Scan(&p.ID, &p.ClientID, &p.Kind, &p.StripeAccount, &p.PayPalReceiver, &p.CreatedAt, &p.UpdatedAt)
	return p, err
}

// GetPayee reads one payee.
func (s *Store) GetPayee(ctx context.Context, id string) (Payee, error) {
	p, err := scanPayee(s.pool.QueryRow(ctx, `SELECT `+payeeColumns+` FROM payees WHERE id = $1`, id))
	if err != nil {
		return Payee{}, notFound(err, "payee "+id)
	}
	return p, nil
}
