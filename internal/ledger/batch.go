package ledger

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Posted is one entry of a batch as stored, and whether the batch created it.
type Posted struct {
	Entry   Entry
	Created bool
}

// PostBatch appends several entries in one transaction and one round trip: all of them are
// stored or none is, and the batch costs one commit and one hold of the chain lock instead of one
// per entry. Each entry keeps Post's idempotency: an entry whose key is already stored with the
// same content is answered from the store (Created false), one with different content fails the
// call with ErrIdempotencyConflict after the rest committed (as a separate Post of it would).
// Entries are chained in the order given.
func (l *Ledger) PostBatch(ctx context.Context, entries []Entry) ([]Posted, error) {
	if len(entries) == 0 {
		return nil, nil
	}
	normalized := make([]Entry, len(entries))
	hashes := make([]string, len(entries))
	for i, e := range entries {
		n, err := normalize(e)
		if err != nil {
			return nil, fmt.Errorf("ledger: post batch: entry %q: %w", e.IdempotencyKey, err)
		}
		normalized[i], hashes[i] = n, contentHash(n)
	}
	posted := make([]Posted, len(entries))
	taken := make([]bool, len(entries))
	b := &pgx.Batch{}
	for i := range normalized {
		e := &posted[i].Entry
		*e = normalized[i]
		b.Queue(postSQL, postArgs(normalized[i], hashes[i])...).QueryRow(func(row pgx.Row) error {
			err := row.Scan(&e.ID, &e.CreatedAt, &e.PrevHash, &e.Hash)
			if errors.Is(err, pgx.ErrNoRows) {
				// Not an error of the batch: the statement did nothing, its key is taken.
				taken[i] = true
				return nil
			}
			return err
		})
	}
	// Without BEGIN the queued statements run in one implicit transaction, committed at the end of
	// the batch; an error in any of them rolls all back.
	if err := l.pool.SendBatch(ctx, b).Close(); err != nil {
		return nil, fmt.Errorf("ledger: post batch of %d from %q: %w", len(entries), entries[0].IdempotencyKey, classify(err))
	}
	for i := range posted {
		if !taken[i] {
			posted[i].Created = true
			continue
		}
		stored, _, err := l.replay(ctx, normalized[i], hashes[i])
		if err != nil {
			return nil, err
		}
		posted[i].Entry = stored
	}
	return posted, nil
}
