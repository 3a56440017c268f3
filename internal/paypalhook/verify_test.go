package paypalhook_test

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
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
	v := &paypalhook.Verifier{WebhookID: pp.WebhookID, Env: paypalhook.Sandbox, HTTP: pp.HTTPClient()}
	require.NoError(t, v.Verify(context.Background(), paypalhook.HeadersFrom(pp.Sign(body)), body))

	tests := []struct {
		name string
		edit func(h http.Header, body []byte) (http.Header, []byte, *paypalhook.Verifier)
	}{
		{"tampered body", func(h http.Header, b []byte) (http.Header, []byte, *paypalhook.Verifier) {
			return h, append([]byte(" "), b...), v
		}},
		{"another webhook's signature", func(h http.Header, b []byte) (http.Header, []byte, *paypalhook.Verifier) {
			return h, b, &paypalhook.Verifier{WebhookID: "WH-OTHER", Env: paypalhook.Sandbox, HTTP: pp.HTTPClient()}
		}},
		{"certificate off PayPal's hosts", func(h http.Header, b []byte) (http.Header, []byte, *paypalhook.Verifier) {
			h.Set("Paypal-Cert-Url", "https://paypal.com.evil.example/cert.pem")
			return h, b, v
		}},
		{"no environment", func(h http.Header, b []byte) (http.Header, []byte, *paypalhook.Verifier) {
			return h, b, &paypalhook.Verifier{WebhookID: pp.WebhookID, HTTP: pp.HTTPClient()}
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
	v := &paypalhook.Verifier{WebhookID: pp.WebhookID, Env: paypalhook.Sandbox, HTTP: pp.HTTPClient()}
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

// TestCertURLAllowed: each environment takes certificates from its own API hosts, over HTTPS on
// the default port, under PayPal's certificate path, and from nowhere else.
func TestCertURLAllowed(t *testing.T) {
	for _, tt := range []struct {
		env  paypalhook.Environment
		url  string
		want bool
	}{
		{paypalhook.Live, "https://api.paypal.com/v1/notifications/certs/CERT-1", true},
		{paypalhook.Live, "https://API-M.paypal.com/v1/notifications/certs/CERT-1", true},
		{paypalhook.Live, "https://api.paypal.com:443/v1/notifications/certs/CERT-1", true},
		{paypalhook.Live, "https://api.sandbox.paypal.com/v1/notifications/certs/CERT-1", false},
		{paypalhook.Live, "https://api-m.sandbox.paypal.com/v1/notifications/certs/CERT-1", false},
		{paypalhook.Live, "https://www.paypal.com/v1/notifications/certs/CERT-1", false},
		{paypalhook.Live, "https://paypal.com/v1/notifications/certs/CERT-1", false},
		{paypalhook.Live, "https://api.paypal.com/v1/oauth2/token", false},
		{paypalhook.Live, "https://api.paypal.com/v1/notifications/certs/../../oauth2/token", false},
		{paypalhook.Live, "https://api.paypal.com/v1/notifications/certs/%2e%2e/x", false},
		{paypalhook.Live, "https://api.paypal.com/v1/notifications/certs/", false},
		{paypalhook.Live, "https://api.paypal.com:8443/v1/notifications/certs/CERT-1", false},
		{paypalhook.Live, "https://paypal.com.attacker.io/v1/notifications/certs/CERT-1", false},
		{paypalhook.Live, "http://api.paypal.com/v1/notifications/certs/CERT-1", false},
		{paypalhook.Live, "https://user@api.paypal.com/v1/notifications/certs/CERT-1", false},
		{paypalhook.Live, "::not a url", false},
		{paypalhook.Sandbox, "https://api.sandbox.paypal.com/v1/notifications/certs/CERT-1", true},
		{paypalhook.Sandbox, "https://api-m.sandbox.paypal.com/v1/notifications/certs/CERT-1", true},
		{paypalhook.Sandbox, "https://api.paypal.com/v1/notifications/certs/CERT-1", false},
		{paypalhook.Sandbox, "https://evil.sandbox.paypal.com/v1/notifications/certs/CERT-1", false},
		{paypalhook.Environment(0), "https://api.paypal.com/v1/notifications/certs/CERT-1", false},
	} {
		require.Equal(t, tt.want, tt.env.CertURLAllowed(tt.url), "%s %s", tt.env, tt.url)
	}
}

// TestEnvironmentOf: only PayPal's live API hosts make a deployment live; the sandbox's, a local
// stand-in or anything unreadable is the sandbox.
func TestEnvironmentOf(t *testing.T) {
	for base, want := range map[string]paypalhook.Environment{
		"https://api-m.paypal.com":         paypalhook.Live,
		"https://api.paypal.com/":          paypalhook.Live,
		"https://api-m.sandbox.paypal.com": paypalhook.Sandbox,
		"https://127.0.0.1:8443":           paypalhook.Sandbox,
		"https://api-m.paypal.com.evil.io": paypalhook.Sandbox,
		"::":                               paypalhook.Sandbox,
	} {
		require.Equal(t, want, paypalhook.EnvironmentOf(base), base)
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
	v := &paypalhook.Verifier{WebhookID: pp.WebhookID, Env: paypalhook.Sandbox, HTTP: c}
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
	if strings.HasSuffix(req.URL.Path, "/moved") {
		return &http.Response{StatusCode: http.StatusFound, Header: http.Header{"Location": {r.to}},
			Body: http.NoBody, Request: req}, nil
	}
	out := req.Clone(req.Context())
	out.URL.Host, out.Host, out.URL.Path = "api.paypal.com", "api.paypal.com", "/v1/notifications/certs/CERT-paysplit-test"
	return r.next.RoundTrip(out)
}

// TestVerifyFollowsRedirectsOnPayPalsHostsOnly: the certificate URL's host is checked, and so is
// every host a redirect leads to, which must be the environment's (a live certificate URL that
// redirects to the sandbox is refused).
func TestVerifyFollowsRedirectsOnPayPalsHostsOnly(t *testing.T) {
	pp := testenv.NewPayPal(t)
	body := []byte(`{"id":"WH-3","event_type":"PAYMENT.CAPTURE.COMPLETED","resource":{"id":"CAP3"}}`)
	for _, tt := range []struct {
		to   string
		want error
	}{
		{"https://api-m.paypal.com/v1/notifications/certs/CERT-paysplit-test", nil},
		{"https://api-m.sandbox.paypal.com/v1/notifications/certs/CERT-paysplit-test", paypalhook.ErrUnverified},
		{"https://cdn.evil.example/cert.pem", paypalhook.ErrUnverified},
		{"http://api.paypal.com/cert.pem", paypalhook.ErrUnverified},
	} {
		t.Run(tt.to, func(t *testing.T) {
			c := pp.HTTPClient()
			c.Transport = redirectingTransport{next: c.Transport, to: tt.to}
			v := &paypalhook.Verifier{WebhookID: pp.WebhookID, Env: paypalhook.Live, HTTP: c}
			h := pp.Sign(body)
			h.Set("Paypal-Cert-Url", "https://api.paypal.com/v1/notifications/certs/moved")
			err := v.Verify(context.Background(), paypalhook.HeadersFrom(h), body)
			if tt.want == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tt.want)
		})
	}
}

// PayPal's certificate host failing (5xx, or its rate limit) is verification unavailable, as a
// network error is, so the API answers 503 and logs it; a certificate URL PayPal does not serve
// (404) is a delivery that cannot be verified. Before, any answer but 200 was "not verified",
// told to PayPal and the metrics as a bad signature during PayPal's own outage.
func TestVerifyCertificateHostFailing(t *testing.T) {
	pp := testenv.NewPayPal(t)
	body := []byte(`{"id":"WH-5","event_type":"PAYMENT.CAPTURE.COMPLETED","resource":{"id":"CAP5"}}`)
	for _, tt := range []struct {
		status     int
		unverified bool
	}{
		{http.StatusServiceUnavailable, false},
		{http.StatusInternalServerError, false},
		{http.StatusTooManyRequests, false},
		{http.StatusNotFound, true},
	} {
		t.Run(strconv.Itoa(tt.status), func(t *testing.T) {
			v := &paypalhook.Verifier{WebhookID: pp.WebhookID, Env: paypalhook.Sandbox, HTTP: pp.HTTPClient()}
			pp.FailCertificate(tt.status)
			err := v.Verify(context.Background(), paypalhook.HeadersFrom(pp.Sign(body)), body)
			require.Error(t, err)
			require.Equal(t, tt.unverified, errors.Is(err, paypalhook.ErrUnverified), "got %v", err)
			pp.FailCertificate(0)
			require.NoError(t, v.Verify(context.Background(), paypalhook.HeadersFrom(pp.Sign(body)), body), "verified once PayPal serves it")
		})
	}
}
