package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// An API that answers each webhook first with a fast 503 and then, retried, with a 200
// after 40 ms never acknowledges a webhook in under 140 ms (100 ms backoff + 40 ms): the ack
// percentiles are of that time, not of each attempt's answer (the fast 503 was counted as an
// acknowledgement and the backoff not at all).
func TestAckPercentilesAreTimesToAcknowledgement(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]bool{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sig := r.Header.Get("Stripe-Signature")
		mu.Lock()
		first := !seen[sig]
		seen[sig] = true
		mu.Unlock()
		if first {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(`{"error":{"code":"storage_unavailable"}}`))
			return
		}
		time.Sleep(40 * time.Millisecond)
		_, _ = w.Write([]byte(`{"status":"accepted"}`))
	}))
	defer srv.Close()

	var events []event
	for i := range 10 {
		events = append(events, event{Kind: kindCapture, Provider: providerStripe, Parent: -1, Body: []byte(`{}`),
			sig: "sig-" + string(rune('a'+i)), signedAt: time.Now()})
	}
	s := newSender(srv.URL, "whsec", 10, 0)
	got, _ := s.send(context.Background(), events, newProgress("send", len(events), time.Now()))
	var r results
	r.recordAcks(s.latencies(), got, 0)
	for _, d := range got {
		assert.Equal(t, http.StatusOK, d.Status)
	}
	t.Logf("ack_p50_ms=%.2f ack_p95_ms=%.2f ack_retries=%d; every webhook took >= 140 ms to be acknowledged", r.AckP50Ms, r.AckP95Ms, r.AckRetries)
	assert.GreaterOrEqual(t, r.AckP50Ms, 140.0, "p50 of the time to acknowledgement")
}
