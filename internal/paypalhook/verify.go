// Package paypalhook verifies PayPal webhook deliveries offline: the transmission's signature is
// checked against the certificate PayPal names in PAYPAL-CERT-URL, fetched only from the
// certificate hosts of the deployment's PayPal environment (live or sandbox) and cached. (The
// online alternative, PayPal's verify-webhook-signature API, lives with the API server, which has
// the PayPal client.)
package paypalhook

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// ErrUnverified is wrapped by every verification failure.
var ErrUnverified = errors.New("paypal webhook not verified")

// Headers are the transmission headers PayPal signs a delivery with.
type Headers struct {
	TransmissionID, TransmissionTime, TransmissionSig, CertURL, AuthAlgo string
}

// HeadersFrom reads the transmission headers of a delivery.
func HeadersFrom(h http.Header) Headers {
	return Headers{
		TransmissionID:   h.Get("Paypal-Transmission-Id"),
		TransmissionTime: h.Get("Paypal-Transmission-Time"),
		TransmissionSig:  h.Get("Paypal-Transmission-Sig"),
		CertURL:          h.Get("Paypal-Cert-Url"),
		AuthAlgo:         h.Get("Paypal-Auth-Algo"),
	}
}

// SignedMessage is what PayPal signs: transmission id | time | webhook id | CRC32 of the body.
func SignedMessage(h Headers, webhookID string, body []byte) []byte {
	return []byte(fmt.Sprintf("%s|%s|%s|%d", h.TransmissionID, h.TransmissionTime, webhookID, crc32.ChecksumIEEE(body)))
}

// Environment is the PayPal environment a deployment works in. It decides where signing
// certificates may come from: anyone can have the sandbox sign webhooks, so a live deployment
// must never take a sandbox certificate, and a sandbox one has no use for live certificates.
type Environment int

const (
	// noEnvironment is a Verifier nobody configured: it verifies nothing.
	noEnvironment Environment = iota
	// Sandbox is PayPal's test environment, and any stand-in for PayPal (tests, the benchmark).
	Sandbox
	// Live is PayPal's production environment.
	Live
)

// certHosts are the hosts each environment's signing certificates are served from: PayPal's
// REST API hosts (api-m is the current name, api the one PAYPAL-CERT-URL has long named).
var certHosts = map[Environment][]string{
	Live:    {"api.paypal.com", "api-m.paypal.com"},
	Sandbox: {"api.sandbox.paypal.com", "api-m.sandbox.paypal.com"},
}

// certPath is where PayPal serves webhook signing certificates
// (/v1/notifications/certs/CERT-...): nothing else on those hosts is a certificate.
const certPath = "/v1/notifications/certs/"

// EnvironmentOf is the environment of a PayPal REST base URL (PAYPAL_API_BASE): live on PayPal's
// live API hosts, the sandbox on anything else, a local stand-in included, so that no
// configuration but PayPal's own live URL makes the live certificates trusted.
func EnvironmentOf(apiBase string) Environment {
	u, err := url.Parse(apiBase)
	if err == nil && slices.Contains(certHosts[Live], strings.ToLower(u.Hostname())) {
		return Live
	}
	return Sandbox
}

func (e Environment) String() string {
	switch e {
	case Live:
		return "live"
	case Sandbox:
		return "sandbox"
	}
	return "unset"
}

// HostAllowed says whether host (no port) is one of the environment's certificate hosts.
func (e Environment) HostAllowed(host string) bool {
	return slices.Contains(certHosts[e], strings.ToLower(host))
}

// CertURLAllowed says whether a certificate URL is PayPal's, in this environment: HTTPS on one of
// its certificate hosts, one plain name under the certificate path (no "..", no encoded or
// further slashes that a server might resolve to elsewhere), and nothing after it: PayPal's
// certificate URLs carry no query or fragment, and one would only make the same certificate
// another URL. A certificate from anywhere else could be anyone's.
func (e Environment) CertURLAllowed(certURL string) bool {
	_, ok := e.certKey(certURL)
	return ok
}

// certKey is the one URL a certificate URL the environment allows names (the host in lower case,
// no default port): what it is fetched and cached under. The URL is the sender's choice before
// any signature is checked, so a cache keyed by it as written let unsigned requests download the
// same certificate again and keep another copy for each spelling.
func (e Environment) certKey(certURL string) (string, bool) {
	u, ok := e.onHost(certURL)
	if !ok || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(certURL, "#") {
		return "", false
	}
	name, ok := strings.CutPrefix(u.EscapedPath(), certPath)
	if !ok || name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/%\\") {
		return "", false
	}
	return "https://" + strings.ToLower(u.Hostname()) + certPath + name, true
}

// onHost parses rawURL and says whether it is HTTPS, without user info, on the default port of
// one of the environment's certificate hosts.
func (e Environment) onHost(rawURL string) (*url.URL, bool) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme != "https" || u.User != nil {
		return nil, false
	}
	if p := u.Port(); p != "" && p != "443" {
		return nil, false
	}
	return u, e.HostAllowed(u.Hostname())
}

// MaxTransmissionAge is how old a delivery's PAYPAL-TRANSMISSION-TIME may be. PayPal retries a
// delivery it was not answered 2xx for up to 25 times over 3 days and does not document whether a
// retry is signed anew or carries the first attempt's transmission time: a window shorter than
// the retry schedule could refuse PayPal's own retries, so it covers the 3 days with a day to
// spare. Within the window a replay is bounded by the transmission record the API keeps (a
// transmission ID seen before with another body is refused), which must therefore be kept at
// least this long (plus MaxClockSkew); past it the delivery is refused here.
const MaxTransmissionAge = 4 * 24 * time.Hour

// MaxClockSkew is how far in our future a transmission time may be: PayPal's clock and ours
// disagree a little; a time further ahead would stretch the window above.
const MaxClockSkew = 5 * time.Minute

// CheckTransmissionTime refuses a PAYPAL-TRANSMISSION-TIME that is not an RFC 3339 time or lies
// outside [now-MaxTransmissionAge, now+MaxClockSkew].
func CheckTransmissionTime(raw string, now time.Time) error {
	at, err := time.Parse(time.RFC3339, raw)
	if err != nil {
		return fmt.Errorf("%w: PAYPAL-TRANSMISSION-TIME %.40q is not an RFC 3339 time", ErrUnverified, raw)
	}
	switch age := now.Sub(at); {
	case age > MaxTransmissionAge:
		return fmt.Errorf("%w: transmitted at %s, more than %s ago", ErrUnverified, at.UTC().Format(time.RFC3339), MaxTransmissionAge)
	case age < -MaxClockSkew:
		return fmt.Errorf("%w: transmitted at %s, more than %s in the future", ErrUnverified, at.UTC().Format(time.RFC3339), MaxClockSkew)
	}
	return nil
}

// certFetchTimeout bounds one download of a signing certificate.
const certFetchTimeout = 10 * time.Second

// Verifier checks signatures with certificates fetched from PayPal and cached by URL.
type Verifier struct {
	WebhookID string
	// Env is the deployment's PayPal environment (EnvironmentOf(PAYPAL_API_BASE)): certificates
	// come from its hosts only. Unset, nothing verifies.
	Env  Environment
	HTTP *http.Client
	Now  func() time.Time

	mu    sync.Mutex
	certs map[string]*x509.Certificate
	// fetches lets one request fetch a certificate that is not cached while concurrent
	// deliveries signed with it wait for that fetch, instead of each fetching it (a burst at
	// startup or when PayPal rotates its certificate).
	fetches singleflight.Group
}

// Verify checks one delivery.
func (v *Verifier) Verify(ctx context.Context, h Headers, body []byte) error {
	if h.TransmissionID == "" || h.TransmissionTime == "" || h.TransmissionSig == "" || h.CertURL == "" {
		return fmt.Errorf("%w: missing PAYPAL-TRANSMISSION-* or PAYPAL-CERT-URL header", ErrUnverified)
	}
	if h.AuthAlgo != "" && h.AuthAlgo != "SHA256withRSA" {
		return fmt.Errorf("%w: unsupported PAYPAL-AUTH-ALGO %q", ErrUnverified, h.AuthAlgo)
	}
	// Checked before anything is fetched; the time is part of what PayPal signs, so it cannot be
	// moved without breaking the signature checked below.
	if err := CheckTransmissionTime(h.TransmissionTime, v.now()); err != nil {
		return err
	}
	if v.Env == noEnvironment {
		return fmt.Errorf("%w: the verifier has no PayPal environment", ErrUnverified)
	}
	certURL, ok := v.Env.certKey(h.CertURL)
	if !ok {
		return fmt.Errorf("%w: PAYPAL-CERT-URL %q is not a PayPal %s certificate URL", ErrUnverified, h.CertURL, v.Env)
	}
	sig, err := base64.StdEncoding.DecodeString(h.TransmissionSig)
	if err != nil {
		return fmt.Errorf("%w: PAYPAL-TRANSMISSION-SIG is not base64", ErrUnverified)
	}
	cert, err := v.cert(ctx, certURL)
	if err != nil {
		return err
	}
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return fmt.Errorf("%w: certificate key is not RSA", ErrUnverified)
	}
	digest := sha256.Sum256(SignedMessage(h, v.WebhookID, body))
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig); err != nil {
		return fmt.Errorf("%w: signature does not match", ErrUnverified)
	}
	return nil
}

func (v *Verifier) cert(ctx context.Context, certURL string) (*x509.Certificate, error) {
	v.mu.Lock()
	cached := v.certs[certURL]
	v.mu.Unlock()
	if cached != nil && v.now().Before(cached.NotAfter) {
		return cached, nil
	}
	// The fetch outlives a waiter that gives up (the others still want its answer), within its
	// own bound.
	got, err, _ := v.fetches.Do(certURL, func() (any, error) {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), certFetchTimeout)
		defer cancel()
		return v.fetch(ctx, certURL)
	})
	if err != nil {
		return nil, err
	}
	return got.(*x509.Certificate), nil
}

func (v *Verifier) now() time.Time {
	if v.Now != nil {
		return v.Now()
	}
	return time.Now()
}

// fetch downloads, checks and caches the certificate at certURL.
func (v *Verifier) fetch(ctx context.Context, certURL string) (*x509.Certificate, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, certURL, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnverified, err)
	}
	client := http.Client{Timeout: certFetchTimeout}
	if v.HTTP != nil {
		client = *v.HTTP
	}
	// The host was checked, but a redirect would take the certificate from anywhere. Its path is
	// PayPal's own choice: only the host (TLS proves it is PayPal's) must stay in the environment.
	client.CheckRedirect = func(next *http.Request, via []*http.Request) error {
		if _, ok := v.Env.onHost(next.URL.String()); len(via) >= 3 || !ok {
			return fmt.Errorf("%w: certificate URL redirects to %s", ErrUnverified, next.URL.Redacted())
		}
		return nil
	}
	res, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch PayPal certificate: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode >= 500 || res.StatusCode == http.StatusTooManyRequests {
		// PayPal is failing or limiting us, as when it cannot be reached: nothing says the
		// delivery is not PayPal's, and it verifies once the certificate is served again.
		return nil, fmt.Errorf("fetch PayPal certificate: %s answered %d", certURL, res.StatusCode)
	}
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w: certificate URL answered %d", ErrUnverified, res.StatusCode)
	}
	raw, err := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	if err != nil {
		return nil, fmt.Errorf("read PayPal certificate: %w", err)
	}
	block, _ := pem.Decode(raw)
	if block == nil {
		return nil, fmt.Errorf("%w: certificate is not PEM", ErrUnverified)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%w: certificate: %v", ErrUnverified, err)
	}
	if t := v.now(); t.Before(cert.NotBefore) || t.After(cert.NotAfter) {
		return nil, fmt.Errorf("%w: certificate not valid now", ErrUnverified)
	}
	v.mu.Lock()
	if v.certs == nil {
		v.certs = map[string]*x509.Certificate{}
	}
	v.certs[certURL] = cert
	v.mu.Unlock()
	return cert, nil
}
