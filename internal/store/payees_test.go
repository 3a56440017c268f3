package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paysplit/internal/store"
	"paysplit/testenv"
)

// TestResolvePayeeWaitsForAMoveInFlight: a payment of client A resolves its payee while an admin's
// move of it to client B holds the payee, its books checked and found empty. The resolve waits
// for the move and finds the payee client B's (so the payment holds the leg), and the payee is not
// marked resolved: it never pays client B's payee for client A, nor marks a payee it does not pay.
func TestResolvePayeeWaitsForAMoveInFlight(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	s := store.New(pool)
	ctx := t.Context()
	clientA, clientB := newClient(t, s, "resolvea"), newClient(t, s, "resolveb")
	payee := newClient(t, s, "resolve-payee") // a unique ID
	_, _, err := s.UpsertPayee(ctx, store.Payee{ID: payee, ClientID: clientA, Kind: store.KindVendor})
	require.NoError(t, err)

	locked, release := make(chan struct{}), make(chan struct{})
	moved := make(chan error, 1)
	go func() {
		moved <- s.InTx(ctx, func(tx *store.Store) error {
			p, err := tx.LockPayee(ctx, payee)
			if err != nil {
				return err
			}
			if in, err := tx.PayeeInBooks(ctx, p); err != nil || in {
				close(locked)
				return err
			}
			close(locked)
			<-release
			p.ClientID = clientB
			_, _, err = tx.UpsertPayee(ctx, p)
			return err
		})
	}()
	<-locked

	type resolved struct {
		p   store.Payee
		err error
	}
	got := make(chan resolved, 1)
	go func() {
		p, err := s.ResolvePayee(ctx, payee, clientA, store.KindVendor)
		got <- resolved{p, err}
	}()
	// The resolve waits for the move's lock on the payee, or has answered (wrongly) without it.
	var r resolved
	for waiting := false; !waiting; {
		select {
		case r = <-got:
			close(release)
			require.NoError(t, <-moved)
			t.Fatalf("the resolve answered %+v (%v) while a move of the payee was in flight", r.p, r.err)
		case <-time.After(5 * time.Millisecond):
		}
		require.NoError(t, pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE datname = current_database()
			AND wait_event_type = 'Lock' AND query LIKE '%UPDATE payees SET resolved_at%')`).Scan(&waiting))
	}
	close(release)
	require.NoError(t, <-moved)
	r = <-got
	require.NoError(t, r.err)
	require.Equal(t, clientB, r.p.ClientID, "the move came first: the payment finds the payee client B's")

	// Not marked: client B's payee can still move, as no payment pays it.
	err = s.InTx(context.Background(), func(tx *store.Store) error {
		p, err := tx.LockPayee(ctx, payee)
		require.NoError(t, err)
		in, err := tx.PayeeInBooks(ctx, p)
		require.NoError(t, err)
		require.False(t, in, "a payee no payment resolved as its own is not in the books")
		return nil
	})
	require.NoError(t, err)
}
