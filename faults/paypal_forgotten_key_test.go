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
	settings := open
	settings.PayoutTimeout = 3 * time.Second
	// The refusal of a forgotten key is retried (the retries refuse again without asking PayPal)
	// until the last attempt: from code path 21 every one of StripeAttempts, with backoff, where
	// the retries stopped once PayoutTimeout had passed. Three keep the test within its waits.
	settings.StripeAttempts = 3
	s := stack.New(t, stack.Options{Settings: settings, NoWorker: true, PayPal: true})
	const client = "ppforgot"
	s.SeedPayPal(client, "PPFORGOTVEND1", "ppforgot-aff@example.com")
	capture := "PPFORGOT-" + strconv.FormatInt(time.Now().UnixNano(), 36) // Temporal outlives the test
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
	// 30 days later: PayPal forgot the key, and the record of its first send is as old.
	s.PayPal.ForgetKeys()
	_, err := s.Pool.Exec(context.Background(), `UPDATE stripe_key_sends SET first_sent_at = now() - interval '30 days' WHERE key = $1`, held.SenderBatchID)
	require.NoError(t, err)

	second := testenv.StartWorker(t, s.WorkerEnv())
	// Paid only by paying twice: waited for too, so the test says so rather than time out.
	rec := s.AwaitStatus(id, 60*time.Second, ipayment.StatusPayoutFailed, ipayment.StatusPaid)
	var made []string
	for _, p := range s.PayPal.Payouts() {
		if p.SenderBatchID == held.SenderBatchID {
			made = append(made, p.BatchID)
		}
	}
	require.Len(t, made, 1, "one payout under %s at PayPal, not a second after it forgot the key", held.SenderBatchID)
	require.Equal(t, ipayment.StatusPayoutFailed, rec.Status, "waits for an admin")
	vendor := rec.Leg("vendor")
	require.True(t, vendor.InDoubt(id), "the vendor's payout is in doubt, its key kept: %+v\nworker log:\n%s", vendor, second.Log())
	require.Equal(t, held.SenderBatchID, vendor.TransferKey)
	require.Contains(t, vendor.Reason, "in doubt")
	require.Zero(t, vendor.Transferred, "nothing booked as paid before an admin says so")
	// The admin looks the payout up in PayPal and names its batch: the run checks it and books it.
	code, out := s.Do(http.MethodPost, "/api/v1/admin/payments/"+id+"/resolve",
		map[string]any{"party": "vendor", "made": true, "provider_ref": held.BatchID}, stack.AdminKey)
	require.Less(t, code, 300, out)
	rec = s.AwaitStatus(id, 60*time.Second, ipayment.StatusPaid)
	require.Equal(t, held.ItemID, rec.Leg("vendor").TransferID, "the payout made before the kill is the one booked")
	require.Equal(t, rec.Leg("vendor").Amount, rec.Leg("vendor").Transferred)
	finish(t, s, events, 1, 1)
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
			settings := open
			settings.PayoutTimeout = 3 * time.Second
			settings.StripeAttempts = 3 // as in TestWorkerKilledMidPayoutThenPayPalForgotTheKey
			s := stack.New(t, stack.Options{Settings: settings, NoWorker: true, PayPal: true})
			const client = "ppkeep"
			s.SeedPayPal(client, "PPKEEPVENDOR1", "ppkeep-aff@example.com")
			capture := "PPKEEP-" + strconv.FormatInt(time.Now().UnixNano(), 36)
			id := payment.WorkflowID("paypal", capture)
			s.PayPal.IgnoreRequestIDs = true

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
			paidOnce := func(when string) {
				t.Helper()
				var made []string
				for _, p := range s.PayPal.Payouts() {
					if p.SenderBatchID == held.SenderBatchID {
						made = append(made, p.BatchID)
					}
				}
				require.Len(t, made, 1, "%s: one payout under %s at PayPal, not a second after it forgot the key", when, held.SenderBatchID)
			}
			inDoubt := func(rec ipayment.Record, log string) {
				t.Helper()
				require.Equal(t, ipayment.StatusPayoutFailed, rec.Status, "waits for an admin")
				vendor := rec.Leg("vendor")
				require.True(t, vendor.InDoubt(id), "the vendor's payout is in doubt, its key kept: %+v\nworker log:\n%s", vendor, log)
				require.Equal(t, held.SenderBatchID, vendor.TransferKey)
				require.Zero(t, vendor.Transferred, "nothing booked as paid before an admin says so")
			}

			age(tt.outage)
			if tt.retriedAt == 0 {
				prune() // the retention runs as the workers come back, before the run sends again
			}
			second := testenv.StartWorker(t, s.WorkerEnv())
			rec := s.AwaitStatus(id, 60*time.Second, ipayment.StatusPayoutFailed, ipayment.StatusPaid)
			paidOnce("the run back")
			inDoubt(rec, second.Log())
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
				paidOnce("the admin's retry")
				inDoubt(rec, second.Log())
			}
			code, out := s.Do(http.MethodPost, "/api/v1/admin/payments/"+id+"/resolve",
				map[string]any{"party": "vendor", "made": true, "provider_ref": held.BatchID}, stack.AdminKey)
			require.Less(t, code, 300, out)
			rec = s.AwaitStatus(id, 60*time.Second, ipayment.StatusPaid)
			require.Equal(t, held.ItemID, rec.Leg("vendor").TransferID, "the payout made before the kill is the one booked")
			finish(t, s, events, 1, 1)
		})
	}
}
