package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"paysplit/internal/money"
	"paysplit/internal/payment"
	"paysplit/internal/store"
)

// TestTextPostgresRefusesIsInvalid: a NUL character Postgres refuses to store (in text, 22021;
// as \u0000 in jsonb, 22P05) comes back as ErrInvalid from every kind of store call (a statement,
// a query, a row, inside InTx, inside the store's own transactions), still carrying the
// Postgres error, so the API answers 400 rather than 500.
func TestTextPostgresRefusesIsInvalid(t *testing.T) {
	pool, s, queue := inboxOf(t, "nul")
	ctx := t.Context()
	client := newClient(t, s, "nul")
	tests := []struct {
		name   string
		call   func() error
		sqlErr string
	}{
		// Names (a client's, a key's) are refused before Postgres (store.ValidName, no control
		// characters); a key's creator is not checked and reaches it.
		{"API key created by an actor with NUL", func() error {
			_, _, err := s.CreateAPIKey(ctx, store.RoleClient, client, "key", "admin:\x00")
			return err
		}, "22021"},
		{"read a client by an ID with NUL", func() error { _, err := s.GetClient(ctx, "a\x00"); return err }, "22021"},
		{"audit filtered by an actor with NUL", func() error {
			_, err := s.ListAudit(ctx, store.AuditFilter{Actor: "admin:\x00"})
			return err
		}, "22021"},
		{"inside InTx", func() error {
			return s.InTx(ctx, func(tx *store.Store) error {
				_, _, err := tx.CreateAPIKey(ctx, store.RoleClient, client, "key", "\x00")
				return err
			})
		}, "22021"},
		{"inside the store's own transaction", func() error {
			return s.SaveOrder(ctx, payment.Order{ClientID: client, OrderID: "o1", VendorID: "v1", Platform: "shopify", Currency: money.Currency("usd"), Subtotal: 1}, "paid\x00")
		}, "22021"},
		{"inbox event ID with NUL", func() error {
			_, _, err := s.AcceptEvent(ctx, store.InboxEvent{Provider: "stripe", EventID: "evt_\x00", PaymentID: "pi", TaskQueue: queue, Event: json.RawMessage(`{}`)}, 0)
			return err
		}, "22021"},
		{"inbox event whose JSON has \\u0000", func() error {
			_, _, err := s.AcceptEvent(ctx, store.InboxEvent{Provider: "stripe", EventID: queue + "-json", PaymentID: "pi", TaskQueue: queue, Event: json.RawMessage(`{"ID":"a\u0000"}`)}, 0)
			return err
		}, "22P05"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			require.ErrorIs(t, err, store.ErrInvalid)
			require.Contains(t, err.Error(), "NUL")
			var pgErr *pgconn.PgError
			require.ErrorAs(t, err, &pgErr, "the Postgres error is kept")
			require.Equal(t, tt.sqlErr, pgErr.Code)
		})
	}
	c, err := s.GetClient(ctx, client)
	require.NoError(t, err)
	require.Equal(t, "Shop "+client, c.Name, "nothing was changed")
	var events int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM webhook_inbox WHERE task_queue = $1`, queue).Scan(&events))
	require.Zero(t, events)

	other := fmt.Errorf("wrapped: %w", &pgconn.PgError{Code: "23505"})
	require.Same(t, other, store.InvalidInput(other), "other Postgres errors are left as they are")
	require.NoError(t, store.InvalidInput(nil))
}

// TestInboxWriterRefusesOnlyTheEventPostgresRefuses: an event Postgres cannot store fails the
// statement it shares with other requests' events; those are stored all the same, and only that
// event is refused (ErrInvalid).
func TestInboxWriterRefusesOnlyTheEventPostgresRefuses(t *testing.T) {
	pool, s, queue := inboxOf(t, "writer-nul")
	ctx := context.Background()
	w := s.NewInboxWriter(1, 64, 0)
	defer w.Close()
	const n, bad = 200, 17
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			raw := json.RawMessage(`{}`)
			if i == bad {
				raw = json.RawMessage(`{"ID":"\u0000"}`)
			}
			_, _, errs[i] = w.Accept(ctx, store.InboxEvent{Provider: "stripe", EventID: fmt.Sprintf("%s-%d", queue, i), PaymentID: "pi", TaskQueue: queue, Event: raw}, 0)
		})
	}
	wg.Wait()
	for i, err := range errs {
		if i == bad {
			assert.ErrorIs(t, err, store.ErrInvalid, "event %d", i)
			continue
		}
		assert.NoError(t, err, "event %d", i)
	}
	var stored int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM webhook_inbox WHERE task_queue = $1`, queue).Scan(&stored))
	require.Equal(t, n-1, stored)
}
