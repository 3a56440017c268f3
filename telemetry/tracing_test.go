package telemetry_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"paysplit/telemetry"
)

func TestEchoTracingNamesSpansByRouteAndContinuesTraces(t *testing.T) {
	spans := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	e := echo.New()
	e.GET("/payments/:id", func(c echo.Context) error { return c.String(http.StatusOK, "ok") })
	e.GET("/boom", func(echo.Context) error { return errors.New("database on fire") })
	e.Use(telemetry.EchoTracing(tp))

	const parentTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
	tests := []struct {
		name, path, traceparent, wantName string
		wantStatus                        int
		wantError                         bool
	}{
		{name: "route, not raw path", path: "/payments/pi_123", wantName: "GET /payments/:id", wantStatus: 200},
		{name: "caller's trace continues", path: "/payments/pi_1", traceparent: "00-" + parentTrace + "-00f067aa0ba902b7-01", wantName: "GET /payments/:id", wantStatus: 200},
		{name: "handler error is a 500 span", path: "/boom", wantName: "GET /boom", wantStatus: 500, wantError: true},
		{name: "unknown route", path: "/nope", wantName: "GET unmatched", wantStatus: 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spans.Reset()
			req := httptest.NewRequest(http.MethodGet, tt.path, nil)
			if tt.traceparent != "" {
				req.Header.Set("traceparent", tt.traceparent)
			}
			rec := httptest.NewRecorder()
			e.ServeHTTP(rec, req)
			require.Equal(t, tt.wantStatus, rec.Code)
			got := spans.GetSpans()
			require.Len(t, got, 1)
			s := got[0]
			require.Equal(t, tt.wantName, s.Name)
			require.Contains(t, s.Attributes, attribute.Int("http.response.status_code", tt.wantStatus))
			if tt.traceparent != "" {
				require.Equal(t, parentTrace, s.SpanContext.TraceID().String())
			}
			if tt.wantError {
				require.Equal(t, codes.Error, s.Status.Code)
			} else {
				require.NotEqual(t, codes.Error, s.Status.Code)
			}
		})
	}
}
