package activities

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/plutov/paypal/v4"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"paysplit/internal/money"
	"paysplit/internal/paypalauth"
	"paysplit/internal/store"
)

// NewPayPalClient builds a PayPal REST client for payouts against base (PayPal's API, or a local
// server that speaks its wire format in tests): paypalauth.NewClient, the one way every PayPal
// client of the platform is made, so that each renews a token PayPal refuses (paypalauth.Do).
func NewPayPalClient(clientID, secret, base string, httpClient *http.Client) (*paypal.Client, error) {
	return paypalauth.NewClient(clientID, secret, base, httpClient)
}

// paypalRail pays payees of PayPal payments with the Payouts API.
type paypalRail struct {
	c *paypal.Client
	// watch bounds how long one activity attempt watches a payout settle before handing the wait
	// back to the retry policy (the next attempt finds the same batch through its key); 0 is
	// payoutPoll.
	watch time.Duration
	// keys records each key's first send (nil only in tests without a database: a key is then
	// sent whenever asked).
	keys *store.Store
}

// payPalKeyKept is how long after a key's first send it is sent to PayPal again: PayPal keeps a
// sender_batch_id 30 days, and has no lookup by it; a day short of that, as the run's own guard
// (workflows/payment payPalKeyDays), so no send reaches PayPal after it may have forgotten the key.
const payPalKeyKept = 29 * 24 * time.Hour

// noteSend records that a payout goes out under key, before it is sent, refuses it when its first
// send was payPalKeyKept ago or more, and says whether an earlier send may have made its batch.
// The run's guard (leg.SentAt) knows only sends its history kept: one whose worker died before
// its workflow task completed (a local activity) left none, and the next worker, after a month's
// outage, sends the key as new, its SentAt now. The record here is older than the run's and is
// what counts. The refusal is a plain error, never a rejection: a new key would pay again if the
// first send went through; retried (the retries refuse again without asking PayPal), and after
// the last attempt the leg keeps the key, in doubt, for an admin. A failed record is retried
// too: a key sent without its record could be paid twice later.
func (r paypalRail) noteSend(ctx context.Context, key string) (mayBeMade bool, err error) {
	if r.keys == nil {
		return false, nil
	}
	sent, err := r.keys.NoteKeySend(ctx, key)
	if err != nil {
		return false, err
	}
	if sent.SentBefore && sent.FirstSentAgo >= payPalKeyKept {
		first := time.Now().Add(-sent.FirstSentAgo).UTC().Format(time.DateOnly)
		return true, fmt.Errorf("paypal: payout %s in doubt since %s; PayPal keeps a sender_batch_id 30 days, so it is not sent again: "+
			"look the payout up in PayPal and resolve it", key, first)
	}
	return sent.MayBeMade, nil
}

const (
	payoutPoll     = 30 * time.Second
	payoutPollStep = time.Second
)

func (r paypalRail) resolve(_ context.Context, p store.Payee) (ResolvePayeeOutput, error) {
	if p.PayPalReceiver == "" {
		return ResolvePayeeOutput{HoldReason: fmt.Sprintf("payee %q has no PayPal receiver", p.ID)}, nil
	}
	if problem := store.PayPalReceiverProblem(p.PayPalReceiver); problem != "" {
		// Stored before registration refused it (a non-breaking space passed until 2026-11-28):
		// PayPal refuses every payout to it, so it waits for an admin to correct the payee.
		return ResolvePayeeOutput{HoldReason: fmt.Sprintf("payee %q's PayPal receiver cannot be paid: it %s; correct the payee", p.ID, problem)}, nil
	}
	return ResolvePayeeOutput{Destination: p.PayPalReceiver}, nil
}

// send creates a one-item payout batch. sender_batch_id and the PayPal-Request-Id header are both
// the leg's idempotency key: PayPal completes a batch only once per sender_batch_id, and a retried
// request with the same request ID gets the original batch back instead of an error. It then
// watches the item settle: SUCCESS is paid; UNCLAIMED is cancelled (the money comes back) and,
// like FAILED, RETURNED, BLOCKED or DENIED, goes to the admin path.
func (r paypalRail) send(ctx context.Context, in TransferInput) (TransferOutput, error) {
	value, err := payPalValue(in.Amount, in.Currency)
	if err != nil {
		return TransferOutput{}, err
	}
	recipient := "PAYPAL_ID"
	if strings.Contains(in.Destination, "@") {
		recipient = "EMAIL"
	}
	body := paypal.Payout{
		SenderBatchHeader: &paypal.SenderBatchHeader{SenderBatchID: in.IdempotencyKey, EmailSubject: "You have a payout"},
		Items: []paypal.PayoutItem{{
			RecipientType: recipient, Receiver: in.Destination, SenderItemID: payPalItemID(in.Metadata["payee_id"]),
			Amount: &paypal.AmountPayout{Currency: in.Currency.Upper(), Value: value},
			Note:   "order " + in.TransferGroup,
		}},
	}
	sendCtx, answer := paypalauth.WithErrorBody(ctx)
	req, err := r.c.NewRequest(sendCtx, http.MethodPost, r.c.APIBase+"/v1/payments/payouts", body)
	if err != nil {
		return TransferOutput{}, err
	}
	req.Header.Set("PayPal-Request-Id", in.IdempotencyKey)
	// Recorded last before the call: a payout refused before it (a fraction of a unit) never went out.
	mayBeMade, err := r.noteSend(ctx, in.IdempotencyKey)
	if err != nil {
		return TransferOutput{}, err
	}
	var created paypal.PayoutResponse
	err = r.withToken(ctx, func(again bool) error {
		if !again {
			return r.c.SendWithAuth(req, &created)
		}
		// The same request, its PayPal-Request-Id and sender_batch_id the key's, never a new key:
		// the one refused made nothing (PayPal refuses a token before it looks at the payout), and
		// a new key would pay again what an earlier send under this one may have made.
		retry := req.Clone(req.Context())
		if req.GetBody == nil {
			return errors.New("paypal: create payout " + in.IdempotencyKey + ": the request cannot be sent again")
		}
		againBody, bodyErr := req.GetBody()
		if bodyErr != nil {
			return bodyErr
		}
		retry.Body, *answer = againBody, nil
		return r.c.SendWithAuth(retry, &created)
	})
	if err != nil {
		batchID, dup := duplicateBatch(err, *answer)
		switch {
		case !dup:
			r.noteUnmade(ctx, in.IdempotencyKey, err)
			if trouble := credentialsTrouble("create payout "+in.IdempotencyKey, err); trouble != nil {
				// Our credentials refused (the token request failed, with any status, or a 401 to a
				// token just issued): nothing of the payout, whether or not its key went out before.
				// Taken as the payout's refusal, a secret rotated or a REST app disabled without the
				// deployment knowing refused every leg of every payment, each given a new key and an
				// admin's decision. Retried under the key until the settings are fixed.
				return TransferOutput{}, trouble
			}
			refusal := classifyPayPal("create payout "+in.IdempotencyKey, err)
			if (in.Asked || mayBeMade || requestIDUsed(err)) && isRefusal(refusal) {
				// An earlier send under the key may have made the batch, and this refusal came before
				// PayPal looked at the key (our credentials, the app's permission, the request ID
				// itself refused): it says nothing of that batch. Taken as the payout's, the leg would
				// get a new key and pay again. Retried until PayPal answers the key; the text only, as
				// a wrapped rejection would still stop the retries. PayPal refusing the request ID
				// says itself that the key went out before, whatever the records know.
				return TransferOutput{}, sentBefore("PayPal", "create payout "+in.IdempotencyKey, refusal)
			}
			return TransferOutput{}, refusal
		case batchID == "":
			// Never a refusal: a new key would pay again if that batch went through. Retried, and
			// after the last attempt the leg keeps the key for an admin.
			return TransferOutput{}, fmt.Errorf("paypal: a payout batch under sender_batch_id %s exists and PayPal did not link it: "+
				"its outcome is unknown; look it up in PayPal", in.IdempotencyKey)
		}
		// An earlier attempt made it and its answer was lost; PayPal replays no answer for a
		// repeated PayPal-Request-Id here, it refuses the sender_batch_id. That batch is this
		// movement: watch it as if it had just been created.
		return r.await(ctx, batchID, in, true)
	}
	if created.BatchHeader == nil || created.BatchHeader.PayoutBatchID == "" {
		return TransferOutput{}, errors.New("paypal: payout response without a batch ID")
	}
	return r.await(ctx, created.BatchHeader.PayoutBatchID, in, false)
}

// maxSenderItemID is the longest sender_item_id PayPal takes; a longer one refuses the whole
// payout (VALIDATION_ERROR), on every attempt and under every key.
const maxSenderItemID = 63

// payPalItemID is the payee's ID as a payout item's sender_item_id, which only tracks the item
// for people reading PayPal's records. Payee IDs run to 64 characters (store.ValidID) and the
// storefront makes IDs of exactly 64 from long vendor names: one that does not fit keeps its
// start, readable, and ends with 8 hex digits of its SHA-256 so two long IDs stay apart.
func payPalItemID(payeeID string) string {
	if len(payeeID) <= maxSenderItemID {
		return payeeID
	}
	sum := sha256.Sum256([]byte(payeeID))
	suffix := hex.EncodeToString(sum[:4])
	return payeeID[:maxSenderItemID-1-len(suffix)] + "-" + suffix
}

// duplicateBatch reports whether err is PayPal's refusal of a sender_batch_id used in the last
// 30 days, and the ID of the batch made under it from the answer's link to it ("" when the
// answer has none).
func duplicateBatch(err error, answer []byte) (batchID string, dup bool) {
	var pe *paypal.ErrorResponse
	if !errors.As(err, &pe) || pe.Response == nil || pe.Response.StatusCode != http.StatusBadRequest {
		return "", false
	}
	var body struct {
		Links []paypal.Link `json:"links"`
	}
	_ = json.Unmarshal(answer, &body) // plutov decoded the rest; a body without links links nothing
	// PayPal puts the link to the batch made under the key in the detail ("details[].link", as
	// plutov's own fixture of this refusal has it); a top-level "links" is taken too.
	links := body.Links
	for _, d := range pe.Details {
		if strings.EqualFold(strings.TrimPrefix(d.Field, "sender_batch_header."), "sender_batch_id") {
			dup = true
		}
		links = append(links, d.Links...)
	}
	for _, l := range links {
		if u, err := url.Parse(l.Href); err == nil && (l.Method == "" || l.Method == http.MethodGet) {
			if id, ok := strings.CutPrefix(u.Path, "/v1/payments/payouts/"); ok && id != "" && !strings.Contains(id, "/") {
				batchID = id
			}
		}
	}
	return batchID, dup || strings.Contains(strings.ToLower(pe.Message), "sender_batch_id")
}

// await watches a payout batch until its one item settles. A batch this request did not create
// (linked, the movement in was asked for) must be that movement: made under its key for its
// amount; any other is not its outcome and is left to an admin (retryable, so the key is kept).
// The item paid answers its ID and the fee PayPal took for it (payoutItemFee).
func (r paypalRail) await(ctx context.Context, batchID string, in TransferInput, linked bool) (TransferOutput, error) {
	watch := cmp.Or(r.watch, payoutPoll)
	step := min(payoutPollStep, watch/4)
	deadline := time.Now().Add(watch)
	for {
		var batch *paypal.PayoutResponse
		err := r.withToken(ctx, func(bool) (err error) {
			batch, err = r.c.GetPayout(ctx, batchID)
			return err
		})
		if err != nil {
			// Never a refusal once the batch exists: a refusal gives the leg a new key, and a new
			// batch would pay again what this one may have paid. Retried, the key is kept.
			if trouble := credentialsTrouble("get payout "+batchID, err); trouble != nil {
				return TransferOutput{}, trouble
			}
			return TransferOutput{}, fmt.Errorf("paypal: get payout %s: %w", batchID, err)
		}
		if linked {
			if err := sameMovement(batch, in); err != nil {
				return TransferOutput{}, err
			}
		}
		if len(batch.Items) == 1 {
			item := batch.Items[0]
			switch item.TransactionStatus {
			case "SUCCESS":
				return TransferOutput{TransferID: item.PayoutItemID, Fee: payoutItemFee(batch, item, in.Currency)}, nil
			case "UNCLAIMED":
				// Nobody can take it: cancel so the money returns now rather than in 30 days.
				err := r.withToken(ctx, func(bool) error {
					_, err := r.c.CancelPayoutItem(ctx, item.PayoutItemID)
					return err
				})
				if trouble := credentialsTrouble("cancel unclaimed payout item "+item.PayoutItemID, err); trouble != nil {
					return TransferOutput{}, trouble // nothing asked of the item: retried
				}
				if err != nil {
					// The payee may have claimed it meanwhile (PayPal cancels only what is still
					// unclaimed): retried, the batch is read again under the same key and says
					// SUCCESS (paid) or RETURNED (a refusal). Never a refusal here.
					return TransferOutput{}, fmt.Errorf("paypal: cancel unclaimed payout item %s: %w", item.PayoutItemID, err)
				}
				return TransferOutput{}, rejected(fmt.Sprintf("PayPal payout item %s was unclaimed and has been cancelled", item.PayoutItemID))
			case "FAILED", "RETURNED", "BLOCKED", "DENIED", "REFUNDED", "REVERSED":
				return TransferOutput{}, rejected(fmt.Sprintf("PayPal payout item %s %s", item.PayoutItemID, strings.ToLower(item.TransactionStatus)))
			}
		}
		if batch.BatchHeader != nil && batch.BatchHeader.BatchStatus == "DENIED" {
			return TransferOutput{}, rejected("PayPal denied payout batch " + batchID)
		}
		activity.RecordHeartbeat(ctx, batchID)
		if time.Now().After(deadline) {
			return TransferOutput{}, fmt.Errorf("paypal payout batch %s still pending", batchID) // retryable
		}
		select {
		case <-ctx.Done():
			return TransferOutput{}, ctx.Err()
		case <-time.After(step):
		}
	}
}

// payoutItemFee is what PayPal took from the platform's balance for a payout item it paid, on
// top of the item's amount (payout_item_fee; PayPal fills it in once the item is PENDING, 0
// before): the books' provider:paypal is above PayPal's balance by every fee they do not book.
// The batch header's fees stand in for an item without one, as our batches have one item each.
// A fee in another currency than the payout's (an account whose fees PayPal takes in its primary
// currency), or one that is not an amount of it, is logged and not booked (0): the entry would
// need a converted guess, and refusing the payout would give a payout that was made a new key,
// which pays again. The books' provider:paypal is then above PayPal's by it, as they were by
// every fee before.
func payoutItemFee(batch *paypal.PayoutResponse, item paypal.PayoutItemResponse, cur money.Currency) int64 {
	fee := item.PayoutItemFee
	if fee == nil && batch.BatchHeader != nil && len(batch.Items) == 1 {
		fee = batch.BatchHeader.Fees
	}
	if fee == nil || fee.Value == "" {
		return 0
	}
	if !strings.EqualFold(fee.Currency, cur.Upper()) {
		slog.Warn("paypal: payout item fee in another currency than the payout's is not booked",
			"item", item.PayoutItemID, "fee", fee.Value, "fee_currency", fee.Currency, "currency", cur.Upper())
		return 0
	}
	amount, err := money.ParseAmount(fee.Value, cur)
	if err != nil || amount < 0 {
		slog.Warn("paypal: payout item fee that is not an amount is not booked", "item", item.PayoutItemID, "fee", fee.Value, "currency", cur.Upper(), "error", err)
		return 0
	}
	return amount
}

// sameMovement checks that a batch PayPal answered with is the one in asked for.
func sameMovement(batch *paypal.PayoutResponse, in TransferInput) error {
	if h := batch.BatchHeader; h != nil && h.SenderBatchHeader != nil && h.SenderBatchHeader.SenderBatchID != "" &&
		h.SenderBatchHeader.SenderBatchID != in.IdempotencyKey {
		return fmt.Errorf("paypal: payout batch %s is sender_batch_id %s, not %s", h.PayoutBatchID, h.SenderBatchHeader.SenderBatchID, in.IdempotencyKey)
	}
	if len(batch.Items) != 1 || batch.Items[0].PayoutItem == nil || batch.Items[0].PayoutItem.Amount == nil {
		return nil // PayPal lists items once it has split the batch
	}
	// Not the receiver: an admin may have fixed the payee's since, and the batch paid the old one.
	item := batch.Items[0].PayoutItem
	amount, err := money.ParseAmount(item.Amount.Value, in.Currency)
	if err != nil || amount != in.Amount || !strings.EqualFold(item.Amount.Currency, in.Currency.Upper()) {
		value, _ := payPalValue(in.Amount, in.Currency)
		return fmt.Errorf("paypal: payout batch %s pays %s %s, not %s %s", batch.Items[0].PayoutBatchID,
			item.Amount.Value, item.Amount.Currency, value, in.Currency.Upper())
	}
	return nil
}

// confirm reads the payout batch an admin named: it must have been sent under the key (PayPal
// says a batch's sender_batch_id; a batch that does not say it cannot be told apart) for the key's
// amount and currency, and is then watched as send watches its own: the item paid, a refusal when
// it failed (the movement was not made), retried while it is pending.
func (r paypalRail) confirm(ctx context.Context, in TransferInput, ref string) (TransferOutput, error) {
	var batch *paypal.PayoutResponse
	err := r.withToken(ctx, func(bool) (err error) {
		batch, err = r.c.GetPayout(ctx, ref)
		return err
	})
	var pe *paypal.ErrorResponse
	if errors.As(err, &pe) && pe.Response != nil && pe.Response.StatusCode == http.StatusNotFound {
		return TransferOutput{}, notThisMovement(fmt.Sprintf("PayPal has no payout batch %s", ref))
	}
	if err != nil {
		// Only the batch's item says the payout failed (await); PayPal refusing to show the batch
		// says nothing of it, and taken as a refusal (ErrTypeRejected) the workflow gave the leg a
		// new key and paid again what the admin found paid. Our credentials refused may pass (a
		// token renewed): retried; any other refusal leaves the leg in doubt, the reason said.
		if trouble := credentialsTrouble("get payout "+ref, err); trouble != nil {
			return TransferOutput{}, trouble // the token request failed: PayPal did not look at the batch
		}
		if refused := classifyPayPal("get payout "+ref, err); isRefusal(refused) {
			return TransferOutput{}, notThisMovement(fmt.Sprintf("PayPal will not show payout batch %s (%d %s %s, debug_id %s), so it cannot be checked against %s",
				ref, pe.Response.StatusCode, pe.Name, pe.Message, pe.DebugID, in.IdempotencyKey))
		}
		return TransferOutput{}, fmt.Errorf("paypal: get payout %s: %w", ref, err)
	}
	h := batch.BatchHeader
	if h == nil || h.SenderBatchHeader == nil || h.SenderBatchHeader.SenderBatchID != in.IdempotencyKey {
		sent := "no sender_batch_id"
		if h != nil && h.SenderBatchHeader != nil && h.SenderBatchHeader.SenderBatchID != "" {
			sent = "sender_batch_id " + h.SenderBatchHeader.SenderBatchID
		}
		return TransferOutput{}, notThisMovement(fmt.Sprintf("PayPal payout batch %s has %s, not %s", ref, sent, in.IdempotencyKey))
	}
	if err := sameMovement(batch, in); err != nil {
		return TransferOutput{}, notThisMovement(err.Error())
	}
	return r.await(ctx, ref, in, true)
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

// withToken runs call, and when PayPal refused the OAuth token it bore, once more with a new one
// (call's again set): paypalauth.Do, which says when.
func (r paypalRail) withToken(ctx context.Context, call func(again bool) error) error {
	return paypalauth.Do(ctx, r.c, call)
}

// PayPalSendWithAuth is c.SendWithAuth(req, v) for calls outside the rail (the API's
// verify-webhook-signature), with a token PayPal refused before its expiry renewed once as the
// rail's calls have it (paypalauth.SendWithAuth): the same request sent again, its body from
// req.GetBody.
func PayPalSendWithAuth(ctx context.Context, c *paypal.Client, req *http.Request, v any) error {
	return paypalauth.SendWithAuth(ctx, c, req, v)
}

// credentialsRefused says whether PayPal answered err 401: a token request refusing the REST
// app's credentials, or a call refusing its token (after withToken renewed it, our credentials or
// the app's too). PayPal refuses a payout or the app's permission otherwise (403, 422).
func credentialsRefused(err error) bool {
	var pe *paypal.ErrorResponse
	return errors.As(err, &pe) && pe.Response != nil && pe.Response.StatusCode == http.StatusUnauthorized
}

// credentialsTrouble is err as a retryable error naming the settings when it is our credentials'
// or the REST app's problem and no answer to op's own request: the OAuth token request failed
// (any status, 400 invalid_request or 403 from an app misconfigured or disabled as much as 401
// invalid_client, or no answer at all: op's request was never sent, paypalauth.TokenRequestFailed),
// or op's request was refused 401 (its token renewed once already, paypalauth.Do). nil otherwise.
func credentialsTrouble(op string, err error) error {
	switch {
	case paypalauth.TokenRequestFailed(err):
		return fmt.Errorf("paypal: %s: PayPal's OAuth token request failed, so the request was not sent (%w); "+
			"check PAYPAL_CLIENT_ID and PAYPAL_SECRET and that their REST app is enabled", op, err)
	case credentialsRefused(err):
		return fmt.Errorf("paypal: %s: PayPal refused our credentials (%w); check PAYPAL_CLIENT_ID and PAYPAL_SECRET", op, err)
	}
	return nil
}

// readRefused is err, PayPal's answer to a read op, as the caller should take it: our
// credentials' (or the app's) problem (credentialsTrouble) is an error a retry may cure once the
// settings are fixed, never a resource PayPal will not show; otherwise classifyPayPal's.
func readRefused(op string, err error) error {
	if trouble := credentialsTrouble(op, err); trouble != nil {
		return trouble
	}
	return classifyPayPal(op, err)
}

// noteUnmade records that a send noteSend recorded made nothing: PayPal answered 429, its rate
// limiter refusing the request before the Payouts API took it. So a refusal of the key's next
// send is the payout's own again, where a storm of 429s left every later refusal in doubt.
func (r paypalRail) noteUnmade(ctx context.Context, key string, err error) {
	var pe *paypal.ErrorResponse
	if r.keys != nil && errors.As(err, &pe) && pe.Response != nil && pe.Response.StatusCode == http.StatusTooManyRequests {
		_ = r.keys.NoteKeyUnmade(ctx, key) // failed, the send counts as one that may have made the batch: the safe side
	}
}

// requestIDUsed says whether PayPal refused a request for its PayPal-Request-Id, one it has seen
// (used before, or in use by a request it still works on): the key went out before. The send
// records know only sends of workers that keep them (not those of a release from before them,
// sent again as new by a run that never heard of them) and for 90 days.
func requestIDUsed(err error) bool {
	var pe *paypal.ErrorResponse
	if !errors.As(err, &pe) {
		return false
	}
	used := func(s string) bool {
		return strings.EqualFold(s, "DUPLICATE_REQUEST_ID") || strings.EqualFold(s, "PAYPAL_REQUEST_ID_PREVIOUSLY_USED")
	}
	if used(pe.Name) {
		return true
	}
	for _, d := range pe.Details {
		if used(d.Issue) || used(d.Name) {
			return true
		}
	}
	return false
}

// sentBefore is refused, a provider's refusal (classifyStripe, classifyPayPal) of a request for
// the movement what names, as a plain, retryable error that keeps the key: an earlier send under
// the key may have made the movement, and the refusal came before the provider looked at the key
// (our credentials or permission refused, a validation failure), so it says nothing of that
// movement (stripeRail.once, paypalRail.send). Retried until the provider answers the key; after
// the last attempt the leg keeps the key, in doubt for an admin (the workflow takes only a
// non-retryable error as "not made"). Any other error is left as it is.
func sentBefore(provider, what string, refused error) error {
	var app *temporal.ApplicationError
	if !isRefusal(refused) || !errors.As(refused, &app) {
		return refused
	}
	msg := strings.TrimPrefix(app.Message(), what+": ")
	return fmt.Errorf("%s: sent before, its outcome unknown, and %s now refuses the request (%s): "+
		"no refusal of the movement an earlier send may have made; asked again under the same key", what, provider, msg)
}

// isRefusal says whether err is a refusal for good (non-retryable).
func isRefusal(err error) bool {
	var app *temporal.ApplicationError
	return errors.As(err, &app) && app.NonRetryable()
}

// classifyPayPal keeps 409 (a request under the same PayPal-Request-Id still being processed),
// 429, 5xx and network errors retryable and makes every other refusal a business error for the
// admin path.
func classifyPayPal(op string, err error) error {
	var pe *paypal.ErrorResponse
	if !errors.As(err, &pe) || pe.Response == nil {
		return err
	}
	code := pe.Response.StatusCode
	if code == http.StatusConflict || code == http.StatusTooManyRequests || code >= 500 {
		return err
	}
	what := strings.TrimSpace(pe.Name + " " + pe.Message)
	if what == "" {
		// OAuth's answers ({"error":"invalid_client","error_description":...}) fill neither.
		what = fmt.Sprintf("%d %s", code, http.StatusText(code))
	}
	return temporal.NewNonRetryableApplicationError(op+": "+what, ErrTypeRejected, err,
		map[string]any{"status": code, "debug_id": pe.DebugID})
}

// payPalWholeUnits are the currencies PayPal takes without decimals although ISO gives them
// minor units: a decimal amount is refused (JPY has none to begin with).
var payPalWholeUnits = map[money.Currency]bool{"huf": true, "twd": true}

// PayoutUnit is the smallest amount, in minor units, a provider's payouts can carry in a
// currency: 100 for PayPal in HUF and TWD and for Stripe in MGA (money.StripeUnit), 1 otherwise.
// Splits of such payments are made payable in it (split.PayableIn).
func PayoutUnit(provider string, cur money.Currency) int64 {
	if provider == ProviderStripe {
		return money.StripeUnit(cur)
	}
	if provider != ProviderPayPal || !payPalWholeUnits[money.Currency(strings.ToLower(string(cur)))] {
		return 1
	}
	unit := int64(1)
	for range cur.Exponent() {
		unit *= 10
	}
	return unit
}

// payPalValue is an amount as PayPal's value field takes it: whole units, without a decimal
// point, in the currencies PayPal takes so. An amount with a fraction of such a unit (a payment
// split before splits were made payable, a refund part the platform's could not even out) cannot
// be paid and is refused with the reason, before PayPal is asked.
func payPalValue(amount int64, cur money.Currency) (string, error) {
	unit := PayoutUnit(ProviderPayPal, cur)
	if unit == 1 {
		return moneyDecimal(amount, cur)
	}
	if amount%unit != 0 {
		v, _ := money.Decimal(amount, cur)
		return "", rejected(fmt.Sprintf("PayPal pays %s in whole units only; %s %s cannot be sent", cur.Upper(), v, cur.Upper()))
	}
	return strconv.FormatInt(amount/unit, 10), nil
}
