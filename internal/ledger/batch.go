package ledger

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Posted is one entry of a batch as stored, and whether the batch created it.
type Posted struct {
	Entry   Entry
	Created bool
}

// postBatchSQL appends a batch of entries and their postings in one statement, as postSQL does
// one entry: one round trip and one implicit transaction. The entries are inserted in the order
// given (ORDER BY ord), so the chain trigger links them in that order, and each posting joins the
// entry inserted for its index: the first of the batch with that key (array_position), as a later
// one is a conflict of it and inserts nothing. PostBatch sends each key once (a repeat is answered
// from the store), but the key alone joined a repeat's postings to the first's entry too, a
// balanced entry with content other than its content_hash, had the statement been sent with one.
// Being one statement, the batch fires the statement-level triggers once, not once an
// entry: the balances trigger (00019) upserts each account and currency of the whole batch once,
// and the books' notification is sent once. A taken key inserts nothing, as in postSQL.
const postBatchSQL = `
WITH e AS (
	INSERT INTO journal_entries (idempotency_key, currency, reference, description, reverses_id, content_hash)
	SELECT u.key, u.currency, u.reference, u.description, u.reverses_id, u.content_hash
	FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::text[])
		WITH ORDINALITY AS u(key, currency, reference, description, reverses_id, content_hash, ord)
	ORDER BY u.ord
	ON CONFLICT (idempotency_key) DO NOTHING
	RETURNING id, idempotency_key, created_at, prev_hash, entry_hash
), p AS (
	INSERT INTO postings (entry_id, account, amount)
	SELECT e.id, u.account, u.amount
	FROM unnest($7::int[], $8::text[], $9::bigint[]) WITH ORDINALITY AS u(entry, account, amount, ord)
	JOIN e ON array_position($1::text[], e.idempotency_key) = u.entry
	ORDER BY u.ord
)
SELECT id, idempotency_key, created_at, prev_hash, entry_hash FROM e`

// batchArgs are postBatchSQL's parameters for normalized entries with distinct keys and their
// content hashes: the entries' columns, then each posting's entry (1-based) and its account and
// amount, the entries' postings in the order given.
func batchArgs(entries []Entry, hashes []string) []any {
	n := len(entries)
	keys, curs, refs, descs, hs := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	reverses := make([]*int64, n)
	postings := 0
	for _, e := range entries {
		postings += len(e.Postings)
	}
	owner, accounts, amounts := make([]int32, 0, postings), make([]string, 0, postings), make([]int64, 0, postings)
	for i, e := range entries {
		keys[i], curs[i], refs[i], descs[i], hs[i] = e.IdempotencyKey, string(e.Currency), e.Reference, e.Description, hashes[i]
		if e.ReversesID != 0 {
			// The entry's own field: the loop's copy would move to the heap for every entry.
			reverses[i] = &entries[i].ReversesID
		}
		for _, p := range e.Postings {
			owner = append(owner, int32(i+1))
			accounts = append(accounts, p.Account)
			amounts = append(amounts, p.Amount)
		}
	}
	return []any{keys, curs, refs, descs, reverses, hs, owner, accounts, amounts}
}

// PostBatch appends several entries in one transaction and one statement: all of them are
// stored or none is, and the batch costs one commit, one round trip and one run of the
// statement-level triggers instead of one per entry. Each entry keeps Post's idempotency: an
// entry whose key is already stored (or given earlier in the batch) with the same content is
// answered from the store (Created false), one with different content fails the call with
// ErrIdempotencyConflict after the rest committed (as a separate Post of it would). Entries are
// chained in the order given.
func (l *Ledger) PostBatch(ctx context.Context, entries []Entry) ([]Posted, error) {
	if len(entries) == 0 {
		return nil, nil
	}
	posted := make([]Posted, len(entries))
	hashes := make([]string, len(entries))
	var firsts []Entry // the entries to insert: each key's first in the batch
	var firstHashes []string
	seen := make(map[string]bool, len(entries))
	for i, e := range entries {
		n, err := normalize(e)
		if err != nil {
			return nil, fmt.Errorf("ledger: post batch: entry %q: %w", e.IdempotencyKey, err)
		}
		posted[i].Entry, hashes[i] = n, contentHash(n)
		if !seen[n.IdempotencyKey] {
			seen[n.IdempotencyKey] = true
			firsts, firstHashes = append(firsts, n), append(firstHashes, hashes[i])
		}
	}
	stored, err := l.insertBatch(ctx, firsts, firstHashes)
	if err != nil {
		return nil, fmt.Errorf("ledger: post batch of %d from %q: %w", len(entries), entries[0].IdempotencyKey, classify(err))
	}
	for i := range posted {
		e := &posted[i].Entry
		if s, ok := stored[e.IdempotencyKey]; ok {
			delete(stored, e.IdempotencyKey) // a repeat of the key later in the batch is a replay
			e.ID, e.CreatedAt, e.PrevHash, e.Hash = s.ID, s.CreatedAt, s.PrevHash, s.Hash
			posted[i].Created = true
			continue
		}
		// The key is taken (before the batch, or earlier in it): answer from what is stored.
		replay, _, err := l.replay(ctx, *e, hashes[i])
		if err != nil {
			return nil, err
		}
		posted[i].Entry = replay
	}
	return posted, nil
}

// insertBatch runs postBatchSQL and returns the entries it created by key: their ID, time and
// link. A key it did not create was taken.
func (l *Ledger) insertBatch(ctx context.Context, entries []Entry, hashes []string) (map[string]Entry, error) {
	rows, err := l.pool.Query(ctx, postBatchSQL, batchArgs(entries, hashes)...)
	if err != nil {
		return nil, err
	}
	created := make(map[string]Entry, len(entries))
	var e Entry
	_, err = pgx.ForEachRow(rows, []any{&e.ID, &e.IdempotencyKey, &e.CreatedAt, &e.PrevHash, &e.Hash}, func() error {
		created[e.IdempotencyKey] = e
		return nil
	})
	return created, err
}
