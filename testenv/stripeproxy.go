package testenv

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"testing"
)

// StripeCall is one request that reached the proxy.
type StripeCall struct {
	Method, Path, IdempotencyKey string
	Form                         url.Values
	Status                       int
}

// StripeProxy sits in front of stripe-mock and records every call, because stripe-mock keeps no
// state: tests read here what was really sent (amounts, keys, source_transaction). Inject, when
// set, can answer a request itself (a 429 or 500) before it reaches stripe-mock.
type StripeProxy struct {
	URL    string
	mu     sync.Mutex
	calls  []StripeCall
	Inject func(r *http.Request, form url.Values) (status int, body string)
}

// NewStripeProxy starts a recording proxy in front of the stripe-mock at target.
func NewStripeProxy(t testing.TB, target string) *StripeProxy {
	u, err := url.Parse(target)
	if err != nil {
		t.Fatalf("stripe proxy target %q: %v", target, err)
	}
	p := &StripeProxy{}
	rp := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		form, _ := url.ParseQuery(string(body))
		call := StripeCall{Method: r.Method, Path: r.URL.Path, IdempotencyKey: r.Header.Get("Idempotency-Key"), Form: form}
		if p.Inject != nil {
			if status, msg := p.Inject(r, form); status != 0 {
				call.Status = status
				p.record(call)
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(status)
				_, _ = io.WriteString(w, msg)
				return
			}
		}
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		rp.ServeHTTP(rec, r)
		call.Status = rec.status
		p.record(call)
	}))
	t.Cleanup(srv.Close)
	p.URL = srv.URL
	return p
}

func (p *StripeProxy) record(c StripeCall) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls = append(p.calls, c)
}

// Calls returns the recorded calls to a path (all when path is empty) that Stripe accepted.
func (p *StripeProxy) Calls(method, path string) []StripeCall {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []StripeCall
	for _, c := range p.calls {
		if c.Method == method && (path == "" || c.Path == path) && c.Status < 300 {
			out = append(out, c)
		}
	}
	return out
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}
