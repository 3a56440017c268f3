package store

import (
	"context"
	"fmt"
	"time"
)

// StripeKeyKeep is how long a Stripe idempotency key's first send is kept at least
// (PruneStripeKeySends), whatever the retention: Stripe forgets a key after 24 hours, and the
// record is what tells a send that comes after a long outage that its key went out before.
const StripeKeyKeep = 30 * 24 * time.Hour

// NoteStripeKeySend records that a Stripe request goes out under key, before it is sent, in one
// statement: sentBefore is true when the key was recorded by an earlier send (whose outcome the
// caller cannot know: it may have been made, and Stripe may have forgotten the key since).
func (s *Store) NoteStripeKeySend(ctx context.Context, key string) (sentBefore bool, err error) {
	var sends int
	err = s.pool.QueryRow(ctx, `INSERT INTO stripe_key_sends AS k (key) VALUES ($1)
		ON CONFLICT (key) DO UPDATE SET sends = k.sends + 1 RETURNING k.sends`, key).Scan(&sends)
	if err != nil {
		return false, fmt.Errorf("note send of Stripe key %s: %w", key, err)
	}
	return sends > 1, nil
}
