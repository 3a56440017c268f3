package payment

import (
	"context"
	"fmt"
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

// The money after a capture booked in Postgres: the run's entries go through the real ledger
// (activities.PostEntry, PostEntries and the booking of SaveAndBook), which refuses an unbalanced
// entry and a key used again for other postings, and the accounts end where the payment says:
// each payee's payable is its share of what is left less what it holds, platform revenue the
// platform's share of it, the provider's balance the gross less fees, refunds, losses beyond
// refunds and net payouts, and every currency's balances sum to zero. In JPY, USD and KWD; PayPal
// chargebacks after a refund (won, cancelled by the buyer, lost) in JPY and USD.
func TestMoneyAfterCaptureBooksInPostgres(t *testing.T) {
	at := func(m int) time.Time { return time.Date(2026, 11, 20, 12, m, 0, 0, time.UTC) }
	ppOpened := Event{ID: "WH-D1", Kind: EventDisputeCreated, DisputeID: "PP-D-1", Amount: gross}
	ppReversal := Event{ID: "WH-REV", Kind: EventDisputeClosed, DisputeID: "09E71677NS257044M", DisputeStatus: "lost", Amount: gross - 3000}
	ppClosed := func(outcome string) Event {
		return Event{ID: "WH-D1-" + outcome, Kind: EventDisputeClosed, DisputeID: "PP-D-1", DisputeStatus: outcome, Amount: gross - 3000}
	}
	ppRefund := Event{ID: "WH-REF", Kind: EventRefund, RefundID: "1Y107995YT783435V", Amount: 3000, Fee: 90}
	scenarios := []struct {
		name     string
		provider string
		events   []Event
		refunded int64 // the payment's refunded amount at the end, lost disputes counted
	}{
		{"a PayPal chargeback after a refund, won", "paypal", []Event{ppRefund, ppOpened, ppReversal, ppClosed("resolved_seller_favour")}, 3000},
		{"a PayPal chargeback after a refund, cancelled by the buyer", "paypal", []Event{ppRefund, ppOpened, ppReversal, ppClosed("canceled_by_buyer")}, 3000},
		{"a PayPal chargeback after a refund, lost", "paypal", []Event{ppRefund, ppOpened, ppReversal, ppClosed("resolved_buyer_favour")}, gross},
		{"several refunds, then the rest", "stripe", []Event{
			{ID: "r1", Kind: EventRefund, AmountRefunded: 333}, {ID: "r2", Kind: EventRefund, AmountRefunded: 4999},
			{ID: "r2", Kind: EventRefund, AmountRefunded: 4999}, {ID: "r3", Kind: EventRefund, AmountRefunded: gross},
		}, gross},
		{"a refund failed after a later one, then another", "stripe", []Event{
			{ID: "r1", Kind: EventRefund, RefundID: "re_1", AmountRefunded: 3001, OccurredAt: at(1)},
			{ID: "r2", Kind: EventRefund, RefundID: "re_2", AmountRefunded: 5002, OccurredAt: at(2)},
			{ID: "f1", Kind: EventRefundFailed, RefundID: "re_1", Amount: 3001, RefundMade: at(1), OccurredAt: at(30)},
			{ID: "r3", Kind: EventRefund, RefundID: "re_3", AmountRefunded: 3001, OccurredAt: at(40)},
		}, 3001},
		{"a dispute lost after a partial refund", "stripe", []Event{
			{ID: "r1", Kind: EventRefund, AmountRefunded: 2000},
			{ID: "d1o", Kind: EventDisputeCreated, DisputeID: "dp_1", DisputeFees: map[string]int64{"txn_1": 1500}},
			{ID: "d1", Kind: EventDisputeClosed, DisputeID: "dp_1", DisputeStatus: "lost", Amount: gross},
		}, gross},
		{"a dispute won", "stripe", []Event{
			{ID: "d1o", Kind: EventDisputeCreated, DisputeID: "dp_1", DisputeFees: map[string]int64{"txn_1": 1500}},
			{ID: "d1", Kind: EventDisputeClosed, DisputeID: "dp_1", DisputeStatus: "won", DisputeFees: map[string]int64{"txn_2": -1500}},
			{ID: "r1", Kind: EventRefund, AmountRefunded: 7},
		}, 7},
	}
	for _, cur := range []money.Currency{money.JPY, money.USD, money.KWD} {
		for _, sc := range scenarios {
			if sc.provider == "paypal" && cur == money.KWD {
				continue // PayPal takes no dinars
			}
			t.Run(fmt.Sprintf("%s/%s", cur, sc.name), func(t *testing.T) {
				pool := testenv.OwnDatabase(t) // the run's keys and accounts are the same in every case
				real := &activities.Activities{Ledger: ledger.New(pool)}

				var ts testsuite.WorkflowTestSuite
				env := ts.NewTestWorkflowEnvironment()
				env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: wfID})
				w := newWorld(t)
				w.fee = 350
				w.rules[3] = split.Rule{ClientID: "acme", Version: 3, PlatformBps: 1333, AffiliateBps: 777, CommissionOnTax: true, CommissionOnShipping: true}
				installWithLedger(env, w, real)

				capture := captureEvent("evt_c", gross)
				capture.Currency = cur
				signalAt(env, time.Second, SignalEvent, capture)
				for i, e := range sc.events {
					e.ChargeID, e.Currency = "ch_1", cur
					signalAt(env, time.Duration(i+2)*time.Minute, SignalEvent, e)
				}
				in := testInput()
				in.Provider = sc.provider
				env.ExecuteWorkflow(Workflow, in)
				rec := result(t, env)
				require.Equal(t, sc.refunded, rec.Refunded, "refunded (%s: %s)", rec.Status, rec.Reason)
				requireBooked(t, real.Ledger, w, rec)
			})
		}
	}
}

// installWithLedger installs the world with the real ledger behind the booking steps: each entry
// is posted to Postgres, and to the world too, which keeps what the payees were sent.
func installWithLedger(env *testsuite.TestWorkflowEnvironment, w *world, real *activities.Activities) {
	env.RegisterActivity(act)
	env.OnActivity(act.LoadPayment, mock.Anything, mock.Anything).Return(w.LoadPayment)
	env.OnActivity(act.Prepare, mock.Anything, mock.Anything).Return(w.Prepare)
	env.OnActivity(act.SavePayment, mock.Anything, mock.Anything).Return(w.SavePayment)
	env.OnActivity(act.Enrich, mock.Anything, mock.Anything).Return(w.Enrich)
	env.OnActivity(act.ComputeSplit, mock.Anything, mock.Anything).Return(w.ComputeSplit)
	env.OnActivity(act.ResolvePayee, mock.Anything, mock.Anything).Return(w.ResolvePayee)
	env.OnActivity(act.Transfer, mock.Anything, mock.Anything).Return(w.Transfer)
	env.OnActivity(act.ReverseTransfer, mock.Anything, mock.Anything).Return(w.ReverseTransfer)
	env.OnActivity(act.ConfirmTransfer, mock.Anything, mock.Anything).Return(w.ConfirmTransfer)
	env.OnActivity(act.PostEntry, mock.Anything, mock.Anything).Return(func(ctx context.Context, e ledger.Entry) (activities.PostEntryOutput, error) {
		out, err := real.PostEntry(ctx, e)
		if err == nil {
			_, err = w.PostEntry(ctx, e)
		}
		return out, err
	})
	postEntries := func(ctx context.Context, book []activities.Booking) (activities.PostEntriesOutput, error) {
		out, err := real.PostEntries(ctx, book)
		if err == nil {
			_, err = w.PostEntries(ctx, book)
		}
		return out, err
	}
	env.OnActivity(act.PostEntries, mock.Anything, mock.Anything).Return(postEntries)
	env.OnActivity(act.SaveAndBook, mock.Anything, mock.Anything).Return(func(ctx context.Context, in activities.SaveAndBookInput) (activities.PostEntriesOutput, error) {
		out, err := postEntries(ctx, in.Book)
		if err != nil {
			return out, err
		}
		rec := in.Record
		rec.Legs = append([]payment.Leg(nil), rec.Legs...)
		for i, b := range in.Book {
			if b.For != "" {
				rec.SetEntryID(b.For, out.EntryIDs[i])
			}
		}
		return out, w.SavePayment(ctx, activities.SavePaymentInput{Record: rec})
	})
}

// requireBooked checks the ledger's accounts in Postgres against the payment and what its payees
// were sent.
func requireBooked(t *testing.T, l *ledger.Ledger, w *world, rec payment.Record) {
	t.Helper()
	ctx := context.Background()
	balance := func(account string) int64 {
		b, err := l.Balance(ctx, account, rec.Currency, time.Time{})
		require.NoError(t, err)
		return b
	}
	var netSent, refunded int64
	for _, leg := range rec.Legs {
		refunded += leg.Refunded
		if leg.Party == split.PartyPlatform {
			require.Equal(t, -leg.Remaining(), balance(ledger.PlatformRevenue), "platform revenue: its share of what is left")
			continue
		}
		sent := w.sentToPayee(leg.PayeeID)
		require.Equal(t, leg.Remaining(), sent, "%s holds its share of what is left", leg.Name())
		require.Equal(t, -(leg.Remaining() - sent), balance(leg.Account()), "%s payable", leg.Name())
		netSent += sent
	}
	require.Equal(t, rec.Refunded, refunded, "the legs' refunds add up to the payment's")
	p := rec.Provider
	require.Equal(t, rec.Gross-rec.Fee+rec.FeeReturned-rec.DisputeFees-rec.Refunded-rec.DisputeLossBeyondRefunds-netSent,
		balance(ledger.ProviderBalance(p)), "provider balance")
	require.Equal(t, rec.Fee-rec.FeeReturned+rec.DisputeFees, balance(ledger.ProcessingFees(p)), "fees")
	require.Equal(t, rec.DisputeLossBeyondRefunds, balance(ledger.DisputeLosses(p)), "dispute losses")
	all, err := l.Balances(ctx, time.Time{})
	require.NoError(t, err)
	var sum int64
	for _, b := range all {
		require.Equal(t, rec.Currency, b.Currency, "%s: one currency", b.Account)
		sum += b.Balance
	}
	require.Zero(t, sum, "the books balance")
}
