package store

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Postgres refuses some text it is given rather than storing it: a NUL character in text
// (character_not_in_repertoire, "invalid byte sequence for encoding UTF8: 0x00") and \u0000 in
// jsonb (untranslatable_character). That is the caller's input, not a failure of the store.
const (
	pgCharacterNotInRepertoire = "22021"
	pgUntranslatableCharacter  = "22P05"
)

// invalidTextError is Postgres refusing a value as text: it is ErrInvalid (the API answers 400)
// and still the *pgconn.PgError it came from.
type invalidTextError struct{ pg error }

func (e *invalidTextError) Error() string {
	return ErrInvalid.Error() + ": text must be UTF-8 without NUL (\\u0000) characters"
}

func (e *invalidTextError) Unwrap() []error { return []error{ErrInvalid, e.pg} }

// InvalidInput returns err as an ErrInvalid when it is Postgres refusing text the caller gave it
// (a NUL character), and err unchanged otherwise. Every Store query passes through it; the API's
// error handler applies it too, for the packages that query Postgres on their own.
func InvalidInput(err error) error {
	var pgErr *pgconn.PgError
	if err == nil || !errors.As(err, &pgErr) || errors.Is(err, ErrInvalid) {
		return err
	}
	if pgErr.Code == pgCharacterNotInRepertoire || pgErr.Code == pgUntranslatableCharacter {
		return &invalidTextError{pg: err}
	}
	return err
}

// checked is a dbtx whose errors go through InvalidInput, so input Postgres refuses comes back
// as ErrInvalid from every Store method, inside a transaction or not.
type checked struct{ db dbtx }

func (c checked) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	tag, err := c.db.Exec(ctx, sql, args...)
	return tag, InvalidInput(err)
}

func (c checked) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	rows, err := c.db.Query(ctx, sql, args...)
	if err != nil {
		return rows, InvalidInput(err)
	}
	return checkedRows{rows}, nil
}

func (c checked) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return checkedRow{c.db.QueryRow(ctx, sql, args...)}
}

func (c checked) Begin(ctx context.Context) (pgx.Tx, error) {
	tx, err := c.db.Begin(ctx)
	if err != nil {
		return nil, InvalidInput(err)
	}
	return checkedTx{Tx: tx}, nil
}

func (c checked) CopyFrom(ctx context.Context, table pgx.Identifier, columns []string, src pgx.CopyFromSource) (int64, error) {
	n, err := c.db.CopyFrom(ctx, table, columns, src)
	return n, InvalidInput(err)
}

func (c checked) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	return checkedBatch{c.db.SendBatch(ctx, b)}
}

// checkedTx is a transaction begun through checked (pgx.BeginFunc on a Store's pool): its
// statements' errors go through InvalidInput as well.
type checkedTx struct{ pgx.Tx }

func (t checkedTx) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	return checked{t.Tx}.Exec(ctx, sql, args...)
}

func (t checkedTx) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	return checked{t.Tx}.Query(ctx, sql, args...)
}

func (t checkedTx) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return checked{t.Tx}.QueryRow(ctx, sql, args...)
}

func (t checkedTx) Begin(ctx context.Context) (pgx.Tx, error) { return checked{t.Tx}.Begin(ctx) }

func (t checkedTx) CopyFrom(ctx context.Context, table pgx.Identifier, columns []string, src pgx.CopyFromSource) (int64, error) {
	return checked{t.Tx}.CopyFrom(ctx, table, columns, src)
}

func (t checkedTx) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	return checked{t.Tx}.SendBatch(ctx, b)
}

type checkedRow struct{ row pgx.Row }

func (r checkedRow) Scan(dest ...any) error { return InvalidInput(r.row.Scan(dest...)) }

type checkedRows struct{ pgx.Rows }

func (r checkedRows) Err() error { return InvalidInput(r.Rows.Err()) }

type checkedBatch struct{ pgx.BatchResults }

func (b checkedBatch) Exec() (pgconn.CommandTag, error) {
	tag, err := b.BatchResults.Exec()
	return tag, InvalidInput(err)
}

func (b checkedBatch) Query() (pgx.Rows, error) {
	rows, err := b.BatchResults.Query()
	if err != nil {
		return rows, InvalidInput(err)
	}
	return checkedRows{rows}, nil
}

func (b checkedBatch) QueryRow() pgx.Row { return checkedRow{b.BatchResults.QueryRow()} }

func (b checkedBatch) Close() error { return InvalidInput(b.BatchResults.Close()) }
