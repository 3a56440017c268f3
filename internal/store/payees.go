package store

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"
	"unicode"
	"unicode/utf8"

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

// maxPayPalReceiver is the longest receiver PayPal's Payouts API takes, in bytes: PayPal documents
// "up to 127 single-byte characters" (payout_item.receiver; an EMAIL receiver likewise), so a
// character outside ASCII counts its UTF-8 bytes, and a receiver within the limit in bytes is
// within it however PayPal counts. A longer one refuses the whole payout, at every retry, so it is
// refused at registration instead.
const maxPayPalReceiver = 127

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
	if p.PayPalReceiver != "" {
		return CheckPayPalReceiver(p.PayPalReceiver)
	}
	return nil
}

// CheckPayPalReceiver says why PayPal's Payouts API would refuse receiver, nil when it would
// not: a payer ID or an email address, of visible characters, at most 127 bytes. Registration
// refuses such a receiver, quoted for the admin who sent it.
func CheckPayPalReceiver(receiver string) error {
	if problem := PayPalReceiverProblem(receiver); problem != "" {
		return fmt.Errorf("%w: paypal_receiver %q %s", ErrInvalid, receiver, problem)
	}
	return nil
}

// PayPalReceiverProblem is why CheckPayPalReceiver refuses receiver ("" when it does not),
// without the receiver: a payout to one stored before is held with it as its reason, which is
// logged, saved as the payment's and shown to its client, where a payee's email is not kept.
func PayPalReceiverProblem(receiver string) string {
	switch r, invisible := invisibleRune(receiver); {
	case !paypalReceiverPattern.MatchString(receiver):
		return "must be a PayPal payer ID (13 characters) or an email address"
	case invisible:
		return fmt.Sprintf("has a space, control or invisible character (%U): no PayPal account has one", r)
	case len(receiver) > maxPayPalReceiver:
		return fmt.Sprintf("is %d bytes long; PayPal takes at most %d single-byte characters", len(receiver), maxPayPalReceiver)
	}
	return ""
}

// invisibleRune is the first character of s that is white space, a control or an invisible
// format character (a zero-width space, a byte-order mark), or a byte that is not UTF-8 (as
// utf8.RuneError). The receiver pattern's \s is Go's ASCII white space only: a non-breaking
// space (pasted from a web page or a spreadsheet) or an ideographic one passed it, and every
// payout to such a receiver was refused by PayPal.
func invisibleRune(s string) (rune, bool) {
	for _, r := range s {
		if r == utf8.RuneError || unicode.IsSpace(r) || unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return r, true
		}
	}
	return 0, false
}

// ErrPayeeIDTaken is a new payee ID that differs from a registered payee's only in case. Shops'
// names become lower-case payee IDs (storefront.PayeeID) and a registered ID is matched without
// regard to case (RegisteredPayeeID), so the two would be one payee to every order.
var ErrPayeeIDTaken = errors.New("payee ID taken in another case")

// UpsertPayee creates or updates a payee of an existing client. A new ID that differs only in
// case from a registered payee's is refused (ErrPayeeIDTaken) unless the books already hold it
// (a leg held for a payee nobody had registered under that spelling) and no payee of its client
// and kind is paid for it: money booked under an ID keeps it, and a leg's payee check takes the
// client's one twin (activities ResolvePayee, RegisteredPayeeID), so registering the spelling is
// how that leg is paid only where no such twin is. Stored IDs are never rewritten.
func (s *Store) UpsertPayee(ctx context.Context, p Payee) (Payee, bool, error) {
	if err := p.Validate(); err != nil {
		return Payee{}, false, err
	}
	var created bool
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := payeeIDFree(ctx, tx, p); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `
		INSERT INTO payees (id, client_id, kind, stripe_account, paypal_receiver) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (id) DO UPDATE SET client_id = EXCLUDED.client_id, kind = EXCLUDED.kind,
			stripe_account = EXCLUDED.stripe_account, paypal_receiver = EXCLUDED.paypal_receiver, updated_at = now()
		RETURNING created_at, updated_at, (xmax = 0)`, p.ID, p.ClientID, p.Kind, p.StripeAccount, p.PayPalReceiver).
			Scan(&p.CreatedAt, &p.UpdatedAt, &created)
	})
	if isForeignKeyViolation(err) {
		return Payee{}, false, fmt.Errorf("%w: client %q does not exist", ErrInvalid, p.ClientID)
	}
	if errors.Is(err, ErrPayeeIDTaken) {
		return Payee{}, false, err
	}
	if err != nil {
		return Payee{}, false, fmt.Errorf("upsert payee %s: %w", p.ID, err)
	}
	return p, created, nil
}

// payeeIDFree refuses a new payee ID whose lower case is a registered payee's, unless the books
// hold the new ID and no payee of its client would be paid for it as its kind: the client's one
// twin of another case is where a leg held under the new ID is paid (RegisteredPayeeID), so
// registering it too made one payee two, shop orders (an exact ID wins) going to the new one and
// the admin's updates to the old. It takes a transaction lock on the ID's lower case first, so
// two admins registering "acme-Jane" and "acme-JANE" at once are taken one after the other and
// the second sees the first.
func payeeIDFree(ctx context.Context, tx pgx.Tx, p Payee) error {
	id := p.ID
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('payee-id:' || lower($1), 0))`, id); err != nil {
		return fmt.Errorf("lock payee ID %s: %w", id, err)
	}
	var twin string
	err := tx.QueryRow(ctx, `WITH twins AS (SELECT id, client_id, kind FROM payees WHERE lower(id) = lower($1) AND id <> $1)
		SELECT id FROM twins
		WHERE NOT EXISTS (SELECT 1 FROM payees WHERE id = $1)
		AND (NOT EXISTS (SELECT 1 FROM postings WHERE account = ANY($2))
			OR ((SELECT count(*) FROM twins WHERE client_id = $3) = 1 AND EXISTS (SELECT 1 FROM twins WHERE client_id = $3 AND kind = $4)))
		ORDER BY client_id = $3 DESC, id LIMIT 1`,
		id, []string{ledger.VendorPayable(id), ledger.AffiliatePayable(id)}, p.ClientID, p.Kind).Scan(&twin)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("payee ID %s in another case: %w", id, err)
	}
	return fmt.Errorf("%w: payee %s is registered; %s differs from it only in case and orders match payee IDs without regard to case: update %s instead",
		ErrPayeeIDTaken, twin, id, twin)
}

// RegisteredPayeeID is the ID under which a payee a shop or a checkout names as id is
// registered: id itself when a payee has exactly that ID (whoever's it is: the caller checks the
// client and kind, as before), else the one payee of clientID whose ID differs from it only in
// case ("acme-jane" named, "acme-Jane" registered), else id unchanged (nobody's, or, where IDs
// registered before such twins were refused differ only in case, ambiguous: the leg is held for
// an admin rather than paid to a guess). Shops' names are lower-cased into IDs an admin may have
// typed with capitals; another client's payee is never taken.
func (s *Store) RegisteredPayeeID(ctx context.Context, clientID, id string) (string, error) {
	var registered string
	if err := s.pool.QueryRow(ctx, `SELECT coalesce(`+registeredPayeeSQL("$1::text", "$2::text")+`, $1)`, id, clientID).Scan(&registered); err != nil {
		return "", fmt.Errorf("payee %s as registered: %w", id, err)
	}
	return registered, nil
}

// RegisteredPayee reads the payee RegisteredPayeeID names, in the same statement: ErrNotFound
// when neither a payee with exactly that ID nor the client's one twin of it in case is registered
// (RegisteredPayeeID then answers id itself). One round trip where the ID and then its payee took
// two.
func (s *Store) RegisteredPayee(ctx context.Context, clientID, id string) (Payee, error) {
	p, err := scanPayee(s.pool.QueryRow(ctx, `SELECT `+payeeColumns+` FROM payees WHERE id = `+
		registeredPayeeSQL("$1::text", "$2::text"), id, clientID))
	if err != nil {
		return Payee{}, notFound(err, "payee "+id+" as registered")
	}
	return p, nil
}

// registeredPayeeSQL is RegisteredPayeeID's rule as a scalar SQL subquery, for the payee idExpr
// names and the client clientExpr: the ID of the payee with exactly that ID, else of the client's
// one payee whose ID differs from it only in case; NULL when neither (nobody's, or twins of one
// another in case). The two branches never both give a row. HeldAtStripeAccount reads legs' payees
// by it, as their payee check does.
func registeredPayeeSQL(idExpr, clientExpr string) string {
	return `(SELECT id FROM payees WHERE id = ` + idExpr + `
		UNION ALL
		SELECT max(t.id) FROM payees t WHERE t.client_id = ` + clientExpr + ` AND lower(t.id) = lower(` + idExpr + `)
			AND NOT EXISTS (SELECT FROM payees e WHERE e.id = ` + idExpr + `)
		HAVING count(*) = 1)`
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
