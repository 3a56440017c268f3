package paypalauth

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/plutov/paypal/v4"
)

// BadTokenAnswer is an answer to the OAuth token request that plutov cannot use: not JSON (the
// HTML page of a proxy or load balancer in front of PayPal, whatever its status), empty or cut
// off, or a token answer without an access_token or with an expires_in that is not a positive
// number. plutov took such an answer as the call's own failure (a JSON error of the payout, the
// read or the verification it was asked for), sent c.Token.Token with c.Token nil when the answer
// had no token (a panic with the client's lock held: every later call on the client waited for
// ever), or sent a token expired on arrival and asked another before every call. The
// transport answers it as the token request's failure instead (TokenRequestFailed), and the
// call is never sent. The body is never quoted: a cut-off answer may hold part of a token.
type BadTokenAnswer struct {
	Status      int
	ContentType string
	// Problem says what is wrong with the answer.
	Problem string
}

func (e *BadTokenAnswer) Error() string {
	return fmt.Sprintf("paypal: the OAuth token answer (%d %s, Content-Type %q) %s",
		e.Status, http.StatusText(e.Status), e.ContentType, e.Problem)
}

// maxTokenAnswer bounds what is read of a token answer (PayPal's are about 2 KB, its scopes).
const maxTokenAnswer = 64 << 10

// isTokenRequest says whether req asks PayPal for an OAuth token (plutov's GetAccessToken, renew).
func isTokenRequest(req *http.Request) bool {
	return req.Method == http.MethodPost && req.URL != nil && strings.HasSuffix(req.URL.Path, tokenPath)
}

// usableTokenAnswer is resp, its body read and given back whole, when plutov can use it: a 2xx
// with an access_token and a positive expires_in, or an error answer, empty or JSON plutov reads
// as its ErrorResponse (the status and OAuth error kept for the callers); a BadTokenAnswer
// otherwise (a JSON error answer plutov cannot read, "Service Unavailable" or details that are
// no list, failed the call with a bare json error naming nothing).
func usableTokenAnswer(resp *http.Response) (*http.Response, error) {
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxTokenAnswer+1))
	_ = resp.Body.Close()
	bad := func(problem string) error {
		return &BadTokenAnswer{Status: resp.StatusCode, ContentType: resp.Header.Get("Content-Type"), Problem: problem}
	}
	switch {
	case err != nil:
		return nil, bad(fmt.Sprintf("could not be read: %v", err))
	case len(raw) > maxTokenAnswer:
		return nil, bad(fmt.Sprintf("is over %d bytes", maxTokenAnswer))
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		if len(raw) > 0 && !json.Valid(raw) {
			return nil, bad(fmt.Sprintf("is not JSON (%d bytes)", len(raw)))
		}
		if len(raw) > 0 && json.Unmarshal(raw, &paypal.ErrorResponse{}) != nil {
			return nil, bad(fmt.Sprintf("is JSON but no error answer PayPal's client reads (%d bytes)", len(raw)))
		}
	default:
		if problem := tokenProblem(raw); problem != "" {
			return nil, bad(problem)
		}
	}
	resp.Body = io.NopCloser(bytes.NewReader(raw))
	resp.ContentLength = int64(len(raw))
	return resp, nil
}

// tokenProblem says what makes a 2xx token answer unusable, "" when nothing does. expires_in is
// read as plutov reads it (a JSON number, or a string holding one).
func tokenProblem(raw []byte) string {
	if len(raw) == 0 {
		return "is empty"
	}
	if !json.Valid(raw) {
		return fmt.Sprintf("is not JSON (%d bytes)", len(raw))
	}
	var tok struct {
		AccessToken string      `json:"access_token"`
		ExpiresIn   json.Number `json:"expires_in"`
	}
	if err := json.Unmarshal(raw, &tok); err != nil {
		return "is not a token answer: " + err.Error()
	}
	if err := json.Unmarshal(raw, &paypal.TokenResponse{}); err != nil { // as plutov reads it
		return "is not a token answer PayPal's client reads: " + err.Error()
	}
	if tok.AccessToken == "" {
		return "has no access_token"
	}
	// plutov takes the token to expire expires_in seconds from now and asks a new one a minute
	// before: none (0) or a negative one is a token expired on arrival.
	secs, err := tok.ExpiresIn.Int64()
	if err != nil || secs <= 0 {
		return fmt.Sprintf("has no positive expires_in (%q)", tok.ExpiresIn.String())
	}
	return ""
}

// maxRedirects is net/http's own limit, kept for the requests that are no token request.
const maxRedirects = 10

// checkRedirect follows no redirect of a token request: PayPal does not redirect it, and a proxy
// that does (to its sign-in page) had its page, HTML or JSON without a token, reach plutov as the
// answer of a request that is no token request, so unchecked (a bare json error naming nothing,
// or plutov's panic with its lock held). Other requests' redirects are next's (the caller's
// client), or net/http's default.
func checkRedirect(next func(*http.Request, []*http.Request) error) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		if len(via) > 0 && isTokenRequest(via[0]) {
			bad := &BadTokenAnswer{Problem: fmt.Sprintf("is a redirect to %s%s, not followed", req.URL.Host, req.URL.Path)}
			if req.Response != nil {
				bad.Status, bad.ContentType = req.Response.StatusCode, req.Response.Header.Get("Content-Type")
			}
			return bad
		}
		if next != nil {
			return next(req, via)
		}
		if len(via) >= maxRedirects {
			return fmt.Errorf("stopped after %d redirects", maxRedirects)
		}
		return nil
	}
}
