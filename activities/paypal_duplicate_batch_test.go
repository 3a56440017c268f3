package activities_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"paysplit/activities"
)

// PayPal's refusal of a used sender_batch_id, verbatim but for the batch ID, as the client library
// this project uses documents it: github.com/plutov/paypal/v4@v4.8.0 unit_test.go
// (TestTypeErrorResponseOne). The link to the batch made under the key is in details[].link
// (singular "link", an array), not in a top-level "links"; the same shape was seen from the
// sandbox by others (details[0].link[0].href = the original batch).
const documentedDuplicateBatch = `{
	"name":"USER_BUSINESS_ERROR",
	"message":"User business error.",
	"debug_id":"f05063556a338",
	"information_link":"https://developer.paypal.com/docs/api/payments.payouts-batch/#errors",
	"details":[
		{
			"field":"SENDER_BATCH_ID",
			"issue":"Batch with given sender_batch_id already exists",
			"link":[
				{
					"href":"https://api.sandbox.paypal.com/v1/payments/payouts/CR9VS2K4X4846",
					"rel":"self",
					"method":"GET"
				}
			]
		}
	]
}`

// GET /v1/payments/payouts/{id}, shaped as plutov/paypal v4.8.0 unit_test.go TestTypePayoutResponse
// (PayPal's documented show-payout-batch answer), with this movement's key, amount and a settled item.
const documentedPayoutBatch = `{
	"batch_header":{
		"payout_batch_id":"CR9VS2K4X4846",
		"batch_status":"SUCCESS",
		"time_created":"2017-11-01T23:08:25Z",
		"time_completed":"2017-11-01T23:08:46Z",
		"sender_batch_header":{"sender_batch_id":"payment-paypal-CAP9/transfer/vendor-v1/0","email_subject":"Payment"},
		"amount":{"currency":"USD","value":"95.45"},
		"fees":{"currency":"USD","value":"0.25"}
	},
	"items":[{
		"payout_item_id":"9T35G83YA546X",
		"transaction_id":"4T328230B1D337285",
		"transaction_status":"SUCCESS",
		"payout_item_fee":{"currency":"USD","value":"0.25"},
		"payout_batch_id":"CR9VS2K4X4846",
		"payout_item":{"recipient_type":"EMAIL","amount":{"currency":"USD","value":"95.45"},"note":"Optional note",
			"receiver":"vendor@example.com","sender_item_id":"v1"},
		"time_processed":"2017-11-01T23:08:43Z"
	}]
}`

// A retry of a payout whose first answer was lost meets PayPal's refusal of the used
// sender_batch_id. With the refusal as PayPal writes it, the rail must follow the link to the
// batch and report the item paid, as the README says ("the rail follows the link and watches
// that batch as its own") — not leave the leg in doubt for an admin.
func TestPayPalDuplicateBatchLinkedInItsDetail(t *testing.T) {
	var creates int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.URL.Path == "/v1/oauth2/token":
			_, _ = io.WriteString(w, `{"access_token":"A21AA","token_type":"Bearer","expires_in":32400}`)
		case r.Method == http.MethodPost && r.URL.Path == "/v1/payments/payouts":
			creates++
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, documentedDuplicateBatch)
		case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/v1/payments/payouts/CR9VS2K4X4846"):
			_, _ = io.WriteString(w, documentedPayoutBatch)
		default:
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, `{"name":"RESOURCE_NOT_FOUND"}`)
		}
	}))
	defer srv.Close()
	c, err := activities.NewPayPalClient("paysplit-test", "secret", srv.URL, srv.Client())
	require.NoError(t, err)
	a := &activities.Activities{PayPal: c}
	in := activities.TransferInput{Provider: activities.ProviderPayPal, IdempotencyKey: "payment-paypal-CAP9/transfer/vendor-v1/0",
		Destination: "vendor@example.com", Amount: 9545, Currency: "usd", TransferGroup: "o-9", Metadata: map[string]string{"payee_id": "v1"}}

	out, err := a.Transfer(context.Background(), in)
	require.NoError(t, err, "PayPal linked the batch made under this key; it paid 95.45 USD")
	require.Equal(t, "9T35G83YA546X", out.TransferID)
	require.Equal(t, 1, creates)
}
