package ledger_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"paysplit/internal/ledger"
)

// A batch whose entry the database refuses only at COMMIT (the deferred balance trigger:
// a reversal that does not negate its original) must fail the call and store nothing.
func TestPostBatchRefusedAtCommit(t *testing.T) {
	l := newLedger(t)
	ctx := t.Context()
	orig, _, err := l.Post(ctx, sale(unique("orig"), unique("ref"), "v", 1000, 100))
	require.NoError(t, err)

	ref := unique("batch")
	entries := []ledger.Entry{
		sale(unique("k"), ref, "v", 500, 50),
		{
			IdempotencyKey: unique("bad-rev"), Currency: "usd", Reference: ref, ReversesID: orig.ID,
			Postings: []ledger.Posting{{Account: "a", Amount: 1}, {Account: "b", Amount: -1}},
		},
	}
	posted, err := l.PostBatch(ctx, entries)
	require.ErrorIs(t, err, ledger.ErrInvalidEntry)
	assert.Nil(t, posted)
	stored, err := l.EntriesByReference(ctx, ref)
	require.NoError(t, err)
	assert.Empty(t, stored)
}
