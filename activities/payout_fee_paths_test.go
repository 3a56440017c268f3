package activities_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paysplit/activities"
	"paysplit/testenv"
)

// feeOnSuccess states PayPal's payout_item_fee on a batch read as PayPal does: 0.00 until the
// item is processed, the fee once it is SUCCESS; the fake states none.
type feeOnSuccess struct {
	base http.RoundTripper
	fee  string
}

func (f feeOnSuccess) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := f.base.RoundTrip(req)
	if err != nil || req.Method != http.MethodGet || resp.StatusCode != http.StatusOK ||
		!strings.HasPrefix(req.URL.Path, "/v1/payments/payouts/") {
		return resp, err
	}
	raw, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return nil, err
	}
	var batch map[string]any
	if err := json.Unmarshal(raw, &batch); err != nil {
		return nil, err
	}
	items, _ := batch["items"].([]any)
	for _, it := range items {
		item := it.(map[string]any)
		value := "0.00"
		if item["transaction_status"] == "SUCCESS" {
			value = f.fee
		}
		item["payout_item_fee"] = map[string]string{"currency": "USD", "value": value}
	}
	if raw, err = json.Marshal(batch); err != nil {
		return nil, err
	}
	resp.Body, resp.ContentLength = io.NopCloser(bytes.NewReader(raw)), int64(len(raw))
	resp.Header.Del("Content-Length")
	return resp, nil
}

// Every way a PayPal payout ends answers its fee only when the item was paid (SUCCESS), read at
// that read: a batch watched PENDING across attempts, a linked duplicate, an unclaimed item the
// payee claimed before its cancel, an admin's confirm; an item cancelled (unclaimed) or denied
// answers a refusal and no fee.
func TestPayPalPayoutFeeOnEveryPathToPaid(t *testing.T) {
	in := activities.TransferInput{Provider: activities.ProviderPayPal, IdempotencyKey: "payment-paypal-CAPF/transfer/vendor-v1/0",
		Destination: "vendor@example.com", Amount: 9545, Currency: "usd", TransferGroup: "o-f", Metadata: map[string]string{"payee_id": "v1"}}
	tests := []struct {
		name    string
		fake    func(p *testenv.PayPal)
		run     func(t *testing.T, a *activities.Activities, fake *testenv.PayPal) (activities.TransferOutput, error)
		wantFee int64
		refused bool
	}{
		{name: "paid at once", wantFee: 25},
		{name: "pending past an attempt's watch, paid on the next", fake: func(p *testenv.PayPal) { p.IgnoreRequestIDs, p.PendingReads = true, 1<<30 },
			run: func(t *testing.T, a *activities.Activities, fake *testenv.PayPal) (activities.TransferOutput, error) {
				_, err := transferIn(t, a, in)
				require.ErrorContains(t, err, "still pending")
				fake.SettlePayouts()
				return transferIn(t, a, in)
			}, wantFee: 25},
		{name: "unclaimed, claimed before its cancel", fake: func(p *testenv.PayPal) {
			p.ItemStatus, p.ClaimedBeforeCancel = func(string) string { return "UNCLAIMED" }, true
		}, run: func(t *testing.T, a *activities.Activities, _ *testenv.PayPal) (activities.TransferOutput, error) {
			_, err := transferIn(t, a, in)
			require.ErrorContains(t, err, "cancel unclaimed payout item")
			return transferIn(t, a, in)
		}, wantFee: 25},
		{name: "unclaimed and cancelled", fake: func(p *testenv.PayPal) { p.ItemStatus = func(string) string { return "UNCLAIMED" } }, refused: true},
		{name: "denied", fake: func(p *testenv.PayPal) { p.ItemStatus = func(string) string { return "DENIED" } }, refused: true},
		{name: "confirmed by an admin after an unknown outcome", fake: func(p *testenv.PayPal) { p.PendingReads = 1 << 30 },
			run: func(t *testing.T, a *activities.Activities, fake *testenv.PayPal) (activities.TransferOutput, error) {
				_, err := transferIn(t, a, in)
				require.ErrorContains(t, err, "still pending")
				fake.SettlePayouts()
				return confirmIn(t, a, activities.ConfirmTransferInput{Transfer: in, Ref: "BATCH0001"})
			}, wantFee: 25},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fake := testenv.NewPayPal(t)
			if tc.fake != nil {
				tc.fake(fake)
			}
			hc := fake.HTTPClient()
			hc.Transport = feeOnSuccess{base: hc.Transport, fee: "0.25"}
			c, err := activities.NewPayPalClient("paysplit-test", "secret", fake.APIBase, hc)
			require.NoError(t, err)
			a := &activities.Activities{PayPal: c, PayPalWatch: 200 * time.Millisecond}
			run := tc.run
			if run == nil {
				run = func(t *testing.T, a *activities.Activities, _ *testenv.PayPal) (activities.TransferOutput, error) {
					return transferIn(t, a, in)
				}
			}
			out, err := run(t, a, fake)
			if tc.refused {
				requireNonRetryable(t, err, activities.ErrTypeRejected)
				require.Zero(t, out.Fee)
			} else {
				require.NoError(t, err)
				require.Equal(t, "ITEM0001", out.TransferID)
				require.Equal(t, tc.wantFee, out.Fee, "the fee PayPal states once the item is paid")
			}
			require.Len(t, fake.Payouts(), 1, "PayPal paid once")
		})
	}
}

// transferIn runs Transfer in an activity's context, as a worker does (a watch heartbeats).
func transferIn(t *testing.T, a *activities.Activities, in activities.TransferInput) (activities.TransferOutput, error) {
	t.Helper()
	var out activities.TransferOutput
	val, err := activityEnv(a).ExecuteActivity(a.Transfer, in)
	if err == nil {
		require.NoError(t, val.Get(&out))
	}
	return out, err
}
