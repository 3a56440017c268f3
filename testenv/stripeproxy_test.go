package testenv

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestStripeProxyAnswersAKeyInUse409: a transfer sent again under its idempotency key while the
// first request is still executing is answered 409 idempotency_key_in_use and does nothing, as
// Stripe answers it; once the first is answered, the key replays its answer. Both were forwarded
// to stripe-mock, and the proxy made two transfers under one key.
func TestStripeProxyAnswersAKeyInUse409(t *testing.T) {
	// Stripe (stripe-mock) executing the first transfer until the second has been answered.
	mock, err := url.Parse(StripeMock(t))
	require.NoError(t, err)
	executing, answered := make(chan struct{}), make(chan struct{})
	var transfers atomic.Int32
	stripe := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/transfers" {
			if transfers.Add(1) == 1 {
				close(executing)
				<-answered
			}
		}
		httputil.NewSingleHostReverseProxy(mock).ServeHTTP(w, r)
	}))
	t.Cleanup(stripe.Close)
	p := NewStripeProxy(t, stripe.URL)

	form := url.Values{"amount": {"1000"}, "currency": {"usd"}, "destination": {"acct_1"}}
	post := func() (int, string) {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, p.URL+"/v1/transfers", strings.NewReader(form.Encode()))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer sk_test_123")
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Idempotency-Key", "wf-1/transfer/vendor-v1")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, string(body)
	}
	type answer struct {
		code int
		body string
	}
	firstDone := make(chan answer, 1)
	go func() {
		code, body := post()
		firstDone <- answer{code, body}
	}()
	<-executing
	code, during := post()
	close(answered)
	require.Equal(t, http.StatusConflict, code, during)
	require.Contains(t, during, "idempotency_key_in_use")
	first := <-firstDone
	require.Equal(t, http.StatusOK, first.code, first.body)
	code, again := post()
	require.Equal(t, http.StatusOK, code)
	require.JSONEq(t, first.body, again, "the key replays its first answer")
	require.Len(t, p.Transfers(), 1, "one transfer under one key")
}

// TestStripeProxyRefusesAKeyReusedWithOtherParameters: Stripe compares every parameter of a
// request under a used idempotency key with the first's and answers 400 idempotency_error when
// any differs (docs.stripe.com/api/idempotent_requests); only the same request replays the first
// answer. The proxy compared the amount alone, so a transfer sent again under its key to another
// account (or in another currency, or with other metadata) was answered with the first transfer
// as if it had gone where asked: a test could pass on what Stripe refuses.
func TestStripeProxyRefusesAKeyReusedWithOtherParameters(t *testing.T) {
	p := NewStripeProxy(t, StripeMock(t))
	post := func(form url.Values) (int, string) {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, p.URL+"/v1/transfers", strings.NewReader(form.Encode()))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer sk_test_123")
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Idempotency-Key", "wf-1/transfer/vendor-v1/0")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, string(body)
	}
	first := url.Values{"amount": {"1000"}, "currency": {"usd"}, "destination": {"acct_1"}, "metadata[payee_id]": {"v1"}}
	code, body := post(first)
	require.Equal(t, http.StatusOK, code, body)

	code, again := post(url.Values{"metadata[payee_id]": {"v1"}, "destination": {"acct_1"}, "currency": {"usd"}, "amount": {"1000"}})
	require.Equal(t, http.StatusOK, code, again)
	require.JSONEq(t, body, again, "the same parameters, in any order, replay the first answer")

	for name, change := range map[string]func(url.Values){
		"destination":      func(f url.Values) { f.Set("destination", "acct_2") },
		"currency":         func(f url.Values) { f.Set("currency", "eur") },
		"metadata":         func(f url.Values) { f.Set("metadata[payee_id]", "v2") },
		"a parameter more": func(f url.Values) { f.Set("source_transaction", "ch_1") },
	} {
		t.Run(name, func(t *testing.T) {
			form := url.Values{}
			for k, v := range first {
				form[k] = append([]string(nil), v...)
			}
			change(form)
			code, body := post(form)
			require.Equal(t, http.StatusBadRequest, code, body)
			require.Contains(t, body, "idempotency_error")
		})
	}
	require.Len(t, p.Transfers(), 1, "one transfer under one key")
}
