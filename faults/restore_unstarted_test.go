package faults

import (
	"context"
	"log/slog"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	ipayment "paysplit/internal/payment"
	"paysplit/testenv/stack"
	"paysplit/workflows/payment"
)

// logged records the messages logged through slog's default logger while a test runs.
type logged struct {
	slog.Handler
	mu   sync.Mutex
	msgs []string
}

func logMessages(t *testing.T) *logged {
	// Not the default handler: it writes through package log, which SetDefault sends back here.
	l := &logged{Handler: slog.NewTextHandler(os.Stderr, nil)}
	prev := slog.Default()
	slog.SetDefault(slog.New(l))
	t.Cleanup(func() { slog.SetDefault(prev) })
	return l
}

func (l *logged) Handle(ctx context.Context, r slog.Record) error {
	l.mu.Lock()
	l.msgs = append(l.msgs, r.Message)
	l.mu.Unlock()
	return l.Handler.Handle(ctx, r)
}

func (l *logged) has(msg string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Contains(l.msgs, msg)
}

// TestRestoreAfterARunTerminatedInItsFirstTaskTakesEachRefundOnce: a refund's follow-up run
// took the refund's share back and saved it in local steps of its first workflow task, and was
// terminated before that task completed (an operator during an incident; under load the task
// is still open a while after the save). Temporal recorded nothing of those steps and answers no
// query of the run ("Workflow execution closed before WorkflowTaskStarted event"), so the check
// against the last run fell back to the last completed run, which knew nothing of the refund:
// after a Postgres restore to before the refund, the next refund's run took the first refund's
// share back from the payees again. The next run's first step now fails, and is retried, as the
// store was saved before the terminated run's task started, until an admin puts the stored record
// right; then it takes the second refund's own share only. The run's task is held open here by a lock on the orders
// table, which the save step reads after the payment's row committed; the worker is stopped
// before the lock goes, so the step is not retried (and saved again) after the restore.
func TestRestoreAfterARunTerminatedInItsFirstTaskTakesEachRefundOnce(t *testing.T) {
	ctx := context.Background()
	logs := logMessages(t)
	settings := closing
	settings.SettleWindow = time.Second
	s := stack.New(t, stack.Options{Settings: settings, NoWorker: true})
	w := stoppableWorker(t, s)
	s.Seed("pitrwft")
	pi := "pi_pitrwft1"
	id := payment.WorkflowID("stripe", pi)
	deliver(t, s, stack.Capture("pitrwft", pi).Body(), 1)
	s.AwaitStatus(id, 30*time.Second, ipayment.StatusPaid)
	awaitRuns(t, s, id, 1)
	rec, at, err := s.Store.GetPaymentSaved(ctx, id)
	require.NoError(t, err)
	beforeRefund := restorePoint{Record: rec, savedAt: at}

	lock, err := s.Pool.Begin(ctx)
	require.NoError(t, err)
	defer func() { _ = lock.Rollback(ctx) }()
	_, err = lock.Exec(ctx, `LOCK TABLE orders IN ACCESS EXCLUSIVE MODE`)
	require.NoError(t, err)

	deliver(t, s, refundOf(pi, "evt_pitrwft_re1", 1100).Body(), 1)
	require.Eventually(t, func() bool { return s.Runs(id) >= 2 }, 30*time.Second, 100*time.Millisecond)
	afterFirst := s.AwaitStatus(id, 30*time.Second, ipayment.StatusPartiallyRefunded)
	require.NoError(t, s.Temporal.TerminateWorkflow(ctx, id, "", "operator during the incident"))
	_, err = s.Temporal.QueryWorkflow(ctx, id, "", payment.QuerySaved)
	require.ErrorContains(t, err, "closed before WorkflowTaskStarted", "the run closed before any task of it completed")
	w.Stop()
	require.NoError(t, lock.Rollback(ctx))

	s.Stripe.ForgetKeys() // the restore, and the next refund, a day later
	stoppableWorker(t, s)
	reversedFirst := reversedAtStripe(s, id)
	beforeRefund.restore(t, s)
	deliver(t, s, refundOf(pi, "evt_pitrwft_re2", 3300).Body(), 1)
	require.Eventually(t, func() bool {
		return logs.has("what the payment's last run did cannot be told (Postgres restored?): the step waits for an admin")
	}, 30*time.Second, 100*time.Millisecond, "the next run waits for an admin")
	require.Equal(t, reversedFirst, reversedAtStripe(s, id), "nothing taken back while the run waits")

	// The admin reads at Stripe what the terminated run took back and puts the stored record right.
	require.NoError(t, s.Store.SavePayment(ctx, afterFirst))
	final := awaitRuns(t, s, id, 3)
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
}
