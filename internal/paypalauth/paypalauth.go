// Package paypalauth builds the platform's PayPal REST clients and renews an OAuth token PayPal
// refuses before its expiry, once, for every call made with them: the payouts (activities), the
// API's webhook verifier, reconciliation's reads and the KPIs' Transaction Search
// (internal/paypalsearch). It lives outside activities so that internal/ packages renew as the
// rail does without importing Temporal.
package paypalauth

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/plutov/paypal/v4"
)

// NewClient builds a PayPal REST client against base (PayPal's API, or a local server that speaks
// its wire format in tests). Every PayPal client is made here: only its transport (keepErrorBodies)
// sends a renewed token (Do), so a client made otherwise kept a token PayPal refused until plutov
// renewed it near its expiry.
func NewClient(clientID, secret, base string, httpClient *http.Client) (*paypal.Client, error) {
	// The library joins the base to its paths as text: a base written with a trailing slash
	// (https://api-m.paypal.com/) made every path //v1/..., which PayPal does not serve.
	c, err := paypal.NewClient(clientID, secret, strings.TrimRight(base, "/"))
	if err != nil {
		return nil, fmt.Errorf("paypal client: %w", err)
	}
	if httpClient == nil {
		httpClient = &http.Client{Timeout: 30 * time.Second}
	}
	kept := *httpClient // the caller's client stays as it was
	kept.Transport = keepErrorBodies{base: httpClient.Transport, tokens: &tokens{stale: map[string]bool{}}}
	kept.CheckRedirect = checkRedirect(httpClient.CheckRedirect)
	c.SetHTTPClient(&kept)
	return c, nil
}

// keepErrorBodies hands the body of an error answer to the request's caller when its context asks
// for it (WithErrorBody): plutov's ErrorResponse decodes name, message and details but drops
// PayPal's HATEOAS links, and the link is how PayPal names the payout batch that a duplicate
// sender_batch_id already made.
type keepErrorBodies struct {
	base http.RoundTripper
	// tokens are the OAuth tokens Do renewed: a request bearing one PayPal refused is sent with
	// the newer one.
	tokens *tokens
}

type errorBodyKey struct{}

// maxErrorBody bounds what is kept of an error answer (PayPal's are a few hundred bytes).
const maxErrorBody = 64 << 10

// WithErrorBody returns a context whose requests keep their error answer's body in *body.
func WithErrorBody(ctx context.Context) (context.Context, *[]byte) {
	body := new([]byte)
	return context.WithValue(ctx, errorBodyKey{}, body), body
}

func (k keepErrorBodies) RoundTrip(req *http.Request) (*http.Response, error) {
	base := k.base
	if base == nil {
		base = http.DefaultTransport
	}
	req = k.tokens.swap(req)
	resp, err := base.RoundTrip(req)
	if err == nil && isTokenRequest(req) {
		if resp, err = usableTokenAnswer(resp); err != nil {
			return nil, err
		}
	}
	sink, _ := req.Context().Value(errorBodyKey{}).(*[]byte)
	if err != nil || resp.StatusCode < 400 || sink == nil {
		return resp, err
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	_ = resp.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("paypal: read error answer %d: %w", resp.StatusCode, err)
	}
	*sink = raw
	resp.Body = io.NopCloser(bytes.NewReader(raw))
	return resp, nil
}

// tokens holds the OAuth tokens renewed by Do, beside plutov's own. plutov's GetAccessToken
// writes the client's token and its expiry without the client's lock, which is unexported (only
// its SendWithAuth takes it, reading them, or renewing a token near its expiry), so a renewal by
// GetAccessToken while other calls' requests read the token was a data race (go test -race:
// activities' TestPayPalTokenRenewedByConcurrentPayoutsAtOnce). The client's token is left to
// plutov; a request bearing a token PayPal refused (stale) is sent with the newest one Do was
// issued instead (fresh), by the client's transport (keepErrorBodies), and plutov's own renewal
// near the token's expiry makes a new token that is sent as it is.
type tokens struct {
	// renewing serializes renewals: calls refused together share one new token.
	renewing sync.Mutex
	mu       sync.Mutex
	stale    map[string]bool
	fresh    string
}

// swap is req with the fresh token when it bears one PayPal refused.
func (t *tokens) swap(req *http.Request) *http.Request {
	if t == nil {
		return req
	}
	bearer, ok := strings.CutPrefix(req.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return req
	}
	t.mu.Lock()
	fresh := t.fresh
	if !t.stale[bearer] || fresh == "" {
		fresh = ""
	}
	t.mu.Unlock()
	if fresh == "" {
		return req
	}
	swapped := req.Clone(req.Context()) // a RoundTripper leaves its request as it was given
	swapped.Header.Set("Authorization", "Bearer "+fresh)
	return swapped
}

// renew makes refused stale and has a new token sent instead, unless a renewal since the refused
// request went out did so already (calls refused together ask one token).
func (t *tokens) renew(ctx context.Context, c *paypal.Client, refused string) error {
	t.renewing.Lock()
	defer t.renewing.Unlock()
	t.mu.Lock()
	done := t.stale[refused]
	t.mu.Unlock()
	if done {
		return nil
	}
	// plutov's GetAccessToken without its writes to the client: SendWithBasicAuth reads only
	// what the client was made with.
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.APIBase+tokenPath, strings.NewReader("grant_type=client_credentials"))
	if err != nil {
		return err
	}
	req.Header.Set("Content-type", "application/x-www-form-urlencoded")
	var tok paypal.TokenResponse
	if err := c.SendWithBasicAuth(req, &tok); err != nil {
		return err // an answer without a token is one already (usableTokenAnswer)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.stale[refused], t.fresh = true, tok.Token
	return nil
}

// Do runs call, and when PayPal refused the OAuth token it bore, once more with a new one
// (call's again set). plutov renews its cached token only a minute before its expires_in, so a
// token PayPal stopped taking earlier (revoked, the REST app's credentials rotated, dropped on
// PayPal's side before its expiry: 401 {"error":"invalid_token",...}) failed every call until
// then, hours, and a payout's retries ran out and left it in doubt. Any 401 to a request bearing
// a token is taken so, whatever its body says: only a new token tells a token PayPal dropped from
// credentials it refuses. A 401 to the call made with the new token is the credentials' (or the
// app's permission's) problem and is answered as it is, as is a renewal PayPal refuses (401
// invalid_client: the secret rotated); no more tokens are asked for it. call made again bears
// the client's token as before; the transport sends the new one in its place.
func Do(ctx context.Context, c *paypal.Client, call func(again bool) error) error {
	err := call(false)
	if !tokenRefused(err) {
		return err
	}
	tokens := tokensOf(c)
	if tokens == nil { // a client not made by NewClient
		return err
	}
	if renewErr := tokens.renew(ctx, c, refusedToken(err)); renewErr != nil {
		return fmt.Errorf("paypal: renew the OAuth token PayPal refused (%v): %w", err, renewErr)
	}
	slog.Info("paypal: OAuth token refused before its expiry; renewed and the call made again", "url", requestPath(err))
	return call(true)
}

// SendWithAuth is c.SendWithAuth(req, v) with a token PayPal refused before its expiry renewed
// once (Do): the same request sent again, its body from req.GetBody.
func SendWithAuth(ctx context.Context, c *paypal.Client, req *http.Request, v any) error {
	return Do(ctx, c, func(again bool) error {
		if !again {
			return c.SendWithAuth(req, v)
		}
		retry := req.Clone(req.Context())
		if req.Body != nil {
			if req.GetBody == nil {
				return errors.New("paypal: " + req.Method + " " + req.URL.Path + ": the request cannot be sent again")
			}
			body, err := req.GetBody()
			if err != nil {
				return err
			}
			retry.Body = body
		}
		return c.SendWithAuth(retry, v)
	})
}

// tokensOf are the renewed tokens kept by c's transport (NewClient); nil for another client.
func tokensOf(c *paypal.Client) *tokens {
	if c == nil || c.Client == nil {
		return nil
	}
	k, _ := c.Client.Transport.(keepErrorBodies)
	return k.tokens
}

// refusedToken is the OAuth token the request PayPal answered err to bore.
func refusedToken(err error) string {
	var pe *paypal.ErrorResponse
	if !errors.As(err, &pe) || pe.Response == nil || pe.Response.Request == nil {
		return ""
	}
	return strings.TrimPrefix(pe.Response.Request.Header.Get("Authorization"), "Bearer ")
}

// tokenRefused says whether err is PayPal's 401 to a request that bore an OAuth token: not one to
// the token request itself, which bears the app's credentials.
func tokenRefused(err error) bool {
	var pe *paypal.ErrorResponse
	return errors.As(err, &pe) && pe.Response != nil && pe.Response.StatusCode == http.StatusUnauthorized &&
		pe.Response.Request != nil && strings.HasPrefix(pe.Response.Request.Header.Get("Authorization"), "Bearer ")
}

// requestPath is the path of the request PayPal answered err to, for logs.
func requestPath(err error) string {
	var pe *paypal.ErrorResponse
	if errors.As(err, &pe) && pe.Response != nil && pe.Response.Request != nil {
		return pe.Response.Request.URL.Path
	}
	return ""
}

// tokenPath is PayPal's OAuth token endpoint, the request plutov makes before a call's own when it
// has no token or one near its expiry (SendWithAuth), and the one renew makes.
const tokenPath = "/v1/oauth2/token"

// TokenRequestFailed says whether err is the failure of an OAuth token request (any status PayPal
// answered it, an answer that is no usable token (BadTokenAnswer), or a network error on the
// way): the call it was for was never sent, so PayPal did
// not look at it, and the cure is the REST app's credentials or its settings, or time, never
// the call's own request. Told by the request PayPal answered (plutov's ErrorResponse keeps it)
// or the URL a transport error names, not by the answer's text, which PayPal may change.
func TokenRequestFailed(err error) bool {
	var bad *BadTokenAnswer
	if errors.As(err, &bad) {
		return true
	}
	var pe *paypal.ErrorResponse
	if errors.As(err, &pe) {
		return pe.Response != nil && pe.Response.Request != nil && pe.Response.Request.URL != nil &&
			strings.HasSuffix(pe.Response.Request.URL.Path, tokenPath)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		u, perr := url.Parse(ue.URL)
		return perr == nil && strings.HasSuffix(u.Path, tokenPath)
	}
	return false
}
