package stack

import (
	"context"
	"net/http"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"paysplit/internal/split"
)

// Books is what Check found.
type Books struct {
	Workflows      int
	Transfers      int
	Reversals      int
	DoublePayments int   // keys that moved money twice, or payees sent more than their legs say
	MoneyLost      int64 // minor units unaccounted for between provider, payees and the books
}

// Check verifies the invariants every fault scenario ends with:
//   - every acknowledged webhook has exactly one workflow execution;
//   - per payment, what the provider transferred net of reversals equals the payee legs'
//     transferred minus reversed;
//   - every journal entry balances;
//   - no idempotency key was used for two different amounts.
func (s *Stack) Check() Books {
	t := s.T
	t.Helper()
	ctx := context.Background()
	var b Books
	s.mu.Lock()
	ids := make([]string, 0, len(s.accepted))
	for id := range s.accepted {
		ids = append(ids, id)
	}
	s.mu.Unlock()
	for _, id := range ids {
		assert.Equal(t, 1, s.Runs(id), "workflow executions of %s", id)
		b.Workflows++
	}

	sent := map[string]int64{} // workflow ID -> net transferred at the provider
	for _, tr := range s.Stripe.Transfers() {
		sent[tr.Metadata["workflow_id"]] += tr.Amount - tr.AmountReversed
		b.Transfers++
		b.Reversals += len(tr.Reversals)
		if tr.AmountReversed > tr.Amount {
			b.DoublePayments++ // reversed more than was sent
		}
	}
	for _, id := range ids {
		rec, err := s.Store.GetPayment(ctx, id)
		if err != nil {
			continue // acknowledged but not yet stored: the Runs check speaks for it
		}
		var legs int64
		for _, l := range rec.Legs {
			if l.Party != split.PartyPlatform {
				legs += l.Transferred - l.Reversed
				if l.Transferred-l.Reversed > l.Amount {
					b.DoublePayments++
				}
			}
		}
		if rec.Provider == "stripe" && !assert.Equal(t, legs, sent[id], "%s: provider transfers vs legs", id) {
			if d := sent[id] - legs; d > 0 {
				b.DoublePayments++
			} else {
				b.MoneyLost += -d
			}
		}
		balances := map[string]int64{}
		entries, err := s.Ledger.EntriesByReference(ctx, id)
		require.NoError(t, err)
		for _, e := range entries {
			for _, p := range e.Postings {
				balances[p.Account] += p.Amount
			}
		}
		// What stayed in the provider balance is the gross less its fee, refunds and what the
		// payees got. Stripe's fee is the one the proxy answered; PayPal's came in its event.
		if rec.Split() {
			fee := rec.Fee
			if rec.Provider == "stripe" {
				fee = s.Stripe.ChargeFee(rec.ChargeID)
			}
			want := rec.Gross - fee + rec.FeeReturned - s.disputeFeesOf(id) - rec.Refunded - legs
			if got := balances["provider:"+rec.Provider]; !assert.Equal(t, want, got, "%s: provider balance in the books", id) {
				b.MoneyLost += abs(want - got)
			}
		}
	}

	unbalanced, err := s.Ledger.Unbalanced(ctx)
	require.NoError(t, err)
	assert.Empty(t, unbalanced, "journal entries that do not balance")

	amounts := map[string]string{}
	for _, c := range s.Stripe.Calls(http.MethodPost, "") {
		if c.IdempotencyKey == "" {
			continue
		}
		if prev, ok := amounts[c.IdempotencyKey]; ok && prev != c.Form.Get("amount") {
			t.Errorf("idempotency key %s used for amounts %s and %s", c.IdempotencyKey, prev, c.Form.Get("amount"))
			b.DoublePayments++
		}
		amounts[c.IdempotencyKey] = c.Form.Get("amount")
	}
	return b
}

// disputeFeesOf is what the dispute events acknowledged for a payment said its disputes cost in fees.
func (s *Stack) disputeFeesOf(id string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var sum int64
	for _, fee := range s.disputeFees[id] {
		sum += fee
	}
	return sum
}

func abs(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}
