package ledger_test

import (
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"paysplit/internal/ledger"
)

// TestPostDoesNotScanTheJournal pins how the balance trigger finds an entry's postings. A
// session plans a trigger's query once and keeps the plan until the table's statistics change;
// when autovacuum first vacuums postings (after 1000 inserts on a fresh database) and a session
// plans right then, a query that may stop at its first row was planned as a sequential scan,
// which then read every posting ever written, on every append, until the next vacuum: a day of
// benchmark payments read 194 million rows that way. Here a writer fills a few pages, the table
// is vacuumed as autovacuum would, and new sessions post.
func TestPostDoesNotScanTheJournal(t *testing.T) {
	first, pool := ownLedger(t)
	ctx := t.Context()
	// Every fourth entry is reversed, so the reversal check runs too.
	post := func(l *ledger.Ledger, n int) {
		for i := range n {
			e, _, err := l.Post(ctx, sale(unique("scan"), "ref", "v", int64(1000+i), 100))
			require.NoError(t, err)
			if i%4 == 3 {
				_, _, err = l.Reverse(ctx, e.ID, unique("scan-rev"), "")
				require.NoError(t, err)
			}
		}
	}
	post(first, 300)
	_, err := pool.Exec(ctx, `VACUUM postings`)
	require.NoError(t, err)

	cfg := pool.Config()
	cfg.MinConns, cfg.MaxConns = 0, 4
	cfg.ConnConfig.RuntimeParams["application_name"] = "later-writers"
	later, err := pgxpool.NewWithConfig(ctx, cfg)
	require.NoError(t, err)
	seq0, tuples0 := seqScans(t, pool)
	const n = 400
	post(ledger.New(later), n)
	later.Close() // its sessions report their statistics as they end
	require.Eventually(t, func() bool {
		var left int
		require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE application_name = 'later-writers'`).Scan(&left))
		return left == 0
	}, 10*time.Second, 20*time.Millisecond)

	seq1, tuples1 := seqScans(t, pool)
	t.Logf("%d entries by new sessions: %d sequential scans of the journal reading %d rows", n, seq1-seq0, tuples1-tuples0)
	assert.Less(t, tuples1-tuples0, int64(n), "posting reads the journal whole")
}

// TestPostDoesNotScanTheJournalFromAnEarlyPlan: a worker's connections live all day and keep
// the plans their triggers' queries got on first use. The balances trigger (00019) joined an
// append's postings to journal_entries for their currency; planned on a young journal, that join
// was a hash join over a sequential scan of the whole journal, kept until the next ANALYZE, so
// every append read every entry written before it (a bench day's Postgres CPU a payment grew
// with the day). One session here posts from an empty journal on.
func TestPostDoesNotScanTheJournalFromAnEarlyPlan(t *testing.T) {
	_, pool := ownLedger(t)
	ctx := t.Context()
	cfg := pool.Config()
	cfg.MinConns, cfg.MaxConns = 0, 1
	cfg.ConnConfig.RuntimeParams["application_name"] = "one-writer"
	one, err := pgxpool.NewWithConfig(ctx, cfg)
	require.NoError(t, err)
	tables := []string{"journal_entries", "postings", "ledger_balances"}
	read0 := map[string]int64{}
	for _, table := range tables {
		_, read0[table] = seqScansOf(t, pool, table)
	}
	const n = 300
	l := ledger.New(one)
	for i := range n {
		_, _, err := l.Post(ctx, sale(unique("early"), "ref", "v", int64(1000+i), 100))
		require.NoError(t, err)
	}
	one.Close() // its session reports its statistics as it ends
	require.Eventually(t, func() bool {
		var left int
		require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE application_name = 'one-writer'`).Scan(&left))
		return left == 0
	}, 10*time.Second, 20*time.Millisecond)

	for _, table := range tables {
		scans, read1 := seqScansOf(t, pool, table)
		t.Logf("%d entries by one session: %d sequential scans of %s reading %d rows", n, scans, table, read1-read0[table])
		// Reading a table whole on every append reads about n²/2 rows (45,150 of journal_entries
		// before 00032); a scan of a young table by a plan made before it grew reads a few.
		assert.Less(t, read1-read0[table], int64(n), "posting reads %s whole", table)
	}
}

// seqScansOf reads one table's sequential scans and the rows they read.
func seqScansOf(t *testing.T, pool *pgxpool.Pool, table string) (scans, rows int64) {
	t.Helper()
	ctx := t.Context()
	_, err := pool.Exec(ctx, `SELECT pg_stat_force_next_flush()`)
	require.NoError(t, err)
	require.NoError(t, pool.QueryRow(ctx, `SELECT seq_scan, seq_tup_read FROM pg_stat_user_tables WHERE relname = $1`, table).Scan(&scans, &rows))
	return scans, rows
}

// seqScans reads the sequential scans of the journal's tables and the rows they read.
func seqScans(t *testing.T, pool *pgxpool.Pool) (scans, rows int64) {
	t.Helper()
	ctx := t.Context()
	// Ended sessions have reported; this one is asked to, then reads a fresh snapshot.
	_, err := pool.Exec(ctx, `SELECT pg_stat_force_next_flush()`)
	require.NoError(t, err)
	require.NoError(t, pool.QueryRow(ctx, `SELECT coalesce(sum(seq_scan), 0), coalesce(sum(seq_tup_read), 0)
		FROM pg_stat_user_tables WHERE relname IN ('postings', 'journal_entries')`).Scan(&scans, &rows))
	return scans, rows
}
