package ledger_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"paysplit/internal/ledger"
)

// The balances "now" come from ledger_balances, which a trigger keeps as postings are appended
// (migration 00019); balances as of a time are summed from the journal. After concurrent posts,
// batches, replays, a reversal, a refused entry and an entry posting twice to one account, the
// two must agree for every account, and an opening balance (now less the window) must equal the
// journal's sum as of the window's start.
func TestBalancesNowAreTheJournalsSums(t *testing.T) {
	l, _ := ownLedger(t)
	ctx := t.Context()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := range 8 {
		wg.Go(func() {
			for i := range 10 {
				key := fmt.Sprintf("w%d-%d", w, i)
				e := sale(key, "ref", fmt.Sprintf("v%d", i%3), int64(1000+w*10+i), 100)
				if _, _, err := l.Post(ctx, e); err != nil {
					errs <- err
					return
				}
				if i%5 == 0 { // a replay writes nothing
					if _, _, err := l.Post(ctx, e); err != nil {
						errs <- err
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	mid := time.Now()
	_, err := l.PostBatch(ctx, []ledger.Entry{sale("batch-1", "", "v1", 500, 50), sale("batch-2", "", "v2", 700, 70)})
	require.NoError(t, err)
	first, _, err := l.Post(ctx, sale("to-reverse", "", "v0", 900, 90))
	require.NoError(t, err)
	_, _, err = l.Reverse(ctx, first.ID, "reversal", "")
	require.NoError(t, err)
	_, _, err = l.Post(ctx, ledger.Entry{IdempotencyKey: "twice", Currency: "eur", Postings: []ledger.Posting{
		{Account: "cash", Amount: 300}, {Account: "cash", Amount: 200}, {Account: "sales", Amount: -500}}})
	require.NoError(t, err)
	_, _, err = l.Post(ctx, ledger.Entry{IdempotencyKey: "unbalanced", Currency: "eur", Postings: []ledger.Posting{
		{Account: "cash", Amount: 300}, {Account: "sales", Amount: -299}}})
	require.Error(t, err, "an unbalanced entry is refused")

	future := time.Now().Add(time.Hour)
	past := time.Now() // after every append: the journal summed to it is all of it
	now, err := l.Balances(ctx, time.Time{})
	require.NoError(t, err)
	summed, err := l.Balances(ctx, past)
	require.NoError(t, err)
	require.Equal(t, summed, now)
	require.NotEmpty(t, now)
	for _, b := range now {
		one, err := l.Balance(ctx, b.Account, b.Currency, time.Time{})
		require.NoError(t, err)
		assert.Equal(t, b.Balance, one, b.Account)
		perAccount, err := l.AccountBalances(ctx, b.Account, time.Time{})
		require.NoError(t, err)
		perAccountSummed, err := l.AccountBalances(ctx, b.Account, past)
		require.NoError(t, err)
		assert.Equal(t, perAccountSummed, perAccount, b.Account)

		atMid, err := l.Balance(ctx, b.Account, b.Currency, mid)
		require.NoError(t, err)
		opening, points, err := l.BalanceHistory(ctx, b.Account, b.Currency, mid, future)
		require.NoError(t, err)
		assert.Equal(t, atMid, opening, "opening balance of %s in %s", b.Account, b.Currency)
		last := opening
		if len(points) > 0 {
			last = points[len(points)-1].Balance
		}
		assert.Equal(t, b.Balance, last, "balance of %s in %s after the window's changes", b.Account, b.Currency)
	}
	cash, err := l.Balance(ctx, "cash", "eur", time.Time{})
	require.NoError(t, err)
	assert.Equal(t, int64(500), cash)
}

// Only the postings trigger writes ledger_balances: a hand-run statement is refused, and a
// balance edited around the triggers is reported by chain verification.
func TestKeptBalancesFollowOnlyThePostings(t *testing.T) {
	l, pool := ownLedger(t)
	ctx := t.Context()
	_, _, err := l.Post(ctx, sale(unique("k"), "", "v", 1000, 100))
	require.NoError(t, err)
	requireIntact(t, l)

	for _, stmt := range []string{
		`UPDATE ledger_balances SET balance = balance + 1 WHERE account = 'platform:revenue'`,
		`DELETE FROM ledger_balances`,
		`INSERT INTO ledger_balances (account, currency, balance) VALUES ('made:up', 'usd', 5)`,
		`TRUNCATE ledger_balances`,
	} {
		_, err := pool.Exec(ctx, stmt)
		var pgErr *pgconn.PgError
		require.True(t, errors.As(err, &pgErr), "%s: %v", stmt, err)
		assert.Equal(t, "23001", pgErr.Code, stmt) // restrict_violation
	}
	requireIntact(t, l)

	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SET LOCAL session_replication_role = replica"); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `UPDATE ledger_balances SET balance = balance + 1 WHERE account = 'platform:revenue'`)
		return err
	})
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42501" {
		t.Skipf("PG_TEST_URL user may not set session_replication_role: %v", err)
	}
	require.NoError(t, err)
	v, err := l.Verify(ctx)
	require.NoError(t, err)
	require.False(t, v.OK)
	require.NotNil(t, v.Break)
	assert.Contains(t, v.Break.Reason, "platform:revenue")
	assert.Contains(t, v.Break.Reason, "ledger_balances")
}

// A batch is one statement (PostBatch), so the balances trigger sees a payment's capture and
// transfers at once, and a payable they net to zero is not rewritten (migration 00044). The kept
// balances must still be the journal's sums: for an account new in the batch (a row of 0, as
// Balances lists every account with postings), an account netted to zero again (its row left as
// it was), a batch of two currencies, and a batch whose entry was stored before (its postings
// counted once).
func TestBatchBalancesAreTheJournalsSums(t *testing.T) {
	l, pool := ownLedger(t)
	ctx := t.Context()
	rowVersion := func(account string) string {
		var v string
		require.NoError(t, pool.QueryRow(ctx, `SELECT xmin::text || '/' || ctid::text FROM ledger_balances
			WHERE account = $1 AND currency = 'usd'`, account).Scan(&v))
		return v
	}
	vendor := ledger.VendorPayable("v-net")

	_, err := l.PostBatch(ctx, paymentBatch("first")) // v1's payable nets to 0 on a new row
	require.NoError(t, err)
	_, err = l.PostBatch(ctx, []ledger.Entry{
		sale("sale-a", "a", "v-net", 10_000, 1_000), payout("pay-a1", "a", "v-net", 5_000), payout("pay-a2", "a", "v-net", 4_000),
	})
	require.NoError(t, err)
	before := rowVersion(vendor)
	stored, _, err := l.Post(ctx, payout("pay-b2", "b", "v-net", 2_000)) // stored before its batch
	require.NoError(t, err)
	posted, err := l.PostBatch(ctx, []ledger.Entry{
		sale("sale-b", "b", "v-net", 3_000, 500), payout("pay-b2", "b", "v-net", 2_000),
		{IdempotencyKey: "eur-b", Currency: "eur", Reference: "b", Postings: []ledger.Posting{
			{Account: ledger.ProviderBalance("stripe"), Amount: 700}, {Account: vendor, Amount: -700}}},
	})
	require.NoError(t, err)
	require.False(t, posted[1].Created)
	require.Equal(t, stored.ID, posted[1].Entry.ID)
	assert.NotEqual(t, before, rowVersion(vendor), "the vendor's balance moved: its row is written")

	before = rowVersion(vendor)
	_, err = l.PostBatch(ctx, []ledger.Entry{
		sale("sale-c", "c", "v-net", 4_000, 400), payout("pay-c", "c", "v-net", 3_600),
	})
	require.NoError(t, err)
	assert.Equal(t, before, rowVersion(vendor), "a payable the batch nets to zero is not rewritten")

	now, err := l.Balances(ctx, time.Time{})
	require.NoError(t, err)
	summed, err := l.Balances(ctx, time.Now())
	require.NoError(t, err)
	require.Equal(t, summed, now)
	assert.Contains(t, now, ledger.AccountBalance{Account: ledger.VendorPayable("v1"), Currency: "usd", Balance: 0},
		"an account whose first postings net to zero has its row")
	assert.Contains(t, now, ledger.AccountBalance{Account: vendor, Currency: "usd", Balance: -500})
	assert.Contains(t, now, ledger.AccountBalance{Account: vendor, Currency: "eur", Balance: -700})
	requireIntact(t, l)
}
