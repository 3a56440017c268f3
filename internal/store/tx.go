package store

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"paysplit/internal/secrets"
)

// dbtx is what both *pgxpool.Pool and pgx.Tx offer, so every Store method runs unchanged inside a
// transaction (pgx.BeginFunc on a Tx opens a savepoint).
type dbtx interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Begin(ctx context.Context) (pgx.Tx, error)
	CopyFrom(ctx context.Context, tableName pgx.Identifier, columnNames []string, rowSrc pgx.CopyFromSource) (int64, error)
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// Option configures a Store.
type Option func(*Store)

// WithSecrets gives the store the key that seals per-client webhook secrets. Without it, reading
// or writing them fails with ErrNoSecretsKey.
func WithSecrets(b *secrets.Box) Option { return func(s *Store) { s.secrets = b } }

// InTx runs fn with a Store whose every call is part of one transaction: committed when fn returns
// nil, rolled back otherwise. The admin API uses it to write a change and its audit record
// together, so there is never a change without its audit entry or the other way round.
func (s *Store) InTx(ctx context.Context, fn func(tx *Store) error) error {
	// fn's own error comes back as it is: it is already wrapped, and the API maps it to a status.
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		return fn(&Store{pool: tx, secrets: s.secrets})
	})
}

// Joining returns a Store whose every call is part of tx, a transaction the caller began on the
// same database (another package's change that must commit with this store's writes, such as an
// admin change and its audit entry). Using it instead of InTx keeps such a request on the one
// connection tx holds: a request that holds a connection while it waits for a second deadlocks
// the pool once as many of them run at once as it has connections.
func (s *Store) Joining(tx pgx.Tx) *Store {
	return &Store{pool: checkedTx{Tx: tx}, secrets: s.secrets}
}
