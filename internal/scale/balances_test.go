package scale_test

import (
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"paysplit/internal/ledger"
	"paysplit/internal/monitor"
)

// Balances must not be recomputed from every posting ever written: the admin balances page and
// each balance_above evaluation of a busy account would read the whole journal, a cost that
// grows with every payment forever.
func TestBalancesDoNotReSumTheWholeJournal(t *testing.T) {
	pool := loadLedger(t)
	t.Run("admin balances", func(t *testing.T) {
		var got []ledger.AccountBalance
		qs := recorded(t, pool, "FROM", func(p *pgxpool.Pool) (err error) {
			got, err = ledger.New(p).Balances(t.Context(), time.Time{})
			return err
		})
		// 402 account/currency pairs.
		if len(got) != 402 {
			t.Fatalf("%d balances, want 402", len(got))
		}
		if read, how := readBy(t, pool, qs, "postings"); read > 100*402 {
			t.Errorf("listing 402 balances read %.0f of %d postings (scans: %v)", read, 3*nEntries, how)
		}
	})
	t.Run("balance_above evaluation", func(t *testing.T) {
		var last time.Time
		if err := pool.QueryRow(t.Context(), `SELECT max(created_at) FROM journal_entries`).Scan(&last); err != nil {
			t.Fatal(err)
		}
		// A 7-day monitor on platform revenue, evaluated at the last entry: its window has
		// ~20,000 entries, the journal 300,000 with a posting to the account each.
		m := monitor.Monitor{ID: 1, Kind: monitor.KindBalanceAbove, Params: monitor.Params{
			Account: "platform:revenue", Currency: "usd", Side: monitor.SideCredit, Threshold: 1, Days: 7}}
		var obs monitor.Observation
		qs := recorded(t, pool, "postings", func(p *pgxpool.Pool) (err error) {
			obs, err = monitor.NewStore(p, ledger.New(p)).Observe(t.Context(), m, last)
			return err
		})
		if len(obs.Changes) == 0 {
			t.Fatal("no change in the window")
		}
		// The opening balance and the window's changes; the window has 20,160 postings to the account.
		if read, how := readBy(t, pool, qs, "postings"); read > 60_000 {
			t.Errorf("a 7-day balance_above evaluation read %.0f of %d postings (scans: %v)", read, 3*nEntries, how)
		}
	})
}
