// Package activities does all of the payment workflow's I/O: Postgres (store and ledger) and
// Stripe. Activities are methods on one struct that holds their dependencies; workers register
// the struct and tests mock its methods through a nil pointer of the type.
package activities

import (
	"errors"
	"net/http"
	"time"

	"github.com/stripe/stripe-go/v76"
	stripeclient "github.com/stripe/stripe-go/v76/client"
	"go.temporal.io/sdk/temporal"

	"paysplit/internal/ledger"
	"paysplit/internal/split"
	"paysplit/internal/store"
)

// Error types the workflow's retry policies treat as business errors: retrying cannot help.
const (
	ErrTypeStripeRejected = "StripeRejected"
	ErrTypeNoSplitRule    = "NoSplitRule"
	ErrTypeInvalidSplit   = "InvalidSplit"
	ErrTypeLedgerConflict = "LedgerConflict"
)

// Activities holds the dependencies of every activity.
type Activities struct {
	Store  *store.Store
	Ledger *ledger.Ledger
	Stripe *stripeclient.API
	// Metrics counts what the activities did (telemetry.Metrics); nil counts nothing.
	Metrics Metrics
}

// Metrics are the business metrics activities update. They are counted here, never in workflow
// code, where a replay would count everything again.
type Metrics interface {
	PaymentSaved(status string)
	SplitComputed(s split.Split)
	Transferred(currency string, amount int64)
	Reversed(currency string, amount int64)
}

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

// classifyStripe turns a Stripe error into a Temporal error: rate limits, server errors and
// network failures stay retryable; anything else Stripe refused is a business error that goes
// to the admin path instead of being retried.
func classifyStripe(op string, err error) error {
	var se *stripe.Error
	if !errors.As(err, &se) {
		return err // network or decoding trouble: retry
	}
	if se.HTTPStatusCode == http.StatusTooManyRequests || se.HTTPStatusCode >= 500 || se.HTTPStatusCode == 0 {
		return err
	}
	return temporal.NewNonRetryableApplicationError(op+": "+se.Msg, ErrTypeStripeRejected, err,
		map[string]any{"status": se.HTTPStatusCode, "code": string(se.Code), "request_id": se.RequestID})
}
