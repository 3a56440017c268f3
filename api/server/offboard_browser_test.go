package server_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"paysplit/internal/store"
)

// TestDashboardSaysAClientIsOffboarded: the dashboard of an offboarded client says so (its KPIs
// stop at when it left, and it gets no weekly report), does not offer the refresh the API refuses
// (409), and an admin's picker marks it; back active, the page is as before. The page showed an
// offboarded client's stale figures as any other's, with a refresh button that failed.
func TestDashboardSaysAClientIsOffboarded(t *testing.T) {
	a := newAPI(t, nil)
	b := newBrowser(t)
	c := a.newClient("offbdash")
	_, key := a.newKey(store.RoleClient, c)
	setStatus := func(action string) {
		t.Helper()
		code, body := a.json(req{method: http.MethodPost, path: "/api/v1/admin/clients/" + c + "/" + action, key: adminKey})
		require.Equal(t, http.StatusOK, code, body)
	}
	const said = "This client is offboarded"
	noticeSays := fmt.Sprintf(`document.getElementById('notice').textContent.includes(%q)`, said)

	setStatus("offboard")
	b.login(a.url+"/", key)
	b.waitLoaded(c)
	require.True(t, eval[bool](b, noticeSays), "the client's own page says it is offboarded")
	require.True(t, eval[bool](b, `document.getElementById('refresh').disabled`), "no refresh is offered")
	require.Empty(t, b.axe(), "the page of an offboarded client")

	admin := newBrowser(t)
	admin.login(a.url+"/", adminKey)
	admin.pickClient(c)
	require.True(t, eval[bool](admin, fmt.Sprintf(`document.querySelector('#client-picker option[value=%q]').textContent.endsWith('· offboarded')`, c)),
		"the admin's picker marks the client")
	require.True(t, eval[bool](admin, noticeSays), "the admin's page says it too")
	admin.noPageErrors()

	setStatus("reactivate")
	b.do(chromedp.Navigate(a.url + "/"))
	b.waitLoaded(c)
	require.False(t, eval[bool](b, noticeSays), "back active, nothing is said")
	require.False(t, eval[bool](b, `document.getElementById('refresh').disabled`), "and the refresh is offered again")
	b.noPageErrors()
}
