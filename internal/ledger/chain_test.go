package ledger_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"paysplit/internal/db"
	"paysplit/internal/ledger"
	"paysplit/testenv"
)

// ownLedger is a ledger on a database of its own, for tests that tamper with the journal or
// need to know exactly what is in it.
func ownLedger(t *testing.T) (*ledger.Ledger, *pgxpool.Pool) {
	t.Helper()
	pool := testenv.OwnDatabase(t)
	return ledger.New(pool), pool
}

func requireIntact(t *testing.T, l *ledger.Ledger) ledger.Verification {
	t.Helper()
	v, err := l.Verify(t.Context())
	require.NoError(t, err)
	require.True(t, v.OK, "chain broken: %+v", v.Break)
	require.Nil(t, v.Break)
	return v
}

func TestChainLinksEveryAppend(t *testing.T) {
	l, _ := ownLedger(t)
	ctx := t.Context()

	v := requireIntact(t, l)
	assert.Zero(t, v.Entries, "an empty journal is an intact chain")
	assert.Nil(t, v.Head)

	// Fields chosen to trip a sloppy encoding: separators, digits that look like length
	// prefixes, multi-byte text, and a reversal.
	entries := []ledger.Entry{
		sale(unique("k"), "3:abc", "v", 1_000, 100),
		sale(unique("k:1:"), "", "v", 2_000, 200),
		{IdempotencyKey: unique("k"), Currency: "eur", Reference: "réf ✓", Description: "1:2:3",
			Postings: []ledger.Posting{{Account: "a", Amount: 7}, {Account: "b", Amount: -7}}},
	}
	var posted []ledger.Entry
	for _, e := range entries {
		p, created, err := l.Post(ctx, e)
		require.NoError(t, err)
		require.True(t, created)
		posted = append(posted, p)
	}
	rev, _, err := l.Reverse(ctx, posted[0].ID, unique("rev"), "réversal")
	require.NoError(t, err)
	posted = append(posted, rev)

	assert.Equal(t, ledger.GenesisHash, posted[0].PrevHash, "the first entry links to the genesis hash")
	for i, p := range posted {
		assert.Len(t, p.Hash, 64, "entry %d", i)
		if i > 0 {
			assert.Equal(t, posted[i-1].Hash, p.PrevHash, "entry %d links to the one before", i)
			assert.Greater(t, p.ID, posted[i-1].ID)
			assert.False(t, p.CreatedAt.Before(posted[i-1].CreatedAt), "times follow the chain")
		}
		got, err := l.Get(ctx, p.ID)
		require.NoError(t, err)
		assert.Equal(t, p.Hash, got.Hash, "entry %d reads back with its link", i)
		assert.Equal(t, p.PrevHash, got.PrevHash)
	}

	// Verify recomputes every hash in Go: the database's and Go's encodings agree.
	v = requireIntact(t, l)
	assert.EqualValues(t, len(posted), v.Entries)
	last := posted[len(posted)-1]
	assert.Equal(t, &ledger.ChainLink{EntryID: last.ID, Hash: last.Hash}, v.Head)

	// Replays and conflicts leave the chain where it was.
	replays := []ledger.Entry{entries[0], entries[1]}
	conflict := entries[2]
	conflict.Postings = []ledger.Posting{{Account: "a", Amount: 8}, {Account: "b", Amount: -8}}
	for _, e := range replays {
		_, created, err := l.Post(ctx, e)
		require.NoError(t, err)
		require.False(t, created)
	}
	_, _, err = l.Post(ctx, conflict)
	require.ErrorIs(t, err, ledger.ErrIdempotencyConflict)
	_, _, err = l.Reverse(ctx, posted[0].ID, unique("rev"), "")
	require.ErrorIs(t, err, ledger.ErrAlreadyReversed)
	after := requireIntact(t, l)
	assert.Equal(t, v.Head, after.Head, "nothing appended")
	assert.Equal(t, v.Entries, after.Entries)
}

// Appends from many connections at once, interleaved with replays of keys being written: the
// database serialises them into one chain with no fork and no gap.
func TestChainConcurrentAppends(t *testing.T) {
	const workers, perWorker = 16, 6
	l, pool := ownLedger(t)
	wide := wideOn(t, pool, workers)
	ctx := t.Context()

	keys := make([][]string, workers)
	for w := range keys {
		for range perWorker {
			keys[w] = append(keys[w], unique(fmt.Sprintf("w%d", w)))
		}
	}
	concurrently(t, workers, func(w int) error {
		var errs []error
		for i, key := range keys[w] {
			_, _, err := wide.Post(ctx, sale(key, "", fmt.Sprintf("v%d", w), int64(100+i), 10))
			// Replay a neighbour's key, which may be in flight right now.
			other := keys[(w+1)%workers][i]
			_, _, errOther := wide.Post(ctx, sale(other, "", fmt.Sprintf("v%d", (w+1)%workers), int64(100+i), 10))
			errs = append(errs, err, errOther)
		}
		return errors.Join(errs...)
	})

	v := requireIntact(t, l)
	assert.EqualValues(t, workers*perWorker, v.Entries, "each key appended exactly once")

	rows, err := pool.Query(ctx, `SELECT id, created_at, prev_hash, entry_hash FROM journal_entries ORDER BY id`)
	require.NoError(t, err)
	type link struct {
		ID         int64
		CreatedAt  time.Time
		Prev, Hash string
	}
	links, err := pgx.CollectRows(rows, pgx.RowToStructByPos[link])
	require.NoError(t, err)
	seen := map[string]bool{}
	for i, k := range links {
		assert.False(t, seen[k.Prev], "two entries link to the same predecessor (fork) at entry %d", k.ID)
		seen[k.Prev] = true
		if i > 0 {
			assert.Equal(t, links[i-1].Hash, k.Prev)
			assert.False(t, k.CreatedAt.Before(links[i-1].CreatedAt), "created_at follows id order at entry %d", k.ID)
		}
	}
}

// wideOn is a ledger on pool's database with one connection per worker: the default pool would
// queue most workers and hide races.
func wideOn(t *testing.T, pool *pgxpool.Pool, workers int32) *ledger.Ledger {
	t.Helper()
	cfg := pool.Config()
	cfg.MaxConns = workers
	p, err := pgxpool.NewWithConfig(t.Context(), cfg)
	require.NoError(t, err)
	t.Cleanup(p.Close)
	return ledger.New(p)
}

// concurrently runs work for each worker, all released at once, and fails on any error.
func concurrently(t *testing.T, workers int, work func(w int) error) {
	t.Helper()
	errs := make(chan error, workers)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			<-start
			errs <- work(w)
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
}

// tamperer edits the journal behind the ledger's back, as someone with database access could.
type tamperer func(ctx context.Context, tx pgx.Tx, target ledger.Entry) error

func exec(sql string, args ...any) func(ctx context.Context, tx pgx.Tx) error {
	return func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, sql, args...)
		return err
	}
}

// withTriggersOff runs edit with the append-only triggers disabled inside one transaction, so
// no other session ever sees the journal writable.
func withTriggersOff(ctx context.Context, pool *pgxpool.Pool, edit func(ctx context.Context, tx pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		for _, stmt := range []string{
			"ALTER TABLE journal_entries DISABLE TRIGGER journal_entries_append_only",
			"ALTER TABLE postings DISABLE TRIGGER postings_append_only",
		} {
			if _, err := tx.Exec(ctx, stmt); err != nil {
				return err
			}
		}
		if err := edit(ctx, tx); err != nil {
			return err
		}
		for _, stmt := range []string{
			"ALTER TABLE journal_entries ENABLE TRIGGER journal_entries_append_only",
			"ALTER TABLE postings ENABLE TRIGGER postings_append_only",
		} {
			if _, err := tx.Exec(ctx, stmt); err != nil {
				return err
			}
		}
		return nil
	})
}

func TestVerifyFindsTamperedEntry(t *testing.T) {
	const victim = 2 // index of the entry tampered with, in the middle of the chain
	tests := []struct {
		name   string
		tamper tamperer
		// wantAt picks the entry the break must be reported at, from the posted entries.
		wantAt     func(posted []ledger.Entry) int64
		wantReason string
	}{
		{
			name: "posting amount edited",
			tamper: func(ctx context.Context, tx pgx.Tx, e ledger.Entry) error {
				return exec(`UPDATE postings SET amount = amount + 1 WHERE id = (SELECT min(id) FROM postings WHERE entry_id = $1)`, e.ID)(ctx, tx)
			},
			wantAt: at(victim), wantReason: "content_hash mismatch",
		},
		{
			name: "both legs edited so the entry still balances",
			tamper: func(ctx context.Context, tx pgx.Tx, e ledger.Entry) error {
				return exec(`UPDATE postings SET amount = amount * 2 WHERE entry_id = $1`, e.ID)(ctx, tx)
			},
			wantAt: at(victim), wantReason: "content_hash mismatch",
		},
		{
			name:   "posting moved to another account",
			tamper: sqlOn(`UPDATE postings SET account = 'vendor_payable:mallory' WHERE entry_id = $1 AND amount < 0`),
			wantAt: at(victim), wantReason: "content_hash mismatch",
		},
		{
			// The schema refuses postings added to a written entry at commit; that check goes too.
			name: "posting added",
			tamper: func(ctx context.Context, tx pgx.Tx, e ledger.Entry) error {
				if err := exec(`ALTER TABLE postings DISABLE TRIGGER postings_balanced`)(ctx, tx); err != nil {
					return err
				}
				if err := exec(`INSERT INTO postings (entry_id, account, amount) VALUES ($1, 'x', 1), ($1, 'y', -1)`, e.ID)(ctx, tx); err != nil {
					return err
				}
				return exec(`ALTER TABLE postings ENABLE TRIGGER postings_balanced`)(ctx, tx)
			},
			wantAt: at(victim), wantReason: "content_hash mismatch",
		},
		{
			name:   "description edited",
			tamper: sqlOn(`UPDATE journal_entries SET description = 'nothing to see' WHERE id = $1`),
			wantAt: at(victim), wantReason: "entry_hash mismatch",
		},
		{
			name:   "backdated",
			tamper: sqlOn(`UPDATE journal_entries SET created_at = created_at - interval '1 day' WHERE id = $1`),
			wantAt: at(victim), wantReason: "entry_hash mismatch",
		},
		{
			name: "entry removed",
			tamper: func(ctx context.Context, tx pgx.Tx, e ledger.Entry) error {
				if err := exec(`DELETE FROM postings WHERE entry_id = $1`, e.ID)(ctx, tx); err != nil {
					return err
				}
				return exec(`DELETE FROM journal_entries WHERE id = $1`, e.ID)(ctx, tx)
			},
			wantAt: at(victim + 1), wantReason: "was removed or inserted",
		},
		{
			// The forger recomputes the edited entry's own hashes with the schema's function;
			// the next link still names the original.
			name: "entry rewritten with recomputed hashes",
			tamper: sqlOn(`UPDATE journal_entries
				SET description = 'forged',
				    entry_hash = ledger_chain_hash(prev_hash, id, idempotency_key, currency, reverses_id,
				                                   reference, 'forged', created_at, content_hash)
				WHERE id = $1`),
			wantAt: at(victim + 1), wantReason: "does not match the hash",
		},
		{
			name: "last entry removed",
			tamper: func(ctx context.Context, tx pgx.Tx, _ ledger.Entry) error {
				return exec(`WITH last AS (SELECT max(id) AS id FROM journal_entries),
					p AS (DELETE FROM postings WHERE entry_id = (SELECT id FROM last))
					DELETE FROM journal_entries WHERE id = (SELECT id FROM last)`)(ctx, tx)
			},
			wantAt: func(posted []ledger.Entry) int64 { return posted[len(posted)-1].ID }, wantReason: "removed from the end",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, pool := ownLedger(t)
			ctx := t.Context()
			var posted []ledger.Entry
			for i := range 5 {
				e, _, err := l.Post(ctx, sale(unique("k"), unique("ref"), "v", int64(1000*(i+1)), 100))
				require.NoError(t, err)
				posted = append(posted, e)
			}
			requireIntact(t, l)

			err := withTriggersOff(ctx, pool, func(ctx context.Context, tx pgx.Tx) error {
				return tt.tamper(ctx, tx, posted[victim])
			})
			skipUnlessOwner(t, err)
			require.NoError(t, err)

			v, err := l.Verify(ctx)
			require.NoError(t, err)
			assert.False(t, v.OK)
			require.NotNil(t, v.Break)
			assert.Equal(t, tt.wantAt(posted), v.Break.EntryID, "reported at: %s", v.Break.Reason)
			assert.Contains(t, v.Break.Reason, tt.wantReason)
		})
	}
}

// A row written with every trigger bypassed has no link at all.
func TestVerifyFindsEntryWrittenAroundTheTriggers(t *testing.T) {
	l, pool := ownLedger(t)
	ctx := t.Context()
	_, _, err := l.Post(ctx, sale(unique("k"), "", "v", 100, 10))
	require.NoError(t, err)

	var planted int64
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SET LOCAL session_replication_role = replica"); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `INSERT INTO journal_entries (idempotency_key, currency, content_hash)
			VALUES ($1, 'usd', 'planted') RETURNING id`, unique("planted")).Scan(&planted); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO postings (entry_id, account, amount) VALUES ($1, 'a', 5), ($1, 'b', -5)`, planted)
		return err
	})
	skipUnlessOwner(t, err)
	require.NoError(t, err)

	v, err := l.Verify(ctx)
	require.NoError(t, err)
	require.NotNil(t, v.Break)
	assert.Equal(t, planted, v.Break.EntryID)
	assert.Contains(t, v.Break.Reason, "no chain link")
	assert.EqualValues(t, 1, v.Entries, "the entry before it is intact")
}

// Entries written before migration 00003 join the chain in id order when it runs, and new ones
// continue it.
func TestChainBackfillsExistingEntries(t *testing.T) {
	ctx := t.Context()
	url := testenv.EmptyDatabase(t)
	migrateTo(t, url, 2)
	pool, err := db.Connect(ctx, url)
	require.NoError(t, err)
	t.Cleanup(pool.Close)

	legacy := []ledger.Entry{
		sale(unique("old"), "ref-1", "v", 500, 50),
		sale(unique("old"), "", "v", 700, 70),
	}
	var ids []int64
	for _, e := range legacy {
		e.Currency = "usd"
		err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			var id int64
			if err := tx.QueryRow(ctx, `INSERT INTO journal_entries (idempotency_key, currency, reference, description, content_hash)
				VALUES ($1, $2, $3, $4, $5) RETURNING id`, e.IdempotencyKey, string(e.Currency), e.Reference, e.Description,
				ledger.ContentHash(e)).Scan(&id); err != nil {
				return err
			}
			ids = append(ids, id)
			for _, p := range e.Postings {
				if _, err := tx.Exec(ctx, `INSERT INTO postings (entry_id, account, amount) VALUES ($1, $2, $3)`, id, p.Account, p.Amount); err != nil {
					return err
				}
			}
			return nil
		})
		require.NoError(t, err)
	}

	require.NoError(t, db.Migrate(ctx, url))
	l := ledger.New(pool)
	v := requireIntact(t, l)
	assert.EqualValues(t, len(legacy), v.Entries)
	assert.Equal(t, ids[len(ids)-1], v.Head.EntryID)

	next, _, err := l.Post(ctx, sale(unique("new"), "", "v", 900, 90))
	require.NoError(t, err)
	assert.Equal(t, v.Head.Hash, next.PrevHash, "new entries continue the backfilled chain")
	assert.EqualValues(t, len(legacy)+1, requireIntact(t, l).Entries)
}

// goose runs the repository's migrations on url.
func gooseOn(t *testing.T, url string) *goose.Provider {
	t.Helper()
	cfg, err := pgx.ParseConfig(url)
	require.NoError(t, err)
	sqlDB := stdlib.OpenDB(*cfg)
	t.Cleanup(func() { sqlDB.Close() })
	p, err := goose.NewProvider(goose.DialectPostgres, sqlDB, os.DirFS("../db/migrations"), goose.WithDisableGlobalRegistry(true))
	require.NoError(t, err)
	return p
}

func migrateTo(t *testing.T, url string, version int64) {
	t.Helper()
	_, err := gooseOn(t, url).UpTo(t.Context(), version)
	require.NoError(t, err)
}

func at(i int) func([]ledger.Entry) int64 {
	return func(posted []ledger.Entry) int64 { return posted[i].ID }
}

func sqlOn(sql string) tamperer {
	return func(ctx context.Context, tx pgx.Tx, e ledger.Entry) error { return exec(sql, e.ID)(ctx, tx) }
}

// skipUnlessOwner skips when PG_TEST_URL's user may not switch triggers off; the default test
// server's postgres superuser may.
func skipUnlessOwner(t *testing.T, err error) {
	t.Helper()
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42501" {
		t.Skipf("PG_TEST_URL user may not disable triggers: %v", err)
	}
}

func TestAccountBalancesAsOf(t *testing.T) {
	l := newLedger(t)
	ctx := t.Context()
	vendor := unique("vendor")
	acct := ledger.VendorPayable(vendor)

	first, _, err := l.Post(ctx, sale(unique("k"), "", vendor, 1_000, 100))
	require.NoError(t, err)
	second, _, err := l.Post(ctx, ledger.Entry{IdempotencyKey: unique("k"), Currency: "eur",
		Postings: []ledger.Posting{{Account: "provider:stripe", Amount: 50}, {Account: acct, Amount: -50}}})
	require.NoError(t, err)
	third, _, err := l.Post(ctx, sale(unique("k"), "", vendor, 2_000, 200))
	require.NoError(t, err)

	tests := []struct {
		name string
		asOf time.Time
		want []ledger.AccountBalance
	}{
		{name: "before any entry", asOf: first.CreatedAt.Add(-time.Microsecond), want: []ledger.AccountBalance{}},
		{name: "at the first", asOf: first.CreatedAt, want: []ledger.AccountBalance{{Account: acct, Currency: "usd", Balance: -900}}},
		{name: "at the second", asOf: second.CreatedAt, want: []ledger.AccountBalance{
			{Account: acct, Currency: "eur", Balance: -50}, {Account: acct, Currency: "usd", Balance: -900}}},
		{name: "now", want: []ledger.AccountBalance{
			{Account: acct, Currency: "eur", Balance: -50}, {Account: acct, Currency: "usd", Balance: -2_700}}},
		{name: "at the third", asOf: third.CreatedAt, want: []ledger.AccountBalance{
			{Account: acct, Currency: "eur", Balance: -50}, {Account: acct, Currency: "usd", Balance: -2_700}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := l.AccountBalances(ctx, acct, tt.asOf)
			require.NoError(t, err)
			if len(tt.want) == 0 {
				assert.Empty(t, got)
				return
			}
			assert.Equal(t, tt.want, got)
		})
	}
	_, err = l.AccountBalances(ctx, " ", time.Time{})
	require.ErrorIs(t, err, ledger.ErrInvalidEntry)
}

func TestBalanceHistory(t *testing.T) {
	l := newLedger(t)
	ctx := t.Context()
	vendor := unique("vendor")
	acct := ledger.VendorPayable(vendor)

	first, _, err := l.Post(ctx, sale(unique("k"), "", vendor, 1_000, 100))
	require.NoError(t, err)
	second, _, err := l.Post(ctx, sale(unique("k"), "", vendor, 2_000, 200))
	require.NoError(t, err)
	rev, _, err := l.Reverse(ctx, first.ID, unique("rev"), "")
	require.NoError(t, err)

	tests := []struct {
		name        string
		from, to    time.Time
		wantOpening int64
		wantPoints  []int64
		wantIDs     []int64
	}{
		{name: "whole history", from: first.CreatedAt.Add(-time.Microsecond), to: rev.CreatedAt,
			wantOpening: 0, wantPoints: []int64{-900, -2_700, -1_800}, wantIDs: []int64{first.ID, second.ID, rev.ID}},
		{name: "opening at the first", from: first.CreatedAt, to: rev.CreatedAt,
			wantOpening: -900, wantPoints: []int64{-2_700, -1_800}, wantIDs: []int64{second.ID, rev.ID}},
		{name: "window with nothing in it", from: rev.CreatedAt, to: rev.CreatedAt.Add(time.Hour),
			wantOpening: -1_800},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opening, points, err := l.BalanceHistory(ctx, acct, "usd", tt.from, tt.to)
			require.NoError(t, err)
			assert.Equal(t, tt.wantOpening, opening)
			var bals, ids []int64
			for _, p := range points {
				bals, ids = append(bals, p.Balance), append(ids, p.EntryID)
			}
			assert.Equal(t, tt.wantPoints, bals)
			assert.Equal(t, tt.wantIDs, ids)
		})
	}
	_, _, err = l.BalanceHistory(ctx, acct, "usd", rev.CreatedAt, first.CreatedAt)
	require.ErrorIs(t, err, ledger.ErrInvalidEntry, "a window that ends before it starts")
	_, _, err = l.BalanceHistory(ctx, acct, "zzz", first.CreatedAt, rev.CreatedAt)
	require.Error(t, err)
}

// BenchmarkPostChained measures appends through the chain lock, one writer and many: the lock
// serialises appends, so parallel throughput is bounded by one transaction's lock hold time.
func BenchmarkPostChained(b *testing.B) {
	pool, _ := testenv.Postgres(b)
	l := ledger.New(pool)
	b.Run("serial", func(b *testing.B) {
		for b.Loop() {
			if _, _, err := l.Post(b.Context(), sale(unique("bench"), "", "v", 100, 10)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, _, err := l.Post(context.Background(), sale(unique("bench"), "", "v", 100, 10)); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}
