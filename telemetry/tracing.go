package telemetry

import (
	"context"
	"fmt"
	"strings"

	"github.com/labstack/echo/v4"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// tracerName names the spans paysplit itself starts (HTTP requests); the Temporal interceptor
// names its own (StartWorkflow, SignalWithStartWorkflow, RunWorkflow, StartActivity, RunActivity).
const tracerName = "paysplit"

// propagator carries trace context in and out of HTTP requests: W3C traceparent and baggage.
var propagator = propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})

// newTracerProvider exports spans over OTLP/HTTP to endpoint, or returns a no-op provider when
// endpoint is empty, so a local run needs no collector. The OTEL_* variables the OpenTelemetry
// SDK knows (OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES, OTEL_TRACES_SAMPLER,
// OTEL_EXPORTER_OTLP_HEADERS, ...) apply on top.
func newTracerProvider(ctx context.Context, service, endpoint string) (trace.TracerProvider, func(context.Context) error, error) {
	if endpoint == "" {
		return noop.NewTracerProvider(), func(context.Context) error { return nil }, nil
	}
	// endpoint is the collector's base URL, as OTEL_EXPORTER_OTLP_ENDPOINT is in the spec: traces
	// go to its /v1/traces.
	exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(strings.TrimRight(endpoint, "/")+"/v1/traces"))
	if err != nil {
		return nil, nil, fmt.Errorf("otlp trace exporter: %w", err)
	}
	// Detectors apply in order: OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES override the default name.
	res, err := resource.New(ctx, resource.WithAttributes(attribute.String("service.name", service)),
		resource.WithFromEnv(), resource.WithTelemetrySDK())
	if err != nil {
		return nil, nil, fmt.Errorf("trace resource: %w", err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	return tp, tp.Shutdown, nil
}

// EchoTracing starts a server span per request, continuing a trace the caller sent in
// traceparent. The span is named by route ("POST /webhooks/stripe"), never by the raw path,
// which can hold IDs. Handlers pass the request's context on to Temporal, so the workflow and
// its activities join the same trace.
func EchoTracing(tp trace.TracerProvider) echo.MiddlewareFunc {
	tracer := tp.Tracer(tracerName)
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			route := c.Path()
			if route == "" {
				route = "unmatched"
			}
			ctx := propagator.Extract(req.Context(), propagation.HeaderCarrier(req.Header))
			ctx, span := tracer.Start(ctx, req.Method+" "+route, trace.WithSpanKind(trace.SpanKindServer),
				trace.WithAttributes(attribute.String("http.request.method", req.Method), attribute.String("http.route", route)))
			defer span.End()
			c.SetRequest(req.WithContext(ctx))
			// Answer the error here, as the access log does, so the span sees the real status.
			if err := next(c); err != nil {
				span.RecordError(err)
				c.Error(err)
			}
			status := c.Response().Status
			span.SetAttributes(attribute.Int("http.response.status_code", status))
			if status >= 500 {
				span.SetStatus(codes.Error, "server error")
			}
			return nil
		}
	}
}
