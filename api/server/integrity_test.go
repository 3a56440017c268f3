package server_test

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"paysplit/internal/ledger"
	"paysplit/internal/monitor"
)

func TestIntegrityEndpointsValidate(t *testing.T) {
	a := newAPI(t, nil)
	var system int64
	code, body := a.json(req{method: http.MethodGet, path: "/api/v1/admin/monitors", key: adminKey})
	require.Equal(t, http.StatusOK, code, body)
	for _, m := range body["monitors"].([]any) {
		if mm := m.(map[string]any); mm["system"] == true {
			system = int64(mm["id"].(float64))
		}
	}
	require.NotZero(t, system, "the ledger chain monitor is listed")

	tests := []struct {
		name, method, path string
		body               any
		key                string
		status             int
		code               string
	}{
		{"verify needs a key", http.MethodGet, "/api/v1/admin/ledger/verify", nil, "", 401, "unauthorized"},
		{"bad as_of", http.MethodGet, "/api/v1/admin/ledger/balances/platform:revenue?as_of=yesterday", nil, adminKey, 400, "invalid_request"},
		{"blank account", http.MethodGet, "/api/v1/admin/ledger/balances/%20", nil, adminKey, 400, "invalid_request"},
		{"unknown kind", http.MethodPost, "/api/v1/admin/monitors", map[string]any{"name": "x", "kind": "vibes"}, adminKey, 400, "invalid_request"},
		{"system kind", http.MethodPost, "/api/v1/admin/monitors", map[string]any{"name": "x", "kind": "ledger_chain"}, adminKey, 400, "invalid_request"},
		{"no name", http.MethodPost, "/api/v1/admin/monitors", map[string]any{"kind": "held_leg_age", "days": 3}, adminKey, 400, "invalid_request"},
		{"balance without account", http.MethodPost, "/api/v1/admin/monitors",
			map[string]any{"name": "x", "kind": "balance_above", "currency": "usd", "threshold": 1}, adminKey, 400, "invalid_request"},
		{"unknown currency", http.MethodPost, "/api/v1/admin/monitors",
			map[string]any{"name": "x", "kind": "balance_above", "account": "a", "currency": "xyz"}, adminKey, 400, "invalid_request"},
		{"negative threshold", http.MethodPost, "/api/v1/admin/monitors",
			map[string]any{"name": "x", "kind": "balance_above", "account": "a", "currency": "usd", "threshold": -5}, adminKey, 400, "invalid_request"},
		{"inbox age without minutes", http.MethodPost, "/api/v1/admin/monitors",
			map[string]any{"name": "x", "kind": "webhook_inbox_age"}, adminKey, 400, "invalid_request"},
		{"payout_failed age in days", http.MethodPost, "/api/v1/admin/monitors",
			map[string]any{"name": "x", "kind": "payout_failed_age", "days": 2}, adminKey, 400, "invalid_request"},
		{"minutes on a held-leg monitor", http.MethodPost, "/api/v1/admin/monitors",
			map[string]any{"name": "x", "kind": "held_leg_age", "days": 1, "minutes": 5}, adminKey, 400, "invalid_request"},
		{"bad period", http.MethodPost, "/api/v1/admin/monitors",
			map[string]any{"name": "x", "kind": "held_leg_age", "period_hours": -1}, adminKey, 400, "invalid_request"},
		{"unknown field", http.MethodPost, "/api/v1/admin/monitors",
			map[string]any{"name": "x", "kind": "held_leg_age", "colour": "red"}, adminKey, 400, "invalid_json"},
		{"bad monitor id", http.MethodGet, "/api/v1/admin/monitors/abc", nil, adminKey, 400, "invalid_request"},
		{"unknown monitor", http.MethodGet, "/api/v1/admin/monitors/999999999", nil, adminKey, 404, "not_found"},
		{"delete unknown monitor", http.MethodDelete, "/api/v1/admin/monitors/999999999", nil, adminKey, 404, "not_found"},
		{"delete the system monitor", http.MethodDelete, fmt.Sprintf("/api/v1/admin/monitors/%d", system), nil, adminKey, 409, "system_monitor"},
		{"bad alert state", http.MethodGet, "/api/v1/admin/alerts?state=angry", nil, adminKey, 400, "invalid_request"},
		{"bad alert monitor", http.MethodGet, "/api/v1/admin/alerts?monitor_id=-1", nil, adminKey, 400, "invalid_request"},
		{"bad alert limit", http.MethodGet, "/api/v1/admin/alerts?limit=100000", nil, adminKey, 400, "invalid_request"},
	}
	// A valid inbox monitor is created with its minutes and listed with them.
	code, body = a.json(req{method: http.MethodPost, path: "/api/v1/admin/monitors", key: adminKey,
		body: map[string]any{"name": uniqueID("inbox"), "kind": "webhook_inbox_age", "minutes": 15}})
	require.Equal(t, http.StatusCreated, code, body)
	assert.Equal(t, "webhook_inbox_age", body["kind"])
	assert.Equal(t, 15.0, body["params"].(map[string]any)["minutes"])
	code, body = a.json(req{method: http.MethodPost, path: "/api/v1/admin/monitors", key: adminKey,
		body: map[string]any{"name": uniqueID("owed"), "kind": "payout_failed_age", "hours": 48, "client_id": a.newClient("acme")}})
	require.Equal(t, http.StatusCreated, code, body)
	assert.Equal(t, 48.0, body["params"].(map[string]any)["hours"])

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := a.json(req{method: tt.method, path: tt.path, body: tt.body, key: tt.key})
			require.Equal(t, tt.status, code, body)
			e, ok := body["error"].(map[string]any)
			require.True(t, ok, "error shape: %v", body)
			assert.Equal(t, tt.code, e["code"])
			assert.NotEmpty(t, e["message"])
		})
	}
}

func TestVerifyAndPointInTimeBalances(t *testing.T) {
	a := newAPI(t, nil)
	ctx := t.Context()
	l := ledger.New(a.pool)
	vendor := uniqueID("chainv")
	acct := ledger.VendorPayable(vendor)
	sale := func(gross int64) ledger.Entry {
		e, _, err := l.Post(ctx, ledger.Entry{IdempotencyKey: uniqueID("sale"), Currency: "usd", Postings: []ledger.Posting{
			{Account: ledger.ProviderBalance("stripe"), Amount: gross}, {Account: acct, Amount: -gross}}})
		require.NoError(t, err)
		return e
	}
	first, second := sale(900), sale(2_100)

	code, body := a.json(req{method: http.MethodGet, path: "/api/v1/admin/ledger/verify", key: adminKey})
	require.Equal(t, http.StatusOK, code, body)
	assert.Equal(t, true, body["ok"], "chain intact: %v", body["break"])
	assert.Nil(t, body["break"])
	assert.GreaterOrEqual(t, body["entries_checked"].(float64), 2.0)
	require.NotNil(t, body["head"])

	tests := []struct {
		name string
		path string
		want []any
	}{
		{name: "before the first", path: "/api/v1/admin/ledger/balances/" + acct + "?as_of=" + url.QueryEscape(first.CreatedAt.Add(-time.Second).Format(time.RFC3339Nano)),
			want: []any{}},
		{name: "at the first", path: "/api/v1/admin/ledger/balances/" + acct + "?as_of=" + url.QueryEscape(first.CreatedAt.Format(time.RFC3339Nano)),
			want: []any{map[string]any{"currency": "usd", "balance": -900.0}}},
		{name: "now", path: "/api/v1/admin/ledger/balances/" + acct,
			want: []any{map[string]any{"currency": "usd", "balance": -3_000.0}}},
		{name: "escaped account name", path: "/api/v1/admin/ledger/balances/vendor_payable%3A" + vendor + "?as_of=" + url.QueryEscape(second.CreatedAt.Format(time.RFC3339Nano)),
			want: []any{map[string]any{"currency": "usd", "balance": -3_000.0}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := a.json(req{method: http.MethodGet, path: tt.path, key: adminKey})
			require.Equal(t, http.StatusOK, code, body)
			assert.Equal(t, acct, body["account"])
			assert.Equal(t, tt.want, body["balances"])
		})
	}
}

func TestMonitorsAndAlertsThroughTheAPI(t *testing.T) {
	a := newAPI(t, nil)
	name := uniqueID("owed")
	vendor := uniqueID("v")
	code, created := a.json(req{method: http.MethodPost, path: "/api/v1/admin/monitors", key: adminKey, body: map[string]any{
		"name": name, "kind": "balance_above", "account": ledger.VendorPayable(vendor), "currency": "USD", "threshold": 5000, "days": 3,
	}})
	require.Equal(t, http.StatusCreated, code, created)
	id := int64(created["id"].(float64))
	params := created["params"].(map[string]any)
	assert.Equal(t, "credit", params["side"], "a payable is watched on its credit side")
	assert.Equal(t, "usd", params["currency"])
	assert.EqualValues(t, 86400, created["period_seconds"])
	assert.Equal(t, false, created["system"])

	code, body := a.json(req{method: http.MethodPost, path: "/api/v1/admin/monitors", key: adminKey, body: map[string]any{
		"name": name, "kind": "held_leg_age", "days": 1}})
	require.Equal(t, http.StatusBadRequest, code, "names are unique: %v", body)

	path := fmt.Sprintf("/api/v1/admin/monitors/%d", id)
	code, got := a.json(req{method: http.MethodGet, path: path, key: adminKey})
	require.Equal(t, http.StatusOK, code, got)
	assert.Equal(t, name, got["name"])

	// The schedule's evaluation, done here directly: the monitor fires.
	store := monitor.NewStore(a.pool, ledger.New(a.pool))
	_, err := store.Apply(t.Context(), id, monitor.Result{Status: monitor.StatusFiring, Summary: "owed too long",
		Subjects: []string{ledger.VendorPayable(vendor)}, Value: 6000}, time.Now())
	require.NoError(t, err)

	alertsOf := func(query string) []any {
		code, body := a.json(req{method: http.MethodGet, path: fmt.Sprintf("/api/v1/admin/alerts?monitor_id=%d%s", id, query), key: adminKey})
		require.Equal(t, http.StatusOK, code, body)
		return body["alerts"].([]any)
	}
	firing := alertsOf("&state=firing")
	require.Len(t, firing, 1)
	alert := firing[0].(map[string]any)
	assert.Equal(t, name, alert["monitor_name"])
	assert.Equal(t, "owed too long", alert["summary"])
	assert.Equal(t, []any{ledger.VendorPayable(vendor)}, alert["subjects"])
	assert.Empty(t, alertsOf("&state=resolved"))

	res, _ := a.send(req{method: http.MethodDelete, path: path, key: adminKey})
	require.Equal(t, http.StatusNoContent, res.StatusCode)
	code, _ = a.json(req{method: http.MethodGet, path: path, key: adminKey})
	assert.Equal(t, http.StatusNotFound, code)
	resolved := alertsOf("")
	require.Len(t, resolved, 1)
	assert.Equal(t, "resolved", resolved[0].(map[string]any)["state"], "deleting resolves the monitor's alert")
	assert.NotNil(t, resolved[0].(map[string]any)["resolved_at"])

	code, audit := a.json(req{method: http.MethodGet, path: fmt.Sprintf("/api/v1/admin/audit?target=monitor:%d", id), key: adminKey})
	require.Equal(t, http.StatusOK, code, audit)
	var actions []any
	for _, e := range audit["entries"].([]any) {
		actions = append(actions, e.(map[string]any)["action"])
	}
	assert.Equal(t, []any{"monitor.delete", "monitor.create"}, actions, "both changes audited, newest first")

	code, list := a.json(req{method: http.MethodGet, path: "/api/v1/admin/monitors", key: adminKey})
	require.Equal(t, http.StatusOK, code)
	for _, m := range list["monitors"].([]any) {
		assert.NotEqual(t, float64(id), m.(map[string]any)["id"], "deleted monitors are not listed")
	}
}
