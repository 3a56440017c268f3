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

// NoteKeySend records that a payout request goes out under key, before it is sent, in one
// statement, in stripe_key_sends (named for its first user; PayPal's sender_batch_ids are
// recorded there too: keys name their workflow, so the two providers' never meet). sentBefore is
// true when the key was recorded by an earlier send (whose outcome the caller cannot know: it may
// have been made, and the provider may have forgotten the key since); firstSentAgo is how long
// ago the key was first recorded, by the database's clock (0 for a first send), so workers'
// clocks do not matter.
func (s *Store) NoteKeySend(ctx context.Context, key string) (sentBefore bool, firstSentAgo time.Duration, err error) {
	var sends int
	var agoMicros int64
	err = s.pool.QueryRow(ctx, `INSERT INTO stripe_key_sends AS k (key) VALUES ($1)
		ON CONFLICT (key) DO UPDATE SET sends = k.sends + 1
		RETURNING k.sends, (EXTRACT(EPOCH FROM now() - k.first_sent_at) * 1000000)::bigint`, key).Scan(&sends, &agoMicros)
	if err != nil {
		return false, 0, fmt.Errorf("note send of key %s: %w", key, err)
	}
	return sends > 1, time.Duration(agoMicros) * time.Microsecond, nil
}
