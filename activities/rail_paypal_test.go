package activities_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/plutov/paypal/v4"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"paysplit/activities"
	"paysplit/internal/store"
	"paysplit/testenv"
)

// A payout whose creation answer was lost is asked again under the same key. Whatever PayPal
// answers then, the activity must never report a refusal for a batch that was made (the
// workflow would take a new key and pay again): it finds the batch and reports its outcome, or
// reports the outcome unknown (retryable, the key kept).
func TestPayPalPayoutWhoseAnswerWasLost(t *testing.T) {
	const key = "payment-paypal-CAP1/transfer/vendor-v1/0"
	in := activities.TransferInput{Provider: activities.ProviderPayPal, IdempotencyKey: key, Destination: "vendor@example.com",
		Amount: 9545, Currency: "usd", TransferGroup: "o-1", Metadata: map[string]string{"payee_id": "v1"}}
	tests := []struct {
		name string
		// fake sets PayPal's behaviour for the repeated request.
		fake func(p *testenv.PayPal)
		// again changes the repeated request.
		again     func(in *activities.TransferInput)
		wantPaid  bool
		wantError string
	}{
		{name: "request ID replayed: the first answer", wantPaid: true},
		{name: "request ID ignored: the batch the duplicate links to", fake: func(p *testenv.PayPal) { p.IgnoreRequestIDs = true }, wantPaid: true},
		{name: "request ID ignored, no link: outcome unknown", wantError: "did not link it",
			fake: func(p *testenv.PayPal) { p.IgnoreRequestIDs, p.OmitDuplicateLink = true, true }},
		{name: "the linked batch pays another amount: not this movement's outcome", wantError: "not 95.46 USD",
			fake: func(p *testenv.PayPal) { p.IgnoreRequestIDs = true }, again: func(in *activities.TransferInput) { in.Amount++ }},
		{name: "the payee's receiver fixed since: the batch paid the old one", wantPaid: true,
			fake: func(p *testenv.PayPal) { p.IgnoreRequestIDs = true }, again: func(in *activities.TransferInput) { in.Destination = "fixed@example.com" }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fake := testenv.NewPayPal(t)
			c, err := activities.NewPayPalClient("paysplit-test", "secret", fake.APIBase, fake.HTTPClient())
			require.NoError(t, err)
			a := &activities.Activities{PayPal: c}
			lost := 0
			fake.LosePayoutAnswer = func(string) bool { lost++; return lost == 1 }
			ctx := context.Background()

			_, err = a.Transfer(ctx, in)
			require.Error(t, err, "the first answer is lost")
			requireRetryable(t, err)
			if tc.fake != nil {
				tc.fake(fake)
			}
			again := in
			if tc.again != nil {
				tc.again(&again)
			}
			out, err := a.Transfer(ctx, again)
			if tc.wantPaid {
				require.NoError(t, err)
				require.Equal(t, "ITEM0001", out.TransferID, "the item of the batch the first attempt made")
			} else {
				require.ErrorContains(t, err, tc.wantError)
				requireRetryable(t, err)
			}
			payouts := fake.Payouts()
			require.Len(t, payouts, 1, "PayPal paid once")
			require.Equal(t, key, payouts[0].SenderBatchID)
			require.Equal(t, "95.45", payouts[0].Value)
		})
	}
}

// requireRetryable fails unless err leaves the retry to the retry policy: no refusal, which
// would give the movement a new key.
func requireRetryable(t *testing.T, err error) {
	t.Helper()
	var app *temporal.ApplicationError
	require.False(t, errors.As(err, &app) && app.NonRetryable(), "a refusal: %v", err)
}

// The commonest way a payout's key is sent again: its batch is still PENDING when an attempt's
// watch ends, and the next attempt asks again. With the request ID not honoured, that attempt
// meets PayPal's refusal of the used sender_batch_id, which leads back to the same batch.
func TestPayPalPayoutStillPendingIsWatchedAgain(t *testing.T) {
	fake := testenv.NewPayPal(t)
	fake.IgnoreRequestIDs, fake.PendingReads = true, 1<<30
	c, err := activities.NewPayPalClient("paysplit-test", "secret", fake.APIBase, fake.HTTPClient())
	require.NoError(t, err)
	a := &activities.Activities{PayPal: c, PayPalWatch: 200 * time.Millisecond}
	in := activities.TransferInput{Provider: activities.ProviderPayPal, IdempotencyKey: "payment-paypal-CAP2/transfer/vendor-v1/0",
		Destination: "VENDORPAYER01", Amount: 1200, Currency: "jpy", TransferGroup: "o-2", Metadata: map[string]string{"payee_id": "v1"}}

	// In an activity's context: the watch heartbeats.
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestActivityEnvironment()
	env.RegisterActivity(a)
	_, err = env.ExecuteActivity(a.Transfer, in)
	require.ErrorContains(t, err, "still pending")
	requireRetryable(t, err)
	fake.SettlePayouts()
	val, err := env.ExecuteActivity(a.Transfer, in)
	require.NoError(t, err)
	var out activities.TransferOutput
	require.NoError(t, val.Get(&out))
	require.Equal(t, "ITEM0001", out.TransferID)
	payouts := fake.Payouts()
	require.Len(t, payouts, 1, "PayPal paid once")
	require.Equal(t, "1200", payouts[0].Value, "JPY has no minor unit")
}

// PayPal takes HUF without decimals: a whole amount is sent as whole forints; one with a
// fraction of a forint is refused with the reason before PayPal is asked, which would refuse it.
func TestPayPalPayoutInWholeUnits(t *testing.T) {
	fake := testenv.NewPayPal(t)
	c, err := activities.NewPayPalClient("paysplit-test", "secret", fake.APIBase, fake.HTTPClient())
	require.NoError(t, err)
	a := &activities.Activities{PayPal: c}
	in := activities.TransferInput{Provider: activities.ProviderPayPal, IdempotencyKey: "payment-paypal-CAPHUF/transfer/vendor-v1/0",
		Destination: "vendor@example.com", Amount: 123400, Currency: "huf", TransferGroup: "o-huf", Metadata: map[string]string{"payee_id": "v1"}}

	out, err := a.Transfer(context.Background(), in)
	require.NoError(t, err)
	require.Equal(t, "ITEM0001", out.TransferID)
	payouts := fake.Payouts()
	require.Len(t, payouts, 1)
	require.Equal(t, "1234", payouts[0].Value, "whole forints, no decimal point")

	in.IdempotencyKey, in.Amount = "payment-paypal-CAPHUF/transfer/vendor-v1/1", 123456
	_, err = a.Transfer(context.Background(), in)
	requireNonRetryable(t, err, activities.ErrTypeRejected)
	require.ErrorContains(t, err, "PayPal pays HUF in whole units only; 1234.56 HUF cannot be sent")
	require.Len(t, fake.Payouts(), 1, "PayPal was not asked")
}

// The fake refuses what PayPal refuses: a decimal amount in a currency without decimals.
func TestPayPalFakeRefusesDecimalsWherePayPalDoes(t *testing.T) {
	fake := testenv.NewPayPal(t)
	c, err := activities.NewPayPalClient("paysplit-test", "secret", fake.APIBase, fake.HTTPClient())
	require.NoError(t, err)
	body := paypal.Payout{
		SenderBatchHeader: &paypal.SenderBatchHeader{SenderBatchID: "decimals-1"},
		Items:             []paypal.PayoutItem{{RecipientType: "EMAIL", Receiver: "v@example.com", Amount: &paypal.AmountPayout{Currency: "HUF", Value: "1234.00"}}},
	}
	_, err = c.CreatePayout(context.Background(), body)
	var pe *paypal.ErrorResponse
	require.ErrorAs(t, err, &pe)
	require.Equal(t, 422, pe.Response.StatusCode)
	require.Contains(t, fmt.Sprint(pe.Details), "DECIMALS_NOT_SUPPORTED")
	require.Empty(t, fake.Payouts())
}

// PayPal cancels a payout item only while it is unclaimed: a payee who claims it just before the
// cancel is paid, and the cancel refused. That refusal is no refusal of the payout (a new key
// would pay the payee again): retried under the same key, the batch reads SUCCESS.
func TestPayPalUnclaimedPayoutClaimedBeforeItsCancel(t *testing.T) {
	fake := testenv.NewPayPal(t)
	fake.ItemStatus = func(string) string { return "UNCLAIMED" }
	fake.ClaimedBeforeCancel = true
	c, err := activities.NewPayPalClient("paysplit-test", "secret", fake.APIBase, fake.HTTPClient())
	require.NoError(t, err)
	a := &activities.Activities{PayPal: c}
	in := activities.TransferInput{Provider: activities.ProviderPayPal, IdempotencyKey: "payment-paypal-CAPU/transfer/vendor-v1/0",
		Destination: "new-user@example.com", Amount: 9545, Currency: "usd", TransferGroup: "o-u", Metadata: map[string]string{"payee_id": "v1"}}
	_, err = a.Transfer(context.Background(), in)
	require.ErrorContains(t, err, "cancel unclaimed payout item")
	requireRetryable(t, err)
	out, err := a.Transfer(context.Background(), in)
	require.NoError(t, err, "the retry reads the same batch: paid")
	require.NotEmpty(t, out.TransferID)
	require.Len(t, fake.Payouts(), 1, "PayPal paid once")
}

// PAYPAL_API_BASE written with a trailing slash (https://api-m.paypal.com/) is PayPal's base all
// the same: the client library joins it to its paths as text, which made them //v1/..., paths
// PayPal does not serve, so every payout and fee lookup failed.
func TestPayPalBaseWithATrailingSlash(t *testing.T) {
	fake := testenv.NewPayPal(t)
	c, err := activities.NewPayPalClient("paysplit-test", "secret", fake.APIBase+"/", fake.HTTPClient())
	require.NoError(t, err)
	a := &activities.Activities{PayPal: c}
	out, err := a.Transfer(context.Background(), activities.TransferInput{Provider: activities.ProviderPayPal,
		IdempotencyKey: "payment-paypal-CAPSLASH/transfer/vendor-v1/0", Destination: "vendor@example.com", Amount: 9545,
		Currency: "usd", TransferGroup: "o-slash", Metadata: map[string]string{"payee_id": "v1"}})
	require.NoError(t, err)
	require.NotEmpty(t, out.TransferID)
	require.Len(t, fake.Payouts(), 1)
}

// Payee IDs run to 64 characters (store.ValidID), and the storefront makes IDs of exactly 64
// from long vendor names (storefront.PayeeID), but PayPal takes at most 63 in a payout item's
// sender_item_id and refuses the whole payout otherwise: such a payee could never be paid
// through PayPal, whatever key an admin retried with.
func TestPayPalPayoutToAPayeeWithALongID(t *testing.T) {
	fake := testenv.NewPayPal(t)
	c, err := activities.NewPayPalClient("paysplit-test", "secret", fake.APIBase, fake.HTTPClient())
	require.NoError(t, err)
	a := &activities.Activities{PayPal: c}
	for i, payee := range []string{
		strings.Repeat("v", 63),
		"acme-" + strings.Repeat("blue-fox-ceramics-", 3)[:50] + "-0a1b2c3d", // 64, as PayeeID cuts a long name
		"acme-" + strings.Repeat("x", 59),
	} {
		in := activities.TransferInput{Provider: activities.ProviderPayPal, IdempotencyKey: fmt.Sprintf("payment-paypal-CAPLONG/transfer/vendor-%s/%d", payee, i),
			Destination: "vendor@example.com", Amount: 9545, Currency: "usd", TransferGroup: "o-long", Metadata: map[string]string{"payee_id": payee}}
		out, err := a.Transfer(context.Background(), in)
		require.NoError(t, err, "payee ID of %d characters", len(payee))
		require.NotEmpty(t, out.TransferID)
	}
	require.Len(t, fake.Payouts(), 3)
}

// A PayPal receiver stored before registration refused its invisible characters (a non-breaking
// space, pasted from a web page, passed Go's ASCII \s) is one PayPal refuses every payout to: the
// leg is held for an admin to correct the payee, and nothing is sent.
func TestPayPalPayeeWithAnInvisibleCharacterIsHeld(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	st := store.New(pool)
	ctx := context.Background()
	_, _, err := st.UpsertClient(ctx, store.Client{ID: "pp-nbsp", Name: "NBSP", DefaultCurrency: "usd"})
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `INSERT INTO payees (id, client_id, kind, paypal_receiver) VALUES ('v-nbsp', 'pp-nbsp', 'vendor', $1)`,
		"vendor\u00a0@example.com")
	require.NoError(t, err)
	fake := testenv.NewPayPal(t)
	c, err := activities.NewPayPalClient("paysplit-test", "secret", fake.APIBase, fake.HTTPClient())
	require.NoError(t, err)
	a := &activities.Activities{Store: st, PayPal: c}
	out, err := a.ResolvePayee(ctx, activities.ResolvePayeeInput{Provider: activities.ProviderPayPal, PayeeID: "v-nbsp", Kind: "vendor",
		ClientID: "pp-nbsp", Currency: "usd"})
	require.NoError(t, err)
	require.Empty(t, out.Destination)
	require.Contains(t, out.HoldReason, "PayPal receiver cannot be paid")
	require.Contains(t, out.HoldReason, "U+00A0")
	// The reason is logged ("leg held"), saved as the payment's and shown to its client, where a
	// payee's email is never kept (the audit log records "an email address, not recorded").
	require.NotContains(t, out.HoldReason, "example.com", "the hold reason quotes the payee's email")
}
