package payment

// PayPal's payout fee: PayPal takes it from the platform's balance on top of each payout item's
// amount (payout_item_fee), so the books' provider:paypal must lose it too (code path 26).

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/testsuite"

	"paysplit/activities"
	"paysplit/internal/ledger"
	"paysplit/internal/money"
	"paysplit/internal/payment"
	"paysplit/internal/split"
	"paysplit/testenv"
)

// A PayPal payment's legs paid through the PayPal fake, each item charged 0.25 USD: from code path
// 26 each payout's fee is booked in an entry of its own (<wf>/payout-fee/<leg>/<attempt>, and a
// correction's top-up its own), so provider:paypal is what PayPal holds; path 25 books none, as
// its histories did; a fee in another currency than the payout's is not booked (no converted
// guess).
func TestPayPalPayoutFeesAreBooked(t *testing.T) {
	tests := []struct {
		name        string
		codePath    int
		correction  bool
		feeCurrency string
		perPayout   int64 // the fee booked for each payout
		feeKeys     []string
	}{
		{"code path 26", CurrentCodePath, false, "USD", 25,
			[]string{wfID + "/payout-fee/vendor-v1/0", wfID + "/payout-fee/affiliate-a1/0"}},
		{"code path 26, a correction's top-up", CurrentCodePath, true, "USD", 25,
			[]string{wfID + "/payout-fee/vendor-v1/0", wfID + "/payout-fee/affiliate-a1/0", wfID + "/payout-fee/vendor-v1/correction-v4"}},
		{"code path 25", codePathBoundedHistory, false, "USD", 0, nil},
		{"a fee in another currency", CurrentCodePath, false, "EUR", 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pp := testenv.NewPayPal(t)
			pp.PayoutItemFee = &testenv.PayPalAmount{Currency: tt.feeCurrency, Value: "0.25"} // the fake's items are paid (SUCCESS) at once
			c, err := activities.NewPayPalClient("client", "secret", pp.APIBase, pp.HTTPClient())
			require.NoError(t, err)
			real := &activities.Activities{PayPal: c, PayPalWatch: 5 * time.Second}

			var ts testsuite.WorkflowTestSuite
			env := ts.NewTestWorkflowEnvironment()
			env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: wfID})
			w := newWorld(t)
			w.rules[3] = split.Rule{ClientID: "acme", Version: 3, PlatformBps: 1000, AffiliateBps: 500, CommissionOnTax: true}
			w.rules[4] = split.Rule{ClientID: "acme", Version: 4, PlatformBps: 1000, AffiliateBps: 500}
			installWithTransfer(env, w, func(ctx context.Context, in activities.TransferInput) (activities.TransferOutput, error) {
				if _, err := w.Transfer(ctx, in); err != nil { // the world's record of what each payee was sent
					return activities.TransferOutput{}, err
				}
				return real.Transfer(ctx, in)
			})
			in := testInput()
			in.Provider, in.CodePath = "paypal", tt.codePath
			signalAt(env, time.Second, SignalEvent, captureEvent("evt_1", gross))
			if tt.correction {
				signalAt(env, time.Minute, SignalEvent, correction("correction-v4", 4))
			}
			env.ExecuteWorkflow(Workflow, in)
			rec := result(t, env)
			require.Equal(t, payment.StatusPaid, rec.Status, rec.Reason)

			var paidOut int64
			payouts := pp.Payouts()
			for _, p := range payouts {
				v, err := money.ParseAmount(p.Value, money.Currency(strings.ToLower(p.Currency)))
				require.NoError(t, err)
				paidOut += v
			}
			want := 2 // the vendor's and the affiliate's
			if tt.correction {
				want++ // the vendor's top-up
			}
			require.Len(t, payouts, want, "one PayPal payout a movement")
			var transferred, netSent int64
			for _, l := range rec.Legs {
				transferred += l.Transferred
				netSent += l.Transferred - l.Reversed // a correction takes back what a leg was overpaid (the world reverses it)
			}
			require.Equal(t, paidOut, transferred, "PayPal paid what the legs record")
			fees := tt.perPayout * int64(len(payouts))
			require.Equal(t, gross-rec.Fee-netSent-fees, w.balance(ledger.ProviderBalance("paypal")),
				"provider:paypal is what PayPal holds: the gross less its fee, the payouts and their fees")
			require.Equal(t, fees, w.balance("payout_fees:paypal"), "the platform's payout fee expense")
			require.Equal(t, rec.Fee, w.balance(ledger.ProcessingFees("paypal")), "the capture's fee alone, as reconciliation compares it")
			var booked []string
			for key := range w.entries {
				if strings.Contains(key, "/payout-fee/") {
					booked = append(booked, key)
				}
			}
			require.ElementsMatch(t, tt.feeKeys, booked, "one fee entry a payout, keyed by the workflow and the leg")
			for _, key := range tt.feeKeys {
				require.Equal(t, []ledger.Posting{{Account: "payout_fees:paypal", Amount: 25}, {Account: "provider:paypal", Amount: -25}},
					w.entries[key].Postings, key)
			}
		})
	}
}

// installWithTransfer installs the world's steps as world.install does, with transfer for the
// Transfer step (testify's mock takes the first expectation that matches, so the world's own
// Transfer cannot be replaced after install).
func installWithTransfer(env *testsuite.TestWorkflowEnvironment, w *world, transfer func(context.Context, activities.TransferInput) (activities.TransferOutput, error)) {
	env.RegisterActivity(act)
	env.OnActivity(act.LoadPayment, mock.Anything, mock.Anything).Return(counted(w, "step:load", w.LoadPayment))
	env.OnActivity(act.Prepare, mock.Anything, mock.Anything).Return(counted(w, "step:prepare", w.Prepare))
	env.OnActivity(act.SavePayment, mock.Anything, mock.Anything).Return(w.SavePayment)
	env.OnActivity(act.Enrich, mock.Anything, mock.Anything).Return(counted(w, "step:enrich", w.Enrich))
	env.OnActivity(act.ComputeSplit, mock.Anything, mock.Anything).Return(counted(w, "step:split", w.ComputeSplit))
	env.OnActivity(act.ResolvePayee, mock.Anything, mock.Anything).Return(w.ResolvePayee)
	env.OnActivity(act.Transfer, mock.Anything, mock.Anything).Return(transfer)
	env.OnActivity(act.ReverseTransfer, mock.Anything, mock.Anything).Return(w.ReverseTransfer)
	env.OnActivity(act.ConfirmTransfer, mock.Anything, mock.Anything).Return(w.ConfirmTransfer)
	env.OnActivity(act.PostEntry, mock.Anything, mock.Anything).Return(w.PostEntry)
	env.OnActivity(act.PostEntries, mock.Anything, mock.Anything).Return(w.PostEntries)
	env.OnActivity(act.SaveAndBook, mock.Anything, mock.Anything).Return(w.SaveAndBook)
}
