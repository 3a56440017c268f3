package server_test

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paysplit/internal/ledger"
	"paysplit/internal/monitor"
	"paysplit/internal/payment"
)

// pageIDs follows next_cursor from path to the last page and returns each page's items' IDs as
// id names them; it fails if the pages do not end.
func (a *apiEnv) pageIDs(path, key, items string, id func(map[string]any) string) []string {
	a.t.Helper()
	var out []string
	next := ""
	for page := 0; ; page++ {
		require.Less(a.t, page, 20, "the pages of %s do not end", path)
		p := path
		if next != "" {
			p += "&cursor=" + url.QueryEscape(next)
		}
		code, body := a.json(req{method: http.MethodGet, path: p, key: key})
		require.Equal(a.t, http.StatusOK, code, body)
		for _, it := range body[items].([]any) {
			out = append(out, id(it.(map[string]any)))
		}
		require.Contains(a.t, body, "next_cursor", p)
		n, _ := body["next_cursor"].(string)
		if n == "" {
			return out
		}
		next = n
	}
}

// TestStuckPayoutsPage: the admin's list of stuck payments is newest first and was cut at the
// limit with nothing saying more followed, so past 50 (the dashboard's page) the payments stuck
// longest were never shown. It pages like the other lists now.
func TestStuckPayoutsPage(t *testing.T) {
	a := newAPI(t, nil)
	c := a.newClient("stuckpage")
	ctx := t.Context()
	// Equal capture times to the microsecond: the workflow ID breaks the tie at page boundaries.
	at := time.Date(2026, 6, 10, 12, 0, 0, 123456000, time.UTC)
	var want []string
	for _, id := range []string{"e", "d", "c", "b", "a"} {
		status := payment.StatusHeld
		if id == "c" {
			status = payment.StatusPayoutFailed
		}
		require.NoError(t, a.store.SavePayment(ctx, paidRecord(c, c+"-"+id, at, 1000, 0, status)))
		want = append(want, "payment-stripe-"+c+"-"+id)
	}
	require.NoError(t, a.store.SavePayment(ctx, paidRecord(c, c+"-paid", at, 1000, 0, payment.StatusPaid)))
	wf := func(p map[string]any) string { return p["workflow_id"].(string) }
	for _, limit := range []string{"1", "2", "5", "100"} {
		got := a.pageIDs("/api/v1/admin/payouts?client_id="+c+"&limit="+limit, adminKey, "payments", wf)
		require.Equal(t, want, got, "limit %s", limit)
	}
}

// TestPagingCursorsRefused: a cursor that is not a whole one this list handed out (another
// list's, cut short, null, with data after it, naming no position) is a 400 invalid_cursor.
// They decoded into zero values before: a silent first page, or an empty page with no
// next_cursor, as if the list had ended.
func TestPagingCursorsRefused(t *testing.T) {
	a := newAPI(t, nil)
	c := a.newClient("badcursor")
	_, clientKey := a.newKey("client", c)
	ctx := t.Context()
	at := time.Date(2026, 6, 10, 12, 0, 0, 0, time.UTC)
	for _, id := range []string{"a", "b"} {
		require.NoError(t, a.store.SavePayment(ctx, paidRecord(c, c+"-"+id, at, 1000, 0, payment.StatusHeld)))
	}
	cur := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	tests := []struct {
		name, path, key string
	}{
		{"payments: a report's cursor", "/api/v1/admin/payments?cursor=" + cur(`{"w":"2026-W01"}`), adminKey},
		{"payments: null", "/api/v1/admin/payments?cursor=" + cur(`null`), adminKey},
		{"payments: data after the cursor", "/api/v1/admin/payments?cursor=" + cur(`{"t":"2026-06-10T12:00:00Z","w":"x"}{}`), adminKey},
		{"payments: a brace after the cursor", "/api/v1/admin/payments?cursor=" + cur(`{"t":"2026-06-10T12:00:00Z","w":"x"}}`), adminKey},
		{"payments: no workflow", "/api/v1/admin/payments?cursor=" + cur(`{"t":"2026-06-10T12:00:00Z"}`), adminKey},
		{"stuck payouts: a report's cursor", "/api/v1/admin/payouts?cursor=" + cur(`{"w":"2026-W01"}`), adminKey},
		{"audit: ID 0", "/api/v1/admin/audit?cursor=" + cur(`{"id":0}`), adminKey},
		{"audit: negative ID", "/api/v1/admin/audit?cursor=" + cur(`{"id":-1}`), adminKey},
		{"audit: empty object", "/api/v1/admin/audit?cursor=" + cur(`{}`), adminKey},
		{"admin reports: no week", "/api/v1/admin/reports?cursor=" + cur(`{"c":"x"}`), adminKey},
		{"admin reports: a client report's cursor", "/api/v1/admin/reports?cursor=" + cur(`{"w":"2026-W01"}`), adminKey},
		{"payouts: a report's cursor", "/api/v1/payouts?cursor=" + cur(`{"w":"2026-W01"}`), clientKey},
		{"payouts: a payment's cursor", "/api/v1/payouts?cursor=" + cur(`{"t":"2026-06-10T12:00:00Z","w":"x"}`), clientKey},
		{"payouts: null", "/api/v1/payouts?cursor=" + cur(`null`), clientKey},
		{"reports: empty object", "/api/v1/reports?cursor=" + cur(`{}`), clientKey},
		{"reports: an array", "/api/v1/reports?cursor=" + cur(`[]`), clientKey},
		{"alerts: an audit cursor", "/api/v1/admin/alerts?cursor=" + cur(`{"id":3}`), adminKey},
		{"alerts: no ID", "/api/v1/admin/alerts?cursor=" + cur(`{"fired_at":"2026-06-10T12:00:00Z"}`), adminKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := a.json(req{method: http.MethodGet, path: tt.path, key: tt.key})
			require.Equal(t, http.StatusBadRequest, code, body)
			require.Equal(t, "invalid_cursor", body["error"].(map[string]any)["code"], body)
		})
	}
	// The cursors handed out still work, with the space JSON allows around them.
	code, body := a.json(req{method: http.MethodGet, path: "/api/v1/admin/payouts?limit=1&client_id=" + c, key: adminKey})
	require.Equal(t, http.StatusOK, code, body)
	raw, err := base64.RawURLEncoding.DecodeString(body["next_cursor"].(string))
	require.NoError(t, err)
	code, body = a.json(req{method: http.MethodGet, path: "/api/v1/admin/payouts?limit=1&client_id=" + c + "&cursor=" + cur(" "+string(raw)+"\n"), key: adminKey})
	require.Equal(t, http.StatusOK, code, body)
	require.Len(t, body["payments"], 1)
	require.Nil(t, body["next_cursor"])
}

// TestAlertsOfMonitorPastInt4ID: monitor IDs are a bigserial; a monitor_id past 2^31-1 was
// bound as int4 and the list answered 500 instead of the monitor's alerts (here: none).
func TestAlertsOfMonitorPastInt4ID(t *testing.T) {
	a := newAPI(t, nil)
	for _, id := range []string{"2147483648", "9223372036854775807"} {
		code, body := a.json(req{method: http.MethodGet, path: "/api/v1/admin/alerts?monitor_id=" + id, key: adminKey})
		require.Equal(t, http.StatusOK, code, body)
		require.Empty(t, body["alerts"], id)
	}
}

// TestPayoutsPagesThroughEqualCaptureTimes: payments captured in the same microsecond, two payee
// legs each, paged at every size from 1: each leg once, in the listing's order (a regression
// test; the cursor's workflow ID and leg break the ties).
func TestPayoutsPagesThroughEqualCaptureTimes(t *testing.T) {
	a := newAPI(t, nil)
	c := a.newClient("tiepayouts")
	_, key := a.newKey("client", c)
	ctx := t.Context()
	at := time.Date(2026, 6, 10, 12, 0, 0, 654321000, time.UTC)
	var want []string
	for _, id := range []string{"c", "b", "a"} {
		require.NoError(t, a.store.SavePayment(ctx, paidRecord(c, c+"-"+id, at, 1000, 0, payment.StatusPaid)))
		wf := "payment-stripe-" + c + "-" + id
		want = append(want, wf+"/vendor", wf+"/affiliate")
	}
	leg := func(p map[string]any) string { return p["payment"].(string) + "/" + p["party"].(string) }
	for limit := 1; limit <= len(want)+1; limit++ {
		got := a.pageIDs("/api/v1/payouts?from=2026-06-10&to=2026-06-10&limit="+strconv.Itoa(limit), key, "payouts", leg)
		require.Equal(t, want, got, "limit %d", limit)
	}
}

// newMonitor creates a monitor for a test's alerts and returns its ID and a store to fire them.
func (a *apiEnv) newMonitor(prefix string) (int64, *monitor.Store) {
	a.t.Helper()
	code, body := a.json(req{method: http.MethodPost, path: "/api/v1/admin/monitors", key: adminKey, body: map[string]any{
		"name": uniqueID(prefix), "kind": "held_leg_age", "days": 1}})
	require.Equal(a.t, http.StatusCreated, code, body)
	return int64(body["id"].(float64)), monitor.NewStore(a.pool, ledger.New(a.pool))
}

// idsOnce is pageIDs as a set, each item listed once.
func (a *apiEnv) idsOnce(path, items string, id func(map[string]any) string) map[string]bool {
	a.t.Helper()
	got := map[string]bool{}
	for _, v := range a.pageIDs(path, adminKey, items, id) {
		require.False(a.t, got[v], "%s listed twice (%s)", v, path)
		got[v] = true
	}
	return got
}

// TestMonthsAlertsCanBeRead: the alerts list gave the newest 100 (500 at most) with nothing saying
// more existed, and no dates: a month's incidents could not be read once newer ones came. It
// takes when they fired (from, to) and pages with next_cursor, each alert once, newest first.
func TestMonthsAlertsCanBeRead(t *testing.T) {
	a := newAPI(t, nil)
	id, ms := a.newMonitor("month-alerts")
	november := map[string]bool{}
	// An incident a day from late October to mid December, each resolved within the hour; two
	// on November's first day fire in the same microsecond.
	for day := time.Date(2025, 10, 25, 9, 0, 0, 0, time.UTC); day.Before(time.Date(2025, 12, 15, 0, 0, 0, 0, time.UTC)); day = day.AddDate(0, 0, 1) {
		times := []time.Time{day}
		if day.Month() == time.November && day.Day() == 1 {
			times = append(times, day)
		}
		for _, at := range times {
			fired, err := ms.Apply(t.Context(), id, monitor.Result{Status: monitor.StatusFiring, Summary: "held"}, at)
			require.NoError(t, err)
			_, err = ms.Apply(t.Context(), id, monitor.Result{Status: monitor.StatusOK, Summary: "released"}, at.Add(time.Hour))
			require.NoError(t, err)
			if at.Month() == time.November {
				november[fmt.Sprint(fired.AlertID)] = true
			}
		}
	}
	require.Len(t, november, 31)
	for _, query := range []string{"from=2025-11-01&to=2025-11-30", "from=2025-11-01T00:00:00Z&to=2025-12-01T00:00:00Z"} {
		var firedAt []string
		got := a.idsOnce(fmt.Sprintf("/api/v1/admin/alerts?monitor_id=%d&limit=4&%s", id, query), "alerts", func(m map[string]any) string {
			firedAt = append(firedAt, m["fired_at"].(string))
			return fmt.Sprint(m["id"])
		})
		require.Equal(t, november, got, query)
		require.True(t, sort.IsSorted(sort.Reverse(sort.StringSlice(firedAt))), "newest first: %v", firedAt)
	}
}

// Alerts that fired in the same microsecond, a page boundary between them: each is listed once,
// one page at a time (the cursor is the fired time and the ID, as the list's order).
// TestMonthsAlertsCanBeRead has two such alerts, but its pages of four never split them.
func TestAlertsFiredAtOnceAcrossPages(t *testing.T) {
	a := newAPI(t, nil)
	id, ms := a.newMonitor("same-instant")
	at := time.Date(2025, 6, 1, 9, 0, 0, 123456000, time.UTC)
	want := map[string]bool{}
	for range 5 {
		fired, err := ms.Apply(t.Context(), id, monitor.Result{Status: monitor.StatusFiring, Summary: "held"}, at)
		require.NoError(t, err)
		_, err = ms.Apply(t.Context(), id, monitor.Result{Status: monitor.StatusOK, Summary: "released"}, at)
		require.NoError(t, err)
		want[fmt.Sprint(fired.AlertID)] = true
	}
	require.Len(t, want, 5)
	for _, limit := range []int{1, 2, 3} {
		got := a.idsOnce(fmt.Sprintf("/api/v1/admin/alerts?monitor_id=%d&limit=%d", id, limit), "alerts", func(m map[string]any) string {
			return fmt.Sprint(m["id"])
		})
		require.Equal(t, want, got, "limit %d", limit)
	}
}
