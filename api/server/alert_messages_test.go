package server_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"paysplit/api/server"
	"paysplit/internal/ledger"
	"paysplit/internal/monitor"
	"paysplit/internal/store"
	"paysplit/testenv"
)

// TestUndeliveredAlertMessagesAreListedAndCounted: an alert message no channel took (given up
// after the webhook refused it for good, or queued past its 48 hours of tries) was visible only
// by SQL, and nothing told an alerting system that alerts were reaching nobody. The admin API
// lists messages by delivery state, with each channel's refusal, and /metrics counts them.
func TestUndeliveredAlertMessagesAreListedAndCounted(t *testing.T) {
	own := testenv.OwnDatabase(t) // the gauges count every message in the database
	a := newAPI(t, func(d *server.Deps) {
		d.Pool, d.Store, d.Ledger = own, store.New(own), ledger.New(own)
	})
	ms := monitor.NewStore(own, ledger.New(own))
	ctx := t.Context()
	now := time.Now()
	var ids []int64
	for i := range 4 {
		code, created := a.json(req{method: http.MethodPost, path: "/api/v1/admin/monitors", key: adminKey, body: map[string]any{
			"name": uniqueID(fmt.Sprintf("undelivered-%d", i)), "kind": "held_leg_age", "days": 1}})
		require.Equal(t, http.StatusCreated, code, created)
		_, err := ms.Apply(ctx, int64(created["id"].(float64)), monitor.Result{Status: monitor.StatusFiring, Summary: fmt.Sprintf("alert %d", i)}, now)
		require.NoError(t, err)
	}
	pending, err := ms.Pending(ctx, 10, time.Time{}, 0)
	require.NoError(t, err)
	require.Len(t, pending, 4)
	for _, n := range pending {
		ids = append(ids, n.ID)
	}
	delivered, givenUp, tried, expired := ids[0], ids[1], ids[2], ids[3]
	require.NoError(t, ms.MarkSent(ctx, delivered, monitor.ChannelWebhook, now))
	require.NoError(t, ms.Finish(ctx, delivered, true, "", now))
	require.NoError(t, ms.Refuse(ctx, givenUp, monitor.ChannelWebhook, "webhook: 410 Gone", now))
	require.NoError(t, ms.Finish(ctx, givenUp, true, "webhook: 410 Gone", now))
	require.NoError(t, ms.Finish(ctx, tried, false, "email: 451 try again later", now))
	_, err = own.Exec(ctx, `UPDATE alert_notifications SET created_at = $2 WHERE id = $1`, expired, now.Add(-49*time.Hour))
	require.NoError(t, err)

	list := func(query string) ([]map[string]any, any) {
		t.Helper()
		code, body := a.json(req{method: http.MethodGet, path: "/api/v1/admin/alert-messages" + query, key: adminKey})
		require.Equal(t, http.StatusOK, code, body)
		var out []map[string]any
		for _, m := range body["messages"].([]any) {
			out = append(out, m.(map[string]any))
		}
		return out, body["next_cursor"]
	}
	idsOf := func(msgs []map[string]any) (out []int64) {
		for _, m := range msgs {
			out = append(out, int64(m["id"].(float64)))
		}
		return out
	}
	undelivered, _ := list("")
	assert.Equal(t, []int64{expired, tried, givenUp}, idsOf(undelivered), "by default what did not reach every channel, newest first")
	for _, tt := range []struct {
		state string
		want  int64
	}{{"given_up", givenUp}, {"pending", tried}, {"expired", expired}, {"delivered", delivered}} {
		got, _ := list("?state=" + tt.state)
		require.Equal(t, []int64{tt.want}, idsOf(got), tt.state)
		assert.Equal(t, tt.state, got[0]["state"])
	}
	gave, _ := list("?state=given_up")
	assert.Equal(t, "webhook: 410 Gone", gave[0]["webhook_refusal"])
	assert.NotNil(t, gave[0]["webhook_refused_at"])
	assert.NotNil(t, gave[0]["given_up_at"])
	assert.Nil(t, gave[0]["email_refusal"])
	assert.Nil(t, gave[0]["delivered_at"])
	wait, _ := list("?state=pending")
	assert.Equal(t, "email: 451 try again later", wait[0]["last_error"])

	// A page at a time.
	var paged []int64
	for cursor := ""; ; {
		page, next := list("?limit=1" + cursor)
		paged = append(paged, idsOf(page)...)
		if next == nil {
			break
		}
		cursor = "&cursor=" + next.(string)
	}
	assert.Equal(t, []int64{expired, tried, givenUp}, paged)

	for _, bad := range []string{"?state=lost", "?state=firing", "?limit=0", "?monitor_id=x", "?cursor=nope", "?from=yesterday"} {
		code, body := a.json(req{method: http.MethodGet, path: "/api/v1/admin/alert-messages" + bad, key: adminKey})
		assert.Equal(t, http.StatusBadRequest, code, "%s: %v", bad, body)
		assert.NotEmpty(t, body["error"].(map[string]any)["message"], bad)
	}
	_, body := a.json(req{method: http.MethodGet, path: "/api/v1/admin/alert-messages?state=lost", key: adminKey})
	assert.Equal(t, "state must be one of: undelivered, pending, expired, given_up, delivered", body["error"].(map[string]any)["message"])

	metrics := scrape(t, a.url)
	for _, line := range []string{
		`paysplit_alert_messages_undelivered{state="pending"} 1`,
		`paysplit_alert_messages_undelivered{state="expired"} 1`,
		`paysplit_alert_messages_undelivered{state="given_up"} 1`,
	} {
		assert.Contains(t, metrics, line+"\n")
	}
	assert.Contains(t, metrics, "paysplit_alert_messages_oldest_pending_seconds ")
	assert.NotContains(t, metrics, "paysplit_alert_messages_oldest_pending_seconds 0\n", "one message is pending")
}

// scrape reads the server's /metrics.
func scrape(t *testing.T, base string) string {
	t.Helper()
	res, err := http.Get(base + "/metrics")
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode)
	return strings.ReplaceAll(string(b), "\r", "")
}
