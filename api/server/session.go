package server

import (
	"fmt"
	"net"
	"net/http"
	"slices"
	"time"

	"github.com/labstack/echo/v4"

	"paysplit/internal/store"
)

const defaultSessionTTL = 12 * time.Hour

// login exchanges an API key for a browser session: an HttpOnly cookie the page cannot read, and
// a CSRF token (in the body and in a readable cookie) the page echoes on state-changing requests.
// Only JSON is accepted: an HTML form on another site cannot send it, and a cross-site fetch of
// JSON needs a CORS preflight this server never grants, so nobody can log a browser in from
// elsewhere.
func (s *Server) login(c echo.Context) error {
	// Checked whether or not a body came, by the media type itself: a prefix let
	// "application/json; charset=iso-8859-1" and "application/jsonx" log in.
	if err := notJSON(c.Request()); err != nil {
		return errorf(http.StatusUnsupportedMediaType, "unsupported_media_type", "send the key as JSON in UTF-8: {\"key\": \"...\"}")
	}
	var body struct {
		Key string `json:"key"`
	}
	if err := bind(c, &body); err != nil {
		return err
	}
	if body.Key == "" {
		return errorf(http.StatusBadRequest, "invalid_request", "key is required")
	}
	p, err := s.lookupKey(c, body.Key)
	if err != nil {
		return err
	}
	ttl := s.deps.SessionTTL
	if ttl <= 0 {
		ttl = defaultSessionTTL
	}
	expires := time.Now().Add(ttl).UTC().Truncate(time.Second)
	sess := store.Session{KeyID: p.KeyID, Role: p.Role, ClientID: p.ClientID, ExpiresAt: expires}
	if p.KeyID == store.BootstrapKeyID {
		sess.BootstrapKey = s.deps.AdminAPIKey // the session ends when ADMIN_API_KEY changes
	}
	token, csrf, err := s.deps.Store.CreateSession(c.Request().Context(), sess)
	if err != nil {
		return err
	}
	// The browser's previous session ends here: its cookie is replaced below, and the logout ends
	// only the session of the cookie it is sent, so that one could never be ended again (it stayed
	// live for the rest of its hours for whoever had copied its cookie). Only after the new session
	// exists: a login that fails leaves the browser logged in as it was.
	// Over HTTPS the browser may still hold the unprefixed cookie of a session from before the
	// __Host- names: it is never read there again, so it is ended too, and cleared below.
	if err := s.endCookieSessions(c); err != nil {
		return fmt.Errorf("end the session this login replaces: %w", err)
	}
	c.SetCookie(s.cookie(c, sessionCookie, token, expires, true))
	c.SetCookie(s.cookie(c, csrfCookie, csrf, expires, false))
	s.clearUnprefixed(c)
	c.Set(principalKey, p)
	return c.JSON(http.StatusCreated, map[string]any{
		"role": p.Role, "client_id": nullable(p.ClientID), "key_id": p.KeyID, "expires_at": expires, "csrf_token": csrf,
	})
}

// logout ends the cookie's session and always clears the cookies, answering 204: a browser
// holding stale cookies must be able to drop them (endingSession lets a request whose session is
// already gone through, without a principal).
func (s *Server) logout(c echo.Context) error {
	// The row goes even when the session is no longer live (expired, not yet swept): only the
	// cookie's holder knows its token.
	if err := s.endCookieSessions(c); err != nil {
		return fmt.Errorf("end session: %w", err)
	}
	for _, name := range []string{sessionCookie, csrfCookie} {
		ck := s.cookie(c, name, "", time.Unix(0, 0), name == sessionCookie)
		ck.MaxAge = -1
		c.SetCookie(ck)
	}
	s.clearUnprefixed(c)
	return c.NoContent(http.StatusNoContent)
}

// endCookieSessions ends the session of the request's session cookie and, over HTTPS, that of an
// unprefixed one left from before the __Host- names.
func (s *Server) endCookieSessions(c echo.Context) error {
	names := []string{s.cookieName(c.Request(), sessionCookie)}
	if names[0] != sessionCookie {
		names = append(names, sessionCookie)
	}
	for _, name := range names {
		if ck, err := c.Cookie(name); err == nil && ck.Value != "" {
			if err := s.deps.Store.DeleteSession(c.Request().Context(), ck.Value); err != nil {
				return err
			}
		}
	}
	return nil
}

// clearUnprefixed tells a browser over HTTPS to drop the unprefixed cookies, which are not read
// there (a login or logout from before the __Host- names, or planted by another host).
func (s *Server) clearUnprefixed(c echo.Context) {
	if !s.secureCookies(c.Request()) {
		return
	}
	for _, name := range []string{sessionCookie, csrfCookie} {
		ck := s.cookie(c, name, "", time.Unix(0, 0), name == sessionCookie)
		ck.Name, ck.MaxAge = name, -1
		c.SetCookie(ck)
	}
}

// cookie builds a session cookie: Secure always in production and otherwise whenever the request
// came over TLS, then named with the __Host- prefix (cookieName); Path=/ and no Domain, as that
// prefix needs; SameSite=Strict so no other site's page ever sends it.
func (s *Server) cookie(c echo.Context, name, value string, expires time.Time, httpOnly bool) *http.Cookie {
	return &http.Cookie{
		Name: s.cookieName(c.Request(), name), Value: value, Path: "/", Expires: expires, HttpOnly: httpOnly,
		Secure: s.secureCookies(c.Request()), SameSite: http.SameSiteStrictMode,
	}
}

// secureCookies says whether the request's cookies are Secure: always in production
// (APP_ENV=production), otherwise when the request came over TLS.
func (s *Server) secureCookies(r *http.Request) bool {
	return s.deps.SecureCookies || s.overTLS(r)
}

// cookieName is the name a session cookie has on this request: with the __Host- prefix when it
// is Secure, as it is read and set alike. Plain-HTTP development (the demo, the browser tests on
// 127.0.0.1) keeps the bare name: a browser refuses a __Host- cookie that is not Secure, and a
// Secure one set over plain HTTP.
func (s *Server) cookieName(r *http.Request, name string) string {
	if s.secureCookies(r) {
		return hostPrefix + name
	}
	return name
}

// overTLS reports whether a request came over TLS: on its own connection, or through one of the
// TRUSTED_PROXIES that says so in X-Forwarded-Proto. Anyone else's header is not taken (echo's
// Scheme() takes it from any client).
func (s *Server) overTLS(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	return r.Header.Get(echo.HeaderXForwardedProto) == "https" && fromTrustedProxy(r.RemoteAddr, s.deps.TrustedProxies)
}

// fromTrustedProxy reports whether the connection's peer is in one of the trusted networks.
func fromTrustedProxy(remoteAddr string, trusted []*net.IPNet) bool {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	ip := net.ParseIP(host)
	return ip != nil && slices.ContainsFunc(trusted, func(n *net.IPNet) bool { return n.Contains(ip) })
}

// me says who the credential is.
func (s *Server) me(c echo.Context) error {
	p, _ := principalOf(c)
	out := map[string]any{"role": p.Role, "client_id": nullable(p.ClientID), "key_id": p.KeyID, "session": p.csrfHash != nil}
	return c.JSON(http.StatusOK, out)
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
