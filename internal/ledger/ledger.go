// Package ledger is the append-only, double-entry record of every money
// movement. Entries are never edited: mistakes and refunds are corrected by
// posting reversals, so any past balance can be recomputed exactly. The
// Postgres schema (internal/db migrations) enforces the same invariants as
// this package, so rows written around it cannot break the books either.
package ledger

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"paysplit/internal/money"
)

// PlatformRevenue is the account that accumulates the platform's commission.
const PlatformRevenue = "platform:revenue"

// ProcessingFees is the platform's expense for what a payment provider keeps from the payments it
// takes, e.g. "processing_fees:stripe".
func ProcessingFees(provider string) string { return "processing_fees:" + provider }

// PayoutFees is the platform's expense for what a provider charges for the payouts it makes to
// payees, on top of their amounts (PayPal's payout_item_fee), e.g. "payout_fees:paypal". Apart
// from ProcessingFees, which reconciliation compares, payment by payment, with the fee the
// provider states on the capture.
func PayoutFees(provider string) string { return "payout_fees:" + provider }

// DisputeLosses is the platform's expense for what a provider takes for a lost dispute beyond
// what the payment still had (a dispute on a charge already refunded, e.g.
// "dispute_losses:stripe"): the provider takes the disputed amount all the same, and the payees'
// shares went back with the refund, so the loss is the platform's alone.
func DisputeLosses(provider string) string { return "dispute_losses:" + provider }

// ProviderBalance is the account holding funds at a payment provider, e.g. "provider:stripe".
func ProviderBalance(provider string) string { return "provider:" + provider }

// VendorPayable is what the platform owes a vendor.
func VendorPayable(id string) string { return "vendor_payable:" + id }

// AffiliatePayable is what the platform owes an affiliate.
func AffiliatePayable(id string) string { return "affiliate_payable:" + id }

// Sentinel errors; match with errors.Is. Database-detected violations keep the
// *pgconn.PgError in the chain for detail.
var (
	// ErrUnbalanced reports postings that do not sum to zero.
	ErrUnbalanced = errors.New("ledger: entry is unbalanced")
	// ErrInvalidEntry reports a malformed entry or query: missing key or
	// account, unknown currency, fewer than two postings, a zero amount, a
	// reversal that does not negate its original, ...
	ErrInvalidEntry = errors.New("ledger: invalid entry")
	// ErrIdempotencyConflict reports a key already used for an entry with a
	// different currency, postings or reversal target. Retrying cannot help:
	// the caller derived the same key for two different movements.
	ErrIdempotencyConflict = errors.New("ledger: idempotency key already used for different content")
	// ErrNotFound reports a missing entry id.
	ErrNotFound = errors.New("ledger: entry not found")
	// ErrAlreadyReversed reports an entry already reversed under another key.
	ErrAlreadyReversed = errors.New("ledger: entry already reversed")
	// ErrAsOfNotPast reports a balance asked as of a time the database's clock has not reached:
	// entries appended until then would change it, so it is not answered.
	ErrAsOfNotPast = errors.New("ledger: as_of is not past yet")
)

// Posting is one leg of an entry: debit > 0, credit < 0, in minor units.
type Posting struct {
	Account string `json:"account"`
	Amount  int64  `json:"amount"`
}

// Entry is a balanced set of postings in one currency.
type Entry struct {
	ID             int64          `json:"id"`
	IdempotencyKey string         `json:"idempotency_key"`
	Currency       money.Currency `json:"currency"`
	Reference      string         `json:"reference"` // e.g. the payment workflow ID
	Description    string         `json:"description"`
	ReversesID     int64          `json:"reverses_id,omitempty"`
	Postings       []Posting      `json:"postings"`
	// CreatedAt is when the entry joined the journal's chain (the database's clock, set under
	// the chain lock): it never decreases along the chain, so a balance "as of" a time covers a
	// prefix of it.
	CreatedAt time.Time `json:"created_at"`
	// PrevHash and Hash are the entry's link in the journal's hash chain (see Verify). The
	// database sets them when the entry is appended; values given to Post are ignored.
	PrevHash string `json:"prev_hash,omitempty"`
	Hash     string `json:"entry_hash,omitempty"`
}

// AccountBalance is the net of all postings to one account in one currency.
type AccountBalance struct {
	Account  string         `json:"account"`
	Currency money.Currency `json:"currency"`
	Balance  int64          `json:"balance"`
}

// Ledger reads and appends journal entries.
type Ledger struct {
	pool *pgxpool.Pool
}

// New returns a Ledger on a pool whose database was migrated with db.Migrate.
func New(pool *pgxpool.Pool) *Ledger { return &Ledger{pool: pool} }

// postSQL appends an entry and its postings in one statement, so one round trip and one implicit
// transaction: the chain lock its trigger takes is held for this statement and its commit only,
// not across round trips. ON CONFLICT DO NOTHING settles a race with a concurrent poster of the
// same key: the insert waits for the chain lock and then on the unique index until the other
// transaction ends, so exactly one creates the entry; a conflict returns no row, inserts no
// postings (they select from the entry's RETURNING) and leaves the chain as it was. The balance
// triggers are deferred to the commit, where the database re-checks what normalize checked.
// WITH ORDINALITY keeps the caller's posting order, so entries read back exactly as posted.
const postSQL = `
WITH e AS (
	INSERT INTO journal_entries (idempotency_key, currency, reference, description, reverses_id, content_hash)
	VALUES ($1, $2, $3, $4, $5, $6)
	ON CONFLICT (idempotency_key) DO NOTHING
	RETURNING id, created_at, prev_hash, entry_hash
), p AS (
	INSERT INTO postings (entry_id, account, amount)
	SELECT e.id, u.account, u.amount
	FROM e, unnest($7::text[], $8::bigint[]) WITH ORDINALITY AS u(account, amount, ord)
	ORDER BY u.ord
)
SELECT id, created_at, prev_hash, entry_hash FROM e`

// Post appends e and reports whether it was created. Posting the same
// idempotency key again - after a crash, a retried activity, or concurrently -
// writes nothing and returns the stored entry with created=false, provided the
// content (currency, postings as a multiset, ReversesID) is the same;
// otherwise it returns ErrIdempotencyConflict. Reference and Description are
// not part of that comparison: they annotate, they do not move money.
func (l *Ledger) Post(ctx context.Context, e Entry) (Entry, bool, error) {
	e, err := normalize(e)
	if err != nil {
		return Entry{}, false, fmt.Errorf("ledger: post %q: %w", e.IdempotencyKey, err)
	}
	hash := contentHash(e)
	err = l.pool.QueryRow(ctx, postSQL, postArgs(e, hash)...).Scan(&e.ID, &e.CreatedAt, &e.PrevHash, &e.Hash)
	if errors.Is(err, pgx.ErrNoRows) {
		// The key is taken (a retried activity, or a concurrent poster that won): answer from
		// what is stored.
		return l.replay(ctx, e, hash)
	}
	if err != nil {
		return Entry{}, false, fmt.Errorf("ledger: post %q: %w", e.IdempotencyKey, classify(err))
	}
	return e, true, nil
}

// postArgs are postSQL's parameters for a normalized entry with content hash hash.
func postArgs(e Entry, hash string) []any {
	accounts := make([]string, len(e.Postings))
	amounts := make([]int64, len(e.Postings))
	for i, p := range e.Postings {
		accounts[i], amounts[i] = p.Account, p.Amount
	}
	return []any{e.IdempotencyKey, string(e.Currency), e.Reference, e.Description, nullableID(e.ReversesID), hash, accounts, amounts}
}

// replay runs after the inserting statement: under READ COMMITTED a new statement sees the row
// whose committed key made our insert do nothing.
func (l *Ledger) replay(ctx context.Context, e Entry, hash string) (Entry, bool, error) {
	stored, err := l.loadOne(ctx, "e.idempotency_key = $1", e.IdempotencyKey)
	if err != nil {
		return Entry{}, false, fmt.Errorf("ledger: post %q: load existing entry: %w", e.IdempotencyKey, err)
	}
	return replayed(e, hash, stored)
}

// replayed answers a post whose key is already stored: the stored entry when
// the content is the same, else ErrIdempotencyConflict.
func replayed(e Entry, hash string, stored storedEntry) (Entry, bool, error) {
	if stored.hash != hash {
		return Entry{}, false, fmt.Errorf("ledger: post %q: stored entry %d has different currency, postings or reversal target: %w",
			e.IdempotencyKey, stored.ID, ErrIdempotencyConflict)
	}
	return stored.Entry, false, nil
}

// Reverse posts the negation of entry originalID under key, keeping the
// original's reference so the pair shows up together in EntriesByReference.
// It is idempotent by key like Post. An entry can be reversed only once
// (ErrAlreadyReversed for a second key) and a reversal cannot itself be
// reversed (ErrInvalidEntry): re-posting the original movement is the way to
// redo it.
func (l *Ledger) Reverse(ctx context.Context, originalID int64, key, description string) (Entry, bool, error) {
	orig, err := l.Get(ctx, originalID)
	if err != nil {
		return Entry{}, false, fmt.Errorf("ledger: reverse entry %d: %w", originalID, err)
	}
	if orig.ReversesID != 0 {
		return Entry{}, false, fmt.Errorf("ledger: reverse entry %d: it is a reversal of entry %d: %w",
			originalID, orig.ReversesID, ErrInvalidEntry)
	}
	if description == "" {
		description = fmt.Sprintf("reversal of entry %d", originalID)
	}
	negated := make([]Posting, len(orig.Postings))
	for i, p := range orig.Postings {
		negated[i] = Posting{Account: p.Account, Amount: -p.Amount}
	}
	rev, created, err := l.Post(ctx, Entry{
		IdempotencyKey: key,
		Currency:       orig.Currency,
		Reference:      orig.Reference,
		Description:    description,
		ReversesID:     originalID,
		Postings:       negated,
	})
	if err != nil {
		return Entry{}, false, fmt.Errorf("ledger: reverse entry %d: %w", originalID, err)
	}
	return rev, created, nil
}

// Get returns entry id, or ErrNotFound.
func (l *Ledger) Get(ctx context.Context, id int64) (Entry, error) {
	stored, err := l.loadOne(ctx, "e.id = $1", id)
	if err != nil {
		return Entry{}, fmt.Errorf("ledger: get entry %d: %w", id, err)
	}
	return stored.Entry, nil
}

// Balance is the net of the account's postings in cur over entries created at
// or before asOf (zero asOf: all committed entries). Positive means net debit.
func (l *Ledger) Balance(ctx context.Context, account string, cur money.Currency, asOf time.Time) (int64, error) {
	c, err := money.ParseCurrency(string(cur))
	if err != nil {
		return 0, fmt.Errorf("ledger: balance of %q: %w: %w", account, ErrInvalidEntry, err)
	}
	// Sum as numeric and cast back, so an out-of-range total is an error
	// rather than a silently wrapped int64.
	q := `SELECT coalesce(sum(p.amount), 0)::bigint
	      FROM postings p JOIN journal_entries e ON e.id = p.entry_id
	      WHERE p.account = $1 AND e.currency = $2 AND e.created_at <= $3`
	args := []any{account, string(c), asOf}
	if asOf.IsZero() {
		q, args = `SELECT coalesce((SELECT balance FROM ledger_balances WHERE account = $1 AND currency = $2), 0)::bigint`, args[:2]
	}
	if err := l.awaitAppendsBefore(ctx, asOf); err != nil {
		return 0, fmt.Errorf("ledger: balance of %q in %s: %w", account, c, err)
	}
	var bal int64
	if err := l.pool.QueryRow(ctx, q, args...).Scan(&bal); err != nil {
		return 0, fmt.Errorf("ledger: balance of %q in %s: %w", account, c, err)
	}
	return bal, nil
}

// Balances lists every account/currency pair that has postings as of asOf
// (zero: now), including pairs that net to zero, ordered by account then
// currency. Over the whole ledger the balances of each currency sum to zero.
// Now, they are read from ledger_balances, kept by a trigger as postings are
// appended (migration 00019); as of a past time, summed from the journal.
func (l *Ledger) Balances(ctx context.Context, asOf time.Time) ([]AccountBalance, error) {
	q := `SELECT p.account, e.currency, sum(p.amount)::bigint
	      FROM postings p JOIN journal_entries e ON e.id = p.entry_id
	      WHERE e.created_at <= $1
	      GROUP BY p.account, e.currency
	      ORDER BY p.account, e.currency`
	args := []any{asOf}
	if asOf.IsZero() {
		q, args = `SELECT account, currency, balance::bigint FROM ledger_balances ORDER BY account, currency`, nil
	}
	if err := l.awaitAppendsBefore(ctx, asOf); err != nil {
		return nil, fmt.Errorf("ledger: balances: %w", err)
	}
	rows, err := l.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("ledger: balances: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (AccountBalance, error) {
		var b AccountBalance
		var cur string
		err := row.Scan(&b.Account, &cur, &b.Balance)
		b.Currency = money.Currency(cur)
		return b, err
	})
	if err != nil {
		return nil, fmt.Errorf("ledger: balances: %w", err)
	}
	return out, nil
}

// awaitAppendsBefore waits, for a balance as of a time (not now), until the appends in flight
// have committed. An entry takes its created_at under the chain lock and is seen once its
// transaction commits, which holds the lock until then: a sum as of a time in between would leave
// it out, and the same question asked later would count it, though an answer for a past time
// must never change (a month's close read just after midnight). Taking the head row's lock after
// them (FOR KEY SHARE conflicts with the append's FOR UPDATE, and is released with the statement)
// means the sum that follows, a new statement with a new snapshot, sees every entry whose time
// is before the wait ended; entries appended later take a later time. That holds for asOf only
// once the wait ended after it: a time the database's clock has not reached yet (the close of a
// period asked for before it ended) is ErrAsOfNotPast, not an answer that would change.
func (l *Ledger) awaitAppendsBefore(ctx context.Context, asOf time.Time) error {
	if asOf.IsZero() {
		return nil // now: ledger_balances, kept by the appending transactions themselves
	}
	if _, err := l.pool.Exec(ctx, `SELECT 1 FROM ledger_chain_head WHERE ledger = 'main' FOR KEY SHARE`); err != nil {
		return fmt.Errorf("waiting for the appends in flight: %w", err)
	}
	// After the wait, in a statement of its own: an append that takes the chain lock from now on
	// takes this clock or later as its time.
	var past bool
	if err := l.pool.QueryRow(ctx, `SELECT clock_timestamp() > $1::timestamptz`, asOf).Scan(&past); err != nil {
		return fmt.Errorf("reading the clock: %w", err)
	}
	if !past {
		return fmt.Errorf("%w: %s", ErrAsOfNotPast, asOf.UTC().Format(time.RFC3339Nano))
	}
	return nil
}

// EntriesByReference returns the entries posted under ref (e.g. everything a
// payment workflow booked), oldest first.
func (l *Ledger) EntriesByReference(ctx context.Context, ref string) ([]Entry, error) {
	if ref == "" {
		// Unreferenced entries all share "", which is never what a caller means.
		return nil, fmt.Errorf("ledger: entries by reference: empty reference: %w", ErrInvalidEntry)
	}
	stored, err := l.load(ctx, "e.reference = $1", ref)
	if err != nil {
		return nil, fmt.Errorf("ledger: entries by reference %q: %w", ref, err)
	}
	out := make([]Entry, len(stored))
	for i, s := range stored {
		out[i] = s.Entry
	}
	return out, nil
}

// Unbalanced returns the ids of entries that do not balance or have fewer than
// two postings. The schema makes this impossible short of disabling its
// triggers, so a non-empty result means the books were tampered with.
func (l *Ledger) Unbalanced(ctx context.Context) ([]int64, error) {
	rows, err := l.pool.Query(ctx, `
		SELECT e.id
		FROM journal_entries e LEFT JOIN postings p ON p.entry_id = e.id
		GROUP BY e.id
		HAVING count(p.id) < 2 OR coalesce(sum(p.amount), 0) <> 0
		ORDER BY e.id`)
	if err != nil {
		return nil, fmt.Errorf("ledger: unbalanced audit: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("ledger: unbalanced audit: %w", err)
	}
	return ids, nil
}

// storedEntry carries the content hash alongside the entry for replay checks.
type storedEntry struct {
	Entry
	hash string
}

func (l *Ledger) loadOne(ctx context.Context, where string, arg any) (storedEntry, error) {
	entries, err := l.load(ctx, where, arg)
	if err != nil {
		return storedEntry{}, err
	}
	if len(entries) == 0 {
		return storedEntry{}, ErrNotFound
	}
	return entries[0], nil
}

// load reads entries matching where (trusted SQL from this file, one
// parameter) with their postings, ordered by id.
func (l *Ledger) load(ctx context.Context, where string, arg any) ([]storedEntry, error) {
	rows, err := l.pool.Query(ctx, `
		SELECT e.id, e.idempotency_key, e.currency, e.reference, e.description,
		       coalesce(e.reverses_id, 0), e.content_hash, e.created_at,
		       coalesce(e.prev_hash, ''), coalesce(e.entry_hash, '')
		FROM journal_entries e
		WHERE `+where+`
		ORDER BY e.id`, arg)
	if err != nil {
		return nil, fmt.Errorf("query entries: %w", err)
	}
	entries, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (storedEntry, error) {
		var s storedEntry
		var cur string
		err := row.Scan(&s.ID, &s.IdempotencyKey, &cur, &s.Reference, &s.Description,
			&s.ReversesID, &s.hash, &s.CreatedAt, &s.PrevHash, &s.Hash)
		s.Currency = money.Currency(cur)
		return s, err
	})
	if err != nil {
		return nil, fmt.Errorf("scan entries: %w", err)
	}
	if len(entries) == 0 {
		return nil, nil
	}

	ids := make([]int64, len(entries))
	index := make(map[int64]int, len(entries))
	for i, s := range entries {
		ids[i] = s.ID
		index[s.ID] = i
	}
	// Postings commit atomically with their entry, so every entry seen above
	// already has all of them visible here.
	prows, err := l.pool.Query(ctx, `
		SELECT entry_id, account, amount FROM postings
		WHERE entry_id = ANY($1) ORDER BY entry_id, id`, ids)
	if err != nil {
		return nil, fmt.Errorf("query postings: %w", err)
	}
	var entryID int64
	var p Posting
	_, err = pgx.ForEachRow(prows, []any{&entryID, &p.Account, &p.Amount}, func() error {
		i := index[entryID]
		entries[i].Postings = append(entries[i].Postings, p)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("scan postings: %w", err)
	}
	return entries, nil
}

// classify maps the schema's own constraint violations to the package's
// sentinels, keeping the Postgres error in the chain for its detail.
func classify(err error) error {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return err
	}
	var sentinel error
	switch {
	case pgErr.Code == "23505" && pgErr.ConstraintName == "journal_entries_one_reversal_idx":
		sentinel = ErrAlreadyReversed
	case pgErr.Code == "23503" && pgErr.ConstraintName == "journal_entries_reverses_id_fkey":
		sentinel = ErrNotFound
	case pgErr.Code == "23514" && pgErr.ConstraintName == "journal_entries_balanced":
		sentinel = ErrUnbalanced
	case pgErr.Code == "23514", pgErr.Code == "54000":
		// 54000: a value too large for its index row, which no retry can store.
		sentinel = ErrInvalidEntry
	default:
		return err
	}
	return fmt.Errorf("%w: %w", sentinel, err)
}

func nullableID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}
