package server

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"golang.org/x/time/rate"

	"paysplit/internal/store"
)

// Cookie and header names of the browser session. The cookies' names are these, with
// hostPrefix whenever they are Secure (Server.cookieName).
const (
	sessionCookie = "paysplit_session"
	csrfCookie    = "paysplit_csrf"
	csrfHeader    = "X-CSRF-Token"
	// hostPrefix makes the browser take a cookie only when it is Secure, has Path=/ and no
	// Domain, and was set by this very host: no sibling subdomain, and no network attacker
	// answering plain HTTP for it, can set or shadow the session or CSRF cookie.
	hostPrefix = "__Host-"
)

const principalKey = "principal"

// principal is who a request acts as, from its credential: never from the URL.
type principal struct {
	Role     string
	ClientID string // set for the client role only
	KeyID    string // api_keys id, or store.BootstrapKeyID
	// csrfHash is set when the request was authenticated by the session cookie.
	csrfHash []byte
}

func (p principal) actor() string { return p.Role + ":" + p.KeyID }

func principalOf(c echo.Context) (principal, bool) {
	p, ok := c.Get(principalKey).(principal)
	return p, ok
}

// authenticate accepts either `Authorization: Bearer <key>` (the bootstrap ADMIN_API_KEY or a
// stored key) or the session cookie. A bearer header that does not match is refused even when a
// cookie is present, so a script never silently acts with someone else's browser session.
// State-changing requests authenticated by the cookie must echo the session's CSRF token.
// Credentials that fail count against the request's address, at the rate logins are limited to:
// once an address is out of failures, its requests are refused with 429 before any credential is
// checked, so guessing keys is as slow through the API as through the login.
func (s *Server) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		p, err := s.identify(c)
		if err != nil {
			return err
		}
		setPrincipal(c, p)
		return next(c)
	}
}

// noStore marks every answer of the authenticated API as one no cache may keep, refusals
// included. A browser session is a cookie, not an Authorization header, and RFC 9111 lets a shared
// cache (a proxy, a CDN before the load balancer) store a response to a request with cookies: one
// client's payouts could be handed to the next caller of the same URL. The browser's own disk
// cache kept them, and the login's CSRF token, past logout on a shared computer.
func noStore(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
		return next(c)
	}
}

// endingSession authenticates a logout. A browser whose session is no longer live (expired,
// ended by revoking its key, or no session cookie at all) is let through without a principal:
// refusing it with 401 left its stale cookies in place, as only the logout clears them. A bearer
// key that does not match, a live session without its CSRF token and an address out of failures
// are refused as on every other route.
func (s *Server) endingSession(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		p, err := s.identify(c)
		var ae *apiError
		switch {
		case err == nil:
			setPrincipal(c, p)
		case c.Request().Header.Get(echo.HeaderAuthorization) == "" && errors.As(err, &ae) && ae.status == http.StatusUnauthorized:
			// No live session: nothing to end, but the cookies are still cleared.
		default:
			return err
		}
		return next(c)
	}
}

func setPrincipal(c echo.Context, p principal) {
	c.Set(principalKey, p)
	c.Set("actor", p.actor())
}

// identify finds the request's principal from its bearer key or session cookie, counting failed
// credentials against the request's address.
func (s *Server) identify(c echo.Context) (principal, error) {
	addr := c.RealIP()
	if wait, out := s.authFailures.exhausted(addr); out {
		c.Response().Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		return principal{}, errorf(http.StatusTooManyRequests, "rate_limited", "too many failed authentications from this address; slow down")
	}
	var p principal
	var err error
	presented := true
	if h := c.Request().Header.Get(echo.HeaderAuthorization); h != "" {
		p, err = s.principalFromKey(c, h)
	} else if ck, cerr := c.Cookie(s.cookieName(c.Request(), sessionCookie)); cerr == nil && ck.Value != "" {
		p, err = s.principalFromSession(c, ck.Value)
	} else {
		presented = false
		err = errorf(http.StatusUnauthorized, "unauthorized", "missing credentials: send Authorization: Bearer <api key> or log in")
	}
	var ae *apiError
	if presented && errors.As(err, &ae) && ae.status == http.StatusUnauthorized {
		s.authFailures.fail(addr)
	}
	return p, err
}

func (s *Server) principalFromKey(c echo.Context, header string) (principal, error) {
	token, ok := strings.CutPrefix(header, "Bearer ")
	if !ok || token == "" {
		return principal{}, errorf(http.StatusUnauthorized, "unauthorized", "Authorization must be: Bearer <api key>")
	}
	return s.lookupKey(c, token)
}

// lookupKey resolves an API key: the bootstrap admin key (compared in constant time) or a stored,
// unrevoked key (looked up by its hash).
func (s *Server) lookupKey(c echo.Context, token string) (principal, error) {
	if subtle.ConstantTimeCompare([]byte(token), []byte(s.deps.AdminAPIKey)) == 1 {
		return principal{Role: store.RoleAdmin, KeyID: store.BootstrapKeyID}, nil
	}
	k, err := s.deps.Store.APIKeyByToken(c.Request().Context(), token)
	if errors.Is(err, store.ErrNotFound) {
		return principal{}, errorf(http.StatusUnauthorized, "unauthorized", "invalid or revoked API key")
	}
	if err != nil {
		return principal{}, err
	}
	return principal{Role: k.Role, ClientID: k.ClientID, KeyID: k.ID}, nil
}

func (s *Server) principalFromSession(c echo.Context, token string) (principal, error) {
	sess, err := s.deps.Store.SessionByToken(c.Request().Context(), token, s.deps.AdminAPIKey)
	if errors.Is(err, store.ErrNotFound) {
		return principal{}, errorf(http.StatusUnauthorized, "unauthorized", "session expired or ended: log in again")
	}
	if err != nil {
		return principal{}, err
	}
	if !safeMethod(c.Request().Method) {
		got := sha256.Sum256([]byte(c.Request().Header.Get(csrfHeader)))
		if subtle.ConstantTimeCompare(got[:], sess.CSRFHash) != 1 {
			return principal{}, errorf(http.StatusForbidden, "csrf_failed", "missing or wrong "+csrfHeader+" header for a cookie-authenticated request")
		}
	}
	return principal{Role: sess.Role, ClientID: sess.ClientID, KeyID: sess.KeyID, csrfHash: sess.CSRFHash}, nil
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// requireAdmin lets only admin credentials through; it runs after authenticate.
func (s *Server) requireAdmin(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if p, ok := principalOf(c); !ok || p.Role != store.RoleAdmin {
			return errorf(http.StatusForbidden, "forbidden", "this endpoint needs an admin credential")
		}
		return next(c)
	}
}

// scope is the client a client-API request reads. A client credential reads its own client and
// nothing else: naming another client is refused before anything is read. An admin names the
// client with ?client_id=.
func (s *Server) scope(c echo.Context) (string, error) {
	p, ok := principalOf(c)
	if !ok {
		return "", errorf(http.StatusUnauthorized, "unauthorized", "missing credentials")
	}
	asked := c.QueryParam("client_id")
	if p.Role == store.RoleClient {
		if asked != "" && asked != p.ClientID {
			return "", errorf(http.StatusForbidden, "forbidden", "this credential cannot read another client's data")
		}
		return p.ClientID, nil
	}
	if asked == "" {
		return "", errorf(http.StatusBadRequest, "invalid_request", "client_id is required with an admin credential")
	}
	if _, err := s.deps.Store.GetClient(c.Request().Context(), asked); err != nil {
		return "", err
	}
	return asked, nil
}

// Rate limits: per credential for authenticated requests, per address for logins.
const (
	defaultRateLimit = 10 // requests per second
	defaultRateBurst = 40
)

// rateLimits are Deps.RateLimit and Deps.RateBurst, or their defaults.
func (s *Server) rateLimits() (rate.Limit, int) {
	r, burst := s.deps.RateLimit, s.deps.RateBurst
	if r <= 0 {
		r = defaultRateLimit
	}
	if burst <= 0 {
		burst = defaultRateBurst
	}
	return rate.Limit(r), burst
}

// rateLimitExpiry is how long a limiter remembers a credential or an address it has not seen.
const rateLimitExpiry = 10 * time.Minute

func (s *Server) rateLimiter(identify middleware.Extractor) echo.MiddlewareFunc {
	r, burst := s.rateLimits()
	return middleware.RateLimiterWithConfig(middleware.RateLimiterConfig{
		Store: middleware.NewRateLimiterMemoryStoreWithConfig(middleware.RateLimiterMemoryStoreConfig{
			Rate: r, Burst: burst, ExpiresIn: rateLimitExpiry,
		}),
		IdentifierExtractor: identify,
		ErrorHandler: func(echo.Context, error) error {
			return errorf(http.StatusUnauthorized, "unauthorized", "missing credentials")
		},
		DenyHandler: func(c echo.Context, _ string, _ error) error {
			c.Response().Header().Set("Retry-After", "1")
			return errorf(http.StatusTooManyRequests, "rate_limited", "too many requests for this credential; slow down")
		},
	})
}

// perKey identifies the caller by credential (never the secret itself).
func perKey(c echo.Context) (string, error) {
	p, ok := principalOf(c)
	if !ok {
		return "", errors.New("no principal")
	}
	return "key:" + p.KeyID, nil
}

// perKeyOrAddress identifies the caller by credential; a logout whose session is already gone has
// none and is identified by its address.
func perKeyOrAddress(c echo.Context) (string, error) {
	if _, ok := principalOf(c); ok {
		return perKey(c)
	}
	return perAddress(c)
}

func perAddress(c echo.Context) (string, error) { return "ip:" + c.RealIP(), nil }

// addressLimiter is a token bucket per address that only failures take from: exhausted peeks
// (a request that authenticates takes nothing), fail takes one. Addresses not seen for
// rateLimitExpiry are forgotten.
type addressLimiter struct {
	rate  rate.Limit
	burst int

	mu      sync.Mutex
	buckets map[string]*addressBucket
	swept   time.Time
}

type addressBucket struct {
	limiter *rate.Limiter
	seen    time.Time
}

func (s *Server) newAuthFailures() *addressLimiter {
	r, burst := s.rateLimits()
	return &addressLimiter{rate: r, burst: burst, buckets: map[string]*addressBucket{}, swept: time.Now()}
}

// exhausted says whether addr has no failure left, and how long until it has one.
func (l *addressLimiter) exhausted(addr string) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[addr]
	if !ok {
		return 0, false
	}
	now := time.Now()
	tokens := b.limiter.TokensAt(now)
	if tokens >= 1 {
		return 0, false
	}
	return time.Duration((1 - tokens) / float64(l.rate) * float64(time.Second)), true
}

// fail takes one failure from addr's bucket.
func (l *addressLimiter) fail(addr string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	if now.Sub(l.swept) > rateLimitExpiry {
		for a, b := range l.buckets {
			if now.Sub(b.seen) > rateLimitExpiry {
				delete(l.buckets, a)
			}
		}
		l.swept = now
	}
	b, ok := l.buckets[addr]
	if !ok {
		b = &addressBucket{limiter: rate.NewLimiter(l.rate, l.burst)}
		l.buckets[addr] = b
	}
	b.seen = now
	b.limiter.AllowN(now, 1)
}

// keyID names the credential in access logs: its ID, never the secret.
func keyID(c echo.Context) string {
	if p, ok := principalOf(c); ok {
		return p.KeyID
	}
	return ""
}
