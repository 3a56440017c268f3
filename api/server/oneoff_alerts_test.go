package server_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paysplit/api/server"
	"paysplit/internal/ledger"
	"paysplit/internal/monitor"
	"paysplit/internal/payment"
)

// raiseTakenBack raises one alert of the system's payout_taken_back monitor about payment wf,
// at, as the PayPal webhook does.
func (a *apiEnv) raiseTakenBack(wf, summary string, at time.Time) int64 {
	a.t.Helper()
	out, err := monitor.NewStore(a.pool, ledger.New(a.pool)).RaiseEvent(a.t.Context(), monitor.KindPayoutTakenBack, summary, 1, []string{wf}, at)
	require.NoError(a.t, err)
	return out.AlertID
}

// One-off alerts (a PayPal payout taken back: stored resolved as they fire) are listed with
// ?one_off=true, newest first, bounded by ?from=; alerts of other monitors, firing or resolved,
// are not. Before, nothing but ?monitor_id= of the system's monitor found them, and the dashboard
// (which shows firing alerts) never did.
func TestAlertsListsOneOffEvents(t *testing.T) {
	a := newAPI(t, nil)
	now := time.Now().UTC().Truncate(time.Second)
	old := a.raiseTakenBack("wf-oneoff-old", "taken back long ago", now.AddDate(0, 0, -8))
	first := a.raiseTakenBack("wf-oneoff-1", "taken back yesterday", now.AddDate(0, 0, -1))
	second := a.raiseTakenBack("wf-oneoff-2", "taken back today", now.Add(-time.Hour))
	code, body := a.json(req{method: http.MethodPost, path: "/api/v1/admin/monitors", key: adminKey, body: map[string]any{
		"name": "held " + uniqueID("oneoff"), "kind": "held_leg_age", "days": 1}})
	require.Equal(t, http.StatusCreated, code, body)
	ms := monitor.NewStore(a.pool, ledger.New(a.pool))
	mid := int64(body["id"].(float64))
	_, err := ms.Apply(t.Context(), mid, monitor.Result{Status: monitor.StatusFiring, Summary: "held too long", Value: 1}, now.Add(-2*time.Hour))
	require.NoError(t, err)
	_, err = ms.Apply(t.Context(), mid, monitor.Result{Status: monitor.StatusOK}, now.Add(-30*time.Minute))
	require.NoError(t, err)
	_, err = ms.Apply(t.Context(), mid, monitor.Result{Status: monitor.StatusFiring, Summary: "held again", Value: 1}, now.Add(-10*time.Minute))
	require.NoError(t, err)

	// The package's tests share a database: other tests' one-off alerts are listed too, so only
	// this test's are compared (and every listed alert is checked to be one-off).
	mine := map[int64]bool{old: true, first: true, second: true}
	ids := func(query string) []int64 {
		t.Helper()
		code, body := a.json(req{method: http.MethodGet, path: "/api/v1/admin/alerts?" + query, key: adminKey})
		require.Equal(t, http.StatusOK, code, body)
		var got []int64
		for _, x := range body["alerts"].([]any) {
			x := x.(map[string]any)
			require.Equal(t, "payout_taken_back", x["kind"], "only one-off alerts: %v", x)
			require.Equal(t, x["fired_at"], x["resolved_at"], x)
			if id := int64(x["id"].(float64)); mine[id] {
				got = append(got, id)
			}
		}
		return got
	}
	since := url.QueryEscape(now.AddDate(0, 0, -7).Format(time.RFC3339))
	require.Equal(t, []int64{second, first}, ids("one_off=true&from="+since), "the last 7 days' one-off alerts, newest first")
	require.Equal(t, []int64{second, first, old}, ids("one_off=true"))
	require.Equal(t, []int64{second, first, old}, ids("one_off=true&state=resolved"))
	code, body = a.json(req{method: http.MethodGet, path: "/api/v1/admin/alerts?one_off=true&limit=1", key: adminKey})
	require.Equal(t, http.StatusOK, code, body)
	require.Len(t, body["alerts"], 1, "a page at a time")
	require.NotNil(t, body["next_cursor"], body)

	for _, tc := range []struct{ query, why string }{
		{"one_off=yes", "one_off must be true"},
		{"one_off=false", "one_off must be true"},
		{"one_off=", "one_off must be true"},
		{"one_off=true&state=firing", "one-off alerts are stored resolved"},
	} {
		t.Run(tc.query, func(t *testing.T) {
			code, body := a.json(req{method: http.MethodGet, path: "/api/v1/admin/alerts?" + tc.query, key: adminKey})
			require.Equal(t, http.StatusBadRequest, code, body)
			e, _ := body["error"].(map[string]any)
			require.Equal(t, "invalid_request", e["code"], body)
			require.Contains(t, fmt.Sprint(e["message"]), tc.why, body)
		})
	}
}

// TestDashboardShowsOneOffEvents: the admin's dashboard shows the last 7 days' one-off alerts (a
// PayPal payout taken back), newest first, with their summary and payment, under a heading that
// says an admin must act on them; a summary's markup (IDs come from webhooks) is shown as text.
// Before, the alerts panel showed firing alerts only, and said "No alert is firing.".
func TestDashboardShowsOneOffEvents(t *testing.T) {
	a := newAPI(t, nil)
	b := newBrowser(t)
	now := time.Now()
	a.raiseTakenBack("wf-dash-old", "taken back long ago", now.AddDate(0, 0, -8))
	a.raiseTakenBack("wf-dash-1", `payout item <img src=x id=injected> taken back: an admin decides what is owed`, now.AddDate(0, 0, -2))
	a.raiseTakenBack("wf-dash-2", "payout item PI-2 taken back: an admin decides what is owed", now.Add(-time.Hour))

	id := uniqueID("oneoff")
	code, body := a.json(req{method: http.MethodPut, path: "/api/v1/admin/clients/" + id, key: adminKey,
		body: map[string]any{"name": "one-off", "default_currency": "usd"}})
	require.Equal(t, http.StatusCreated, code, body)

	b.login(a.url+"/", adminKey)
	b.pickClient(id)
	b.waitFor(`document.querySelectorAll('#events-list li').length > 0`)
	// The package's tests share a database: other tests' take-backs are listed too.
	var items []string
	for _, it := range eval[[]string](b, `[...document.querySelectorAll('#events-list li')].map(li => li.textContent)`) {
		if strings.Contains(it, "wf-dash-") {
			items = append(items, it)
		}
	}
	require.Len(t, items, 2, "the last 7 days' one-off alerts: %v", items)
	require.Contains(t, items[0], "payout item PI-2 taken back: an admin decides what is owed", "newest first")
	require.Contains(t, items[0], "wf-dash-2", "its payment")
	require.Contains(t, items[0], "payout taken back", "its monitor")
	require.Contains(t, items[1], "payout item <img src=x id=injected> taken back", "markup shown as text")
	require.Contains(t, items[1], "wf-dash-1")
	require.False(t, eval[bool](b, `document.getElementById('injected') !== null`), "no element made of a summary")
	heading := eval[string](b, `document.getElementById('events-heading').textContent`)
	require.Contains(t, heading, "act on")
	require.NotContains(t, eval[string](b, `document.getElementById('events').textContent`), "resolved")
	require.True(t, eval[bool](b, `document.getElementById('events-empty').hidden`))
	require.Empty(t, b.axe(), "the page with one-off events")
	b.noPageErrors()
}

// An alert about one payment (a PayPal payout taken back) carries what an admin needs to act on
// it: the payment as the platform names it (workflow ID, provider, client, order; no personal
// data), the admin API's page of it and, where TEMPORAL_UI_URL is set, its workflow in the
// Temporal UI. Before, the alert named the workflow ID in its subjects and summary only, and an
// admin had to find the client and the payment's page by hand. An alert naming several payments,
// or something that is no payment, carries none.
func TestAlertsCarryTheirPayment(t *testing.T) {
	for _, tc := range []struct {
		name, temporalUI, wantWorkflowURL string
	}{
		{"with the Temporal UI", "http://temporal.example:8233/", "http://temporal.example:8233/namespaces/default/workflows/"},
		{"without the Temporal UI", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := newAPI(t, func(d *server.Deps) { d.TemporalUIURL = tc.temporalUI })
			c := a.newClient("alertpay")
			rec := paidRecord(c, c+"-pi", time.Now().Add(-2*time.Hour), 10000, 0, payment.StatusPaid)
			require.NoError(t, a.store.SavePayment(t.Context(), rec))
			about := a.raiseTakenBack(rec.WorkflowID, "taken back", time.Now().Add(-time.Minute))
			unknown := a.raiseTakenBack("payment-paypal-"+c+"-nowhere", "taken back, no such payment", time.Now().Add(-time.Minute))
			ms := monitor.NewStore(a.pool, ledger.New(a.pool))
			several, err := ms.RaiseEvent(t.Context(), monitor.KindPayoutTakenBack, "two", 1, []string{rec.WorkflowID, "payment-stripe-other"}, time.Now().Add(-time.Minute))
			require.NoError(t, err)

			code, body := a.json(req{method: http.MethodGet, path: "/api/v1/admin/alerts?one_off=true&limit=50", key: adminKey})
			require.Equal(t, http.StatusOK, code, body)
			byID := map[int64]map[string]any{}
			for _, x := range body["alerts"].([]any) {
				x := x.(map[string]any)
				require.Contains(t, x, "payment", "every alert says whether it is about one payment: %v", x)
				byID[int64(x["id"].(float64))] = x
			}
			require.Contains(t, byID, about)
			p, ok := byID[about]["payment"].(map[string]any)
			require.True(t, ok, "the alert's payment: %v", byID[about])
			want := map[string]any{
				"workflow_id": rec.WorkflowID, "provider": "stripe", "client_id": c, "order_id": rec.Order.OrderID,
				"admin_url": "/api/v1/admin/payments/" + rec.WorkflowID,
			}
			if tc.wantWorkflowURL != "" {
				want["workflow_url"] = tc.wantWorkflowURL + rec.WorkflowID
			}
			require.Equal(t, want, p)
			require.Nil(t, byID[unknown]["payment"], "no stored payment: nothing to link")
			require.Nil(t, byID[several.AlertID]["payment"], "several payments: subjects name them")

			// Any alert whose one subject is a stored payment carries it: a firing held_leg_age one.
			mid, held := a.newMonitor("heldpay")
			_, err = held.Apply(t.Context(), mid, monitor.Result{Status: monitor.StatusFiring, Summary: "held too long", Value: 1,
				Subjects: []string{rec.WorkflowID}}, time.Now())
			require.NoError(t, err)
			code, body = a.json(req{method: http.MethodGet, path: fmt.Sprintf("/api/v1/admin/alerts?state=firing&monitor_id=%d", mid), key: adminKey})
			require.Equal(t, http.StatusOK, code, body)
			require.Len(t, body["alerts"], 1, body)
			require.Equal(t, want, body["alerts"].([]any)[0].(map[string]any)["payment"])

			// The link is the payment's page in the admin API.
			code, got := a.json(req{method: http.MethodGet, path: p["admin_url"].(string), key: adminKey})
			require.Equal(t, http.StatusOK, code, got)
			require.Equal(t, rec.WorkflowID, got["workflow_id"])
			// The payment's page links its workflow as its alert does: not at all without a
			// Temporal UI (production without TEMPORAL_UI_URL), where it was a path under no host.
			wantPaymentLink := ""
			if tc.wantWorkflowURL != "" {
				wantPaymentLink = tc.wantWorkflowURL + rec.WorkflowID
			}
			require.Equal(t, wantPaymentLink, got["workflow_url"], "the payment's workflow link")
		})
	}
}

// TestDashboardLinksOneOffEventsToTheirPayment: a one-off event about a stored payment links to
// the dashboard's view of the payment (#payment=, which reads the admin API's page of it) and to
// its workflow in the Temporal UI, and names its order. Before, the
// event showed the workflow ID as text only.
func TestDashboardLinksOneOffEventsToTheirPayment(t *testing.T) {
	a := newAPI(t, nil)
	b := newBrowser(t)
	c := a.newClient("eventlink")
	rec := paidRecord(c, c+"-pi", time.Now().Add(-2*time.Hour), 10000, 0, payment.StatusPaid)
	require.NoError(t, a.store.SavePayment(t.Context(), rec))
	a.raiseTakenBack(rec.WorkflowID, "payout item PI-9 taken back: an admin decides what is owed", time.Now().Add(-time.Minute))

	b.login(a.url+"/", adminKey)
	b.pickClient(c)
	b.waitFor(`[...document.querySelectorAll('#events-list li')].some(li => li.textContent.includes(` + jsString(rec.WorkflowID) + `))`)
	links := eval[[]map[string]string](b, `[...document.querySelectorAll('#events-list li')]
		.filter(li => li.textContent.includes(`+jsString(rec.WorkflowID)+`))
		.flatMap(li => [...li.querySelectorAll('a')].map(a => ({href: a.href, text: a.textContent, rel: a.rel})))`)
	require.Equal(t, []map[string]string{
		{"href": a.url + "/#payment=" + rec.WorkflowID, "text": rec.WorkflowID, "rel": ""},
		{"href": "http://127.0.0.1:8233/namespaces/default/workflows/" + rec.WorkflowID, "text": "Temporal UI", "rel": "noreferrer"},
	}, links)
	item := eval[string](b, `[...document.querySelectorAll('#events-list li')].find(li => li.textContent.includes(`+jsString(rec.WorkflowID)+`)).textContent`)
	require.Contains(t, item, rec.Order.OrderID, "its order")
	require.Contains(t, item, c, "its client")
	require.Empty(t, b.axe(), "the page with a linked one-off event")
	b.noPageErrors()
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	q, _ := json.Marshal(s)
	return string(q)
}

// Which monitor raised an alert says what its subjects are: a kpi_sync_stale alert names clients,
// and a client's ID (letters, digits, '_', '-', '.') may read like a payment's workflow ID. Such
// an alert about one client carried the payment whose workflow ID is that client's ID (another
// client's payment), linked and named on the dashboard as the payment the alert was about.
func TestAlertAboutAClientCarriesNoPayment(t *testing.T) {
	a := newAPI(t, nil)
	other := a.newClient("alertother")
	rec := paidRecord(other, other+"-pi", time.Now().Add(-2*time.Hour), 10000, 0, payment.StatusPaid)
	require.NoError(t, a.store.SavePayment(t.Context(), rec))
	// A client whose ID is that payment's workflow ID.
	code, body := a.json(req{method: http.MethodPut, path: "/api/v1/admin/clients/" + rec.WorkflowID, key: adminKey,
		body: map[string]any{"name": "Lookalike Shop", "default_currency": "usd"}})
	require.Equal(t, http.StatusCreated, code, body)
	code, body = a.json(req{method: http.MethodPost, path: "/api/v1/admin/monitors", key: adminKey, body: map[string]any{
		"name": uniqueID("kpistale"), "kind": "kpi_sync_stale", "hours": 2}})
	require.Equal(t, http.StatusCreated, code, body)
	mid := int64(body["id"].(float64))
	_, err := monitor.NewStore(a.pool, ledger.New(a.pool)).Apply(t.Context(), mid, monitor.Result{Status: monitor.StatusFiring,
		Summary: "KPIs of 1 client(s) not synced", Value: 1, Subjects: []string{rec.WorkflowID}}, time.Now())
	require.NoError(t, err)

	code, body = a.json(req{method: http.MethodGet, path: fmt.Sprintf("/api/v1/admin/alerts?monitor_id=%d", mid), key: adminKey})
	require.Equal(t, http.StatusOK, code, body)
	require.Len(t, body["alerts"], 1, body)
	alert := body["alerts"].([]any)[0].(map[string]any)
	require.Contains(t, alert, "payment")
	require.Nil(t, alert["payment"], "the alert is about a client, not the payment of the same name")
}
