package faults

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	ipayment "paysplit/internal/payment"
	"paysplit/testenv"
	"paysplit/testenv/stack"
	"paysplit/workflows/payment"
)

// TestWorkerKilledMidTransferThenStripeForgotTheKey: the vendor's transfer reaches Stripe and the
// worker dies before it hears back, in the workflow task that sent it (a local activity: nothing in
// the run's history says the key was sent). No worker comes back for over a day (a weekend
// outage), so Stripe has forgotten the key. The next worker replays the run and sends the transfer
// again, not asked (the run cannot know): the activity remembers the key's first send and finds
// the transfer made under it instead of having Stripe make a second.
func TestWorkerKilledMidTransferThenStripeForgotTheKey(t *testing.T) {
	settings := open
	settings.PayoutTimeout = 3 * time.Second
	s := stack.New(t, stack.Options{Settings: settings, NoWorker: true})
	s.Seed("forgot")
	first := testenv.StartWorker(t, s.WorkerEnv())

	held := s.Stripe.HoldFirstVendorTransfer()
	events := deliver(t, s, stack.Capture("forgot", "pi_forgot1").Body(), 1)
	key := held.Await(t, func() string { return "worker log:\n" + first.Log() })
	first.Kill(t)
	held.Release()
	s.Stripe.ForgetKeys() // a weekend later

	second := testenv.StartWorker(t, s.WorkerEnv())
	id := payment.WorkflowID("stripe", "pi_forgot1")
	rec := s.AwaitStatus(id, 60*time.Second, ipayment.StatusPaid)
	require.EqualValues(t, 9545, rec.Leg("vendor").Transferred, "worker log:\n%s", second.Log())

	var made []string
	for _, tr := range s.Stripe.Transfers() {
		if tr.IdempotencyKey == key {
			made = append(made, tr.ID)
		}
	}
	require.Len(t, made, 1, "one transfer under %s at Stripe, not a second after it forgot the key", key)
	require.Equal(t, made[0], rec.Leg("vendor").TransferID, "the run booked the transfer Stripe made")
	require.NotEmpty(t, s.Stripe.Calls(http.MethodGet, "/v1/transfers"), "the retry looked the key up")
	require.Len(t, transfersOf(s, "pi_forgot1"), 2, "one transfer per payee, none twice")
	finish(t, s, events, 1, 1)
}
