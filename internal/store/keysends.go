package store

import (
	"context"
	"fmt"
	"time"
)

// KeySendKeep is how long a payout idempotency key's first send is kept at least
// (PruneKeySends), whatever the retention: Stripe forgets a key after 24 hours and PayPal a
// sender_batch_id after 30 days, and the record is what tells a send that comes after a long
// outage that its key went out before. PayPal's keys cannot be looked up: a record pruned soon
// after PayPal forgot its key would let a run its workers come back to after that (the prune and
// the runs start together) send it as new, so records outlive PayPal's 30 days by two months (a
// payment's few keys: about 10,000 short rows a day at 5,000 payments), and past that for as long
// as their payment is not finished (PruneKeySends): a leg in doubt waits for an admin months if
// need be, and its key's next send must still find it sent.
const KeySendKeep = 90 * 24 * time.Hour

// KeySend is what NoteKeySend learnt of a key's earlier sends.
type KeySend struct {
	// SentBefore is true when the key was recorded by an earlier send (whose outcome the caller
	// cannot know: it may have been made, and the provider may have forgotten the key since).
	SentBefore bool
	// MayBeMade is true when one of those earlier sends may have made the movement: not all of
	// them were noted as having made nothing (NoteKeyUnmade).
	MayBeMade bool
	// FirstSentAgo is how long ago the key was first recorded, by the database's clock (0 for a
	// first send), so workers' clocks do not matter.
	FirstSentAgo time.Duration
}

// NoteKeySend records that a payout request goes out under key, before it is sent, in one
// statement, in stripe_key_sends (named for its first user; PayPal's sender_batch_ids are
// recorded there too: keys name their workflow, so the two providers' never meet), and answers
// what it knew of the key's earlier sends.
func (s *Store) NoteKeySend(ctx context.Context, key string) (KeySend, error) {
	var sends, unmade int
	var agoMicros int64
	err := s.pool.QueryRow(ctx, `INSERT INTO stripe_key_sends AS k (key) VALUES ($1)
		ON CONFLICT (key) DO UPDATE SET sends = k.sends + 1
		RETURNING k.sends, k.unmade, (EXTRACT(EPOCH FROM now() - k.first_sent_at) * 1000000)::bigint`, key).Scan(&sends, &unmade, &agoMicros)
	if err != nil {
		return KeySend{}, fmt.Errorf("note send of key %s: %w", key, err)
	}
	return KeySend{SentBefore: sends > 1, MayBeMade: sends-1 > unmade, FirstSentAgo: time.Duration(agoMicros) * time.Microsecond}, nil
}

// NoteKeyUnmade records that a send of key NoteKeySend recorded made nothing at the provider: the
// provider answered that it did not run it (Stripe's 429), or it was never asked. A send not so
// noted (a worker that died, a failed note) counts as one that may have made the movement, so a
// later send looks for it: the safe side.
func (s *Store) NoteKeyUnmade(ctx context.Context, key string) error {
	if _, err := s.pool.Exec(ctx, `UPDATE stripe_key_sends SET unmade = unmade + 1 WHERE key = $1 AND unmade < sends`, key); err != nil {
		return fmt.Errorf("note key %s sent without effect: %w", key, err)
	}
	return nil
}
