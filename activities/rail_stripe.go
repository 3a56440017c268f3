package activities

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v76"
	stripeclient "github.com/stripe/stripe-go/v76/client"
	"go.temporal.io/sdk/temporal"

	"paysplit/internal/money"
	"paysplit/internal/store"
)

// NewStripeClient builds a Stripe client against base (Stripe's API or stripe-mock). The library's
// own network retries are off: Temporal's retry policy owns retrying, with the same idempotency key.
func NewStripeClient(apiKey, base string, httpClient *http.Client) *stripeclient.API {
	if httpClient == nil {
		httpClient = &http.Client{Timeout: 30 * time.Second}
	}
	cfg := &stripe.BackendConfig{
		URL:               stripe.String(base),
		HTTPClient:        httpClient,
		MaxNetworkRetries: stripe.Int64(0),
		// Errors reach the workflow and its logs through Temporal; the library's own stderr lines would be noise.
		LeveledLogger: &stripe.LeveledLogger{Level: stripe.LevelNull},
	}
	backends := &stripe.Backends{
		API:     stripe.GetBackendWithConfig(stripe.APIBackend, cfg),
		Connect: stripe.GetBackendWithConfig(stripe.ConnectBackend, cfg),
		Uploads: stripe.GetBackendWithConfig(stripe.UploadsBackend, cfg),
	}
	return stripeclient.New(apiKey, backends)
}

// stripeRail pays payees with Stripe Connect transfers to their connected accounts. keys records
// each key's first send (nil only in tests without a database; a key is then looked up only when
// asked).
type stripeRail struct {
	api  *stripeclient.API
	keys *store.Store
}

// inDoubt reports whether a movement under key, asked or not, must first be looked for among those
// Stripe made: Stripe forgets a key after 24 hours and would make a second under it, and replays
// a 500 under it for those 24 hours whether or not the movement was made. The run says asked
// when it knows the key was sent; but a send whose worker died before its workflow task
// completed (a local activity) leaves nothing in the run's history, and the next worker (after a
// weekend's outage, say) sends it again as new. So every send is recorded before it goes out, and
// one whose key was recorded before is in doubt too when one of those earlier sends may have made
// the movement: not when each of them made nothing (Stripe answered 429, or the send was never
// asked; noteUnmade), as every retry of a storm of 429s did, one list call more each. An asked
// key is looked up whatever its record says: it may have gone out before records were kept. Only
// a key its metadata names (lookable) can be looked up; sent says, for any key, that an earlier
// send may have made the movement, so a refusal of this one says nothing of it (once). A run
// from before keys went into metadata retries an attempt whose answer was lost with the same
// input, not asked: only the record knows that attempt went out. noted says the send was
// recorded, for noteUnmade.
func (r stripeRail) inDoubt(ctx context.Context, key string, asked, lookable bool) (doubt, sent, noted bool, err error) {
	if r.keys == nil {
		return asked && lookable, asked, false, nil
	}
	rec, err := r.keys.NoteKeySend(ctx, key)
	if err != nil {
		return false, false, false, err // retried: a key sent without its record could be paid twice later
	}
	sent = asked || rec.MayBeMade
	return sent && lookable, sent, true, nil
}

// noteUnmade records that a send of key inDoubt recorded (noted) made nothing at Stripe: err is
// Stripe's 429 (it rate limits before its endpoint runs, so nothing was made and no answer was
// saved under the key), or reached is false (the lookup before it failed, so the movement was
// never asked). A note that fails leaves the send counted as one that may have made the movement:
// looked up next time.
func (r stripeRail) noteUnmade(ctx context.Context, key string, noted, reached bool, err error) {
	var se *stripe.Error
	if noted && (!reached || errors.As(err, &se) && se.HTTPStatusCode == http.StatusTooManyRequests) {
		_ = r.keys.NoteKeyUnmade(ctx, key)
	}
}

func (r stripeRail) resolve(ctx context.Context, p store.Payee) (ResolvePayeeOutput, error) {
	if p.StripeAccount == "" {
		return ResolvePayeeOutput{HoldReason: fmt.Sprintf("payee %q has no Stripe connected account", p.ID)}, nil
	}
	acct, err := r.api.Accounts.GetByID(p.StripeAccount, &stripe.AccountParams{Params: stripe.Params{Context: ctx}})
	if err != nil {
		var se *stripe.Error
		if errors.As(err, &se) && se.HTTPStatusCode == http.StatusNotFound {
			return ResolvePayeeOutput{HoldReason: fmt.Sprintf("Stripe account %s not found", p.StripeAccount)}, nil
		}
		if refused := ourKeyRefused("retrieve account "+p.StripeAccount, err); refused != nil {
			// Our API key refused (rotated, revoked, a deploy's typo): nothing of the payee's account.
			// Taken as the account's refusal (ErrTypeRejected), the run held the leg as a payee that
			// could not be checked. Retried, the check waits for the operator to fix the key.
			return ResolvePayeeOutput{}, refused
		}
		return ResolvePayeeOutput{}, classifyStripe("retrieve account "+p.StripeAccount, err)
	}
	// Transfers need only the transfers capability; payouts_enabled is about the payee's bank
	// payouts, which Stripe holds in the connected balance until it is fixed.
	if acct.Capabilities == nil || acct.Capabilities.Transfers != stripe.AccountCapabilityStatusActive {
		status := "missing"
		if acct.Capabilities != nil && acct.Capabilities.Transfers != "" {
			status = string(acct.Capabilities.Transfers)
		}
		return ResolvePayeeOutput{HoldReason: fmt.Sprintf("Stripe account %s cannot receive transfers (transfers capability %s)", p.StripeAccount, status)}, nil
	}
	return ResolvePayeeOutput{Destination: p.StripeAccount}, nil
}

func (r stripeRail) send(ctx context.Context, in TransferInput) (TransferOutput, error) {
	id, err := r.once(ctx, movement{
		key: in.IdempotencyKey, asked: in.Asked, metadata: in.Metadata,
		amount: in.Amount, currency: in.Currency, stripeUnits: in.StripeUnits,
		what:      "transfer " + in.IdempotencyKey,
		madeUnder: func(amount int64) (string, error) { return r.madeUnder(ctx, in, amount) },
		make: func(amount int64) (string, error) {
			params := &stripe.TransferParams{
				Params:        stripe.Params{Context: ctx},
				Metadata:      in.Metadata,
				Amount:        stripe.Int64(amount),
				Currency:      stripe.String(string(in.Currency)),
				Destination:   stripe.String(in.Destination),
				TransferGroup: stripe.String(in.TransferGroup),
			}
			if in.SourceTransaction != "" {
				params.SourceTransaction = stripe.String(in.SourceTransaction)
			}
			params.SetIdempotencyKey(in.IdempotencyKey)
			tr, err := r.api.Transfers.New(params)
			if err != nil {
				return "", err
			}
			return tr.ID, nil
		},
	})
	return TransferOutput{TransferID: id}, err
}

// movement is one money movement at Stripe, made once under its key (stripeRail.once): a
// transfer or a transfer's reversal.
type movement struct {
	key, what   string
	asked       bool
	metadata    map[string]string
	amount      int64
	currency    money.Currency
	stripeUnits bool
	// madeUnder finds the movement an earlier send made under key ("" when none); make makes it.
	// Both take the amount in Stripe's units.
	madeUnder, make func(amount int64) (string, error)
}

// once makes m unless an earlier send made it: a key in doubt (inDoubt) is looked up first and
// the movement found is answered; a send that made nothing (a lookup that failed before the
// movement was asked, Stripe's 429) is recorded as such (noteUnmade), so a retry after it alone
// does not look the key up again.
//
// Stripe refuses some requests before it looks at their key, and saves no answer under it: our
// API key refused (401, a restricted key rotated or revoked), not allowed the endpoint (403, a
// permission removed), parameters that fail validation. Such a refusal of a key an earlier send
// may have made the movement under says nothing of that movement; taken as the movement's
// (ErrTypeRejected), the workflow would send a new key and move the money twice. So a refused
// lookup, and a refused send of a key asked again without one (its metadata names no key), is
// kept under the key (sentBefore). A send refused after its lookup found nothing under the key
// is the movement's own refusal: Stripe holds no movement made under it. An unlooked key counts
// as sent before when the run asked it or its record says an earlier send may have made it.
func (r stripeRail) once(ctx context.Context, m movement) (string, error) {
	doubt, sent, noted, err := r.inDoubt(ctx, m.key, m.asked, m.metadata[MetaIdempotencyKey] == m.key)
	if err != nil {
		return "", err
	}
	amount, err := toStripe(m.amount, m.currency, m.stripeUnits)
	if err != nil {
		return "", rejected(fmt.Sprintf("%s: %v", m.what, err))
	}
	if doubt {
		if id, err := m.madeUnder(amount); id != "" || err != nil {
			if err != nil {
				r.noteUnmade(ctx, m.key, noted, false, err)
				return "", sentBefore("Stripe", m.what, err)
			}
			return id, nil
		}
	}
	id, err := m.make(amount)
	if err != nil {
		r.noteUnmade(ctx, m.key, noted, true, err)
		if refused := ourKeyRefused(m.what, err); refused != nil {
			// Our API key refused (rotated, revoked): nothing of this movement, whether or not the
			// key was sent before. Taken as the movement's refusal (ErrTypeRejected), one platform
			// key rotated without the deployment refused every transfer and reversal of every
			// payment, each leg given a new key and an admin's decision. Retried under the key.
			return "", refused
		}
		if sent && !doubt {
			return "", sentBefore("Stripe", m.what, classifyStripe(m.what, err))
		}
		return "", classifyStripe(m.what, err)
	}
	return id, nil
}

// toStripe is a movement's amount as Stripe reads it: converted from ISO units
// (money.ToStripe), or as it is for a run that counts in Stripe's units.
func toStripe(amount int64, cur money.Currency, stripeUnits bool) (int64, error) {
	if stripeUnits {
		return amount, nil
	}
	return money.ToStripe(amount, cur)
}

// madeUnder finds the transfer made under in's key among the transfers of its transfer group
// (the order; of its destination when it has none), by the key its metadata carries; "" when
// there is none. Not by destination within the order: an admin may have fixed the payee's
// account since, and the transfer in doubt went to the old one. One of another amount (amount,
// in Stripe's units) or currency is an error (madeWithKey).
func (r stripeRail) madeUnder(ctx context.Context, in TransferInput, amount int64) (string, error) {
	params := &stripe.TransferListParams{ListParams: stripe.ListParams{Context: ctx}}
	if in.TransferGroup != "" {
		params.TransferGroup = stripe.String(in.TransferGroup)
	} else {
		params.Destination = stripe.String(in.Destination)
	}
	params.Limit = stripe.Int64(100)
	it := r.api.Transfers.List(params)
	return madeWithKey(it, func() made {
		t := it.Transfer()
		return made{t.ID, t.Metadata, t.Amount, string(t.Currency)}
	}, "transfer", in.IdempotencyKey, made{Amount: amount, Currency: string(in.Currency)})
}

func (r stripeRail) reverse(ctx context.Context, in ReverseTransferInput) (string, error) {
	return r.once(ctx, movement{
		key: in.IdempotencyKey, asked: in.Asked, metadata: in.Metadata,
		amount: in.Amount, currency: in.Currency, stripeUnits: in.StripeUnits,
		what:      "reverse transfer " + in.TransferID,
		madeUnder: func(amount int64) (string, error) { return r.reversedUnder(ctx, in, amount) },
		make: func(amount int64) (string, error) {
			params := &stripe.TransferReversalParams{
				Params:   stripe.Params{Context: ctx},
				Metadata: in.Metadata,
				ID:       stripe.String(in.TransferID),
				Amount:   stripe.Int64(amount),
			}
			params.SetIdempotencyKey(in.IdempotencyKey)
			rev, err := r.api.TransferReversals.New(params)
			if err != nil {
				return "", err
			}
			return rev.ID, nil
		},
	})
}

// reversedUnder finds the reversal of in's transfer made under in's key, by the key its metadata
// carries; "" when there is none, an error when it is of another amount (madeWithKey).
func (r stripeRail) reversedUnder(ctx context.Context, in ReverseTransferInput, amount int64) (string, error) {
	params := &stripe.TransferReversalListParams{ListParams: stripe.ListParams{Context: ctx}, ID: stripe.String(in.TransferID)}
	params.Limit = stripe.Int64(100)
	it := r.api.TransferReversals.List(params)
	return madeWithKey(it, func() made {
		rv := it.TransferReversal()
		return made{rv.ID, rv.Metadata, rv.Amount, string(rv.Currency)}
	}, "reversal", in.IdempotencyKey, made{Amount: amount, Currency: string(in.Currency)})
}

// made is a movement Stripe lists: its ID, metadata, amount (Stripe's units) and currency.
type made struct {
	ID       string
	Metadata map[string]string
	Amount   int64
	Currency string
}

// madeWithKey walks a Stripe list (current reads the item it is at) for the one whose metadata
// names key, its ID or "". It answers as Stripe would have while it remembered the key: the
// movement made when it is of want's amount (and currency, when both name one); made with other
// parameters, Stripe refuses the key's reuse (idempotency_error), which keeps the key in doubt
// (retried, as classifyStripe does) rather than have the run book a movement of another amount as
// the one it asked. A run can send a key again with another amount when its history never heard
// of the first send (its worker died in the task that sent it) and a refund since changed the share.
func madeWithKey(it interface {
	Next() bool
	Err() error
}, current func() made, what, key string, want made) (string, error) {
	for it.Next() {
		m := current()
		if m.Metadata[MetaIdempotencyKey] != key {
			continue
		}
		if m.Amount != want.Amount || (m.Currency != "" && want.Currency != "" && !strings.EqualFold(m.Currency, want.Currency)) {
			return "", fmt.Errorf("look for %s %s: Stripe made %s under the key for %d %s, not %d %s: "+
				"the key was reused with other parameters, so it stays in doubt", what, key, m.ID, m.Amount, m.Currency, want.Amount, want.Currency)
		}
		return m.ID, nil
	}
	if err := it.Err(); err != nil {
		return "", classifyStripe("look for "+what+" "+key, err)
	}
	return "", nil
}

// confirm reads the transfer an admin named: it is the one in doubt when it is of the key's amount
// and currency and its metadata names the key, or, when it names none (made before keys went into
// metadata), its transfer group is the key's order and its metadata the leg's payment, party and
// payee. Not its destination: an admin may have fixed
// the payee's account since, and the transfer in doubt went to the old one. A transfer under the
// key of another amount is not the one in doubt either (as madeWithKey answers): a run that never
// heard of its first send can send the key again for another amount (a refund changed the share
// meanwhile), and booked, it would record an amount Stripe did not move.
func (r stripeRail) confirm(ctx context.Context, in TransferInput, ref string) (TransferOutput, error) {
	id, err := r.confirmTransfer(ctx, in, ref)
	return TransferOutput{TransferID: id}, err
}

func (r stripeRail) confirmTransfer(ctx context.Context, in TransferInput, ref string) (string, error) {
	tr, err := r.api.Transfers.Get(ref, &stripe.TransferParams{Params: stripe.Params{Context: ctx}})
	var se *stripe.Error
	if errors.As(err, &se) && se.HTTPStatusCode == http.StatusNotFound {
		return "", notThisMovement(fmt.Sprintf("Stripe has no transfer %s", ref))
	}
	if err != nil {
		// Stripe refusing to show the transfer (our API key refused, a permission removed) says
		// nothing of it, and taken as a refusal (ErrTypeRejected) the workflow gave the leg a new
		// key and paid again what the admin found paid. Our key refused may pass (a key rotated):
		// retried; any other refusal leaves the leg in doubt, the reason said.
		refused := classifyStripe("read transfer "+ref, err)
		switch {
		case !isRefusal(refused):
			return "", refused
		case se.HTTPStatusCode == http.StatusUnauthorized:
			return "", fmt.Errorf("read transfer %s: Stripe refused our API key (%s)", ref, se.Msg)
		}
		return "", notThisMovement(fmt.Sprintf("Stripe will not show transfer %s (%d %s: %s, request %s), so it cannot be checked against %s",
			ref, se.HTTPStatusCode, se.Code, se.Msg, se.RequestID, in.IdempotencyKey))
	}
	key := tr.Metadata[MetaIdempotencyKey]
	if key != "" && key != in.IdempotencyKey {
		return "", notThisMovement(fmt.Sprintf("Stripe transfer %s was made under key %s, not %s", tr.ID, key, in.IdempotencyKey))
	}
	if amount, err := toStripe(in.Amount, in.Currency, in.StripeUnits); err != nil || tr.Amount != amount || !strings.EqualFold(string(tr.Currency), string(in.Currency)) {
		under := ""
		if key != "" {
			under = " under the key (sent again with another amount)"
		}
		return "", notThisMovement(fmt.Sprintf("Stripe transfer %s%s is %d %s, not %d %s", tr.ID, under, tr.Amount, tr.Currency, in.Amount, in.Currency))
	}
	if key != "" {
		return tr.ID, nil
	}
	if tr.TransferGroup != "" && in.TransferGroup != "" && tr.TransferGroup != in.TransferGroup {
		return "", notThisMovement(fmt.Sprintf("Stripe transfer %s belongs to order %s, not %s", tr.ID, tr.TransferGroup, in.TransferGroup))
	}
	// The transfer group is the order's: another leg of it (a multi-vendor order's), or another
	// payment of it, can be paid the same amount. Runs named the payment, the party and the payee
	// in every transfer's metadata before they named the key.
	for _, k := range legMetadata {
		if got, want := tr.Metadata[k], in.Metadata[k]; got != "" && want != "" && got != want {
			return "", notThisMovement(fmt.Sprintf("Stripe transfer %s was made with %s %s, not %s", tr.ID, k, got, want))
		}
	}
	return tr.ID, nil
}

// legMetadata are the metadata by which a transfer names the payment and the leg it pays.
var legMetadata = []string{"workflow_id", "party", "payee_id"}

// classifyStripe turns a Stripe error into a Temporal error: rate limits, server errors, network
// failures, conflicts and idempotency errors stay retryable; anything else Stripe refused is a
// business error that goes to the admin path instead of being retried.
//
// An idempotency error is never a refusal: Stripe answers 409 idempotency_key_in_use while an
// earlier request under the key is still running (it saves no answer; retry), and 400 when the
// key was used with other parameters. Either way a movement may have been made under the key,
// and a refusal would give the next attempt a new key, which could pay twice; retried, and
// after the last attempt the key stays in doubt, to be looked up (Asked) on the next.
func classifyStripe(op string, err error) error {
	var se *stripe.Error
	if !errors.As(err, &se) {
		return err // network or decoding trouble: retry
	}
	// Error messages end up in logs, workflow history and the admin API; a provider that
	// echoes the credential it was sent must not put it there.
	se.Msg = redactKeys(se.Msg)
	if se.HTTPStatusCode == http.StatusTooManyRequests || se.HTTPStatusCode == http.StatusConflict || se.HTTPStatusCode >= 500 ||
		se.HTTPStatusCode == 0 || se.Type == stripe.ErrorTypeIdempotency {
		return errors.New(op + ": " + redactKeys(err.Error()))
	}
	return temporal.NewNonRetryableApplicationError(op+": "+se.Msg, ErrTypeRejected, nil,
		map[string]any{"status": se.HTTPStatusCode, "code": string(se.Code), "request_id": se.RequestID})
}

// ourKeyRefused is a retryable error naming STRIPE_API_KEY when Stripe answered err 401, our API
// key refused; nil for any other error.
func ourKeyRefused(op string, err error) error {
	var se *stripe.Error
	if !errors.As(err, &se) || se.HTTPStatusCode != http.StatusUnauthorized {
		return nil
	}
	return fmt.Errorf("%s: Stripe refused our API key (%s); check STRIPE_API_KEY", op, redactKeys(se.Msg))
}

var keyPattern = regexp.MustCompile(`\b(sk|rk|pk)_(test|live)_[A-Za-z0-9]+`)

func redactKeys(s string) string { return keyPattern.ReplaceAllString(s, "$1_$2_[redacted]") }

// StripeBasilVersion is Stripe's API version from which a partial capture (or an authorization
// canceled uncaptured) no longer releases the uncaptured amount as a refund of the charge.
const StripeBasilVersion = "2025-03-31"

// StripeRefunded is what of a charge's amount_refunded went back to the customer (the payment's
// cumulative refund), and what it counts of an uncaptured amount Stripe released (released). With
// the behaviour of API versions before basil, capturing 600 of a charge of 1000 releases the 400
// left as a refund counted in amount_refunded, and canceling an authorization releases all of it;
// that money was never captured, so never split, and is no refund of the payment. A charge that
// states no amount_captured (nil) releases nothing.
//
// Which behaviour a charge had was decided by the version of the request that captured or
// canceled it (or the account's default, or Stripe's disable_refund_on_auth_release preview
// header), not by apiVersion, the version the charge is rendered in (a webhook endpoint's, the
// library's): a store plugin pinned to an older version captures the old way while the endpoint
// is on basil, and the reverse. So the charge's figures decide wherever they can: more refunded
// than was captured counts a release (a customer is never refunded more than was captured), less
// than was released counts none (the release is counted whole, at once). Only between the two
// (a refund of the capture of at least the released amount, or a release alone) do the figures
// fit both, and apiVersion says which is taken.
func StripeRefunded(apiVersion string, amount int64, amountCaptured *int64, amountRefunded int64) (customers, released int64) {
	if amountCaptured == nil || *amountCaptured < 0 || *amountCaptured >= amount {
		return amountRefunded, 0
	}
	captured, rest := *amountCaptured, amount-*amountCaptured
	switch {
	case amountRefunded > captured && amountRefunded >= rest:
		return amountRefunded - rest, rest
	case amountRefunded < rest || apiVersion >= StripeBasilVersion:
		return amountRefunded, 0
	}
	return amountRefunded - rest, rest
}
