package store

import (
	"context"
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

// PayeeInBooks reports whether the ledger has entries on the payee's account (its share of a
// split is booked there as soon as the split is, paid or not).
func (s *Store) PayeeInBooks(ctx context.Context, p Payee) (bool, error) {
	var in bool
	err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM postings WHERE account = ANY($1))`,
		[]string{ledger.VendorPayable(p.ID), ledger.AffiliatePayable(p.ID)}).Scan(&in)
	if err != nil {
		return false, fmt.Errorf("payee %s in the books: %w", p.ID, err)
	}
	return in, nil
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
