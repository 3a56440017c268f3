package server_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	ipayment "paysplit/internal/payment"
	"paysplit/internal/stripeevent"
	"paysplit/testenv"
	"paysplit/workflows/payment"
)

// A refund in full that comes while an admin's release pays a held leg, in a run with no settle
// window whose release came in one workflow task with an earlier event (here a partial refund
// told while the run was still paying the other legs). The release's task pays the vendor and
// would close the run; Temporal refuses to close it with a signal it has not seen
// (UnhandledCommand) and gives the task again, which has the partial refund, the release and the
// refund in full from its start, while the vendor's transfer stands at Stripe under the leg's key.
// The run takes the partial refund, then finds the release and the refund in full both waiting:
// it must take the release first, as the first attempt did, and the refund from the transfer
// made (reversed in full). Before, the refund in full was taken before the release (the event
// channel is looked at first), found nothing due to the vendor and left the transfer with it,
// unknown to the payment and never reversed.
func TestRefundDuringAnAdminsReleaseOfAClosingRun(t *testing.T) {
	s := newStack(t, payment.Settings{SettleWindow: 0, StripeAttempts: 10, StripeRetryInterval: 100 * time.Millisecond})
	s.seed("midrel")
	// The vendor has no connected account yet: its leg is held.
	code, out := s.do(http.MethodPut, "/api/v1/admin/payees/midrel-vendor", map[string]any{"client_id": "midrel", "kind": "vendor"}, adminKey)
	require.Equal(t, http.StatusOK, code, out)
	pi := "pi_midrel1"
	id := payment.WorkflowID("stripe", pi)

	// blockAt holds the first transfer under a key containing part until the test lets it go.
	blockAt := func(part string) *testenv.HeldTransfer {
		return s.stripe.HoldFirstTransfer(func(key string) bool { return strings.Contains(key, part) })
	}

	// The capture's task holds the vendor's leg and pays the affiliate's: while that transfer is
	// at Stripe, a partial refund and the admin's release come, for the run's next task.
	affiliate := blockAt("/transfer/affiliate-")
	code, out = s.webhook(stripeevent.Sign(capture("midrel", pi).Body(), webhookSecret, time.Now()))
	require.Equal(t, http.StatusOK, code, out)
	affiliate.Await(t, func() string { return "the affiliate's transfer" })
	s.AwaitStatus(id, 30*time.Second, ipayment.StatusHeld)
	partial := stripeevent.Refund{EventID: "evt_midrel_re1", PaymentIntent: pi, Charge: "ch_" + pi, Currency: "usd",
		Amount: 11000, AmountRefunded: 1100, Created: time.Now()}
	code, out = s.webhook(stripeevent.Sign(partial.Body(), webhookSecret, time.Now()))
	require.Equal(t, http.StatusOK, code, out)
	code, out = s.do(http.MethodPut, "/api/v1/admin/payees/midrel-vendor", map[string]any{"client_id": "midrel", "kind": "vendor", "stripe_account": "acct_midrel"}, adminKey)
	require.Equal(t, http.StatusOK, code, out)
	code, out = s.do(http.MethodPost, "/api/v1/admin/payments/"+id+"/release", map[string]any{"party": "vendor"}, adminKey)
	require.Equal(t, http.StatusAccepted, code, out)
	vendor := blockAt("/transfer/vendor-")
	affiliate.Release()

	// The release's task sends the vendor's transfer; the refund in full comes meanwhile.
	rec := s.refundInFullDuringTransfer(vendor, pi, "evt_midrel_re2")
	require.Equal(t, ipayment.StatusRefunded, rec.Status, rec.Reason)
	require.Equal(t, 1, s.stripe.RequireTakenBack(t, id, "the record: "+recordJSON(rec)), "the release's transfer reached Stripe")
	sent := s.sentNet(rec)
	for _, l := range rec.Legs {
		require.Equal(t, l.Amount, l.Refunded, "%s: its whole share refunded", l.Name())
		require.Equal(t, sent[l.Name()], l.Transferred-l.Reversed, "%s: what Stripe sent it net, and what the leg says", l.Name())
	}
}
