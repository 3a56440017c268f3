package testenv

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// AwaitForwarded waits until the API's relay has handed a provider event (the webhook body
// whose top-level "id" it is) to Temporal. With WEBHOOK_ACK=inbox a webhook is acknowledged once
// stored; a test that reads the workflow right after an event waits here first. An event that is
// not in the inbox was acknowledged after Temporal took it: nothing to wait for.
func AwaitForwarded(t testing.TB, pool *pgxpool.Pool, provider string, body []byte) {
	t.Helper()
	var evt struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(body, &evt); err != nil || evt.ID == "" {
		t.Fatalf("testenv: webhook body has no event id: %v", err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		var forwarded bool
		err := pool.QueryRow(context.Background(), `SELECT forwarded_at IS NOT NULL FROM webhook_inbox WHERE provider = $1 AND event_id = $2`,
			provider, evt.ID).Scan(&forwarded)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			return // not in the inbox: the API acknowledged it once Temporal held it
		case err == nil && forwarded:
			return
		case err != nil:
			t.Fatalf("testenv: inbox event %s/%s: %v", provider, evt.ID, err)
		case time.Now().After(deadline):
			t.Fatalf("testenv: inbox event %s/%s was not forwarded within 30s", provider, evt.ID)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
