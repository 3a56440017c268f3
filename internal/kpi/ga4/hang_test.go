package ga4_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paysplit/internal/kpi"
	"paysplit/internal/kpi/ga4"
)

// TestRunReportThatNeverAnswersFails: a GA4 that takes the request and never answers (a stalled
// connection, a proxy that holds it) fails the call instead of holding its caller for ever.
// Google's client has no timeout of its own, and neither has a dashboard request's context (the
// API's write timeout does not cancel it): each such request would keep its goroutine, and every
// request for the same days waits behind it (kpi.Reader shares one call per span); in the worker a
// sync attempt would hold its activity slot for all of its timeout.
func TestRunReportThatNeverAnswersFails(t *testing.T) {
	t.Cleanup(ga4.SetRequestTimeout(200 * time.Millisecond))
	stalled := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		select {
		case <-stalled:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(hang.Close)
	t.Cleanup(func() { close(stalled) })
	src, err := ga4.New(t.Context(), "123", "", ga4.Options{Endpoint: hang.URL, WithoutAuthentication: true})
	require.NoError(t, err)

	for _, tt := range []struct {
		name string
		call func(context.Context) error
	}{
		{"days", func(ctx context.Context) error {
			_, err := src.TrafficDays(ctx, day("2026-03-01"), day("2026-03-04"))
			return err
		}},
		{"hours", func(ctx context.Context) error { _, err := src.TrafficHours(ctx, day("2026-03-01")); return err }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			done := make(chan error, 1)
			// A caller without a deadline of its own, as a dashboard request is.
			go func() { done <- tt.call(context.Background()) }()
			select {
			case err := <-done:
				require.Error(t, err)
				require.False(t, kpi.IsPermanent(err), "a stalled call is retried: %v", err)
			case <-time.After(10 * time.Second): // bounded, so the test fails instead of hanging
				t.Fatal("the call is still waiting for a GA4 that never answers")
			}
		})
	}
}
