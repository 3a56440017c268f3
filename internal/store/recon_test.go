package store_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"paysplit/internal/ledger"
	"paysplit/internal/payment"
	"paysplit/internal/recon"
	"paysplit/internal/store"
	"paysplit/testenv"
)

// The books' side of a reconciliation is read from the journal by the entries' idempotency keys:
// what was paid to each payee, the processing fee net of returns (dispute fees apart), and the
// payment's capture and refunds (a lost dispute among them), never the entries that take a leg's
// share back from its payee, nor what a lost dispute took beyond the refunds (the platform's loss).
func TestLedgerSideOfReconciliation(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	ctx := context.Background()
	l, s := ledger.New(pool), store.New(pool)
	wf := "payment-stripe-pi_books1"
	prov, vendor, aff := ledger.ProviderBalance("stripe"), ledger.VendorPayable("v1"), ledger.AffiliatePayable("a1")
	fees := ledger.ProcessingFees("stripe")
	post := func(step string, postings ...ledger.Posting) {
		t.Helper()
		_, _, err := l.Post(ctx, ledger.Entry{IdempotencyKey: wf + "/" + step, Currency: "usd", Reference: wf, Postings: postings})
		require.NoError(t, err)
	}
	post("capture", ledger.Posting{Account: prov, Amount: 11000}, ledger.Posting{Account: ledger.PlatformRevenue, Amount: -970},
		ledger.Posting{Account: vendor, Amount: -9545}, ledger.Posting{Account: aff, Amount: -485})
	post("fee", ledger.Posting{Account: fees, Amount: 349}, ledger.Posting{Account: prov, Amount: -349})
	post("transfer/vendor-v1", ledger.Posting{Account: vendor, Amount: 9545}, ledger.Posting{Account: prov, Amount: -9545})
	post("transfer/affiliate-a1", ledger.Posting{Account: aff, Amount: 485}, ledger.Posting{Account: prov, Amount: -485})
	// A refund of 1100, its vendor's share taken back from the vendor, and a lost dispute of 2000.
	post("refund/1100", ledger.Posting{Account: prov, Amount: -1100}, ledger.Posting{Account: ledger.PlatformRevenue, Amount: 97},
		ledger.Posting{Account: vendor, Amount: 955}, ledger.Posting{Account: aff, Amount: 48})
	post("refund/1100/vendor-v1", ledger.Posting{Account: prov, Amount: 955}, ledger.Posting{Account: vendor, Amount: -955})
	post("refund/3100", ledger.Posting{Account: prov, Amount: -2000}, ledger.Posting{Account: ledger.PlatformRevenue, Amount: 176},
		ledger.Posting{Account: vendor, Amount: 1736}, ledger.Posting{Account: aff, Amount: 88})
	post("fee/dispute/txn_1", ledger.Posting{Account: fees, Amount: 1500}, ledger.Posting{Account: prov, Amount: -1500})
	// A second lost dispute took 600 beyond what the payment had left: the platform's loss, which
	// neither the charge's refunded amount nor its fee counts.
	post("dispute-loss/dp_2", ledger.Posting{Account: ledger.DisputeLosses("stripe"), Amount: 600}, ledger.Posting{Account: prov, Amount: -600})
	// The refund of 1100 failed: its money is back, the vendor's share paid again; then a refund
	// of 500 (after a failure its keys carry .f1), 430 of it taken back from the vendor.
	post("refund-failed/re_1", ledger.Posting{Account: prov, Amount: 1100}, ledger.Posting{Account: ledger.PlatformRevenue, Amount: -97},
		ledger.Posting{Account: vendor, Amount: -955}, ledger.Posting{Account: aff, Amount: -48})
	post("refund-failed/re_1/vendor-v1", ledger.Posting{Account: vendor, Amount: 955}, ledger.Posting{Account: prov, Amount: -955})
	post("refund/2500.f1", ledger.Posting{Account: prov, Amount: -500}, ledger.Posting{Account: ledger.PlatformRevenue, Amount: 48},
		ledger.Posting{Account: vendor, Amount: 430}, ledger.Posting{Account: aff, Amount: 22})
	post("refund/2500.f1/vendor-v1", ledger.Posting{Account: prov, Amount: 430}, ledger.Posting{Account: vendor, Amount: -430})

	key := func(payee string) recon.Key { return recon.Key{Payment: wf, PayeeID: payee, Currency: "usd"} }
	payouts, err := s.LedgerPayouts(ctx, []string{wf})
	require.NoError(t, err)
	require.Equal(t, map[recon.Key]int64{key("v1"): 9545 - 955 + 955 - 430, key("a1"): 485}, payouts, "transfers less what was taken back")
	amounts, err := s.LedgerPaymentAmounts(ctx, "stripe", []string{wf})
	require.NoError(t, err)
	require.Equal(t, map[recon.Key]int64{key(recon.ProcessingFee): 349, key(recon.Captured): 11000, key(recon.Refunded): 1100 + 2000 - 1100 + 500}, amounts,
		"the charge's fee, not the dispute's; the capture and what went back to the buyer, not what came back from the vendor nor the dispute's loss")
}

// Reconciliation asks which of the captures a provider lists have no payment, a batch at a time:
// exactly those never saved, whatever their status or client, each once however often listed.
func TestPaymentsMissing(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	ctx := context.Background()
	s := store.New(pool)
	for _, r := range []payment.Record{
		{WorkflowID: "payment-stripe-pi_known_paid", Provider: "stripe", PaymentID: "pi_known_paid", Status: payment.StatusPaid,
			Order: payment.Order{ClientID: "c-missing", OrderID: "o-1"}, Currency: "usd", Gross: 100},
		{WorkflowID: "payment-stripe-pi_known_waiting", Provider: "stripe", PaymentID: "pi_known_waiting", Status: payment.StatusAwaitingMetadata},
	} {
		require.NoError(t, s.SavePayment(ctx, r))
	}
	got, err := s.PaymentsMissing(ctx, []string{"payment-stripe-pi_known_paid", "payment-stripe-pi_never", "payment-stripe-pi_known_waiting",
		"payment-paypal-CAPNEVER", "payment-stripe-pi_never"})
	require.NoError(t, err)
	require.Equal(t, map[string]bool{"payment-stripe-pi_never": true, "payment-paypal-CAPNEVER": true}, got)

	got, err = s.PaymentsMissing(ctx, nil)
	require.NoError(t, err)
	require.Empty(t, got)
}
