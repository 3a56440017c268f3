package store_test

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"paysplit/internal/store"
	"paysplit/testenv"
)

// TestReportClientsPagesInByteOrderWhateverTheCollation: the weekly run sorts and compares the
// client IDs of its pages byte by byte, so the pages must come in that order too. On a database
// whose collation is not C (RDS's en_US.UTF-8; here an ICU collation on the column) 'B' sorts
// after 'a': paged in that order, the run's cursor skipped the clients the two orders disagree on.
func TestReportClientsPagesInByteOrderWhateverTheCollation(t *testing.T) {
	ctx := t.Context()
	pool := testenv.OwnDatabase(t)
	if _, err := pool.Exec(ctx, `ALTER TABLE clients ALTER COLUMN id TYPE text COLLATE "en-x-icu"`); err != nil {
		t.Skipf("no ICU collation in this Postgres: %v", err)
	}
	st := store.New(pool)
	ids := []string{"Bravo", "alpha", "charlie", "Delta"}
	for _, id := range ids {
		_, _, err := st.UpsertClient(ctx, store.Client{ID: id, Name: id, DefaultCurrency: "usd"})
		require.NoError(t, err)
	}
	var paged []string
	after := ""
	for {
		page, err := st.ReportClientsPage(ctx, "UTC", after, 2)
		require.NoError(t, err)
		paged = append(paged, page...)
		if len(page) < 2 {
			break
		}
		after = page[len(page)-1]
	}
	want := slices.Clone(ids)
	slices.Sort(want)
	require.Equal(t, want, paged, "every client once, in byte order")
}
