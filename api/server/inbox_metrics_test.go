package server_test

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"paysplit/api/server"
	"paysplit/internal/ledger"
	"paysplit/internal/store"
	"paysplit/testenv"
)

// The inbox backlog gauges are what an operator alerts on ("events are not reaching Temporal").
// When the backlog cannot be read (Postgres down), /metrics must not report an empty inbox.
func TestInboxGaugesDoNotReportEmptyWhenPostgresIsDown(t *testing.T) {
	_, dbURL := testenv.Postgres(t)
	u, err := url.Parse(dbURL)
	require.NoError(t, err)
	proxy := testenv.NewTCPProxy(t, u.Host)
	u.Host = proxy.Addr
	pool, err := pgxpool.New(t.Context(), u.String())
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	st := store.New(pool)
	// Events waiting for a relay of another task queue: this API's relay never takes them.
	queue := fmt.Sprintf("metrics-%d", time.Now().UnixNano())
	for i := range 3 {
		_, _, err := st.AcceptEvent(t.Context(), store.InboxEvent{Provider: "stripe", EventID: fmt.Sprintf("%s-%d", queue, i),
			PaymentID: "pi_metrics", TaskQueue: queue, Event: []byte(`{}`)}, 0)
		require.NoError(t, err)
	}
	nowhere, err := client.NewLazyClient(client.Options{HostPort: "127.0.0.1:1"})
	require.NoError(t, err)
	defer nowhere.Close()
	srv := server.New(server.Deps{Pool: pool, Store: st, Ledger: ledger.New(pool), Temporal: nowhere, TaskQueue: "q",
		AdminAPIKey: adminKey, StripeWebhookSecret: webhookSecret, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	defer srv.Close()
	ts := httptest.NewServer(srv)
	defer ts.Close()
	pending := func() string {
		res, err := http.Get(ts.URL + "/metrics")
		require.NoError(t, err)
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(line, "paysplit_webhook_inbox_pending ") {
				return line
			}
		}
		return "(absent)"
	}
	before := pending()
	t.Logf("postgres up:   %s", before)
	require.NotEqual(t, "paysplit_webhook_inbox_pending 0", before)
	proxy.Cut()
	down := pending()
	t.Logf("postgres down: %s", down)
	require.NotEqual(t, "paysplit_webhook_inbox_pending 0", down, "an unreadable backlog is reported as an empty inbox")
	require.Equal(t, before, down, "the last backlog read stands while Postgres is down")
}
