package faults

import (
	"context"
	"net/http"
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

// refundOf is the charge.refunded event of payment intent pi, refunded in all so far.
func refundOf(pi, eventID string, refunded int64) stripeevent.Refund {
	return stripeevent.Refund{EventID: eventID, PaymentIntent: pi, Charge: "ch_" + pi, Currency: "usd",
		Amount: 11000, AmountRefunded: refunded, Created: time.Now()}
}

// restorePoint is a payment's row as a restore to some point brings it back: its record and
// when it was saved (updated_at, which the check against the last run reads).
type restorePoint struct {
	ipayment.Record
	savedAt time.Time
}

// restore puts the payment's row back as it was at p, as a point-in-time restore does.
func (p restorePoint) restore(t *testing.T, s *stack.Stack) {
	t.Helper()
	require.NoError(t, s.Store.SavePayment(context.Background(), p.Record))
	_, err := s.Pool.Exec(context.Background(), `UPDATE payments SET updated_at = $2 WHERE workflow_id = $1`, p.WorkflowID, p.savedAt)
	require.NoError(t, err)
}

// paidBeforeRestore pays a payment of a new client (its run completed) and returns its stored
// row as it is then: what a restore to that point brings back.
func paidBeforeRestore(t *testing.T, settings payment.Settings, client string) (s *stack.Stack, pi, id string, stored restorePoint) {
	t.Helper()
	s = stack.New(t, stack.Options{Settings: settings})
	s.Seed(client)
	pi = "pi_" + client + "1"
	id = payment.WorkflowID("stripe", pi)
	deliver(t, s, stack.Capture(client, pi).Body(), 1)
	s.AwaitStatus(id, 30*time.Second, ipayment.StatusPaid)
	awaitRuns(t, s, id, 1)
	rec, at, err := s.Store.GetPaymentSaved(context.Background(), id)
	require.NoError(t, err)
	return s, pi, id, restorePoint{Record: rec, savedAt: at}
}

// restoreThenRefundAgain puts the stored record back to before (the restore), has the charge
// refunded 3300 in all, and checks that Stripe took back from each payee its share of 3300 once,
// whatever the erased first refund (1100) had taken. It returns the last run's record.
func restoreThenRefundAgain(t *testing.T, s *stack.Stack, pi, id string, before restorePoint, runs int) ipayment.Record {
	t.Helper()
	reversedFirst := reversedAtStripe(s, id)
	before.restore(t, s)
	deliver(t, s, refundOf(pi, "evt_"+pi+"_re2", 3300).Body(), 1)
	final := awaitRuns(t, s, id, runs)
	require.EqualValues(t, 3300, final.Refunded)
	atStripe := reversedAtStripe(s, id)
	t.Logf("reversed at Stripe after the first refund %v, after the second %v", reversedFirst, atStripe)
	for _, l := range final.Legs {
		if l.Party == "platform" {
			continue
		}
		require.Equal(t, l.Refunded, atStripe[l.Name()], "leg %s: Stripe took back its share of 3300 once, no more", l.Name())
		require.Greater(t, l.Refunded, reversedFirst[l.Name()], "leg %s: the second refund took its own share", l.Name())
	}
	return final
}

// TestRefundAfterPostgresRestoreTakesBackOnlyItsOwnShare: Postgres is restored to a point before
// a refund its follow-up run applied (the payments row as it was then), while Temporal kept the
// run. A second refund's run then resumed from the stored record, which knew nothing of the
// first, and took the first refund's share from the payees again with a new key. It resumes from
// the last run's record now, which Temporal kept: each refund is taken back once.
func TestRefundAfterPostgresRestoreTakesBackOnlyItsOwnShare(t *testing.T) {
	s, pi, id, beforeRefund := paidBeforeRestore(t, closing, "pitr")
	deliver(t, s, refundOf(pi, "evt_pitr_re1", 1100).Body(), 1)
	afterFirst := awaitRuns(t, s, id, 2)
	require.EqualValues(t, 1100, afterFirst.Refunded)

	final := restoreThenRefundAgain(t, s, pi, id, beforeRefund, 3)
	stored, err := s.Store.GetPayment(context.Background(), id)
	require.NoError(t, err)
	require.Equal(t, final.Refunded, stored.Refunded, "the follow-up run put the stored record right")
	require.Len(t, s.Stripe.Transfers(), 2)
}

// TestCorrectionRedoneAfterPostgresRestorePaysItsTopUpOnce: Postgres is restored to before an
// admin's correction of a paid payment (its run closed), and the admin, seeing the payment on
// its old rule, corrects it to the same version again a day later. The follow-up run resumed
// from the stored record and sent the top-up again under the first one's key, which Stripe had
// forgotten: the vendor was paid its top-up twice. It resumes from the last run's record now,
// which says the payment is on that version already: the correction is refused, nothing sent.
func TestCorrectionRedoneAfterPostgresRestorePaysItsTopUpOnce(t *testing.T) {
	s, _, id, beforeCorrection := paidBeforeRestore(t, closing, "pitrfix")
	correctToV2(t, s, "pitrfix", id)
	corrected := awaitRuns(t, s, id, 2)
	require.Equal(t, 2, corrected.RuleVersion)
	transfers := len(s.Stripe.Transfers())
	require.Equal(t, 3, transfers, "two payouts and the vendor's top-up")

	beforeCorrection.restore(t, s) // the restore
	s.Stripe.ForgetKeys()          // a day later
	code, out := s.Do(http.MethodPost, "/api/v1/admin/payments/"+id+"/correct", map[string]any{"rule_version": 2}, stack.AdminKey)
	require.Equal(t, http.StatusAccepted, code, out)
	final := awaitRuns(t, s, id, 3)
	require.Equal(t, transfers, len(s.Stripe.Transfers()), "the top-up was paid once")
	require.Equal(t, 2, final.RuleVersion)
	stored, err := s.Store.GetPayment(context.Background(), id)
	require.NoError(t, err)
	require.Equal(t, 2, stored.RuleVersion, "the run put the stored record right")
}
