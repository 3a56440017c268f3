package ledger_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"paysplit/internal/db"
	"paysplit/internal/ledger"
	"paysplit/testenv"
)

// chainLinks reads every entry's link in id order.
type chainLink struct {
	ID         int64
	Key        string
	Prev, Hash string
}

func chainLinks(t *testing.T, pool *pgxpool.Pool) []chainLink {
	t.Helper()
	rows, err := pool.Query(t.Context(), `SELECT id, idempotency_key, prev_hash, entry_hash FROM journal_entries ORDER BY id`)
	require.NoError(t, err)
	links, err := pgx.CollectRows(rows, pgx.RowToStructByPos[chainLink])
	require.NoError(t, err)
	return links
}

// requireOneChain asserts the journal is one chain: each entry links to the one before it in id
// order, no two claim the same predecessor, and the head names the last.
func requireOneChain(t *testing.T, pool *pgxpool.Pool) []chainLink {
	t.Helper()
	links := chainLinks(t, pool)
	prev := ledger.GenesisHash
	for _, k := range links {
		require.Equal(t, prev, k.Prev, "entry %d does not link to the entry before it", k.ID)
		prev = k.Hash
	}
	var headID *int64
	var headHash string
	require.NoError(t, pool.QueryRow(t.Context(), `SELECT last_entry_id, last_hash FROM ledger_chain_head`).Scan(&headID, &headHash))
	if len(links) > 0 {
		require.NotNil(t, headID)
		assert.Equal(t, links[len(links)-1].ID, *headID, "the head names the last entry")
		assert.Equal(t, links[len(links)-1].Hash, headHash, "the head holds the last entry's hash")
	}
	return links
}

// Batches posted at once by many sessions, each also replaying a neighbour's batch (possibly in
// flight, its entries in the opposite order), must append each key once, in one chain whose head
// is its last entry, with the kept balances the journal's sums (Verify).
func TestConcurrentBatchesKeepOneChain(t *testing.T) {
	const workers, batches = 8, 4
	l, pool := ownLedger(t)
	ctx := t.Context()
	wl := wideOn(t, pool, workers)

	all := make([][][]ledger.Entry, workers)
	for w := range all {
		for b := range batches {
			all[w] = append(all[w], []ledger.Entry{
				sale(unique("c"), fmt.Sprintf("w%d-%d", w, b), "shared", int64(1000+b), 100),
				payout(unique("t"), fmt.Sprintf("w%d-%d", w, b), "shared", 500),
				payout(unique("t"), fmt.Sprintf("w%d-%d", w, b), "shared", 400),
			})
		}
	}
	concurrently(t, workers, func(w int) error {
		var errs []error
		for b := range batches {
			_, err := wl.PostBatch(ctx, all[w][b])
			other := slices.Clone(all[(w+1)%workers][b])
			slices.Reverse(other)
			_, errOther := wl.PostBatch(ctx, other)
			errs = append(errs, err, errOther)
		}
		return errors.Join(errs...)
	})

	links := requireOneChain(t, pool)
	assert.Len(t, links, workers*batches*3, "each key appended exactly once")
	v := requireIntact(t, l)
	assert.EqualValues(t, workers*batches*3, v.Entries)
	// Batch b credits the vendor 900+b and pays 900 out: b stays owed.
	bal, err := l.Balance(ctx, ledger.VendorPayable("shared"), "usd", time.Time{})
	require.NoError(t, err)
	assert.EqualValues(t, -workers*(0+1+2+3), bal)
}

// oldPostBatch posts entries as PostBatch did before migration 00044: a statement an entry, in
// one transaction.
func oldPostBatch(t *testing.T, pool *pgxpool.Pool, entries []ledger.Entry) {
	t.Helper()
	require.NoError(t, pgx.BeginFunc(t.Context(), pool, func(tx pgx.Tx) error {
		for _, e := range entries {
			if _, err := ledger.AppendInTx(t.Context(), tx, e); err != nil {
				return err
			}
		}
		return nil
	}))
}

// A journal written by the code before migration 00044 (a statement an entry, the head moved by
// a row trigger), then by PostBatch under 00044, then again after 00044 is rolled back (Down) and
// reapplied, is one chain that verifies at every step, with its head on its last entry and the
// kept balances the journal's sums. PostBatch also runs on the schema before 00044 (a worker of
// this release before the migration ran).
func TestBatchesAcrossMigration00044(t *testing.T) {
	ctx := t.Context()
	url := testenv.EmptyDatabase(t)
	mig := gooseOn(t, url)
	_, err := mig.UpTo(ctx, 43)
	require.NoError(t, err)
	pool, err := db.Connect(ctx, url)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	l := ledger.New(pool)
	entries := 0
	step := func(name string, post func()) {
		t.Helper()
		post()
		entries += 3
		links := requireOneChain(t, pool)
		require.Len(t, links, entries, name)
		v, err := l.Verify(ctx)
		require.NoError(t, err)
		require.True(t, v.OK, "%s: %+v", name, v.Break)
	}

	step("old code before 00044", func() { oldPostBatch(t, pool, paymentBatch(unique("old"))) })
	step("new code before 00044", func() {
		_, err := l.PostBatch(ctx, paymentBatch(unique("new-early")))
		require.NoError(t, err)
	})
	_, err = mig.UpTo(ctx, 44)
	require.NoError(t, err)
	step("new code on 00044", func() {
		_, err := l.PostBatch(ctx, paymentBatch(unique("new")))
		require.NoError(t, err)
	})
	step("old code on 00044", func() { oldPostBatch(t, pool, paymentBatch(unique("old-late"))) })
	_, err = mig.DownTo(ctx, 43)
	require.NoError(t, err)
	step("new code after 00044's down", func() {
		_, err := l.PostBatch(ctx, paymentBatch(unique("down")))
		require.NoError(t, err)
	})
	_, err = mig.UpTo(ctx, 44)
	require.NoError(t, err)
	step("new code on 00044 again", func() {
		_, err := l.PostBatch(ctx, paymentBatch(unique("again")))
		require.NoError(t, err)
	})
	require.NoError(t, db.Migrate(ctx, url))
	step("new code, all migrations", func() {
		_, err := l.PostBatch(ctx, paymentBatch(unique("all")))
		require.NoError(t, err)
	})
}

// rawBatch is PostBatch's statement with hand-made arguments, as a bug or a hand-run script
// could send it: entries (key, reverses_id) and postings (entry, 1-based; account; amount).
type rawBatch struct {
	keys     []string
	reverses []*int64
	owner    []int32
	accounts []string
	amounts  []int64
}

func (b rawBatch) send(t *testing.T, pool *pgxpool.Pool) error {
	t.Helper()
	n := len(b.keys)
	curs, refs, hashes := make([]string, n), make([]string, n), make([]string, n)
	for i := range n {
		curs[i], refs[i], hashes[i] = "usd", "raw", "not-a-content-hash"
	}
	reverses := b.reverses
	if reverses == nil {
		reverses = make([]*int64, n)
	}
	rows, err := pool.Query(t.Context(), ledger.PostBatchSQL, b.keys, curs, refs, refs, reverses, hashes, b.owner, b.accounts, b.amounts)
	if err != nil {
		return err
	}
	rows.Close()
	return rows.Err()
}

// The database refuses at commit what Go would refuse before sending, when the batch statement
// is sent by hand: the checks are the schema's, for every entry of a statement of many, and a
// refused statement leaves the journal, its head and the kept balances as they were.
func TestRawBatchStatementCannotCommitABadEntry(t *testing.T) {
	l, pool := ownLedger(t)
	ctx := t.Context()
	orig, _, err := l.Post(ctx, sale(unique("orig"), "o", "v", 1000, 100))
	require.NoError(t, err)
	before := requireOneChain(t, pool)
	balancesBefore, err := l.Balances(ctx, time.Time{})
	require.NoError(t, err)
	id := func(v int64) *int64 { return &v }

	tests := []struct {
		name       string
		batch      rawBatch
		constraint string
	}{
		{"the second entry unbalanced", rawBatch{
			keys: []string{unique("a"), unique("b")}, owner: []int32{1, 1, 2, 2},
			accounts: []string{"x", "y", "x", "y"}, amounts: []int64{5, -5, 5, -4}}, "journal_entries_balanced"},
		{"postings given to the wrong entry", rawBatch{
			keys: []string{unique("a"), unique("b")}, owner: []int32{1, 2, 1, 2},
			accounts: []string{"x", "y", "x", "y"}, amounts: []int64{5, -5, 7, -7}}, "journal_entries_balanced"},
		{"an entry of one posting", rawBatch{
			keys: []string{unique("a"), unique("b")}, owner: []int32{1, 1, 2},
			accounts: []string{"x", "y", "x"}, amounts: []int64{5, -5, 5}}, "journal_entries_min_postings"},
		{"an entry of no postings", rawBatch{
			keys: []string{unique("a"), unique("b")}, owner: []int32{1, 1},
			accounts: []string{"x", "y"}, amounts: []int64{5, -5}}, "journal_entries_min_postings"},
		{"a reversal that does not negate its original", rawBatch{
			keys: []string{unique("a"), unique("rev")}, reverses: []*int64{nil, id(orig.ID)}, owner: []int32{1, 1, 2, 2},
			accounts: []string{"x", "y", ledger.ProviderBalance("stripe"), ledger.PlatformRevenue},
			amounts:  []int64{5, -5, -1000, 1000}}, "journal_entries_reversal_negates"},
		{"a reversal first, balanced but not negating", rawBatch{
			keys: []string{unique("rev"), unique("a")}, reverses: []*int64{id(orig.ID), nil}, owner: []int32{1, 1, 2, 2},
			accounts: []string{"x", "y", "x", "y"}, amounts: []int64{5, -5, 5, -5}}, "journal_entries_reversal_negates"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.batch.send(t, pool)
			var pgErr *pgconn.PgError
			require.ErrorAs(t, err, &pgErr)
			assert.Equal(t, tt.constraint, pgErr.ConstraintName)
			assert.Equal(t, before, requireOneChain(t, pool), "a refused batch leaves the journal and its head")
			after, err := l.Balances(ctx, time.Time{})
			require.NoError(t, err)
			assert.Equal(t, balancesBefore, after, "a refused batch leaves the kept balances")
		})
	}
	requireIntact(t, l)
}

// Each entry of a batch is stored with its own postings whatever comes before it in the batch:
// entries of different sizes and currencies, a key stored before the batch, a key repeated in
// it (the postings array skips both, the entries array does not).
func TestPostBatchKeepsEachEntrysPostings(t *testing.T) {
	l, _ := ownLedger(t)
	ctx := t.Context()
	ref := unique("align")
	taken := payout(unique("taken"), ref, "al", 300)
	_, _, err := l.Post(ctx, taken)
	require.NoError(t, err)
	a := payout(unique("a"), ref, "al", 100)
	four := ledger.Entry{IdempotencyKey: unique("four"), Currency: "usd", Reference: ref, Postings: []ledger.Posting{
		{Account: "x", Amount: 1}, {Account: "y", Amount: 2}, {Account: "z", Amount: 3}, {Account: "w", Amount: -6}}}
	eur := sale(unique("eur"), ref, "al", 900, 90)
	eur.Currency = "eur"
	batch := []ledger.Entry{a, taken, a, four, eur}

	posted, err := l.PostBatch(ctx, batch)
	require.NoError(t, err)
	assert.Equal(t, []bool{true, false, false, true, true},
		[]bool{posted[0].Created, posted[1].Created, posted[2].Created, posted[3].Created, posted[4].Created})
	for i, e := range batch {
		stored, err := l.Get(ctx, posted[i].Entry.ID)
		require.NoError(t, err)
		assert.Equal(t, e.IdempotencyKey, stored.IdempotencyKey, "entry %d", i)
		assert.Equal(t, e.Currency, stored.Currency, "entry %d", i)
		assert.Equal(t, e.Postings, stored.Postings, "entry %d keeps its postings, in order", i)
	}
	requireIntact(t, l)
}

// A batch statement whose transaction rolls back after it ran (its caller failed before the
// commit) leaves the journal, the chain's head and the kept balances as they were, a balance it
// netted to zero and a new account's row of 0 included.
func TestRolledBackBatchLeavesHeadAndBalances(t *testing.T) {
	l, pool := ownLedger(t)
	ctx := t.Context()
	_, err := l.PostBatch(ctx, paymentBatch(unique("before")))
	require.NoError(t, err)
	links := requireOneChain(t, pool)
	balances, err := l.Balances(ctx, time.Time{})
	require.NoError(t, err)

	errRollback := errors.New("rollback")
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		batch := append(paymentBatch(unique("rolled")),
			sale(unique("c"), "rolled", "new-vendor", 700, 70), payout(unique("t"), "rolled", "new-vendor", 630))
		if err := ledger.PostBatchInTx(ctx, tx, batch); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM ledger_balances WHERE account = $1`, ledger.VendorPayable("new-vendor")).Scan(&n); err != nil {
			return err
		}
		require.Equal(t, 1, n, "the batch's new account has its row of 0 inside the transaction")
		return errRollback
	})
	require.ErrorIs(t, err, errRollback)
	assert.Equal(t, links, requireOneChain(t, pool), "the journal and its head are as they were")
	after, err := l.Balances(ctx, time.Time{})
	require.NoError(t, err)
	assert.Equal(t, balances, after, "the kept balances are as they were")
	requireIntact(t, l)

	_, err = l.PostBatch(ctx, paymentBatch(unique("after")))
	require.NoError(t, err)
	requireOneChain(t, pool)
	requireIntact(t, l)
}
