package ledger_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"paysplit/internal/ledger"
)

// TestVerifyFindsAnEntryThatDoesNotBalance: the schema refuses an entry that does not balance
// (fewer than two postings, a sum other than zero) at commit; one appended while those checks
// were switched off is linked into the chain like any other, with the content hash of what it
// holds. Verify walks every posting and called such a journal intact: a chain that proves
// nothing was edited, over books that do not balance.
func TestVerifyFindsAnEntryThatDoesNotBalance(t *testing.T) {
	tests := []struct {
		name       string
		postings   []ledger.Posting
		wantReason string
	}{
		{"postings that do not sum to zero", []ledger.Posting{{Account: "provider:stripe", Amount: 1000}, {Account: "platform:revenue", Amount: -900}},
			"postings sum to 100 instead of 0"},
		{"a single posting", []ledger.Posting{{Account: "provider:stripe", Amount: 1000}}, "has 1 posting(s), at least 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, pool := ownLedger(t)
			ctx := t.Context()
			before, _, err := l.Post(ctx, sale(unique("k"), "", "v", 100, 10))
			require.NoError(t, err)

			e := ledger.Entry{IdempotencyKey: unique("unbalanced"), Currency: "usd", Postings: tt.postings}
			var planted int64
			err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
				for _, stmt := range []string{
					"ALTER TABLE journal_entries DISABLE TRIGGER journal_entries_balanced",
					"ALTER TABLE postings DISABLE TRIGGER postings_balanced",
				} {
					if _, err := tx.Exec(ctx, stmt); err != nil {
						return err
					}
				}
				if err := tx.QueryRow(ctx, `INSERT INTO journal_entries (idempotency_key, currency, content_hash)
					VALUES ($1, $2, $3) RETURNING id`, e.IdempotencyKey, string(e.Currency), ledger.ContentHash(e)).Scan(&planted); err != nil {
					return err
				}
				for _, p := range e.Postings {
					if _, err := tx.Exec(ctx, `INSERT INTO postings (entry_id, account, amount) VALUES ($1, $2, $3)`, planted, p.Account, p.Amount); err != nil {
						return err
					}
				}
				for _, stmt := range []string{
					"ALTER TABLE journal_entries ENABLE TRIGGER journal_entries_balanced",
					"ALTER TABLE postings ENABLE TRIGGER postings_balanced",
				} {
					if _, err := tx.Exec(ctx, stmt); err != nil {
						return err
					}
				}
				return nil
			})
			skipUnlessOwner(t, err)
			require.NoError(t, err)
			unbalanced, err := l.Unbalanced(context.Background())
			require.NoError(t, err)
			require.Equal(t, []int64{planted}, unbalanced, "the books do not balance")

			v, err := l.Verify(ctx)
			require.NoError(t, err)
			assert.False(t, v.OK, "verified intact: %+v", v)
			require.NotNil(t, v.Break)
			assert.Equal(t, planted, v.Break.EntryID, "reported at: %s", v.Break.Reason)
			assert.Contains(t, v.Break.Reason, tt.wantReason)
			assert.EqualValues(t, 1, v.Entries, "the entry before it is intact")
			assert.Equal(t, &ledger.ChainLink{EntryID: before.ID, Hash: before.Hash}, v.Head)
		})
	}
}

// TestVerifyFindsAReversalThatDoesNotUndoItsEntry: a reversal must negate the entry it reverses,
// in its currency, and a reversal cannot be reversed; the schema refuses anything else when it is
// appended. One appended with those checks switched off (here it books the movement a second time
// instead of undoing it) is linked into the chain like any other, and Verify called it intact.
func TestVerifyFindsAReversalThatDoesNotUndoItsEntry(t *testing.T) {
	tests := []struct {
		name       string
		reversal   func(orig, rev ledger.Entry) ledger.Entry
		wantReason string
	}{
		{"books the movement again", func(orig, _ ledger.Entry) ledger.Entry {
			return ledger.Entry{IdempotencyKey: unique("again"), Currency: orig.Currency, ReversesID: orig.ID, Postings: orig.Postings}
		}, "does not negate the postings of entry"},
		{"in another currency", func(orig, _ ledger.Entry) ledger.Entry {
			e := ledger.Entry{IdempotencyKey: unique("eur"), Currency: "eur", ReversesID: orig.ID}
			for _, p := range orig.Postings {
				e.Postings = append(e.Postings, ledger.Posting{Account: p.Account, Amount: -p.Amount})
			}
			return e
		}, "is in eur, entry"},
		{"reverses a reversal", func(_, rev ledger.Entry) ledger.Entry {
			e := ledger.Entry{IdempotencyKey: unique("revrev"), Currency: rev.Currency, ReversesID: rev.ID}
			for _, p := range rev.Postings {
				e.Postings = append(e.Postings, ledger.Posting{Account: p.Account, Amount: -p.Amount})
			}
			return e
		}, "is itself a reversal"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, pool := ownLedger(t)
			ctx := t.Context()
			orig, _, err := l.Post(ctx, sale(unique("k"), "", "v", 100, 10))
			require.NoError(t, err)
			other, _, err := l.Post(ctx, sale(unique("k"), "", "v", 200, 20))
			require.NoError(t, err)
			rev, _, err := l.Reverse(ctx, other.ID, unique("rev"), "")
			require.NoError(t, err)
			before := requireIntact(t, l)

			e := tt.reversal(orig, rev)
			var planted int64
			err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
				checks := []string{"journal_entries_balanced", "journal_entries_check_reversal"}
				for _, c := range checks {
					if _, err := tx.Exec(ctx, "ALTER TABLE journal_entries DISABLE TRIGGER "+c); err != nil {
						return err
					}
				}
				if _, err := tx.Exec(ctx, "ALTER TABLE postings DISABLE TRIGGER postings_balanced"); err != nil {
					return err
				}
				if err := tx.QueryRow(ctx, `INSERT INTO journal_entries (idempotency_key, currency, reverses_id, content_hash)
					VALUES ($1, $2, $3, $4) RETURNING id`, e.IdempotencyKey, string(e.Currency), e.ReversesID, ledger.ContentHash(e)).Scan(&planted); err != nil {
					return err
				}
				for _, p := range e.Postings {
					if _, err := tx.Exec(ctx, `INSERT INTO postings (entry_id, account, amount) VALUES ($1, $2, $3)`, planted, p.Account, p.Amount); err != nil {
						return err
					}
				}
				for _, c := range checks {
					if _, err := tx.Exec(ctx, "ALTER TABLE journal_entries ENABLE TRIGGER "+c); err != nil {
						return err
					}
				}
				_, err := tx.Exec(ctx, "ALTER TABLE postings ENABLE TRIGGER postings_balanced")
				return err
			})
			skipUnlessOwner(t, err)
			require.NoError(t, err)

			v, err := l.Verify(ctx)
			require.NoError(t, err)
			assert.False(t, v.OK, "verified intact: %+v", v)
			require.NotNil(t, v.Break)
			assert.Equal(t, planted, v.Break.EntryID, "reported at: %s", v.Break.Reason)
			assert.Contains(t, v.Break.Reason, tt.wantReason)
			assert.Equal(t, before.Head, v.Head, "the entries before it are intact")
		})
	}
}
