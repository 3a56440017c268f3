package ledger_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paysplit/internal/ledger"
)

// TestBalanceAsOfAPastTimeNeverChanges: an entry takes its time (created_at) when it is appended,
// under the chain lock, and is seen once its transaction commits, a moment later. A balance
// "as of" a time in that moment was answered without the entry, and with it once it committed:
// the month-end close read at 00:00:00.002 for 23:59:59.999999 could differ from the same
// question asked at 00:05, though the README says an answer for a past time never changes. Each
// reader of a past time now waits for the appends in flight (the chain lock) before it sums.
func TestBalanceAsOfAPastTimeNeverChanges(t *testing.T) {
	l, pool := ownLedger(t)
	ctx := t.Context()
	acct := ledger.VendorPayable("monthend")
	_, _, err := l.Post(ctx, sale("closed", "r", "monthend", 1_000, 100))
	require.NoError(t, err)

	tx, err := pool.Begin(ctx)
	require.NoError(t, err)
	defer func() { _ = tx.Rollback(ctx) }()
	inFlight, err := ledger.AppendInTx(ctx, tx, sale("in-flight", "r", "monthend", 3_000, 300))
	require.NoError(t, err)
	asOf := inFlight.CreatedAt // already past: the database's clock drew it

	type answer struct {
		name string
		bal  int64
		err  error
	}
	readers := asOfReaders(ctx, l, acct, asOf)
	answers := make(chan answer, len(readers))
	for _, r := range readers {
		go func() {
			bal, err := r.read()
			answers <- answer{r.name, bal, err}
		}()
	}
	// Let every reader either answer or wait for the append: polled, not timed.
	var got []answer
	for deadline := time.Now().Add(30 * time.Second); ; {
		select {
		case a := <-answers:
			got = append(got, a)
			continue
		default:
		}
		var waiting int
		require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%ledger_chain_head%'`).Scan(&waiting))
		if len(got)+waiting >= len(readers) {
			break
		}
		require.True(t, time.Now().Before(deadline), "readers neither answered nor waited: %d answered, %d waiting", len(got), waiting)
		time.Sleep(10 * time.Millisecond)
	}
	require.NoError(t, tx.Commit(ctx))
	for len(got) < len(readers) {
		got = append(got, <-answers)
	}
	after, err := l.Balance(ctx, acct, "usd", asOf)
	require.NoError(t, err)
	require.Equal(t, int64(-3_600), after, "both entries as of the second's time")
	var wrong []string
	for _, a := range got {
		require.NoError(t, a.err, a.name)
		if a.bal != after {
			wrong = append(wrong, fmt.Sprintf("%s: %d", a.name, a.bal))
		}
	}
	require.Empty(t, wrong, "balances as of %s read while its entry was committing, then %d once it had", asOf.Format(time.RFC3339Nano), after)
}

// TestBalanceAsOfATimeNotYetPastIsRefused: a balance as of a time the database's clock has not
// reached can still change (an entry appended before that time is not in it yet), and nothing in
// the answer says so: a month's close asked for before midnight read as final and differed from
// the same question asked after it. A past time's answer never changes; one not yet past is
// refused (ErrAsOfNotPast), by each reader.
func TestBalanceAsOfATimeNotYetPastIsRefused(t *testing.T) {
	l, _ := ownLedger(t)
	ctx := t.Context()
	acct := ledger.VendorPayable("future")
	_, _, err := l.Post(ctx, sale("before", "r", "future", 1_000, 100))
	require.NoError(t, err)
	asOf := time.Now().Add(time.Hour) // the close of a period that has not ended
	readers := asOfReaders(ctx, l, acct, asOf)
	first := make([]int64, len(readers))
	firstErr := make([]error, len(readers))
	for i, r := range readers {
		first[i], firstErr[i] = r.read()
	}
	_, _, err = l.Post(ctx, sale("after", "r", "future", 3_000, 300)) // before asOf, appended later
	require.NoError(t, err)
	var changed []string
	for i, r := range readers {
		again, err := r.read()
		if firstErr[i] == nil && err == nil && again != first[i] {
			changed = append(changed, fmt.Sprintf("%s: %d, then %d", r.name, first[i], again))
		}
	}
	require.Empty(t, changed, "balances as of %s (not yet past) answered, then answered otherwise", asOf.Format(time.RFC3339Nano))
	for i, r := range readers {
		require.ErrorIs(t, firstErr[i], ledger.ErrAsOfNotPast, r.name)
	}
	// A past time is answered, as the wait ends after it.
	bal, err := l.Balance(ctx, acct, "usd", time.Now())
	require.NoError(t, err)
	require.Equal(t, int64(-3_600), bal)
}

// asOfReader is one of the ledger's three ways to read an account's USD balance as of a time.
type asOfReader struct {
	name string
	read func() (int64, error)
}

// asOfReaders reads acct's USD balance as of asOf each way: Balance, AccountBalances, Balances.
func asOfReaders(ctx context.Context, l *ledger.Ledger, acct string, asOf time.Time) []asOfReader {
	return []asOfReader{
		{"Balance", func() (int64, error) { return l.Balance(ctx, acct, "usd", asOf) }},
		{"AccountBalances", func() (int64, error) {
			bs, err := l.AccountBalances(ctx, acct, asOf)
			if err != nil || len(bs) == 0 {
				return 0, err
			}
			return bs[0].Balance, nil
		}},
		{"Balances", func() (int64, error) {
			bs, err := l.Balances(ctx, asOf)
			for _, b := range bs {
				if b.Account == acct && b.Currency == "usd" {
					return b.Balance, err
				}
			}
			return 0, err
		}},
	}
}
