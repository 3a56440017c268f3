package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"paysplit/activities"
	"paysplit/internal/ledger"
)

// TestPayeeMoveWaitsForABookingInFlight: a split of client A's that is booking the payee's share
// while an admin moves the payee to client B. The move must not pass a check of the books read
// before that booking commits: it waits for it and is refused (409 payee_in_books), never leaving
// a payee of client B in client A's books.
func TestPayeeMoveWaitsForABookingInFlight(t *testing.T) {
	ctx := t.Context()
	a := newAPI(t, nil)
	clientA, clientB := a.newClient("racea"), a.newClient("raceb")
	payee := uniqueID("race-vendor")
	code, out := a.json(req{method: http.MethodPut, path: "/api/v1/admin/payees/" + payee, key: adminKey,
		body: map[string]any{"client_id": clientA, "kind": "vendor"}})
	require.Equal(t, http.StatusCreated, code, out)

	// The booking is held half way, its postings written and not committed: a transaction locks
	// the balance row of another account the booking also posts to.
	books := ledger.New(a.pool)
	other := ledger.VendorPayable(uniqueID("race-other"))
	_, _, err := books.Post(ctx, raceEntry("seed", ledger.Posting{Account: ledger.ProviderBalance("stripe"), Amount: 1},
		ledger.Posting{Account: other, Amount: -1}))
	require.NoError(t, err)
	holder, err := a.pool.Begin(ctx)
	require.NoError(t, err)
	defer func() { _ = holder.Rollback(context.Background()) }()
	_, err = holder.Exec(ctx, `SELECT 1 FROM ledger_balances WHERE account = $1 FOR UPDATE`, other)
	require.NoError(t, err)

	booked := make(chan error, 1)
	go func() {
		_, _, err := books.Post(ctx, raceEntry("split", ledger.Posting{Account: ledger.ProviderBalance("stripe"), Amount: 1000},
			ledger.Posting{Account: ledger.VendorPayable(payee), Amount: -900}, ledger.Posting{Account: other, Amount: -100}))
		booked <- err
	}()
	booking := blockedBy(t, a.pool, int(holder.Conn().PgConn().PID()), nil)

	moved := make(chan int, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		moved <- putPayeeStatus(a.url, payee, map[string]any{"client_id": clientB, "kind": "vendor"})
	}()
	// The move either waits for the booking, or has answered without waiting.
	blockedBy(t, a.pool, booking, done)
	require.NoError(t, holder.Rollback(ctx))
	require.NoError(t, <-booked)

	require.Equal(t, http.StatusConflict, <-moved,
		"the split booked the payee's share for client A while the move checked the books: the move must be refused")
	p, err := a.store.GetPayee(ctx, payee)
	require.NoError(t, err)
	require.Equal(t, clientA, p.ClientID, "the books hold the payee for client A")
}

// TestPayeeBeingPaidKeepsItsClient: a payment of client A's resolved the payee (it is about to pay
// it) and books its capture and the transfer with its next save, so the books do not hold the
// payee yet. A move now would leave client B's payee paid in client A's books: it is refused. A
// payee moved first is held by a payment of its old client, as any payee of another client.
func TestPayeeBeingPaidKeepsItsClient(t *testing.T) {
	ctx := t.Context()
	a := newAPI(t, nil)
	clientA, clientB := a.newClient("paida"), a.newClient("paidb")
	put := func(payee, client string) (int, map[string]any) {
		return a.json(req{method: http.MethodPut, path: "/api/v1/admin/payees/" + payee, key: adminKey,
			body: map[string]any{"client_id": client, "kind": "vendor", "paypal_receiver": "PAYERRACE0001"}})
	}
	// The PayPal rail resolves a payee from its receiver alone: PayPal is never asked.
	paypal, err := activities.NewPayPalClient("id", "secret", "http://127.0.0.1:1", nil)
	require.NoError(t, err)
	acts := &activities.Activities{Store: a.store, PayPal: paypal}
	resolve := func(payee string) activities.ResolvePayeeOutput {
		out, err := acts.ResolvePayee(ctx, activities.ResolvePayeeInput{Provider: activities.ProviderPayPal, PayeeID: payee,
			Kind: "vendor", ClientID: clientA, Currency: "usd"})
		require.NoError(t, err)
		return out
	}

	t.Run("resolved first", func(t *testing.T) {
		payee := uniqueID("paid-vendor")
		code, out := put(payee, clientA)
		require.Equal(t, http.StatusCreated, code, out)
		require.Equal(t, activities.ResolvePayeeOutput{Destination: "PAYERRACE0001"}, resolve(payee))

		code, out = put(payee, clientB)
		require.Equal(t, http.StatusConflict, code, "a payment of client A is paying the payee: %v", out)
		require.Equal(t, "payee_in_books", out["error"].(map[string]any)["code"])
		p, err := a.store.GetPayee(ctx, payee)
		require.NoError(t, err)
		require.Equal(t, clientA, p.ClientID)
	})
	t.Run("moved first", func(t *testing.T) {
		payee := uniqueID("paid-vendor")
		code, out := put(payee, clientA)
		require.Equal(t, http.StatusCreated, code, out)
		code, out = put(payee, clientB)
		require.Equal(t, http.StatusOK, code, "no payment knows the payee yet: %v", out)
		require.Contains(t, resolve(payee).HoldReason, "registered to another client")
	})
}

func raceEntry(what string, postings ...ledger.Posting) ledger.Entry {
	return ledger.Entry{IdempotencyKey: uniqueID("race-" + what), Currency: "usd", Reference: "payment-stripe-pi_race",
		Description: what, Postings: postings}
}

// putPayeeStatus sends a payee upsert from a goroutine other than the test's (no require there).
func putPayeeStatus(url, payee string, body map[string]any) int {
	b, _ := json.Marshal(body)
	hr, err := http.NewRequest(http.MethodPut, url+"/api/v1/admin/payees/"+payee, bytes.NewReader(b))
	if err != nil {
		return 0
	}
	hr.Header.Set("Content-Type", "application/json")
	hr.Header.Set("Authorization", "Bearer "+adminKey)
	res, err := http.DefaultClient.Do(hr)
	if err != nil {
		return 0
	}
	defer res.Body.Close()
	return res.StatusCode
}

// hangGuard bounds a race test's wait for a point it stages (a lock taken, a writer waiting on
// it): not a speed target, a bound past any loaded machine's wait, so a run that took another
// path fails its own test with a reason instead of hanging the package.
const hangGuard = 3 * time.Minute

// blockedBy waits until a backend waits for a lock pid holds and returns it, or returns 0 once
// done is closed. It polls pg_stat_activity: how long it takes is not what is tested.
func blockedBy(t *testing.T, pool *pgxpool.Pool, pid int, done <-chan struct{}) int {
	t.Helper()
	giveUp := time.After(hangGuard)
	for {
		var waiter int
		err := pool.QueryRow(t.Context(), `SELECT coalesce(min(pid), 0) FROM pg_stat_activity
			WHERE $1 = ANY(pg_blocking_pids(pid))`, pid).Scan(&waiter)
		require.NoError(t, err)
		if waiter != 0 {
			return waiter
		}
		select {
		case <-done:
			return 0
		case <-t.Context().Done():
			t.Fatalf("nothing waited for backend %d", pid)
		case <-giveUp:
			t.Fatalf("nothing waited for backend %d within %s", pid, hangGuard)
		case <-time.After(5 * time.Millisecond):
		}
	}
}
