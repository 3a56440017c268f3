package server_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"paysplit/api/server"
	"paysplit/internal/store"
)

// TestProductionDashboardOnPlainHTTPLocalhost: the production image (APP_ENV=production, so
// Secure __Host- cookies) opened on plain http://localhost or http://127.0.0.1, as one tries it
// out before putting TLS in front. Chromium counts both as secure contexts and takes the cookies:
// the login holds and the logout, which needs the CSRF token, ends the session.
func TestProductionDashboardOnPlainHTTPLocalhost(t *testing.T) {
	for _, host := range []string{"127.0.0.1", "localhost"} {
		t.Run(host, func(t *testing.T) {
			a := newAPI(t, func(d *server.Deps) { d.SecureCookies = true })
			b := newBrowser(t)
			c := a.newClient("plainhttp")
			keyID, key := a.newKey(store.RoleClient, c)
			sessions := func() int {
				var n int
				require.NoError(t, a.pool.QueryRow(context.Background(), `SELECT count(*) FROM sessions WHERE key_id = $1`, keyID).Scan(&n))
				return n
			}
			b.login(strings.Replace(a.url, "127.0.0.1", host, 1)+"/", key)
			b.waitLoaded(c)
			require.True(t, eval[bool](b, `document.cookie.includes('__Host-paysplit_csrf=')`))
			require.Equal(t, 1, sessions())
			b.do(chromedp.Click(chromedp.ID("logout")))
			b.do(chromedp.WaitVisible(chromedp.ID("login-form")))
			require.Eventually(t, func() bool { return sessions() == 0 }, 5*time.Second, 50*time.Millisecond)
			b.noPageErrors()
		})
	}
}
