package ledger_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"paysplit/internal/ledger"
)

// payout is a transfer of amount from the provider balance to a vendor.
func payout(key, ref, vendor string, amount int64) ledger.Entry {
	return ledger.Entry{
		IdempotencyKey: key, Currency: "usd", Reference: ref, Description: "transfer",
		Postings: []ledger.Posting{
			{Account: ledger.VendorPayable(vendor), Amount: amount},
			{Account: ledger.ProviderBalance("stripe"), Amount: -amount},
		},
	}
}

// paymentBatch is what a payment books with its save: the capture and two transfers.
func paymentBatch(ref string) []ledger.Entry {
	return []ledger.Entry{
		sale(unique("capture"), ref, "v1", 10_000, 1_000),
		payout(unique("transfer"), ref, "v1", 6_000),
		payout(unique("transfer"), ref, "v1", 3_000),
	}
}

func TestPostBatchStoresEntriesInOrder(t *testing.T) {
	l := newLedger(t)
	ctx := t.Context()
	ref := unique("batch")
	entries := paymentBatch(ref)

	posted, err := l.PostBatch(ctx, entries)
	require.NoError(t, err)
	require.Len(t, posted, len(entries))
	for i, p := range posted {
		assert.True(t, p.Created, "entry %d", i)
		assert.Equal(t, entries[i].IdempotencyKey, p.Entry.IdempotencyKey)
		assert.NotZero(t, p.Entry.ID)
		if i > 0 {
			assert.Greater(t, p.Entry.ID, posted[i-1].Entry.ID, "chained in the order given")
		}
	}
	stored, err := l.EntriesByReference(ctx, ref)
	require.NoError(t, err)
	require.Len(t, stored, len(entries))
	for i, s := range stored {
		assert.Equal(t, posted[i].Entry.ID, s.ID)
		assert.Equal(t, posted[i].Entry.Hash, s.Hash)
		assert.ElementsMatch(t, entries[i].Postings, s.Postings)
	}
	v, err := l.Verify(ctx)
	require.NoError(t, err)
	assert.True(t, v.OK, "the batch extends the hash chain: %+v", v)
}

func TestPostBatchIsIdempotentByKey(t *testing.T) {
	l := newLedger(t)
	ctx := t.Context()

	t.Run("the whole batch again", func(t *testing.T) {
		ref := unique("batch")
		entries := paymentBatch(ref)
		first, err := l.PostBatch(ctx, entries)
		require.NoError(t, err)
		again, err := l.PostBatch(ctx, entries)
		require.NoError(t, err)
		for i := range entries {
			assert.False(t, again[i].Created)
			assert.Equal(t, first[i].Entry.ID, again[i].Entry.ID)
		}
		stored, err := l.EntriesByReference(ctx, ref)
		require.NoError(t, err)
		assert.Len(t, stored, len(entries), "a replayed batch writes nothing")
	})
	t.Run("one entry stored before", func(t *testing.T) {
		ref := unique("batch")
		entries := paymentBatch(ref)
		alone, _, err := l.Post(ctx, entries[1])
		require.NoError(t, err)
		posted, err := l.PostBatch(ctx, entries)
		require.NoError(t, err)
		assert.Equal(t, []bool{true, false, true}, []bool{posted[0].Created, posted[1].Created, posted[2].Created})
		assert.Equal(t, alone.ID, posted[1].Entry.ID)
		stored, err := l.EntriesByReference(ctx, ref)
		require.NoError(t, err)
		assert.Len(t, stored, len(entries))
	})
	t.Run("the same key twice in a batch", func(t *testing.T) {
		ref := unique("batch")
		e := payout(unique("transfer"), ref, "v1", 500)
		posted, err := l.PostBatch(ctx, []ledger.Entry{e, e})
		require.NoError(t, err)
		assert.True(t, posted[0].Created)
		assert.False(t, posted[1].Created)
		assert.Equal(t, posted[0].Entry.ID, posted[1].Entry.ID)
	})
	t.Run("a key stored with other content", func(t *testing.T) {
		ref := unique("batch")
		entries := paymentBatch(ref)
		_, _, err := l.Post(ctx, payout(entries[2].IdempotencyKey, ref, "v1", 1))
		require.NoError(t, err)
		_, err = l.PostBatch(ctx, entries)
		require.ErrorIs(t, err, ledger.ErrIdempotencyConflict)
		stored, err := l.EntriesByReference(ctx, ref)
		require.NoError(t, err)
		assert.Len(t, stored, len(entries), "the others are stored, as separate posts would have been; the conflicting key keeps its first content")
	})
}

// A batch is one transaction: an entry the database refuses leaves none of the batch behind.
func TestPostBatchIsAllOrNothing(t *testing.T) {
	l := newLedger(t)
	ctx := t.Context()
	tests := []struct {
		name    string
		spoil   func(e *ledger.Entry)
		wantErr error
	}{
		{name: "refused by Go: unbalanced", spoil: func(e *ledger.Entry) { e.Postings[0].Amount++ }, wantErr: ledger.ErrUnbalanced},
		{name: "refused by the database: reverses an entry that does not exist", spoil: func(e *ledger.Entry) {
			e.ReversesID = 1 << 60
		}, wantErr: ledger.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ref := unique("batch")
			entries := paymentBatch(ref)
			tt.spoil(&entries[2])
			posted, err := l.PostBatch(ctx, entries)
			require.ErrorIs(t, err, tt.wantErr)
			assert.Nil(t, posted)
			stored, err := l.EntriesByReference(ctx, ref)
			require.NoError(t, err)
			assert.Empty(t, stored, "nothing of a refused batch is stored")
		})
	}
}

func TestPostBatchOfNothing(t *testing.T) {
	posted, err := newLedger(t).PostBatch(t.Context(), nil)
	require.NoError(t, err)
	assert.Empty(t, posted)
}
