package ledger_test

import (
	"crypto/rand"
	"encoding/hex"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"paysplit/internal/ledger"
)

func incompressible(n int) string {
	b := make([]byte, n/2)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// an entry Postgres can never store (an account, key or reference longer than a btree
// index row may be) is malformed input: it must come back as ErrInvalidEntry, which the payment
// activities treat as permanent, not as a raw database error they retry for ever.
func TestOversizedFieldsAreInvalidEntries(t *testing.T) {
	l := newLedger(t)
	ctx := t.Context()
	for name, mutate := range map[string]func(e *ledger.Entry){
		"account":   func(e *ledger.Entry) { e.Postings[0].Account = "vendor_payable:" + incompressible(4000) },
		"key":       func(e *ledger.Entry) { e.IdempotencyKey = incompressible(4000) },
		"reference": func(e *ledger.Entry) { e.Reference = incompressible(4000) },
	} {
		t.Run(name, func(t *testing.T) {
			e := sale(unique("k"), unique("ref"), "v", 1000, 100)
			mutate(&e)
			_, created, err := l.Post(ctx, e)
			require.Error(t, err)
			assert.False(t, created)
			assert.ErrorIs(t, err, ledger.ErrInvalidEntry, "got %v", err)
		})
	}
}
