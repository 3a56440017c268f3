// Package telemetry wires the programs' observability: one Prometheus registry per program
// holding the Temporal SDK's metrics (through tally) and paysplit's own, OpenTelemetry tracing
// from the API through Temporal into workflows and activities (the SDK's tracing interceptor),
// the Temporal client options that carry both, and the /metrics, /healthz and /readyz endpoints.
// It imports Temporal, so it lives outside internal/.
package telemetry

import (
	"context"
	"errors"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"
	"go.temporal.io/sdk/client"
	temporalotel "go.temporal.io/sdk/contrib/opentelemetry"
	"go.temporal.io/sdk/interceptor"
)

// Options configure New.
type Options struct {
	// Service names the program in traces ("paysplit-api", "paysplit-worker").
	Service string
	// OTLPEndpoint is the OTLP/HTTP collector URL; empty turns exporting off.
	OTLPEndpoint string
	Logger       *slog.Logger
	// TracerProvider, when set, is used instead of one built from OTLPEndpoint (tests record
	// spans in memory with it).
	TracerProvider trace.TracerProvider
}

// Telemetry is one program's metrics and tracing.
type Telemetry struct {
	// Registry is what /metrics serves.
	Registry *prometheus.Registry
	// Metrics are paysplit's business metrics, registered in Registry.
	Metrics        *Metrics
	TracerProvider trace.TracerProvider

	logger             *slog.Logger
	temporalMetrics    client.MetricsHandler
	clientInterceptors []interceptor.ClientInterceptor
	shutdown           []func(context.Context) error
}

// New builds a program's telemetry. Call Shutdown when the program stops, after its Temporal
// clients are closed, to flush the last metrics and spans.
func New(ctx context.Context, o Options) (*Telemetry, error) {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	t := &Telemetry{Registry: NewRegistry(), logger: o.Logger, TracerProvider: o.TracerProvider}
	t.Metrics = NewMetrics(t.Registry)
	handler, closer := newTemporalMetrics(t.Registry, o.Logger)
	t.temporalMetrics = handler
	t.shutdown = append(t.shutdown, func(context.Context) error { return closer.Close() })

	if t.TracerProvider == nil {
		tp, stop, err := newTracerProvider(ctx, o.Service, o.OTLPEndpoint)
		if err != nil {
			return nil, errors.Join(err, t.Shutdown(ctx))
		}
		t.TracerProvider = tp
		t.shutdown = append(t.shutdown, stop)
	}
	// The same interceptor serves the client (StartWorkflow, SignalWithStartWorkflow) and, because the
	// SDK hands a client's interceptors to the workers built on it, workflows and activities.
	tracing, err := temporalotel.NewTracingInterceptor(temporalotel.TracerOptions{
		Tracer:            t.TracerProvider.Tracer("temporal-sdk-go"),
		TextMapPropagator: propagator,
	})
	if err != nil {
		return nil, errors.Join(err, t.Shutdown(ctx))
	}
	t.clientInterceptors = []interceptor.ClientInterceptor{tracing}
	if o.OTLPEndpoint != "" {
		o.Logger.Info("tracing exported over OTLP", "endpoint", o.OTLPEndpoint)
	}
	return t, nil
}

// Shutdown flushes and stops the metrics bridge and the span exporter.
func (t *Telemetry) Shutdown(ctx context.Context) error {
	var errs []error
	for i := len(t.shutdown) - 1; i >= 0; i-- {
		errs = append(errs, t.shutdown[i](ctx))
	}
	t.shutdown = nil
	return errors.Join(errs...)
}
