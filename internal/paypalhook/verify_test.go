package paypalhook_test

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sync/errgroup"

	"paysplit/internal/paypalhook"
	"paysplit/testenv"
)

func TestVerify(t *testing.T) {
	pp := testenv.NewPayPal(t)
	body := []byte(`{"id":"WH-1","event_type":"PAYMENT.CAPTURE.COMPLETED","resource":{"id":"CAP1"}}`)
	v := &paypalhook.Verifier{WebhookID: pp.WebhookID, HTTP: pp.HTTPClient()}
	require.NoError(t, v.Verify(context.Background(), paypalhook.HeadersFrom(pp.Sign(body)), body))

	tests := []struct {
		name string
		edit func(h http.Header, body []byte) (http.Header, []byte, *paypalhook.Verifier)
	}{
		{"tampered body", func(h http.Header, b []byte) (http.Header, []byte, *paypalhook.Verifier) {
			return h, append([]byte(" "), b...), v
		}},
		{"another webhook's signature", func(h http.Header, b []byte) (http.Header, []byte, *paypalhook.Verifier) {
			return h, b, &paypalhook.Verifier{WebhookID: "WH-OTHER", HTTP: pp.HTTPClient()}
		}},
		{"certificate off PayPal's hosts", func(h http.Header, b []byte) (http.Header, []byte, *paypalhook.Verifier) {
			h.Set("Paypal-Cert-Url", "https://paypal.com.evil.example/cert.pem")
			return h, b, v
		}},
		{"plain http certificate", func(h http.Header, b []byte) (http.Header, []byte, *paypalhook.Verifier) {
			h.Set("Paypal-Cert-Url", "http://api.paypal.com/v1/notifications/certs/CERT-paysplit-test")
			return h, b, v
		}},
		{"missing signature", func(h http.Header, b []byte) (http.Header, []byte, *paypalhook.Verifier) {
			h.Del("Paypal-Transmission-Sig")
			return h, b, v
		}},
		{"other algorithm", func(h http.Header, b []byte) (http.Header, []byte, *paypalhook.Verifier) {
			h.Set("Paypal-Auth-Algo", "SHA1withRSA")
			return h, b, v
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, b, ver := tt.edit(pp.Sign(body), body)
			err := ver.Verify(context.Background(), paypalhook.HeadersFrom(h), b)
			require.True(t, errors.Is(err, paypalhook.ErrUnverified), "got %v", err)
		})
	}
}

// TestVerifyTransmissionTime: the signed PAYPAL-TRANSMISSION-TIME must be within
// MaxTransmissionAge (which covers PayPal's 3 days of retries) and not ahead of our clock by more
// than MaxClockSkew; a captured delivery cannot be replayed for ever.
func TestVerifyTransmissionTime(t *testing.T) {
	pp := testenv.NewPayPal(t)
	body := []byte(`{"id":"WH-4","event_type":"PAYMENT.CAPTURE.COMPLETED","resource":{"id":"CAP4"}}`)
	v := &paypalhook.Verifier{WebhookID: pp.WebhookID, HTTP: pp.HTTPClient()}
	for _, tt := range []struct {
		name  string
		age   time.Duration
		fresh bool
	}{
		{"just sent", 0, true},
		{"PayPal's last retry, 3 days on", 72 * time.Hour, true},
		{"just inside the window", paypalhook.MaxTransmissionAge - time.Minute, true},
		{"older than the window", paypalhook.MaxTransmissionAge + time.Minute, false},
		{"a little ahead of our clock", -time.Minute, true},
		{"far ahead of our clock", -paypalhook.MaxClockSkew - time.Minute, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := v.Verify(context.Background(), paypalhook.HeadersFrom(pp.SignAt(body, time.Now().Add(-tt.age))), body)
			if tt.fresh {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, paypalhook.ErrUnverified)
		})
	}
	for _, raw := range []string{"", "yesterday", "2026-01-02 03:04:05"} {
		require.ErrorIs(t, paypalhook.CheckTransmissionTime(raw, time.Now()), paypalhook.ErrUnverified, raw)
	}
}

func TestCertHostAllowed(t *testing.T) {
	for url, want := range map[string]bool{
		"https://api.paypal.com/v1/notifications/certs/CERT-1":         true,
		"https://api.sandbox.paypal.com/v1/notifications/certs/CERT-1": true,
		"https://api.paypal.com:443/c":                                 true,
		"https://api.paypal.com:8443/c":                                false,
		"https://paypal.com.attacker.io/c":                             false,
		"https://notpaypal.com/c":                                      false,
		"http://api.paypal.com/c":                                      false,
		"https://user@api.paypal.com/c":                                false,
		"::not a url":                                                  false,
	} {
		require.Equal(t, want, paypalhook.CertHostAllowed(url), url)
	}
}

// countingTransport counts the requests that reach the server.
type countingTransport struct {
	next http.RoundTripper
	n    atomic.Int32
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.next.RoundTrip(r)
}

// TestVerifyFetchesTheCertificateOnce: a burst of deliveries signed with a certificate not yet
// cached (at startup, after PayPal rotates it) downloads it once, not once per delivery.
func TestVerifyFetchesTheCertificateOnce(t *testing.T) {
	pp := testenv.NewPayPal(t)
	c := pp.HTTPClient()
	counted := &countingTransport{next: c.Transport}
	c.Transport = counted
	v := &paypalhook.Verifier{WebhookID: pp.WebhookID, HTTP: c}
	body := []byte(`{"id":"WH-2","event_type":"PAYMENT.CAPTURE.COMPLETED","resource":{"id":"CAP2"}}`)
	h := paypalhook.HeadersFrom(pp.Sign(body))
	var g errgroup.Group
	for range 32 {
		g.Go(func() error { return v.Verify(context.Background(), h, body) })
	}
	require.NoError(t, g.Wait())
	require.NoError(t, v.Verify(context.Background(), h, body))
	require.EqualValues(t, 1, counted.n.Load(), "one download for 33 deliveries")
}

// redirectingTransport answers /moved on PayPal's host with a redirect to `to`, and serves any
// host's request from the fake's signing certificate: a redirect followed off PayPal's hosts
// would hand the verifier a certificate from anywhere.
type redirectingTransport struct {
	next http.RoundTripper
	to   string
}

func (r redirectingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Path == "/moved" {
		return &http.Response{StatusCode: http.StatusFound, Header: http.Header{"Location": {r.to}},
			Body: http.NoBody, Request: req}, nil
	}
	out := req.Clone(req.Context())
	out.URL.Host, out.Host, out.URL.Path = "api.paypal.com", "api.paypal.com", "/v1/notifications/certs/CERT-paysplit-test"
	return r.next.RoundTrip(out)
}

// TestVerifyFollowsRedirectsOnPayPalsHostsOnly: the certificate URL's host is checked, and so is
// every host a redirect leads to.
func TestVerifyFollowsRedirectsOnPayPalsHostsOnly(t *testing.T) {
	pp := testenv.NewPayPal(t)
	body := []byte(`{"id":"WH-3","event_type":"PAYMENT.CAPTURE.COMPLETED","resource":{"id":"CAP3"}}`)
	for _, tt := range []struct {
		to   string
		want error
	}{
		{"https://api-m.paypal.com/v1/notifications/certs/CERT-paysplit-test", nil},
		{"https://cdn.evil.example/cert.pem", paypalhook.ErrUnverified},
		{"http://api.paypal.com/cert.pem", paypalhook.ErrUnverified},
	} {
		t.Run(tt.to, func(t *testing.T) {
			c := pp.HTTPClient()
			c.Transport = redirectingTransport{next: c.Transport, to: tt.to}
			v := &paypalhook.Verifier{WebhookID: pp.WebhookID, HTTP: c}
			h := pp.Sign(body)
			h.Set("Paypal-Cert-Url", "https://api.paypal.com/moved")
			err := v.Verify(context.Background(), paypalhook.HeadersFrom(h), body)
			if tt.want == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tt.want)
		})
	}
}
