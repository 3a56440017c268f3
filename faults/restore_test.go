package faults

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	ipayment "paysplit/internal/payment"
	"paysplit/internal/stripeevent"
	"paysplit/testenv/stack"
	"paysplit/workflows/payment"
)

// closing settles each run as soon as it is paid: every later refund starts a follow-up run that
// resumes from the stored record.
var closing = payment.Settings{SettleWindow: 0, StripeAttempts: 10, StripeRetryInterval: 100 * time.Millisecond}

// reversedAtStripe sums what Stripe took back from the payment's transfers, by leg name.
func reversedAtStripe(s *stack.Stack, id string) map[string]int64 {
	out := map[string]int64{}
	for _, tr := range s.Stripe.Transfers() {
		if tr.Metadata["workflow_id"] == id {
			out[tr.Metadata["party"]+"-"+tr.Metadata["payee_id"]] += tr.AmountReversed
		}
	}
	return out
}

// awaitRuns waits for the payment's n-th run and returns its result once it completed.
func awaitRuns(t *testing.T, s *stack.Stack, id string, n int) ipayment.Record {
	t.Helper()
	require.Eventually(t, func() bool { return s.Runs(id) >= n }, 30*time.Second, 100*time.Millisecond, "run %d of %s", n, id)
	return s.Result(id)
}

// TestRefundAfterPostgresRestoreTakesBackOnlyItsOwnShare: Postgres is restored to a point before
// a refund its follow-up run applied (the payments row as it was then), while Temporal kept the
// run. A second refund's run then resumed from the stored record, which knew nothing of the
// first, and took the first refund's share from the payees again with a new key. It resumes from
// the last completed run's result now, which Temporal kept: each refund is taken back once.
func TestRefundAfterPostgresRestoreTakesBackOnlyItsOwnShare(t *testing.T) {
	ctx := context.Background()
	s := stack.New(t, stack.Options{Settings: closing})
	s.Seed("pitr")
	pi := "pi_pitr1"
	id := payment.WorkflowID("stripe", pi)
	deliver(t, s, stack.Capture("pitr", pi).Body(), 1)
	s.AwaitStatus(id, 30*time.Second, ipayment.StatusPaid)
	awaitRuns(t, s, id, 1)
	beforeRefund, err := s.Store.GetPayment(ctx, id)
	require.NoError(t, err)

	first := stripeevent.Refund{EventID: "evt_pitr_re1", PaymentIntent: pi, Charge: "ch_" + pi, Currency: "usd",
		Amount: 11000, AmountRefunded: 1100, Created: time.Now()}
	deliver(t, s, first.Body(), 1)
	afterFirst := awaitRuns(t, s, id, 2)
	require.EqualValues(t, 1100, afterFirst.Refunded)
	reversedFirst := reversedAtStripe(s, id)

	// The restore: the payment's row as it was before the refund.
	require.NoError(t, s.Store.SavePayment(ctx, beforeRefund))

	second := stripeevent.Refund{EventID: "evt_pitr_re2", PaymentIntent: pi, Charge: "ch_" + pi, Currency: "usd",
		Amount: 11000, AmountRefunded: 3300, Created: time.Now()}
	deliver(t, s, second.Body(), 1)
	final := awaitRuns(t, s, id, 3)
	require.EqualValues(t, 3300, final.Refunded)

	stored, err := s.Store.GetPayment(ctx, id)
	require.NoError(t, err)
	require.Equal(t, final.Refunded, stored.Refunded, "the follow-up run put the stored record right")
	atStripe := reversedAtStripe(s, id)
	t.Logf("reversed at Stripe after the first refund %v, after the second %v", reversedFirst, atStripe)
	for _, l := range final.Legs {
		if l.Party == "platform" {
			continue
		}
		require.Equal(t, l.Refunded, atStripe[l.Name()], "leg %s: Stripe took back its share of 3300 once, no more", l.Name())
		require.Greater(t, l.Refunded, reversedFirst[l.Name()], "leg %s: the second refund took its own share", l.Name())
	}
	require.Len(t, s.Stripe.Transfers(), 2)
}
