package server_test

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"paysplit/internal/store"
)

// TestDashboardOverHTTPSUsesTheHostPrefixedCookies: over HTTPS the page gets
// __Host-paysplit_csrf, and its state-changing requests must still send that token: the logout
// (a DELETE, which a live session may only make with its CSRF token) ends the session server-side.
// Plain-HTTP dashboards are the other browser tests.
func TestDashboardOverHTTPSUsesTheHostPrefixedCookies(t *testing.T) {
	a := newAPI(t, nil)
	ts := httptest.NewTLSServer(a.srv)
	t.Cleanup(ts.Close)
	// The test server's certificate is its own; the connection is TLS all the same.
	b := newBrowserWith(t, chromedp.Flag("ignore-certificate-errors", true))
	c := a.newClient("https")
	keyID, key := a.newKey(store.RoleClient, c)
	sessions := func() int {
		var n int
		require.NoError(t, a.pool.QueryRow(context.Background(), `SELECT count(*) FROM sessions WHERE key_id = $1`, keyID).Scan(&n))
		return n
	}

	b.login(ts.URL+"/", key)
	b.waitLoaded(c)
	require.True(t, eval[bool](b, `document.cookie.includes('__Host-paysplit_csrf=')`), "the page reads the prefixed CSRF cookie")
	require.False(t, eval[bool](b, `/(^|;\s*)paysplit_csrf=/.test(document.cookie)`), "no unprefixed one")
	require.Equal(t, 1, sessions())

	b.do(chromedp.Click(chromedp.ID("logout")))
	b.do(chromedp.WaitVisible(chromedp.ID("login-form")))
	require.Eventually(t, func() bool { return sessions() == 0 }, 5*time.Second, 50*time.Millisecond,
		"the logout carried the CSRF token from __Host-paysplit_csrf and ended the session")
	b.noPageErrors()
}
