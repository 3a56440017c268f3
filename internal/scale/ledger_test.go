package scale_test

import (
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"paysplit/internal/ledger"
)

// Each batch of the chain verification (GET /api/v1/admin/ledger/verify, the daily
// LedgerIntegrity run, cmd/ledger-verify) must read its own entries' postings. Verify stops at
// the first planted entry (they have no valid link), so the batch query it sent is explained at
// cursors deep in the journal: the entries' bound alone let a merge join read postings_entry_idx
// from its start, so batch k read the postings of all k×1000 entries before it and a walk of the
// journal read O(entries²) postings.
func TestChainVerifyBatchReadsItsOwnPostings(t *testing.T) {
	pool := loadLedger(t)
	qs := recorded(t, pool, "postings", func(p *pgxpool.Pool) error {
		_, err := ledger.New(p).Verify(t.Context())
		return err
	})
	if len(qs) != 1 || len(qs[0].args) != 2 {
		t.Fatalf("Verify sent %d queries of postings, want the first batch's (after entry, batch size)", len(qs))
	}
	batch, ok := qs[0].args[1].(int)
	if !ok || batch <= 0 {
		t.Fatalf("the batch size argument is %#v", qs[0].args[1])
	}
	for _, after := range []int64{nEntries / 2, nEntries - 2*int64(batch)} {
		q := qs[0]
		q.args = []any{after, batch}
		// The batch's entries have three postings each.
		if read, how := readBy(t, pool, []query{q}, "postings"); read > float64(10*3*batch) {
			t.Errorf("the verification batch after entry %d read %.0f postings for %d entries (scans: %v)", after, read, batch, how)
		}
	}
}
