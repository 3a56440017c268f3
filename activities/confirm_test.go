package activities_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"paysplit/activities"
	"paysplit/internal/money"
	"paysplit/testenv"
)

// An admin who looked a transfer in doubt up at the provider names the movement; ConfirmTransfer
// checks it is the transfer (made under its key, for its amount) before the workflow books it, and
// never moves money.
func TestConfirmStripeTransfer(t *testing.T) {
	const key = "wf/transfer/vendor-v1/0"
	in := activities.TransferInput{IdempotencyKey: key, Destination: "acct_v1", Amount: 9545, Currency: "usd", TransferGroup: "o-1",
		Metadata: map[string]string{activities.MetaIdempotencyKey: key}, Asked: true}
	tests := []struct {
		name string
		// made is the transfer Stripe holds (its key in metadata unless noKey); ref names it unless set.
		made  activities.TransferInput
		noKey bool
		ref   string
		// legacy confirms as a run from before keys went into metadata asks: its transfers' metadata
		// names the payment, the party and the payee (made's, when noKey, is legacy's with payee).
		legacy bool
		payee  string
		inject func(*http.Request, url.Values) (int, string)
		// want: "" the transfer is confirmed; else the error type, "retry" for a retryable error.
		want string
	}{
		{name: "made under the key", made: in},
		{name: "made under another key", made: withKey(in, "wf/transfer/vendor-v1/1"), want: activities.ErrTypeNotThisMovement},
		// A run that never heard of its first send can send the key again for another amount (a
		// refund changed the share meanwhile): the transfer under the key is then not the movement
		// asked, and booking it would record an amount Stripe did not move.
		{name: "made under the key, another amount", made: withAmount(in, 9000), want: activities.ErrTypeNotThisMovement},
		{name: "made under the key, another currency", made: withCurrency(in, "eur"), want: activities.ErrTypeNotThisMovement},
		{name: "made before keys went into metadata, same amount", made: in, noKey: true},
		{name: "no key in metadata, another amount", made: withAmount(in, 9546), noKey: true, want: activities.ErrTypeNotThisMovement},
		{name: "no key in metadata, another order", made: withGroup(in, "o-2"), noKey: true, want: activities.ErrTypeNotThisMovement},
		// A run from before keys went into metadata named its payment, party and payee there: a
		// transfer of the order for the amount that another leg (a multi-vendor order's), or another
		// payment of the order, was paid is not this leg's, and booked, it would pay one transfer twice.
		{name: "made before keys went into metadata, this leg's", made: in, noKey: true, legacy: true, payee: "v1"},
		{name: "no key in metadata, another payee's of the order", made: in, noKey: true, legacy: true, payee: "v2",
			want: activities.ErrTypeNotThisMovement},
		{name: "a transfer stripe-mock invents (its fixture)", ref: "tr_1NotOurs", want: activities.ErrTypeNotThisMovement},
		{name: "no such transfer", ref: "tr_missing", want: activities.ErrTypeNotThisMovement,
			inject: getAnswers(404, `{"error":{"type":"invalid_request_error","code":"resource_missing","message":"No such transfer: 'tr_missing'"}}`)},
		{name: "Stripe down", ref: "tr_any", want: "retry", inject: getAnswers(503, `{"error":{"type":"api_error","message":"down"}}`)},
		// Stripe refusing the read says nothing of the transfer; taken as Stripe saying it failed
		// (ErrTypeRejected), the leg got a new key and the payee the admin found paid was paid again.
		{name: "our API key refused", ref: "tr_any", want: "retry",
			inject: getAnswers(401, `{"error":{"type":"invalid_request_error","message":"Invalid API Key provided: rk_live_****abcd"}}`)},
		{name: "a permission removed", ref: "tr_any", want: activities.ErrTypeNotThisMovement,
			inject: getAnswers(403, `{"error":{"type":"invalid_request_error","message":"The provided key 'rk_live_****abcd' does not have the required permissions for this endpoint"}}`)},
		{name: "a transfer ID Stripe will not take", ref: "tr_any", want: activities.ErrTypeNotThisMovement,
			inject: getAnswers(400, `{"error":{"type":"invalid_request_error","message":"Invalid transfer id"}}`)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			ctx := context.Background()
			ref := tc.ref
			if tc.made.IdempotencyKey != "" {
				made := tc.made
				if tc.noKey {
					made.Metadata = map[string]string{"party": "vendor"}
				}
				if tc.legacy {
					made.Metadata = legacyMeta(tc.payee)
				}
				out, err := f.a.Transfer(ctx, made)
				require.NoError(t, err)
				ref = out.TransferID
			}
			f.proxy.Inject = tc.inject
			sent := len(f.proxy.Transfers())

			asked := in
			if tc.legacy {
				asked.Metadata = legacyMeta("v1")
			}
			out, err := f.a.ConfirmTransfer(ctx, activities.ConfirmTransferInput{Transfer: asked, Ref: ref})
			switch tc.want {
			case "":
				require.NoError(t, err)
				require.Equal(t, ref, out.TransferID)
			case "retry":
				require.Error(t, err)
				requireRetryable(t, err)
			default:
				requireNonRetryable(t, err, tc.want)
			}
			require.Len(t, f.proxy.Transfers(), sent, "confirming moves no money")
		})
	}
}

// legacyMeta is the metadata a run from before keys went into metadata gave a transfer of its
// vendor leg paying payee.
func legacyMeta(payee string) map[string]string {
	return map[string]string{"workflow_id": "wf", "party": "vendor", "payee_id": payee}
}

// getAnswers injects status and body for reads of a single transfer.
func getAnswers(status int, body string) func(*http.Request, url.Values) (int, string) {
	return func(r *http.Request, _ url.Values) (int, string) {
		if r.Method == http.MethodGet {
			return status, body
		}
		return 0, ""
	}
}

func withKey(in activities.TransferInput, key string) activities.TransferInput {
	in.IdempotencyKey, in.Metadata = key, map[string]string{activities.MetaIdempotencyKey: key}
	return in
}

func withAmount(in activities.TransferInput, amount int64) activities.TransferInput {
	in.Amount = amount
	return in
}

func withCurrency(in activities.TransferInput, currency string) activities.TransferInput {
	in.Currency = money.Currency(currency)
	return in
}

func withGroup(in activities.TransferInput, group string) activities.TransferInput {
	in.TransferGroup = group
	return in
}

// PayPal has no lookup by sender_batch_id, so an admin names the payout batch found in PayPal: it
// must have been sent under the key for the key's amount; it is then watched as a payout is.
func TestConfirmPayPalPayout(t *testing.T) {
	const key = "payment-paypal-CAP1/transfer/vendor-v1/0"
	in := activities.TransferInput{Provider: activities.ProviderPayPal, IdempotencyKey: key, Destination: "vendor@example.com",
		Amount: 9545, Currency: "usd", TransferGroup: "o-1", Metadata: map[string]string{"payee_id": "v1"}}
	tests := []struct {
		name string
		// made is the payout PayPal holds; ref names it unless set.
		made   activities.TransferInput
		ref    string
		status string // the item's final status, SUCCESS unless set
		// pending leaves the item PENDING for every read.
		pending bool
		want    string
	}{
		{name: "the batch made under the key", made: in},
		{name: "a batch of another key", made: withKey(in, "payment-paypal-CAP1/transfer/vendor-v1/1"), want: activities.ErrTypeNotThisMovement},
		{name: "the key's batch for another amount", made: withAmount(in, 9000), want: activities.ErrTypeNotThisMovement},
		{name: "no such batch", ref: "BATCH9999", want: activities.ErrTypeNotThisMovement},
		{name: "the batch's item was denied: not made", made: in, status: "DENIED", want: activities.ErrTypeRejected},
		{name: "still pending", pending: true, want: "retry"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fake := testenv.NewPayPal(t)
			if tc.status != "" {
				fake.ItemStatus = func(string) string { return tc.status }
			}
			c, err := activities.NewPayPalClient("paysplit-test", "secret", fake.APIBase, fake.HTTPClient())
			require.NoError(t, err)
			a := &activities.Activities{PayPal: c, PayPalWatch: 1}
			ctx := context.Background()
			ref := tc.ref
			if tc.made.IdempotencyKey != "" {
				_, err := a.Transfer(ctx, tc.made)
				if tc.status == "" {
					require.NoError(t, err)
				}
				ref = "BATCH0001"
			}
			if tc.pending {
				ref = madePending(t, a, fake, in)
			}

			out, err := confirmIn(t, a, activities.ConfirmTransferInput{Transfer: in, Ref: ref})
			switch tc.want {
			case "":
				require.NoError(t, err)
				require.Equal(t, "ITEM0001", out.TransferID, "the batch's item, as a payout answers")
			case "retry":
				require.ErrorContains(t, err, "still pending")
				requireRetryable(t, err)
			default:
				requireNonRetryable(t, err, tc.want)
			}
			require.LessOrEqual(t, len(fake.Payouts()), 1, "confirming moves no money")
		})
	}
}

// madePending makes in's payout at a fake that leaves new batches pending, and names its batch.
func madePending(t *testing.T, a *activities.Activities, fake *testenv.PayPal, in activities.TransferInput) string {
	t.Helper()
	fake.PendingReads = 1 << 30
	env := activityEnv(a)
	_, err := env.ExecuteActivity(a.Transfer, in)
	require.ErrorContains(t, err, "still pending")
	return "BATCH0001"
}

// confirmIn runs ConfirmTransfer in an activity's context, as a worker does (a watch heartbeats).
func confirmIn(t *testing.T, a *activities.Activities, in activities.ConfirmTransferInput) (activities.TransferOutput, error) {
	t.Helper()
	var out activities.TransferOutput
	val, err := activityEnv(a).ExecuteActivity(a.ConfirmTransfer, in)
	if err == nil {
		require.NoError(t, val.Get(&out))
	}
	return out, err
}

func activityEnv(a *activities.Activities) *testsuite.TestActivityEnvironment {
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestActivityEnvironment()
	env.RegisterActivity(a)
	return env
}
