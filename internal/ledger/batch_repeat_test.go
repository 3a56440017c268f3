package ledger_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"paysplit/internal/ledger"
)

// A key given twice in the batch statement inserts one entry (the second is a conflict of the
// first): that entry must have its own postings only, not the other's too. The key joined each
// posting to its entry, so both entries' postings went to the one stored: balanced, committed,
// and its content no longer the one its content_hash was computed for.
func TestRawBatchStatementWithARepeatedKey(t *testing.T) {
	l, pool := ownLedger(t)
	ctx := t.Context()
	first := payout(unique("dup"), "dup", "v", 500)
	second := payout(first.IdempotencyKey, "dup", "v", 300)
	other := payout(unique("other"), "dup", "v", 200)
	b := rawBatch{keys: []string{first.IdempotencyKey, second.IdempotencyKey, other.IdempotencyKey}}
	for i, e := range []ledger.Entry{first, second, other} {
		for _, p := range e.Postings {
			b.owner, b.accounts, b.amounts = append(b.owner, int32(i+1)), append(b.accounts, p.Account), append(b.amounts, p.Amount)
		}
	}
	_ = b.send(t, pool) // refused or stored: either way the journal must hold each entry as given
	stored, err := l.EntriesByReference(ctx, "raw")
	require.NoError(t, err)
	assert.LessOrEqual(t, len(stored), 2, "one entry a key")
	for _, e := range stored {
		want := map[string]int64{first.IdempotencyKey: 500, other.IdempotencyKey: 200}[e.IdempotencyKey]
		var debit int64
		for _, p := range e.Postings {
			debit += max(p.Amount, 0)
		}
		assert.Equal(t, want, debit, "entry %s holds the postings given for it", e.IdempotencyKey)
		assert.Len(t, e.Postings, 2, "entry %s", e.IdempotencyKey)
	}
}
