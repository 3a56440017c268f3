package ledger_test

import (
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"paysplit/internal/ledger"
)

// A payment's batch (a capture and two transfers) is one statement, and what its triggers write
// is counted in the transaction's own statistics before it commits: the chain's head moves once
// (to the batch's last entry), and each account whose balance the batch changes is written once
// (the vendor's payable, credited by the capture and debited by the transfers, nets to zero and
// is written only when it is new). The entries and postings are all there, and the chain verifies.
func TestPostBatchWritesTheHeadAndEachBalanceOnce(t *testing.T) {
	l, pool := ownLedger(t)
	ctx := t.Context()
	written := func(tx pgx.Tx) map[string]int64 {
		rows, err := tx.Query(ctx, `SELECT relname, n_tup_ins + n_tup_upd FROM pg_stat_xact_user_tables
			WHERE relname IN ('journal_entries', 'postings', 'ledger_balances', 'ledger_chain_head')`)
		require.NoError(t, err)
		out := map[string]int64{}
		var name string
		var n int64
		_, err = pgx.ForEachRow(rows, []any{&name, &n}, func() error { out[name] = n; return nil })
		require.NoError(t, err)
		return out
	}
	tests := []struct {
		name string
		ref  string
		want map[string]int64
	}{
		// provider, platform and the vendor's new row of 0
		{"first payment of the vendor", "first", map[string]int64{"journal_entries": 3, "postings": 7, "ledger_balances": 3, "ledger_chain_head": 1}},
		// provider and platform; the vendor's row netted to zero is left as it was
		{"next payment", "next", map[string]int64{"journal_entries": 3, "postings": 7, "ledger_balances": 2, "ledger_chain_head": 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
				before := written(tx) // the backend's counts not yet flushed, of earlier transactions
				require.NoError(t, ledger.PostBatchInTx(ctx, tx, paymentBatch(unique(tt.ref))))
				got := written(tx)
				for name := range got {
					got[name] -= before[name]
				}
				assert.Equal(t, tt.want, got)
				return nil
			})
			require.NoError(t, err)
		})
	}
	requireIntact(t, l)
}
