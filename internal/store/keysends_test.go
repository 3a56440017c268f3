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
		before, _, err := tt.s.NoteKeySend(ctx, tt.key)
		require.NoError(t, err)
		require.Equal(t, tt.want, before, tt.key)
	}
}

// The retention drops first sends older than the cut and than KeySendKeep, whichever is earlier:
// a short retention still keeps a key's record for KeySendKeep, well past PayPal's 30 days
// (k-kept: PayPal has forgotten it, its rail must still find it sent).
func TestPruneKeySends(t *testing.T) {
	pool := testenv.OwnDatabase(t)
	s := store.New(pool)
	ctx := t.Context()
	day := 24 * time.Hour
	ages := map[string]time.Duration{"k-old": 100 * day, "k-older": 120 * day, "k-kept": 40 * day, "k-new": 0}
	for key, age := range ages {
		_, _, err := s.NoteKeySend(ctx, key)
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
	for key, want := range map[string]bool{"k-old": false, "k-older": false, "k-kept": true, "k-new": true} {
		before, _, err := s.NoteKeySend(ctx, key)
		require.NoError(t, err)
		require.Equal(t, want, before, "%s kept", key)
	}
}
