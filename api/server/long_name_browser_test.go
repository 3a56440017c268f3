package server_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// TestDashboardReflowsWithALongClientName: a client's name is whatever its admin typed, and one
// long word of it (a shop's name run together, a name in a script written without spaces) pushed
// the heading past a 320-pixel screen, so the whole page scrolled sideways (WCAG 1.4.10, which
// TestDashboardReflowsOnANarrowScreen checks with a short name).
func TestDashboardReflowsWithALongClientName(t *testing.T) {
	a := newAPI(t, nil)
	b := newBrowser(t)
	c, key := a11yClient(t, a, "longname")
	long := strings.Repeat("Northwindoutdoorcamping", 4)
	code, body := a.json(req{method: "PUT", path: "/api/v1/admin/clients/" + c, key: adminKey,
		body: map[string]any{"name": long, "default_currency": "usd"}})
	require.Equal(t, 200, code, body)
	b.do(chromedp.EmulateViewport(320, 800))
	b.login(a.url+"/", key)
	b.waitLoaded(c)
	require.Contains(t, eval[string](b, `document.getElementById('client-name').textContent`), long, "the name is shown whole")
	require.LessOrEqual(t, eval[int](b, `document.documentElement.scrollWidth`), eval[int](b, `document.documentElement.clientWidth`), "the page scrolls sideways")
	b.noPageErrors()
}
