package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paysplit/internal/ledger"
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

// TestRegisteredPayeeIDIgnoresCase: shops' names become lower-case payee IDs (acme + "Jane" ->
// acme-jane), and an admin may register the payee with capitals (acme-Jane). The name finds the
// payee as registered, only among the client's payees; an exact ID wins, whoever's it is (the
// caller checks client and kind, as before); twins of another case registered before they were
// refused are ambiguous and leave the name as it came (its leg held, never paid to a guess).
func TestRegisteredPayeeIDIgnoresCase(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	s := store.New(pool)
	ctx := t.Context()
	c, other := newClient(t, s, "casea"), newClient(t, s, "caseb")
	for _, p := range []store.Payee{
		{ID: c + "-Jane", ClientID: c, Kind: store.KindAffiliate},
		{ID: c + "-BLUE-fox", ClientID: c, Kind: store.KindVendor},
		{ID: c + "-Mike", ClientID: other, Kind: store.KindAffiliate}, // another client's
		{ID: c + "-ann", ClientID: c, Kind: store.KindAffiliate},
	} {
		_, _, err := s.UpsertPayee(ctx, p)
		require.NoError(t, err)
	}
	// Twins of one another in case, as IDs registered before the refusal may be.
	_, err := pool.Exec(ctx, `INSERT INTO payees (id, client_id, kind) VALUES ($1, $3, 'affiliate'), ($2, $3, 'affiliate')`,
		c+"-Twin", c+"-TWIN", c)
	require.NoError(t, err)
	tests := []struct{ name, id, want string }{
		{"lower-case name finds the capitals registered", c + "-jane", c + "-Jane"},
		{"any case finds it", c + "-JANE", c + "-Jane"},
		{"the registered spelling is itself", c + "-Jane", c + "-Jane"},
		{"a vendor too: the caller checks the kind", c + "-blue-fox", c + "-BLUE-fox"},
		{"another client's payee is not taken in another case", c + "-mike", c + "-mike"},
		{"another client's payee under its exact ID, as before", c + "-Mike", c + "-Mike"},
		{"exact lower case", c + "-ann", c + "-ann"},
		{"nobody's", c + "-zoe", c + "-zoe"},
		{"an exact twin is itself", c + "-TWIN", c + "-TWIN"},
		{"ambiguous twins leave the name as it came", c + "-twin", c + "-twin"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.RegisteredPayeeID(ctx, c, tt.id)
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
			// RegisteredPayee reads that payee in the same statement: the one with exactly the
			// ID RegisteredPayeeID answers, or none when no payee has it.
			p, err := s.RegisteredPayee(ctx, c, tt.id)
			want, werr := s.GetPayee(ctx, got)
			if errors.Is(werr, store.ErrNotFound) {
				require.ErrorIs(t, err, store.ErrNotFound)
				return
			}
			require.NoError(t, werr)
			require.NoError(t, err)
			require.Equal(t, want, p)
		})
	}
}

// TestPayeeIDTakenInAnotherCase: a new payee ID that differs only in case from a registered
// payee's would be the same payee to every order (RegisteredPayeeID), so it is refused; the
// registered one is updated as before. A spelling the books already hold (a leg held for a payee
// nobody had registered under it) is refused too when the client's twin of its kind is paid for it
// (TestPayeeIDTakenWhenItsTwinPaysItsHeldLeg has where it is not). Stored IDs are never rewritten.
func TestPayeeIDTakenInAnotherCase(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	s := store.New(pool)
	l := ledger.New(pool)
	ctx := t.Context()
	c := newClient(t, s, "taken")
	_, created, err := s.UpsertPayee(ctx, store.Payee{ID: c + "-Jane", ClientID: c, Kind: store.KindAffiliate})
	require.NoError(t, err)
	require.True(t, created)
	booked := c + "-jAne"
	_, _, err = l.Post(ctx, ledger.Entry{IdempotencyKey: "payment-stripe-pi_" + c + "/capture", Currency: "usd", Reference: c,
		Postings: []ledger.Posting{{Account: ledger.ProviderBalance("stripe"), Amount: 100}, {Account: ledger.AffiliatePayable(booked), Amount: -100}}})
	require.NoError(t, err)

	tests := []struct {
		name    string
		id      string
		taken   bool
		created bool
	}{
		{"lower case of a registered ID", c + "-jane", true, false},
		{"upper case", c + "-JANE", true, false},
		{"the registered ID itself is updated", c + "-Jane", false, false},
		{"a spelling the books hold, paid to its twin", booked, true, false},
		{"another name", c + "-janet", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, created, err := s.UpsertPayee(ctx, store.Payee{ID: tt.id, ClientID: c, Kind: store.KindAffiliate, StripeAccount: "acct_x1"})
			if tt.taken {
				require.ErrorIs(t, err, store.ErrPayeeIDTaken)
				require.Contains(t, err.Error(), c+"-Jane")
				_, err := s.GetPayee(ctx, tt.id)
				require.ErrorIs(t, err, store.ErrNotFound, "nothing written")
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.created, created)
		})
	}
	p, err := s.GetPayee(ctx, c+"-Jane")
	require.NoError(t, err)
	require.Equal(t, "acct_x1", p.StripeAccount, "the registered payee updated under its own ID")
}

// TestPayeeIDTakenWhileAnotherCaseIsRegistered: two admins register acme-Kim and acme-KIM at once.
// The second waits for the first's transaction and is then refused: without the wait it would
// not see the first's row, not yet committed, and both would be registered.
func TestPayeeIDTakenWhileAnotherCaseIsRegistered(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	s := store.New(pool)
	ctx := t.Context()
	c := newClient(t, s, "kim")
	registered, release := make(chan struct{}), make(chan struct{})
	first := make(chan error, 1)
	go func() {
		first <- s.InTx(ctx, func(tx *store.Store) error {
			_, _, err := tx.UpsertPayee(ctx, store.Payee{ID: c + "-Kim", ClientID: c, Kind: store.KindAffiliate})
			close(registered)
			<-release
			return err
		})
	}()
	<-registered
	second := make(chan error, 1)
	go func() {
		_, _, err := s.UpsertPayee(ctx, store.Payee{ID: c + "-KIM", ClientID: c, Kind: store.KindAffiliate})
		second <- err
	}()
	for waiting := false; !waiting; {
		select {
		case err := <-second:
			close(release)
			require.NoError(t, <-first)
			t.Fatalf("the second registration answered (%v) while the first was in flight", err)
		case <-time.After(5 * time.Millisecond):
		}
		require.NoError(t, pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE datname = current_database()
			AND wait_event_type = 'Lock' AND query LIKE '%pg_advisory_xact_lock%payee-id%')`).Scan(&waiting))
	}
	close(release)
	require.NoError(t, <-first)
	require.ErrorIs(t, <-second, store.ErrPayeeIDTaken)
	_, err := s.GetPayee(ctx, c+"-KIM")
	require.ErrorIs(t, err, store.ErrNotFound)
}
