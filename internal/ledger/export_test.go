package ledger

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// ContentHash lets the external tests write legacy rows (before the chain existed) the way
// Post wrote them, without widening the production API.
var ContentHash = contentHash

// AppendInTx appends e inside tx exactly as Post's statement does, so a test can hold an append
// between the time the chain gave it and its commit.
func AppendInTx(ctx context.Context, tx pgx.Tx, e Entry) (Entry, error) {
	n, err := normalize(e)
	if err != nil {
		return Entry{}, err
	}
	err = tx.QueryRow(ctx, postSQL, postArgs(n, contentHash(n))...).Scan(&n.ID, &n.CreatedAt, &n.PrevHash, &n.Hash)
	return n, err
}

// PostBatchInTx appends entries (distinct keys) inside tx exactly as PostBatch's statement does,
// so a test can read what the statement wrote before it commits.
func PostBatchInTx(ctx context.Context, tx pgx.Tx, entries []Entry) error {
	hashes := make([]string, len(entries))
	for i, e := range entries {
		n, err := normalize(e)
		if err != nil {
			return err
		}
		entries[i], hashes[i] = n, contentHash(n)
	}
	rows, err := tx.Query(ctx, postBatchSQL, batchArgs(entries, hashes)...)
	if err != nil {
		return err
	}
	rows.Close()
	return rows.Err()
}

// PostBatchSQL is PostBatch's statement with its parameters, for tests that send it with
// arguments Go would refuse, as a bug or a hand-run script could.
var PostBatchSQL = postBatchSQL
