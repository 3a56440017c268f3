package activities

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/plutov/paypal/v4"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"paysplit/internal/store"
)

// NewPayPalClient builds a PayPal REST client for payouts against base (PayPal's API, or a local
// server that speaks its wire format in tests).
func NewPayPalClient(clientID, secret, base string, httpClient *http.Client) (*paypal.Client, error) {
	c, err := paypal.NewClient(clientID, secret, base)
	if err != nil {
		return nil, fmt.Errorf("paypal client: %w", err)
	}
	if httpClient == nil {
		httpClient = &http.Client{Timeout: 30 * time.Second}
	}
	c.SetHTTPClient(httpClient)
	return c, nil
}

// paypalRail pays payees of PayPal payments with the Payouts API.
type paypalRail struct{ c *paypal.Client }

// payoutPoll bounds how long one activity attempt watches a payout settle before handing the
// wait back to the retry policy (the next attempt finds the same batch through its request ID).
const (
	payoutPoll     = 30 * time.Second
	payoutPollStep = time.Second
)

func (r paypalRail) resolve(_ context.Context, p store.Payee) (ResolvePayeeOutput, error) {
	if p.PayPalReceiver == "" {
		return ResolvePayeeOutput{HoldReason: fmt.Sprintf("payee %q has no PayPal receiver", p.ID)}, nil
	}
	return ResolvePayeeOutput{Destination: p.PayPalReceiver}, nil
}

// send creates a one-item payout batch. sender_batch_id and the PayPal-Request-Id header are both
// the leg's idempotency key: PayPal completes a batch only once per sender_batch_id, and a retried
// request with the same request ID gets the original batch back instead of an error. It then
// watches the item settle: SUCCESS is paid; UNCLAIMED is cancelled (the money comes back) and,
// like FAILED, RETURNED, BLOCKED or DENIED, goes to the admin path.
func (r paypalRail) send(ctx context.Context, in TransferInput) (string, error) {
	value, err := moneyDecimal(in.Amount, in.Currency)
	if err != nil {
		return "", err
	}
	recipient := "PAYPAL_ID"
	if strings.Contains(in.Destination, "@") {
		recipient = "EMAIL"
	}
	body := paypal.Payout{
		SenderBatchHeader: &paypal.SenderBatchHeader{SenderBatchID: in.IdempotencyKey, EmailSubject: "You have a payout"},
		Items: []paypal.PayoutItem{{
			RecipientType: recipient, Receiver: in.Destination, SenderItemID: in.Metadata["payee_id"],
			Amount: &paypal.AmountPayout{Currency: in.Currency.Upper(), Value: value},
			Note:   "order " + in.TransferGroup,
		}},
	}
	req, err := r.c.NewRequest(ctx, http.MethodPost, r.c.APIBase+"/v1/payments/payouts", body)
	if err != nil {
		return "", err
	}
	req.Header.Set("PayPal-Request-Id", in.IdempotencyKey)
	var created paypal.PayoutResponse
	if err := r.c.SendWithAuth(req, &created); err != nil {
		return "", classifyPayPal("create payout "+in.IdempotencyKey, err)
	}
	if created.BatchHeader == nil || created.BatchHeader.PayoutBatchID == "" {
		return "", errors.New("paypal: payout response without a batch ID")
	}
	return r.await(ctx, created.BatchHeader.PayoutBatchID)
}

func (r paypalRail) await(ctx context.Context, batchID string) (string, error) {
	deadline := time.Now().Add(payoutPoll)
	for {
		batch, err := r.c.GetPayout(ctx, batchID)
		if err != nil {
			return "", classifyPayPal("get payout "+batchID, err)
		}
		if len(batch.Items) == 1 {
			item := batch.Items[0]
			switch item.TransactionStatus {
			case "SUCCESS":
				return item.PayoutItemID, nil
			case "UNCLAIMED":
				// Nobody can take it: cancel so the money returns now rather than in 30 days.
				if _, err := r.c.CancelPayoutItem(ctx, item.PayoutItemID); err != nil {
					return "", classifyPayPal("cancel unclaimed payout item "+item.PayoutItemID, err)
				}
				return "", rejected(fmt.Sprintf("PayPal payout item %s was unclaimed and has been cancelled", item.PayoutItemID))
			case "FAILED", "RETURNED", "BLOCKED", "DENIED", "REFUNDED", "REVERSED":
				return "", rejected(fmt.Sprintf("PayPal payout item %s %s", item.PayoutItemID, strings.ToLower(item.TransactionStatus)))
			}
		}
		if batch.BatchHeader != nil && batch.BatchHeader.BatchStatus == "DENIED" {
			return "", rejected("PayPal denied payout batch " + batchID)
		}
		activity.RecordHeartbeat(ctx, batchID)
		if time.Now().After(deadline) {
			return "", fmt.Errorf("paypal payout batch %s still pending", batchID) // retryable
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(payoutPollStep):
		}
	}
}

// reverse: a completed PayPal payout cannot be pulled back. The refusal is permanent, so the
// workflow keeps the amount as owed by the payee (a debit on their payable) for an admin.
func (r paypalRail) reverse(_ context.Context, in ReverseTransferInput) (string, error) {
	return "", temporal.NewNonRetryableApplicationError(
		fmt.Sprintf("PayPal payout %s cannot be reversed; %d stays owed by the payee", in.TransferID, in.Amount), ErrTypeCannotReverse, nil)
}

func rejected(msg string) error {
	return temporal.NewNonRetryableApplicationError(msg, ErrTypeRejected, nil)
}

// classifyPayPal keeps 429, 5xx and network errors retryable and makes every other refusal a
// business error for the admin path.
func classifyPayPal(op string, err error) error {
	var pe *paypal.ErrorResponse
	if !errors.As(err, &pe) || pe.Response == nil {
		return err
	}
	code := pe.Response.StatusCode
	if code == http.StatusTooManyRequests || code >= 500 {
		return err
	}
	return temporal.NewNonRetryableApplicationError(fmt.Sprintf("%s: %s %s", op, pe.Name, pe.Message), ErrTypeRejected, err,
		map[string]any{"status": code, "debug_id": pe.DebugID})
}
