package db_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"paysplit/testenv"
)

// These tests bypass internal/ledger on purpose: the schema itself must keep
// the books balanced and append-only whatever code writes to it.

var keySeq atomic.Int64

func uniqueKey(prefix string) string {
	return fmt.Sprintf("%s-%d-%d", prefix, time.Now().UnixNano(), keySeq.Add(1))
}

// insertEntry writes a raw entry row; reverses may be nil.
func insertEntry(ctx context.Context, tx pgx.Tx, currency string, reverses any) (int64, error) {
	var id int64
	err := tx.QueryRow(ctx, `
		INSERT INTO journal_entries (idempotency_key, currency, content_hash, reverses_id)
		VALUES ($1, $2, 'raw', $3) RETURNING id`, uniqueKey("raw"), currency, reverses).Scan(&id)
	return id, err
}

func insertPostings(ctx context.Context, tx pgx.Tx, entryID int64, amounts ...int64) error {
	for i, a := range amounts {
		if _, err := tx.Exec(ctx, `INSERT INTO postings (entry_id, account, amount) VALUES ($1, $2, $3)`,
			entryID, fmt.Sprintf("acct:%d", i), a); err != nil {
			return err
		}
	}
	return nil
}

// committedEntry writes a balanced raw entry and commits it.
func committedEntry(t *testing.T, ctx context.Context, pool *pgxpool.Pool, currency string, reverses any, amounts ...int64) int64 {
	t.Helper()
	var id int64
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		var err error
		if id, err = insertEntry(ctx, tx, currency, reverses); err != nil {
			return err
		}
		return insertPostings(ctx, tx, id, amounts...)
	})
	require.NoError(t, err)
	return id
}

func requirePgError(t *testing.T, err error, code, constraint string) {
	t.Helper()
	var pgErr *pgconn.PgError
	require.True(t, errors.As(err, &pgErr), "want Postgres error %s, got %v", code, err)
	require.Equal(t, code, pgErr.Code, pgErr.Message)
	if constraint != "" {
		require.Equal(t, constraint, pgErr.ConstraintName, pgErr.Message)
	}
}

func TestSchemaRejectsUnbalancedEntriesAtCommit(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	ctx := t.Context()

	tests := []struct {
		name string
		// write runs inside the transaction under test; every statement in
		// it must succeed, proving the check is deferred to COMMIT.
		write          func(t *testing.T, tx pgx.Tx)
		wantCode       string // "" = commit succeeds
		wantConstraint string
	}{
		{
			name: "balanced entry commits",
			write: func(t *testing.T, tx pgx.Tx) {
				id, err := insertEntry(ctx, tx, "usd", nil)
				require.NoError(t, err)
				require.NoError(t, insertPostings(ctx, tx, id, 700, -500, -200))
			},
		},
		{
			name: "postings sum to non-zero",
			write: func(t *testing.T, tx pgx.Tx) {
				id, err := insertEntry(ctx, tx, "usd", nil)
				require.NoError(t, err)
				require.NoError(t, insertPostings(ctx, tx, id, 100, -99))
			},
			wantCode: "23514", wantConstraint: "journal_entries_balanced",
		},
		{
			name: "entry without postings",
			write: func(t *testing.T, tx pgx.Tx) {
				_, err := insertEntry(ctx, tx, "usd", nil)
				require.NoError(t, err)
			},
			wantCode: "23514", wantConstraint: "journal_entries_min_postings",
		},
		{
			name: "single posting",
			write: func(t *testing.T, tx pgx.Tx) {
				id, err := insertEntry(ctx, tx, "usd", nil)
				require.NoError(t, err)
				require.NoError(t, insertPostings(ctx, tx, id, 100))
			},
			wantCode: "23514", wantConstraint: "journal_entries_min_postings",
		},
		{
			name: "unbalanced posting appended to a committed entry",
			write: func(t *testing.T, tx pgx.Tx) {
				id := committedEntry(t, ctx, pool, "usd", nil, 100, -100)
				require.NoError(t, insertPostings(ctx, tx, id, 5))
			},
			wantCode: "23514", wantConstraint: "journal_entries_balanced",
		},
		{
			name: "balanced pair appended to a committed entry",
			write: func(t *testing.T, tx pgx.Tx) {
				id := committedEntry(t, ctx, pool, "usd", nil, 100, -100)
				require.NoError(t, insertPostings(ctx, tx, id, 5, -5))
			},
			wantCode: "23001", wantConstraint: "journal_entries_sealed",
		},
		{
			name: "reversal that negates the original commits",
			write: func(t *testing.T, tx pgx.Tx) {
				orig := committedEntry(t, ctx, pool, "eur", nil, 100, -100)
				id, err := insertEntry(ctx, tx, "eur", orig)
				require.NoError(t, err)
				require.NoError(t, insertPostings(ctx, tx, id, -100, 100))
			},
		},
		{
			name: "reversal that does not negate the original",
			write: func(t *testing.T, tx pgx.Tx) {
				orig := committedEntry(t, ctx, pool, "eur", nil, 100, -100)
				id, err := insertEntry(ctx, tx, "eur", orig)
				require.NoError(t, err)
				require.NoError(t, insertPostings(ctx, tx, id, -60, 60))
			},
			wantCode: "23514", wantConstraint: "journal_entries_reversal_negates",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tx, err := pool.Begin(ctx)
			require.NoError(t, err)
			defer func() { _ = tx.Rollback(ctx) }()
			tt.write(t, tx)
			err = tx.Commit(ctx)
			if tt.wantCode == "" {
				require.NoError(t, err)
				return
			}
			requirePgError(t, err, tt.wantCode, tt.wantConstraint)
		})
	}
}

// Some rules are checked when the row is inserted, not at commit.
func TestSchemaRejectsInvalidRowsImmediately(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	ctx := t.Context()
	orig := committedEntry(t, ctx, pool, "usd", nil, 10, -10)
	reversal := committedEntry(t, ctx, pool, "usd", orig, -10, 10)
	other := committedEntry(t, ctx, pool, "usd", nil, 30, -30)

	tests := []struct {
		name           string
		stmt           func(tx pgx.Tx) error
		wantCode       string
		wantConstraint string
	}{
		{
			name:     "zero amount posting",
			stmt:     func(tx pgx.Tx) error { return insertPostings(ctx, tx, other, 0) },
			wantCode: "23514", wantConstraint: "postings_amount_check",
		},
		{
			name: "uppercase currency",
			stmt: func(tx pgx.Tx) error {
				_, err := insertEntry(ctx, tx, "USD", nil)
				return err
			},
			wantCode: "23514", wantConstraint: "journal_entries_currency_check",
		},
		{
			name: "second reversal of the same entry",
			stmt: func(tx pgx.Tx) error {
				_, err := insertEntry(ctx, tx, "usd", orig)
				return err
			},
			wantCode: "23505", wantConstraint: "journal_entries_one_reversal_idx",
		},
		{
			name: "reversal of a reversal",
			stmt: func(tx pgx.Tx) error {
				_, err := insertEntry(ctx, tx, "usd", reversal)
				return err
			},
			wantCode: "23514", wantConstraint: "journal_entries_no_reversal_of_reversal",
		},
		{
			name: "reversal in another currency",
			stmt: func(tx pgx.Tx) error {
				_, err := insertEntry(ctx, tx, "eur", other)
				return err
			},
			wantCode: "23514", wantConstraint: "journal_entries_reversal_currency",
		},
		{
			name: "reversal of a missing entry",
			stmt: func(tx pgx.Tx) error {
				_, err := insertEntry(ctx, tx, "usd", int64(1)<<60)
				return err
			},
			wantCode: "23503", wantConstraint: "journal_entries_reverses_id_fkey",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tx, err := pool.Begin(ctx)
			require.NoError(t, err)
			defer func() { _ = tx.Rollback(ctx) }()
			requirePgError(t, tt.stmt(tx), tt.wantCode, tt.wantConstraint)
		})
	}
}

func TestSchemaIsAppendOnly(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	ctx := t.Context()
	id := committedEntry(t, ctx, pool, "usd", nil, 250, -250)

	tests := []struct {
		name string
		sql  string
		args []any
	}{
		{name: "update posting amount", sql: "UPDATE postings SET amount = amount * 2 WHERE entry_id = $1", args: []any{id}},
		{name: "delete posting", sql: "DELETE FROM postings WHERE entry_id = $1", args: []any{id}},
		{name: "update entry", sql: "UPDATE journal_entries SET description = 'edited' WHERE id = $1", args: []any{id}},
		{name: "delete entry", sql: "DELETE FROM journal_entries WHERE id = $1", args: []any{id}},
		// Statement-level: even a statement matching no row is refused.
		{name: "update matching nothing", sql: "UPDATE postings SET amount = 1 WHERE false"},
		{name: "truncate postings", sql: "TRUNCATE postings"},
		{name: "truncate entries", sql: "TRUNCATE journal_entries CASCADE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := pool.Exec(ctx, tt.sql, tt.args...)
			requirePgError(t, err, "23001", "")
			require.ErrorContains(t, err, "append-only")
		})
	}

	var n, sum int64
	require.NoError(t, pool.QueryRow(ctx,
		"SELECT count(*), coalesce(sum(amount), 0) FROM postings WHERE entry_id = $1", id).Scan(&n, &sum))
	require.Equal(t, []int64{2, 0}, []int64{n, sum}, "entry untouched")
}
