package store_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"paysplit/internal/store"
	"paysplit/testenv"
)

// TestAuditPagesPastInt4IDs pages the audit log where IDs have passed 2^31 (audit_log.id is a
// bigserial): the cursor is the last ID of a page and must be compared as a bigint.
func TestAuditPagesPastInt4IDs(t *testing.T) {
	pool := testenv.OwnDatabase(t)
	st := store.New(pool)
	ctx := t.Context()
	_, err := pool.Exec(ctx, `SELECT setval(pg_get_serial_sequence('audit_log', 'id'), 2147483646)`)
	require.NoError(t, err)
	for _, target := range []string{"a", "b", "c", "d"} {
		require.NoError(t, st.Audit(ctx, "admin:test", "test.page", target, "req", nil, map[string]string{"t": target}))
	}
	var targets []string
	var before int64
	for page := 0; page < 5; page++ {
		entries, err := st.ListAudit(ctx, store.AuditFilter{Action: "test.page", BeforeID: before, Limit: 1})
		require.NoError(t, err, "page after ID %d", before)
		if len(entries) == 0 {
			break
		}
		targets = append(targets, entries[0].Target)
		before = entries[0].ID
	}
	require.Equal(t, []string{"d", "c", "b", "a"}, targets)
}
