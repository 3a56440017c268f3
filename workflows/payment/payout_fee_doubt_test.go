package payment

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/testsuite"

	"paysplit/activities"
	"paysplit/internal/ledger"
	"paysplit/internal/payment"
	"paysplit/internal/split"
)

// A PayPal payout whose outcome was unknown is booked with its fee once, whichever way the doubt
// ends: an admin's confirm, or the retry under the same key that finds it made. The fee's key is
// the payout's (its attempt), so the retries and the confirm name one entry.
func TestPayPalPayoutFeeOfATransferInDoubt(t *testing.T) {
	const fee = 25
	for _, tc := range []struct {
		name string
		then AdminCommand
	}{
		{"confirmed by an admin", resolve(true, "tr_"+vendorKey)},
		{"retried under its key", AdminCommand{Action: ActionRetry, Actor: "ops"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ts testsuite.WorkflowTestSuite
			env := ts.NewTestWorkflowEnvironment()
			env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: wfID})
			w := newWorld(t)
			lost := madeButLost{errors.New("connection reset")}
			w.failNext["vendor"] = []error{lost, lost, lost}
			withFee := func(out activities.TransferOutput, err error) (activities.TransferOutput, error) {
				if err == nil {
					out.Fee = fee
				}
				return out, err
			}
			installWithFee(env, w, func(ctx context.Context, in activities.TransferInput) (activities.TransferOutput, error) {
				return withFee(w.Transfer(ctx, in))
			}, func(ctx context.Context, in activities.ConfirmTransferInput) (activities.TransferOutput, error) {
				return withFee(w.ConfirmTransfer(ctx, in))
			})
			in := testInput()
			in.Provider = "paypal"
			signalAt(env, time.Second, SignalEvent, captureEvent("evt_1", gross))
			signalAt(env, time.Hour, SignalAdmin, tc.then)
			env.ExecuteWorkflow(Workflow, in)
			rec := result(t, env)
			require.Equal(t, payment.StatusPaid, rec.Status, rec.Reason)
			require.EqualValues(t, vendorCut, legOf(t, rec, split.PartyVendor).Transferred)

			var booked []string
			for key := range w.entries {
				if strings.Contains(key, "/payout-fee/") {
					booked = append(booked, key)
				}
			}
			require.ElementsMatch(t, []string{wfID + "/payout-fee/vendor-v1/0", wfID + "/payout-fee/affiliate-a1/0"}, booked,
				"one fee a payout: the vendor's, made once under its key, and the affiliate's")
			require.EqualValues(t, 2*fee, w.balance(ledger.PayoutFees("paypal")))
			var netSent int64
			for _, l := range rec.Legs {
				netSent += l.Transferred - l.Reversed
			}
			require.Equal(t, gross-rec.Fee-netSent-2*fee, w.balance(ledger.ProviderBalance("paypal")))
		})
	}
}

// installWithFee is installWithTransfer with the Transfer and ConfirmTransfer steps given.
func installWithFee(env *testsuite.TestWorkflowEnvironment, w *world,
	transfer func(context.Context, activities.TransferInput) (activities.TransferOutput, error),
	confirm func(context.Context, activities.ConfirmTransferInput) (activities.TransferOutput, error)) {
	env.RegisterActivity(act)
	env.OnActivity(act.LoadPayment, mock.Anything, mock.Anything).Return(counted(w, "step:load", w.LoadPayment))
	env.OnActivity(act.Prepare, mock.Anything, mock.Anything).Return(counted(w, "step:prepare", w.Prepare))
	env.OnActivity(act.SavePayment, mock.Anything, mock.Anything).Return(w.SavePayment)
	env.OnActivity(act.Enrich, mock.Anything, mock.Anything).Return(counted(w, "step:enrich", w.Enrich))
	env.OnActivity(act.ComputeSplit, mock.Anything, mock.Anything).Return(counted(w, "step:split", w.ComputeSplit))
	env.OnActivity(act.ResolvePayee, mock.Anything, mock.Anything).Return(w.ResolvePayee)
	env.OnActivity(act.Transfer, mock.Anything, mock.Anything).Return(transfer)
	env.OnActivity(act.ReverseTransfer, mock.Anything, mock.Anything).Return(w.ReverseTransfer)
	env.OnActivity(act.ConfirmTransfer, mock.Anything, mock.Anything).Return(confirm)
	env.OnActivity(act.PostEntry, mock.Anything, mock.Anything).Return(w.PostEntry)
	env.OnActivity(act.PostEntries, mock.Anything, mock.Anything).Return(w.PostEntries)
	env.OnActivity(act.SaveAndBook, mock.Anything, mock.Anything).Return(w.SaveAndBook)
}
