package store_test

import (
	"fmt"
	"os"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"

	"paysplit/internal/store"
	"paysplit/testenv"
)

// The upgrade note's query lists the stored PayPal receivers that registration now refuses, for an
// admin to correct before deploying: every payout to one is held from then on. It must list every
// one: each character CheckPayPalReceiver refuses in an address is matched by its pattern in
// Postgres, or that payee's payouts are held with nobody told beforehand.
func TestReadmeListsEveryRefusedPayPalReceiver(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	m := regexp.MustCompile(`SELECT id FROM payees WHERE paypal_receiver ~\s+'([^']+)'`).FindSubmatch(readme)
	require.NotNil(t, m, "README: the query that lists the receivers to correct")
	pattern := string(m[1])

	require.NoError(t, store.CheckPayPalReceiver("vendor@example.com"))
	var refused []int32
	for r := rune(1); r <= 0x10ffff; r++ {
		if r >= 0xd800 && r <= 0xdfff || r == ' ' || r == '@' {
			continue // no text holds a surrogate; a space or a second @ was always refused
		}
		if store.CheckPayPalReceiver("ven"+string(r)+"dor@example.com") != nil {
			refused = append(refused, r)
		}
	}
	require.NotEmpty(t, refused)

	pool, _ := testenv.Postgres(t)
	var missed []int32
	require.NoError(t, pool.QueryRow(t.Context(), `SELECT coalesce(array_agg(c ORDER BY c), '{}') FROM unnest($1::int[]) c
		WHERE NOT chr(c) ~ $2`, refused, pattern).Scan(&missed))
	var listsValid bool
	require.NoError(t, pool.QueryRow(t.Context(), `SELECT $1 ~ $3 OR $2 ~ $3`, "vendor@example.com", "verkäufer@bücher.de", pattern).Scan(&listsValid))
	require.False(t, listsValid, "the query lists only receivers the check refuses")
	var named []string
	for _, r := range missed {
		named = append(named, fmt.Sprintf("%U", r))
	}
	require.Empty(t, named, "characters the check refuses that the README's query does not find")
}
