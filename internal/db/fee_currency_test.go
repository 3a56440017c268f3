package db_test

import (
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"paysplit/internal/db"
)

// Migration 00025 gives split rules the currency of their fee bounds: a rule written before it
// gets its client's default currency (what its bounds meant), and a rule the previous release's
// API writes after it, naming its columns without this one, gets the same from the insert
// trigger. The CHECK keeps the column to lower-case ISO codes.
func TestRuleFeeCurrencyFromTheClientsDefault(t *testing.T) {
	ctx := t.Context()
	url, conn := migratedTo(t, 24)
	// The previous release's statements (internal/store clients.go, rules.go before 00025).
	previousRule := func(client string) {
		t.Helper()
		_, err := conn.Exec(ctx, `
			INSERT INTO split_rules (client_id, version, platform_bps, affiliate_bps, commission_on_tax,
				commission_on_shipping, min_platform_fee, max_platform_fee, created_by)
			SELECT $1, COALESCE(MAX(version), 0) + 1, $2, $3, $4, $5, $6, $7, $8 FROM split_rules WHERE client_id = $1`,
			client, 1000, 0, false, false, 50, 0, "admin")
		require.NoError(t, err)
	}
	for _, c := range []struct{ id, currency string }{{"c-usd", "usd"}, {"c-jpy", "jpy"}} {
		_, err := conn.Exec(ctx, `INSERT INTO clients (id, name, default_currency) VALUES ($1, $1, $2)`, c.id, c.currency)
		require.NoError(t, err)
		previousRule(c.id)
	}

	require.NoError(t, db.Migrate(ctx, url))
	previousRule("c-jpy") // version 2, by an old API task during the rolling deploy

	rows, err := conn.Query(ctx, `SELECT client_id || '/' || version, fee_currency FROM split_rules ORDER BY 1`)
	require.NoError(t, err)
	got, err := pgx.CollectRows(rows, pgx.RowToStructByPos[struct{ Rule, FeeCurrency string }])
	require.NoError(t, err)
	require.Equal(t, []struct{ Rule, FeeCurrency string }{{"c-jpy/1", "jpy"}, {"c-jpy/2", "jpy"}, {"c-usd/1", "usd"}}, got)

	_, err = conn.Exec(ctx, `INSERT INTO split_rules (client_id, version, platform_bps, affiliate_bps, fee_currency)
		VALUES ('c-usd', 9, 100, 0, 'USD')`)
	require.Error(t, err, "fee_currency is stored lower-case, as payments' currencies are")
	_, err = conn.Exec(ctx, `UPDATE split_rules SET fee_currency = 'eur' WHERE client_id = 'c-usd'`)
	require.Error(t, err, "rules stay immutable after the backfill")
}
