package ledger_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"paysplit/internal/ledger"
)

// postingsReads counts the queries sent through a pool that read postings.
type postingsReads struct {
	mu sync.Mutex
	n  int
}

func (r *postingsReads) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	if strings.Contains(d.SQL, "postings") {
		r.mu.Lock()
		r.n++
		r.mu.Unlock()
	}
	return ctx
}

func (r *postingsReads) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// TestVerifyReadsReversedEntriesByBatch: Verify reads the journal 1000 entries at a time, each
// batch with its own postings, so a walk's round trips grow with the journal's batches. The
// reversal check read each reversal's original on its own, a query per reversal: a journal of a
// million reversals was a million round trips more inside the walk's snapshot. A batch reads the
// entries its reversals reverse in one query.
func TestVerifyReadsReversedEntriesByBatch(t *testing.T) {
	l, pool := ownLedger(t)
	ctx := t.Context()
	for range 5 {
		e, _, err := l.Post(ctx, sale(unique("rev-batch"), "", "v", 100, 10))
		require.NoError(t, err)
		_, _, err = l.Reverse(ctx, e.ID, unique("rev-batch-undo"), "")
		require.NoError(t, err)
	}

	reads := &postingsReads{}
	cfg := pool.Config()
	cfg.ConnConfig.Tracer = reads
	traced, err := pgxpool.NewWithConfig(ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(traced.Close)
	v, err := ledger.New(traced).Verify(ctx)
	require.NoError(t, err)
	require.True(t, v.OK, "%+v", v.Break)
	require.EqualValues(t, 10, v.Entries)
	// One batch: its entries with their postings, the entries its reversals reverse, the kept
	// balances (ledger_balances' query does not name postings).
	require.LessOrEqual(t, reads.n, 2, "Verify read postings in %d queries for one batch of 10 entries, 5 of them reversals", reads.n)
}
