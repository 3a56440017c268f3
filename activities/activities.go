// Package activities does all of the payment workflow's I/O: Postgres (store and ledger) and
// Stripe. Activities are methods on one struct that holds their dependencies; workers register
// the struct and tests mock its methods through a nil pointer of the type.
package activities

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/plutov/paypal/v4"
	stripeclient "github.com/stripe/stripe-go/v76/client"
	"go.temporal.io/sdk/temporal"

	"paysplit/internal/ledger"
	"paysplit/internal/money"
	"paysplit/internal/split"
	"paysplit/internal/store"
)

// Error types the workflow's retry policies treat as business errors: retrying cannot help.
const (
	// ErrTypeRejected is a payout or reversal the provider refused outright (invalid account,
	// insufficient funds, unclaimed): a new attempt needs a new idempotency key.
	ErrTypeRejected = "PayoutRejected"
	// ErrTypeCannotReverse is a reversal the rail cannot make at all (a completed PayPal payout
	// cannot be pulled back): no retry can, so the amount stays owed by the payee in the books.
	ErrTypeCannotReverse = "CannotReverse"
	// ErrTypeNotThisMovement is a movement an admin named (ConfirmTransfer) that the provider
	// does not have, or has as another movement: another key, amount or currency. Nothing is
	// learnt about the movement in doubt.
	ErrTypeNotThisMovement = "NotThisMovement"
	// ErrTypeNotConfigured is a payment whose provider has no payout rail configured here.
	ErrTypeNotConfigured  = "ProviderNotConfigured"
	ErrTypeNoSplitRule    = "NoSplitRule"
	ErrTypeInvalidSplit   = "InvalidSplit"
	ErrTypeLedgerConflict = "LedgerConflict"
)

// Activities holds the dependencies of every activity.
type Activities struct {
	Store  *store.Store
	Ledger *ledger.Ledger
	Stripe *stripeclient.API
	// PayPal pays out PayPal payments; nil when PayPal is not configured.
	PayPal *paypal.Client
	// PayPalWatch is how long one attempt watches a PayPal payout settle before leaving the wait
	// to the retry policy; 0 is 30 s.
	PayPalWatch time.Duration
	// Metrics counts what the activities did (telemetry.Metrics); nil counts nothing.
	Metrics Metrics
	// Runs reads the payment runs Temporal kept, to check stored state against (TemporalRuns);
	// nil checks nothing.
	Runs PaymentRuns

	// ready remembers, for a minute, destinations the provider said can receive: a busy day
	// pays the same vendors again and again, and the check is a provider call per leg. Only
	// "yes" is remembered; a destination that could not receive is asked again every time.
	ready readyCache
}

type readyCache struct {
	mu    sync.Mutex
	until map[string]time.Time
}

const readyFor = time.Minute

func (c *readyCache) ok(key string, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return now.Before(c.until[key])
}

func (c *readyCache) remember(key string, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.until == nil || len(c.until) > 10000 {
		c.until = map[string]time.Time{} // bounded: start over rather than grow without end
	}
	c.until[key] = now.Add(readyFor)
}

func (c *readyCache) forget(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.until, key)
}

// Metrics are the business metrics activities update. They are counted here, never in workflow
// code, where a replay would count everything again.
type Metrics interface {
	PaymentSaved(status string)
	SplitComputed(s split.Split)
	Transferred(currency string, amount int64)
	Reversed(currency string, amount int64)
}

// payoutRail is one provider's way of paying payees: the workflow has no provider branches, it
// names the payment's provider and the activities pick the rail.
type payoutRail interface {
	// resolve returns where the payee is paid, or why the leg must be held.
	resolve(ctx context.Context, p store.Payee) (ResolvePayeeOutput, error)
	send(ctx context.Context, in TransferInput) (TransferOutput, error)
	reverse(ctx context.Context, in ReverseTransferInput) (string, error)
	// confirm checks that the provider's movement ref is the transfer in asked for (in.Asked), and
	// answers it as send would: the movement once made, a refusal once it failed.
	confirm(ctx context.Context, in TransferInput, ref string) (TransferOutput, error)
}

func (a *Activities) rail(provider string) (payoutRail, error) {
	switch {
	case (provider == "" || provider == ProviderStripe) && a.Stripe != nil:
		return stripeRail{api: a.Stripe, keys: a.Store}, nil
	case provider == ProviderPayPal && a.PayPal != nil:
		return paypalRail{c: a.PayPal, watch: a.PayPalWatch, keys: a.Store}, nil
	}
	return nil, temporal.NewNonRetryableApplicationError(fmt.Sprintf("no payout rail configured for provider %q", provider), ErrTypeNotConfigured, nil)
}

// Providers.
const (
	ProviderStripe = "stripe"
	ProviderPayPal = "paypal"
)

func (a *Activities) metrics() Metrics {
	if a.Metrics == nil {
		return noMetrics{}
	}
	return a.Metrics
}

type noMetrics struct{}

func (noMetrics) PaymentSaved(string)       {}
func (noMetrics) SplitComputed(split.Split) {}
func (noMetrics) Transferred(string, int64) {}
func (noMetrics) Reversed(string, int64)    {}

func moneyDecimal(amount int64, c money.Currency) (string, error) {
	v, err := money.Decimal(amount, c)
	if err != nil {
		return "", temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeInvalidSplit, err)
	}
	return v, nil
}
