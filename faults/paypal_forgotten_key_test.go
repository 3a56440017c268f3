package faults

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	ipayment "paysplit/internal/payment"
	"paysplit/internal/store"
	"paysplit/testenv"
	"paysplit/testenv/stack"
	"paysplit/workflows/payment"
)

// TestWorkerKilledMidPayoutThenPayPalForgotTheKey: the vendor's payout reaches PayPal and the
// worker dies before it hears back, in the workflow task that sent it (a local activity: nothing
// in the run's history says the key was sent, so the run's own guard, leg.SentAt, dates the send
// again). No worker comes back for over 30 days, so PayPal has forgotten the sender_batch_id, and
// it has no lookup by it. The next worker replays the run and sends the payout again, not asked:
// the activity's record of the key's first send says PayPal may have forgotten it, and the leg
// ends in doubt for an admin instead of PayPal paying the vendor a second time; the admin names
// the batch PayPal made and the run books it.
func TestWorkerKilledMidPayoutThenPayPalForgotTheKey(t *testing.T) {
	k := killedMidPayPalPayout(t, "ppforgot", "PPFORGOTVEND1")
	s, id, held := k.s, k.id, k.held
	// 30 days later: PayPal forgot the key, and the record of its first send is as old.
	_, err := s.Pool.Exec(context.Background(), `UPDATE stripe_key_sends SET first_sent_at = now() - interval '30 days' WHERE key = $1`, held.SenderBatchID)
	require.NoError(t, err)

	second := testenv.StartWorker(t, s.WorkerEnv())
	// Paid only by paying twice: waited for too, so the test says so rather than time out.
	rec := s.AwaitStatus(id, 60*time.Second, ipayment.StatusPayoutFailed, ipayment.StatusPaid)
	k.paidOnce(t, "the run back")
	k.inDoubt(t, rec, second.Log())
	require.Contains(t, rec.Leg("vendor").Reason, "in doubt")
	k.resolvedWithTheBatchMade(t)
}

// killedMidPayPal is a PayPal payment whose vendor payout reached PayPal as the worker that sent
// it died, PayPal having since forgotten the key; no worker runs.
type killedMidPayPal struct {
	s      *stack.Stack
	id     string
	held   testenv.PayPalPayout // the payout PayPal made under the key
	events int
}

// killedMidPayPalPayout seeds client with a PayPal vendor and affiliate, has a capture split,
// blocks the vendor's payout at PayPal (made) and kills the worker there.
func killedMidPayPalPayout(t *testing.T, client, vendorReceiver string) killedMidPayPal {
	t.Helper()
	settings := open
	settings.PayoutTimeout = 3 * time.Second
	// The refusal of a forgotten key is retried (the retries refuse again without asking PayPal)
	// until the last attempt: from code path 21 every one of StripeAttempts, with backoff, where
	// the retries stopped once PayoutTimeout had passed. Three keep the test within its waits.
	settings.StripeAttempts = 3
	s := stack.New(t, stack.Options{Settings: settings, NoWorker: true, PayPal: true})
	s.SeedPayPal(client, vendorReceiver, client+"-aff@example.com")
	capture := strings.ToUpper(client) + "-" + strconv.FormatInt(time.Now().UnixNano(), 36) // Temporal outlives the test
	id := payment.WorkflowID("paypal", capture)
	s.PayPal.IgnoreRequestIDs = true // only sender_batch_id stops a payout made twice

	arrived, release := make(chan testenv.PayPalPayout, 1), make(chan struct{})
	var once sync.Once
	s.PayPal.PayoutMade = func(p testenv.PayPalPayout) {
		if strings.HasPrefix(p.SenderBatchID, id+"/transfer/vendor-") {
			once.Do(func() {
				arrived <- p
				<-release
			})
		}
	}
	first := testenv.StartWorker(t, s.WorkerEnv())
	events := deliverPayPal(t, s, stack.PayPalCapture(client, capture, false).Body(), 1)
	var held testenv.PayPalPayout
	select {
	case held = <-arrived:
	case <-time.After(60 * time.Second):
		t.Fatalf("the vendor's payout never reached PayPal; worker log:\n%s", first.Log())
	}
	first.Kill(t)
	close(release)
	s.PayPal.ForgetKeys()
	return killedMidPayPal{s: s, id: id, held: held, events: events}
}

// paidOnce: PayPal made one payout under the vendor's key, not a second after it forgot the key.
func (k killedMidPayPal) paidOnce(t *testing.T, when string) {
	t.Helper()
	var made []string
	for _, p := range k.s.PayPal.Payouts() {
		if p.SenderBatchID == k.held.SenderBatchID {
			made = append(made, p.BatchID)
		}
	}
	require.Len(t, made, 1, "%s: one payout under %s at PayPal, not a second after it forgot the key", when, k.held.SenderBatchID)
}

// inDoubt: the payment waits for an admin with the vendor's payout in doubt under its key.
func (k killedMidPayPal) inDoubt(t *testing.T, rec ipayment.Record, log string) {
	t.Helper()
	require.Equal(t, ipayment.StatusPayoutFailed, rec.Status, "waits for an admin")
	vendor := rec.Leg("vendor")
	require.True(t, vendor.InDoubt(k.id), "the vendor's payout is in doubt, its key kept: %+v\nworker log:\n%s", vendor, log)
	require.Equal(t, k.held.SenderBatchID, vendor.TransferKey)
	require.Zero(t, vendor.Transferred, "nothing booked as paid before an admin says so")
}

// resolvedWithTheBatchMade: the admin looks the payout up in PayPal and names its batch; the run
// checks it and books it, and the payment ends paid with the books balanced.
func (k killedMidPayPal) resolvedWithTheBatchMade(t *testing.T) {
	t.Helper()
	code, out := k.s.Do(http.MethodPost, "/api/v1/admin/payments/"+k.id+"/resolve",
		map[string]any{"party": "vendor", "made": true, "provider_ref": k.held.BatchID}, stack.AdminKey)
	require.Less(t, code, 300, out)
	rec := k.s.AwaitStatus(k.id, 60*time.Second, ipayment.StatusPaid)
	require.Equal(t, k.held.ItemID, rec.Leg("vendor").TransferID, "the payout made before the kill is the one booked")
	require.Equal(t, rec.Leg("vendor").Amount, rec.Leg("vendor").Transferred)
	finish(t, k.s, k.events, 1, 1)
}

// TestPayPalKeyInDoubtOutlivesItsRecordsKeep: as TestWorkerKilledMidPayoutThenPayPalForgotTheKey,
// the vendor's payout reaches PayPal, the worker dies in the workflow task that sent it, and
// PayPal forgets the sender_batch_id before a worker comes back. Records of first sends are
// pruned once 90 days old (store.KeySendKeep), but the key is sent again after that: by the run a
// worker comes back to after 100 days, the retention having run first; or by an admin's retry of
// the leg left in doubt when the run came back after 70 days (its history dates the key's send
// then, so the run's own 29-day guard lets the retry through), the retention having run at day 91.
// Either way the payment is not finished, so the record must still say the key went out: the leg
// stays in doubt for an admin, not paid a second time as a new payout.
func TestPayPalKeyInDoubtOutlivesItsRecordsKeep(t *testing.T) {
	for _, tt := range []struct {
		name      string
		outage    time.Duration // how long after its first send the run sends the key again
		retriedAt time.Duration // when an admin retries it, after the retention ran (0: no retry)
	}{
		{"run back after 100 days", 100 * 24 * time.Hour, 0},
		{"admin retry at day 91 of a run back after 70 days", 70 * 24 * time.Hour, 91 * 24 * time.Hour},
	} {
		t.Run(tt.name, func(t *testing.T) {
			k := killedMidPayPalPayout(t, "ppkeep", "PPKEEPVENDOR1")
			s, id, held := k.s, k.id, k.held
			ctx := context.Background()
			age := func(d time.Duration) {
				t.Helper()
				_, err := s.Pool.Exec(ctx, `UPDATE stripe_key_sends SET first_sent_at = now() - make_interval(secs => $2) WHERE key = $1`,
					held.SenderBatchID, d.Seconds())
				require.NoError(t, err)
			}
			prune := func() {
				t.Helper()
				for {
					n, err := s.Store.PruneBatch(ctx, store.PruneKeySends, time.Now(), 100)
					require.NoError(t, err)
					if n < 100 {
						return
					}
				}
			}
			age(tt.outage)
			if tt.retriedAt == 0 {
				prune() // the retention runs as the workers come back, before the run sends again
			}
			second := testenv.StartWorker(t, s.WorkerEnv())
			rec := s.AwaitStatus(id, 60*time.Second, ipayment.StatusPayoutFailed, ipayment.StatusPaid)
			k.paidOnce(t, "the run back")
			k.inDoubt(t, rec, second.Log())
			if tt.retriedAt != 0 {
				age(tt.retriedAt)
				prune()
				code, out := s.Do(http.MethodPost, "/api/v1/admin/payments/"+id+"/retry", nil, stack.AdminKey)
				require.Less(t, code, 300, out)
				// Paid (a second payout), or refused again: the refusal dates the key's first send.
				since := time.Now().Add(-tt.retriedAt).UTC().Format(time.DateOnly)
				require.EventuallyWithT(t, func(c *assert.CollectT) {
					r, err := s.Store.GetPayment(ctx, id)
					if !assert.NoError(c, err) {
						return
					}
					rec = r
					assert.True(c, r.Status == ipayment.StatusPaid ||
						r.Status == ipayment.StatusPayoutFailed && strings.Contains(r.Reason, "in doubt since "+since),
						"payment %s is %s (%s)", id, r.Status, r.Reason)
				}, 60*time.Second, 100*time.Millisecond)
				k.paidOnce(t, "the admin's retry")
				k.inDoubt(t, rec, second.Log())
			}
			k.resolvedWithTheBatchMade(t)
		})
	}
}
