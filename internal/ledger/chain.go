package ledger

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"paysplit/internal/money"
)

// GenesisHash is the prev_hash of the first entry in the chain.
var GenesisHash = strings.Repeat("0", 64)

// verifyBatch bounds how many entries (with their postings) Verify holds in memory at once.
const verifyBatch = 1000

// ChainLink names one entry of the chain by id and hash.
type ChainLink struct {
	EntryID int64  `json:"entry_id"`
	Hash    string `json:"hash"`
}

// ChainBreak is the first place where the stored journal disagrees with its chain.
type ChainBreak struct {
	EntryID int64  `json:"entry_id"`
	Reason  string `json:"reason"`
}

// Verification is the outcome of one walk over the chain.
type Verification struct {
	OK bool `json:"ok"`
	// Entries is how many entries were found intact before the walk ended.
	Entries int64 `json:"entries_checked"`
	// Head is the last intact link; nil when the journal is empty or the first entry is broken.
	Head  *ChainLink  `json:"head,omitempty"`
	Break *ChainBreak `json:"break,omitempty"`
}

// Verify walks the journal in id order inside one snapshot and reports the first broken link:
// an entry without a link (written with the triggers bypassed), a prev_hash that does not name
// the entry before it (an entry was removed, inserted or its hash rewritten), postings that no
// longer match the entry's content_hash (a posting was edited, added or removed), entry fields
// that no longer match its entry_hash, or a chain that ends before the head the database
// recorded (entries removed from the end). A broken chain is a result, not an error; errors
// are for failing to read.
//
// The chain makes edits evident, it cannot prevent them: someone able to disable triggers can
// also recompute every hash after their edit. Head hashes copied elsewhere (the integrity
// workflow's results live in Temporal's history) are what catch that.
func (l *Ledger) Verify(ctx context.Context) (Verification, error) {
	var v Verification
	err := pgx.BeginTxFunc(ctx, l.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly},
		func(tx pgx.Tx) error {
			var err error
			v, err = verify(ctx, tx)
			return err
		})
	if err != nil {
		return Verification{}, fmt.Errorf("ledger: verify chain: %w", err)
	}
	return v, nil
}

// chainRow is one entry as the verifier reads it: every stored field, nothing trusted.
type chainRow struct {
	Entry
	contentHash string
	prevHash    *string
	entryHash   *string
}

func verify(ctx context.Context, tx pgx.Tx) (Verification, error) {
	var headID *int64
	var headHash string
	if err := tx.QueryRow(ctx, `SELECT last_entry_id, last_hash FROM ledger_chain_head WHERE ledger = 'main'`).
		Scan(&headID, &headHash); err != nil {
		return Verification{}, fmt.Errorf("read chain head: %w", err)
	}

	v := Verification{OK: true}
	prev := ChainLink{Hash: GenesisHash}
	sums := map[balanceKey]*big.Int{}
	for {
		rows, err := readChainBatch(ctx, tx, prev.EntryID)
		if err != nil {
			return Verification{}, err
		}
		reversed, err := readReversed(ctx, tx, rows)
		if err != nil {
			return Verification{}, err
		}
		for _, r := range rows {
			reason := cmp.Or(checkLink(r, prev), checkBalanced(r))
			if reason == "" && r.ReversesID != 0 {
				reason = checkReversal(r, reversed[r.ReversesID])
			}
			if reason != "" {
				v.OK, v.Break = false, &ChainBreak{EntryID: r.ID, Reason: reason}
				return v, nil
			}
			for _, p := range r.Postings {
				k := balanceKey{p.Account, string(r.Currency)}
				if sums[k] == nil {
					sums[k] = new(big.Int)
				}
				sums[k].Add(sums[k], big.NewInt(p.Amount))
			}
			prev = ChainLink{EntryID: r.ID, Hash: *r.entryHash}
			v.Entries++
			v.Head = &ChainLink{EntryID: prev.EntryID, Hash: prev.Hash}
		}
		if len(rows) < verifyBatch {
			break
		}
	}

	var recorded int64
	if headID != nil {
		recorded = *headID
	}
	if recorded != prev.EntryID || headHash != prev.Hash {
		v.OK = false
		v.Break = &ChainBreak{EntryID: recorded, Reason: fmt.Sprintf(
			"the chain ends at entry %d (hash %s) but its head records entry %d (hash %s): entries were removed from the end of the journal or the head was edited",
			prev.EntryID, short(prev.Hash), recorded, short(headHash))}
		return v, nil
	}
	reason, err := checkBalances(ctx, tx, sums)
	if err != nil {
		return Verification{}, err
	}
	if reason != "" {
		v.OK, v.Break = false, &ChainBreak{EntryID: prev.EntryID, Reason: reason}
	}
	return v, nil
}

type balanceKey struct{ account, currency string }

// checkBalances compares the balances kept in ledger_balances (migration 00019), which Balances
// reads for "now", with the sums of the postings the walk read, in the same snapshot: the table
// is derived, not chained, so an edit of it would otherwise go unnoticed.
func checkBalances(ctx context.Context, tx pgx.Tx, sums map[balanceKey]*big.Int) (string, error) {
	rows, err := tx.Query(ctx, `SELECT account, currency, balance::text FROM ledger_balances ORDER BY account, currency`)
	if err != nil {
		return "", fmt.Errorf("read kept balances: %w", err)
	}
	kept := map[balanceKey]string{}
	var k balanceKey
	var bal string
	if _, err := pgx.ForEachRow(rows, []any{&k.account, &k.currency, &bal}, func() error {
		kept[k] = bal
		return nil
	}); err != nil {
		return "", fmt.Errorf("read kept balances: %w", err)
	}
	keys := make([]balanceKey, 0, len(sums)+len(kept))
	for k := range sums {
		keys = append(keys, k)
	}
	for k := range kept {
		if sums[k] == nil {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(a, b balanceKey) int {
		return cmp.Or(strings.Compare(a.account, b.account), strings.Compare(a.currency, b.currency))
	})
	for _, k := range keys {
		want := "none"
		if sums[k] != nil {
			want = sums[k].String()
		}
		got, ok := kept[k]
		if !ok {
			got = "none"
		}
		if got != want {
			return fmt.Sprintf("the balance kept for account %s in %s is %s but its postings sum to %s: ledger_balances was edited or written around its trigger",
				k.account, k.currency, got, want), nil
		}
	}
	return "", nil
}

// readChainBatch reads the verifyBatch entries after afterID with their postings. The postings
// are bounded by afterID too (p.entry_id > $1, not only e.id > $1): the planner does not carry
// the entries' bound over the join, and a merge join then read postings_entry_idx from its start,
// every posting of every earlier batch, which made a walk of the journal quadratic.
func readChainBatch(ctx context.Context, tx pgx.Tx, afterID int64) ([]chainRow, error) {
	rows, err := tx.Query(ctx, `
		SELECT e.id, e.idempotency_key, e.currency, e.reference, e.description,
		       coalesce(e.reverses_id, 0), e.content_hash, e.created_at, e.prev_hash, e.entry_hash,
		       coalesce(array_agg(p.account ORDER BY p.id) FILTER (WHERE p.id IS NOT NULL), '{}'),
		       coalesce(array_agg(p.amount ORDER BY p.id) FILTER (WHERE p.id IS NOT NULL), '{}')
		FROM journal_entries e LEFT JOIN postings p ON p.entry_id = e.id AND p.entry_id > $1
		WHERE e.id > $1
		GROUP BY e.id
		ORDER BY e.id
		LIMIT $2`, afterID, verifyBatch)
	if err != nil {
		return nil, fmt.Errorf("read entries after %d: %w", afterID, err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (chainRow, error) {
		var r chainRow
		var cur string
		var accounts []string
		var amounts []int64
		err := row.Scan(&r.ID, &r.IdempotencyKey, &cur, &r.Reference, &r.Description, &r.ReversesID,
			&r.contentHash, &r.CreatedAt, &r.prevHash, &r.entryHash, &accounts, &amounts)
		r.Currency = money.Currency(cur)
		for i := range accounts {
			r.Postings = append(r.Postings, Posting{Account: accounts[i], Amount: amounts[i]})
		}
		return r, err
	})
	if err != nil {
		return nil, fmt.Errorf("read entries after %d: %w", afterID, err)
	}
	return out, nil
}

// checkLink says why r is not a valid successor of prev, or "" when it is. The checks run from
// the outside in, so the reason names the most specific thing that changed.
func checkLink(r chainRow, prev ChainLink) string {
	if r.prevHash == nil || r.entryHash == nil {
		return "the entry has no chain link: it was written with the journal's triggers bypassed"
	}
	if *r.prevHash != prev.Hash {
		if prev.EntryID == 0 {
			return fmt.Sprintf("prev_hash %s is not the genesis hash: entries before it were removed or its link was edited", short(*r.prevHash))
		}
		return fmt.Sprintf("prev_hash %s does not match the hash %s of entry %d before it: an entry between them was removed or inserted, or a hash was rewritten",
			short(*r.prevHash), short(prev.Hash), prev.EntryID)
	}
	if got := contentHash(r.Entry); got != r.contentHash {
		return "its postings, currency or reversal target differ from those it was written with (content_hash mismatch)"
	}
	if got := chainHash(*r.prevHash, r.Entry, r.contentHash); got != *r.entryHash {
		return "its idempotency key, time, reference, description or hash was edited (entry_hash mismatch)"
	}
	return ""
}

// checkBalanced says why r, intact as a link, is not a double entry (as the schema's balance
// check refuses at commit: at least two postings summing to zero), or "" when it is. The chain
// links what was appended, so an entry appended with that check switched off passes checkLink.
func checkBalanced(r chainRow) string {
	if n := len(r.Postings); n < 2 {
		return fmt.Sprintf("it has %d posting(s), at least 2 are required: it was appended with the journal's balance checks switched off", n)
	}
	var sum big.Int
	for _, p := range r.Postings {
		sum.Add(&sum, big.NewInt(p.Amount))
	}
	if sum.Sign() != 0 {
		return fmt.Sprintf("its postings sum to %s instead of 0: it was appended with the journal's balance checks switched off", sum.String())
	}
	return ""
}

// reversedEntry is an entry a reversal names, as checkReversal weighs it.
type reversedEntry struct {
	currency string
	reverses int64
	postings []Posting
}

// readReversed reads the entries the batch's reversals reverse, in one query: reversals may be
// many, and a query each made the walk's round trips grow with them, not with its batches. The
// walk keeps no earlier batch's postings, so an entry reversed is read again here.
func readReversed(ctx context.Context, tx pgx.Tx, rows []chainRow) (map[int64]reversedEntry, error) {
	var ids []int64
	for _, r := range rows {
		if r.ReversesID != 0 {
			ids = append(ids, r.ReversesID)
		}
	}
	if len(ids) == 0 {
		return nil, nil
	}
	q, err := tx.Query(ctx, `
		SELECT e.id, e.currency, coalesce(e.reverses_id, 0),
		       coalesce(array_agg(p.account) FILTER (WHERE p.id IS NOT NULL), '{}'),
		       coalesce(array_agg(p.amount) FILTER (WHERE p.id IS NOT NULL), '{}')
		FROM journal_entries e LEFT JOIN postings p ON p.entry_id = e.id
		WHERE e.id = ANY($1)
		GROUP BY e.id`, ids)
	if err != nil {
		return nil, fmt.Errorf("read the entries reversed after entry %d: %w", rows[0].ID-1, err)
	}
	out := map[int64]reversedEntry{}
	var id int64
	var e reversedEntry
	var accounts []string
	var amounts []int64
	if _, err := pgx.ForEachRow(q, []any{&id, &e.currency, &e.reverses, &accounts, &amounts}, func() error {
		ps := make([]Posting, len(accounts))
		for i := range accounts {
			ps[i] = Posting{Account: accounts[i], Amount: amounts[i]}
		}
		out[id] = reversedEntry{currency: e.currency, reverses: e.reverses, postings: ps}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("read the entries reversed after entry %d: %w", rows[0].ID-1, err)
	}
	return out, nil
}

// checkReversal says why r, a reversal, does not undo orig, the entry it names (zero when it is
// not in the journal), as the schema requires when it is appended (ledger_check_reversal,
// ledger_assert_entry_balanced): in that entry's currency, negating its postings, and not of a
// reversal. "" when it does.
func checkReversal(r chainRow, orig reversedEntry) string {
	switch {
	case orig.currency == "":
		return fmt.Sprintf("it reverses entry %d, which is not in the journal", r.ReversesID)
	case orig.reverses != 0:
		return fmt.Sprintf("entry %d it reverses is itself a reversal (of entry %d), which cannot be reversed", r.ReversesID, orig.reverses)
	case orig.currency != string(r.Currency):
		return fmt.Sprintf("it is in %s, entry %d it reverses in %s", r.Currency, r.ReversesID, orig.currency)
	}
	left := map[Posting]int{}
	for _, p := range orig.postings {
		left[Posting{Account: p.Account, Amount: -p.Amount}]++
	}
	for _, p := range r.Postings {
		left[p]--
	}
	for _, n := range left {
		if n != 0 {
			return fmt.Sprintf("it does not negate the postings of entry %d it reverses", r.ReversesID)
		}
	}
	return ""
}

// chainHash is the Go twin of the ledger_chain_hash SQL function (migration 00003): both must
// produce the same bytes, which TestChainHashMatchesDatabase checks.
func chainHash(prev string, e Entry, contentHash string) string {
	var b strings.Builder
	b.WriteString("paysplit-ledger-chain-v1")
	field := func(s string) {
		b.WriteString(strconv.Itoa(len(s)))
		b.WriteByte(':')
		b.WriteString(s)
	}
	field(prev)
	field(strconv.FormatInt(e.ID, 10))
	field(e.IdempotencyKey)
	field(string(e.Currency))
	if e.ReversesID != 0 {
		field(strconv.FormatInt(e.ReversesID, 10))
	} else {
		field("")
	}
	field(e.Reference)
	field(e.Description)
	field(strconv.FormatInt(e.CreatedAt.UnixMicro(), 10))
	field(contentHash)
	sum := sha256.Sum256([]byte(b.String()))
	return hex.EncodeToString(sum[:])
}

func short(h string) string {
	if len(h) > 12 {
		return h[:12] + "…"
	}
	return h
}

// BalancePoint is an account's balance right after one entry.
type BalancePoint struct {
	EntryID int64     `json:"entry_id"`
	At      time.Time `json:"at"`
	Balance int64     `json:"balance"`
}

// entryDeltaSQL is what entry e moved on account $1 (NULL: no posting to it). As a lateral
// subquery it is one probe of postings_account_entry_idx per entry of a window, which the
// planner cannot turn into a scan of the account's postings in the whole journal (a join did,
// for an account posted to by every entry).
const entryDeltaSQL = `SELECT sum(p.amount) AS amount FROM postings p WHERE p.account = $1 AND p.entry_id = e.id`

// openingBalanceSQL is an account's balance in a currency as of $3: its balance now
// (ledger_balances) less what the entries after $3 moved, so what it reads grows with the time
// since $3 (a monitor's window), not with the journal.
const openingBalanceSQL = `
			SELECT (coalesce((SELECT b.balance FROM ledger_balances b WHERE b.account = $1 AND b.currency = $2), 0)
				- coalesce((SELECT sum(d.amount) FROM journal_entries e CROSS JOIN LATERAL (` + entryDeltaSQL + `) d
					WHERE e.currency = $2 AND e.created_at > $3), 0))::bigint`

// BalanceHistory is the account's balance in cur as of from (opening), and after each entry
// created in (from, to], oldest first: enough to tell whether it stayed on one side of a line
// for the whole window. One snapshot, so opening and points agree.
func (l *Ledger) BalanceHistory(ctx context.Context, account string, cur money.Currency, from, to time.Time) (int64, []BalancePoint, error) {
	c, err := money.ParseCurrency(string(cur))
	if err != nil {
		return 0, nil, fmt.Errorf("ledger: balance history of %q: %w: %w", account, ErrInvalidEntry, err)
	}
	if from.IsZero() || to.Before(from) {
		return 0, nil, fmt.Errorf("ledger: balance history of %q: window %s..%s: %w", account, from, to, ErrInvalidEntry)
	}
	var opening int64
	var points []BalancePoint
	err = pgx.BeginTxFunc(ctx, l.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, openingBalanceSQL, account, string(c), from).Scan(&opening); err != nil {
			return fmt.Errorf("opening balance: %w", err)
		}
		rows, err := tx.Query(ctx, `
			SELECT e.id, e.created_at, d.amount::bigint
			FROM journal_entries e CROSS JOIN LATERAL (`+entryDeltaSQL+`) d
			WHERE e.currency = $2 AND e.created_at > $3 AND e.created_at <= $4 AND d.amount IS NOT NULL
			ORDER BY e.created_at, e.id`, account, string(c), from, to)
		if err != nil {
			return fmt.Errorf("changes: %w", err)
		}
		bal := opening
		var p BalancePoint
		var delta int64
		_, err = pgx.ForEachRow(rows, []any{&p.EntryID, &p.At, &delta}, func() error {
			next, ok := addChecked(bal, delta)
			if !ok {
				return fmt.Errorf("balance overflows int64 after entry %d", p.EntryID)
			}
			bal = next
			p.Balance = bal
			points = append(points, p)
			return nil
		})
		return err
	})
	if err != nil {
		return 0, nil, fmt.Errorf("ledger: balance history of %q in %s: %w", account, c, err)
	}
	return opening, points, nil
}

// AccountBalances is one account's balance in every currency it has postings in, as of asOf
// (zero: now), ordered by currency.
func (l *Ledger) AccountBalances(ctx context.Context, account string, asOf time.Time) ([]AccountBalance, error) {
	if err := checkText("account", account, true); err != nil {
		return nil, fmt.Errorf("ledger: balances of %q: %w", account, err)
	}
	q := `SELECT e.currency, sum(p.amount)::bigint
	      FROM postings p JOIN journal_entries e ON e.id = p.entry_id
	      WHERE p.account = $1 AND e.created_at <= $2
	      GROUP BY e.currency
	      ORDER BY e.currency`
	args := []any{account, asOf}
	if asOf.IsZero() {
		q, args = `SELECT currency, balance::bigint FROM ledger_balances WHERE account = $1 ORDER BY currency`, args[:1]
	}
	if err := l.awaitAppendsBefore(ctx, asOf); err != nil {
		return nil, fmt.Errorf("ledger: balances of %q: %w", account, err)
	}
	rows, err := l.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("ledger: balances of %q: %w", account, err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (AccountBalance, error) {
		b := AccountBalance{Account: account}
		var cur string
		err := row.Scan(&cur, &b.Balance)
		b.Currency = money.Currency(cur)
		return b, err
	})
	if err != nil {
		return nil, fmt.Errorf("ledger: balances of %q: %w", account, err)
	}
	return out, nil
}

func addChecked(a, b int64) (int64, bool) {
	s := a + b
	if (b > 0 && s < a) || (b < 0 && s > a) {
		return 0, false
	}
	return s, true
}
