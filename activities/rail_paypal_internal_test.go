package activities

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/plutov/paypal/v4"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
)

func TestClassifyPayPal(t *testing.T) {
	for _, tc := range []struct {
		status    int
		retryable bool
	}{{409, true}, {429, true}, {500, true}, {503, true}, {400, false}, {401, false}, {403, false}, {404, false}, {422, false}} {
		err := classifyPayPal("create payout k", &paypal.ErrorResponse{Response: &http.Response{StatusCode: tc.status}, Name: "X"})
		var app *temporal.ApplicationError
		require.Equal(t, !tc.retryable, errors.As(err, &app) && app.NonRetryable(), "status %d", tc.status)
	}
}

// PayPal's refusal of a used sender_batch_id, in the shapes it has had, and other 400s.
func TestDuplicateBatch(t *testing.T) {
	const link = `{"links":[{"href":"https://api-m.paypal.com/v1/payments/payouts/5UXD2E8A7EBQJ","rel":"self","method":"GET"}]}`
	tests := []struct {
		name    string
		status  int
		resp    paypal.ErrorResponse
		body    string
		wantID  string
		wantDup bool
	}{
		{"documented: message and link", 400, paypal.ErrorResponse{Name: "USER_BUSINESS_ERROR", Message: "Batch with given sender_batch_id already exists"},
			link, "5UXD2E8A7EBQJ", true},
		{"older: detail, no link", 400, paypal.ErrorResponse{Name: "USER_BUSINESS_ERROR", Message: "User business error.",
			Details: []paypal.ErrorResponseDetail{{Field: "SENDER_BATCH_ID", Issue: "Duplicate batch request"}}}, `{}`, "", true},
		{"detail with the header's path", 400, paypal.ErrorResponse{Name: "USER_BUSINESS_ERROR",
			Details: []paypal.ErrorResponseDetail{{Field: "sender_batch_header.sender_batch_id"}}}, link, "5UXD2E8A7EBQJ", true},
		{"another refusal", 400, paypal.ErrorResponse{Name: "VALIDATION_ERROR", Message: "Invalid request - see details",
			Details: []paypal.ErrorResponseDetail{{Field: "items[0].receiver", Issue: "Receiver is invalid"}}}, `{"links":[]}`, "", false},
		{"not a 400", 422, paypal.ErrorResponse{Name: "UNPROCESSABLE_ENTITY", Message: "sender_batch_id"}, link, "", false},
		{"a link elsewhere is no batch", 400, paypal.ErrorResponse{Message: "sender_batch_id already used"},
			`{"links":[{"href":"https://developer.paypal.com/docs/api/payments.payouts-batch/v1/","rel":"information_link"}]}`, "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.resp.Response = &http.Response{StatusCode: tc.status}
			id, dup := duplicateBatch(&tc.resp, []byte(tc.body))
			require.Equal(t, tc.wantDup, dup)
			if dup {
				require.Equal(t, tc.wantID, id)
			}
		})
	}
	_, dup := duplicateBatch(errors.New("connection reset"), nil)
	require.False(t, dup, "no answer is no refusal")
}

// A payee ID too long for sender_item_id is cut to fit, stays the same on every attempt, and two
// IDs cut at the same place stay apart.
func TestPayPalItemID(t *testing.T) {
	short := "acme-blue-fox"
	require.Equal(t, short, payPalItemID(short))
	a, b := "acme-"+strings.Repeat("x", 58)+"a", "acme-"+strings.Repeat("x", 58)+"b"
	require.Len(t, a, 64)
	require.Len(t, payPalItemID(a), maxSenderItemID)
	require.Equal(t, payPalItemID(a), payPalItemID(a))
	require.NotEqual(t, payPalItemID(a), payPalItemID(b))
	require.True(t, strings.HasPrefix(payPalItemID(a), "acme-xxx"))
}
