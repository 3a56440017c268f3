// Package store keeps the platform's configuration (clients, payees, versioned split rules),
// the order records from storefronts, and the persisted state of payments, in Postgres.
package store

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"paysplit/internal/secrets"
)

// ErrNotFound is returned when the row asked for does not exist.
var ErrNotFound = errors.New("not found")

// ErrInvalid is wrapped by every validation error, so the API can answer 400.
var ErrInvalid = errors.New("invalid")

var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

// ValidID checks an identifier chosen by admins or store plugins: it ends up in workflow IDs,
// idempotency keys and URLs, so it is kept to a safe alphabet.
func ValidID(field, v string) error {
	if !idPattern.MatchString(v) {
		return fmt.Errorf("%w: %s %q must be 1-64 characters of letters, digits, '_', '-', '.'", ErrInvalid, field, v)
	}
	return nil
}

// ValidName checks a name an admin typed (a client's, an API key's): 1 to max characters, counted
// as Unicode code points rather than UTF-8 bytes (a Japanese character is three bytes), on one
// line: no control characters (a line break ends a mail header or a report line) and no U+FFFD,
// which is what a JSON decoder makes of an unpaired surrogate (\ud800) or invalid UTF-8, so the
// name stored would not be the one sent.
func ValidName(field, v string, max int) error {
	bad := strings.TrimSpace(v) == "" || !utf8.ValidString(v) || utf8.RuneCountInString(v) > max ||
		strings.ContainsFunc(v, func(r rune) bool { return unicode.IsControl(r) || r == utf8.RuneError })
	if bad {
		return fmt.Errorf("%w: %s must be 1-%d characters of text on one line (no control characters or U+FFFD)", ErrInvalid, field, max)
	}
	return nil
}

// Store is the Postgres-backed store.
type Store struct {
	// pool is a *pgxpool.Pool, or a pgx.Tx inside InTx (see tx.go), behind checked: input
	// Postgres refuses comes back as ErrInvalid (pgerrors.go).
	pool    dbtx
	secrets *secrets.Box
}

// New wraps a pool.
func New(pool *pgxpool.Pool, opts ...Option) *Store {
	s := &Store{pool: checked{pool}}
	for _, o := range opts {
		o(s)
	}
	return s
}

func notFound(err error, what string) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("%s: %w", what, ErrNotFound)
	}
	return err
}

func isForeignKeyViolation(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23503"
}
