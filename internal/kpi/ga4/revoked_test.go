package ga4_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"paysplit/internal/kpi"
	"paysplit/internal/kpi/ga4"
	"paysplit/internal/kpi/kpitest"
)

// TestRevokedKeyIsPermanent: a service-account key that was deleted or disabled in Google
// Cloud is refused by Google's token endpoint (400 invalid_grant). Retrying cannot fix that, as
// with a 401/403 from runReport, so the error must be marked permanent (the sync does not
// retry it and records the source as refused).
func TestRevokedKeyIsPermanent(t *testing.T) {
	g := kpitest.NewGA4(t)
	tokens := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"error":"invalid_grant","error_description":"Invalid JWT Signature."}`))
	}))
	t.Cleanup(tokens.Close)
	var key map[string]any
	require.NoError(t, json.Unmarshal(g.ServiceAccountJSON(t), &key))
	key["token_uri"] = tokens.URL + "/token"
	raw, err := json.Marshal(key)
	require.NoError(t, err)

	src, err := ga4.New(t.Context(), "123", "env:GA4_K", ga4.Options{Endpoint: g.URL, Getenv: func(string) string { return string(raw) }})
	require.NoError(t, err)
	_, err = src.TrafficDays(t.Context(), day("2026-03-01"), day("2026-03-02"))
	require.Error(t, err)
	require.Truef(t, kpi.IsPermanent(err), "revoked key classified as transient (retried every run): %v", err)
}
