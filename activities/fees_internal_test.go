package activities

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"paysplit/internal/money"
	"paysplit/testenv"
)

// PayPal's fee is read the way reconciliation compares it (capture, then feeLessReturns): the
// capture's, less what each refund the payment recorded gave back; what PayPal cannot state in
// the payment's terms is a reason, never a guess.
func TestPayPalNetFee(t *testing.T) {
	fake := testenv.NewPayPal(t)
	c, err := NewPayPalClient("paysplit-test", "secret", fake.APIBase, fake.HTTPClient())
	require.NoError(t, err)
	fake.AddCapture(testenv.PayPalCapture{ID: "CAP-OK", Currency: "USD", Amount: "110.00", Fee: "4.33"})
	fake.AddCapture(testenv.PayPalCapture{ID: "CAP-NOFEE", Currency: "USD", Amount: "110.00"})
	fake.AddCapture(testenv.PayPalCapture{ID: "CAP-EUR", Currency: "EUR", Amount: "100.00", Fee: "3.84"})
	fake.AddCapture(testenv.PayPalCapture{ID: "CAP-JPY", Currency: "JPY", Amount: "11000", Fee: "433"})
	fake.AddRefund(testenv.PayPalRefund{ID: "REF-1", CaptureID: "CAP-OK", Currency: "USD", Amount: "11.00", Fee: "0.38"})
	fake.AddRefund(testenv.PayPalRefund{ID: "REF-2", CaptureID: "CAP-OK", Currency: "USD", Amount: "5.00"})
	fake.AddRefund(testenv.PayPalRefund{ID: "REF-BIG", CaptureID: "CAP-OK", Currency: "USD", Amount: "50.00", Fee: "9.99"})
	tests := []struct {
		name, capture string
		refunds       []string
		currency      string
		want          int64
		why           string
	}{
		{"the capture's fee", "CAP-OK", nil, "usd", 433, ""},
		{"less what a refund gave back", "CAP-OK", []string{"REF-1"}, "usd", 395, ""},
		{"a refund that gave nothing back", "CAP-OK", []string{"REF-1", "REF-2"}, "usd", 395, ""},
		{"a zero-exponent currency", "CAP-JPY", nil, "jpy", 433, ""},
		{"returns above the fee are not believed", "CAP-OK", []string{"REF-BIG"}, "usd", 0, "outside 0..433"},
		{"no fee stated", "CAP-NOFEE", nil, "usd", 0, "states no fee"},
		{"a fee in another currency", "CAP-EUR", nil, "usd", 0, "fee in eur, the payment in usd"},
		{"a capture PayPal does not know", "CAP-GONE", nil, "usd", 0, "RESOURCE_NOT_FOUND"},
		{"a refund PayPal does not know", "CAP-OK", []string{"REF-GONE"}, "usd", 0, "get refund REF-GONE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fee, why, err := readFee(paypalRail{c}, tt.capture, tt.refunds, money.Currency(tt.currency))
			require.NoError(t, err)
			require.Equal(t, tt.want, fee)
			if tt.why == "" {
				require.Empty(t, why)
			} else {
				require.Contains(t, why, tt.why)
			}
		})
	}
}

// readFee reads a capture and its fee net of the refunds' returns, as paypalStated does.
func readFee(rail paypalRail, captureID string, refunds []string, cur money.Currency) (int64, string, error) {
	ctx := context.Background()
	c, why, err := rail.capture(ctx, captureID)
	if c == nil {
		return 0, why, err
	}
	return rail.feeLessReturns(ctx, c, refunds, cur, 11000)
}
