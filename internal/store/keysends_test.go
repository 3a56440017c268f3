package store_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paysplit/internal/store"
	"paysplit/testenv"
)

// A key's first send is news; every later one says the key went out before, also from another
// store (another worker).
func TestNoteKeySendTellsASendAgain(t *testing.T) {
	pool := testenv.OwnDatabase(t)
	ctx := t.Context()
	first, other := store.New(pool), store.New(pool)
	for _, tt := range []struct {
		s    *store.Store
		key  string
		want bool
	}{
		{first, "wf/transfer/vendor-v1/0", false},
		{first, "wf/transfer/vendor-v1/1", false},
		{other, "wf/transfer/vendor-v1/0", true},
		{first, "wf/transfer/vendor-v1/0", true},
	} {
		sent, err := tt.s.NoteKeySend(ctx, tt.key)
		require.NoError(t, err)
		require.Equal(t, tt.want, sent.SentBefore, tt.key)
	}
}

// The retention drops first sends older than the cut and than KeySendKeep, whichever is earlier,
// of payments paid out (TestPruneKeySendsKeepsKeysOfOpenPayments for the others): a short
// retention still keeps a key's record for KeySendKeep, well past PayPal's 30 days (kept:
// PayPal has forgotten it, its rail must still find it sent).
func TestPruneKeySends(t *testing.T) {
	pool := testenv.OwnDatabase(t)
	s := store.New(pool)
	ctx := t.Context()
	day := 24 * time.Hour
	ages := map[string]time.Duration{"old": 100 * day, "older": 120 * day, "kept": 40 * day, "new": 0}
	for key, age := range ages {
		wf := "payment-paypal-" + key
		_, err := pool.Exec(ctx, `INSERT INTO payments (workflow_id, provider, payment_id, status, state) VALUES ($1, 'paypal', $2, 'paid', '{}')`, wf, key)
		require.NoError(t, err)
		key := wf + "/transfer/vendor-v1/0"
		_, err = s.NoteKeySend(ctx, key)
		require.NoError(t, err)
		_, err = pool.Exec(ctx, `UPDATE stripe_key_sends SET first_sent_at = now() - make_interval(secs => $2) WHERE key = $1`, key, age.Seconds())
		require.NoError(t, err)
	}
	var total int64
	for {
		n, err := s.PruneBatch(ctx, store.PruneKeySends, time.Now().Add(-7*day), 1)
		require.NoError(t, err)
		total += n
		if n < 1 {
			break
		}
	}
	require.EqualValues(t, 2, total, "the two older than %s", store.KeySendKeep)
	for key, want := range map[string]bool{"old": false, "older": false, "kept": true, "new": true} {
		sent, err := s.NoteKeySend(ctx, "payment-paypal-"+key+"/transfer/vendor-v1/0")
		require.NoError(t, err)
		require.Equal(t, want, sent.SentBefore, "%s kept", key)
	}
}

// A key's record stays past KeySendKeep while its payment is not finished: an admin may retry or
// release a leg in doubt months later, and a run may come back after a long outage, and either
// sends the key again (PayPal forgot it after 30 days: counted as a first send, it is paid
// again). So does one whose payment has no row yet (its run died sending its first payouts, before
// its first save). Once the payment is paid, refunded, compensated or cancelled, it goes with its
// age.
func TestPruneKeySendsKeepsKeysOfOpenPayments(t *testing.T) {
	pool := testenv.OwnDatabase(t)
	s := store.New(pool)
	ctx := t.Context()
	day := 24 * time.Hour
	kept := map[string]bool{}
	for _, tt := range []struct {
		status string
		kept   bool
	}{
		{"paying_out", true}, {"payout_failed", true}, {"held", true}, {"needs_attention", true}, {"disputed", true},
		{"paid", false}, {"partially_refunded", false}, {"refunded", false}, {"compensated", false}, {"cancelled", false},
	} {
		wf := "payment-paypal-CAP" + tt.status
		_, err := pool.Exec(ctx, `INSERT INTO payments (workflow_id, provider, payment_id, status, state) VALUES ($1, 'paypal', $2, $3, '{}')`,
			wf, "CAP"+tt.status, tt.status)
		require.NoError(t, err)
		kept[wf+"/transfer/vendor-v1/0"] = tt.kept
	}
	kept["payment-paypal-NOROW/transfer/vendor-v1/0"] = true
	for key := range kept {
		_, err := s.NoteKeySend(ctx, key)
		require.NoError(t, err)
		_, err = pool.Exec(ctx, `UPDATE stripe_key_sends SET first_sent_at = now() - make_interval(secs => $2) WHERE key = $1`, key, (100 * day).Seconds())
		require.NoError(t, err)
	}
	for {
		n, err := s.PruneBatch(ctx, store.PruneKeySends, time.Now(), 2)
		require.NoError(t, err)
		if n < 2 {
			break
		}
	}
	for key, want := range kept {
		sent, err := s.NoteKeySend(ctx, key)
		require.NoError(t, err)
		require.Equal(t, want, sent.SentBefore, "%s kept", key)
		if want {
			require.Greater(t, sent.FirstSentAgo, store.KeySendKeep, "%s keeps its first send's date", key)
		}
	}
}
