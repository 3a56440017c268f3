package activities_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paysplit/activities"
	"paysplit/internal/payment"
	"paysplit/internal/split"
)

// TestCaptureInAFollowUpRunOfAnErasedPaymentIsCheckedAgainstTheLastRun: a Postgres restore
// erased a paid payment's row (and its entries). A refund starts a follow-up run (signal-with-start,
// ALLOW_DUPLICATE); a capture delivered again meanwhile (an operator resends it after the
// restore, or Stripe retries one the restored inbox forgot) reaches that open run as a signal
// (the API's REJECT_DUPLICATE start fails with "already started", then signals the running run),
// and the run's first step, Prepare, gets the capture. Prepare skipped the check against the last
// run whenever a capture came with it and nothing was stored, so it answered "not stored" with a
// fresh Enrich and split: the run split again and sent every leg again under the same keys, which
// Stripe pays a second time once it forgot them (24 h) and PayPal after 30 days. Only a run
// started with its capture (FirstRun) skips the check now.
func TestCaptureInAFollowUpRunOfAnErasedPaymentIsCheckedAgainstTheLastRun(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	_, err := f.st.CreateRule(ctx, split.Rule{ClientID: "shop1", PlatformBps: 1000}, "test")
	require.NoError(t, err)
	id := "payment-stripe-pi_erased"
	paid := payment.Record{WorkflowID: id, Provider: "stripe", PaymentID: "pi_erased", Currency: "usd", Gross: 1000,
		Status: payment.StatusPaid, Order: payment.Order{ClientID: "shop1", OrderID: "o-erased", VendorID: "v1", Platform: "shopify", Subtotal: 1000},
		CaptureEntryID: 1, CapturedAt: time.Date(2026, 11, 26, 3, 0, 0, 0, time.UTC),
		Legs: []payment.Leg{{Party: "vendor", PayeeID: "v1", Amount: 900, Transferred: 900, TransferID: "tr_1", State: payment.LegTransferred}}}
	last := &lastRun{rec: paid, found: true}
	f.a.Runs = last

	out, err := f.a.Prepare(ctx, activities.PrepareInput{WorkflowID: id, CapturedAt: paid.CapturedAt,
		Capture: &activities.EnrichInput{WorkflowID: id, Provider: "stripe", PaymentID: "pi_erased", Currency: "usd", Gross: 1000, Fee: 59,
			Metadata: map[string]string{"client_id": "shop1", "order_id": "o-erased", "vendor_id": "v1", "subtotal": "1000", "platform": "shopify"}}})
	require.NoError(t, err)
	require.Equal(t, 1, last.asked, "the run resumes a payment Temporal completed: its last run must be asked")
	require.True(t, out.Found, "the payment was paid by its last run: resume from its record, not split and pay it again")
	require.Nil(t, out.Split, "a second split pays the payees a second time")
}
