package server_test

import (
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"paysplit/api/server"
	"paysplit/testenv"
)

// TestAccessLogHasRefusedRequests: a request the body limit refuses (413) is in the access log
// like any other; the log used to sit inside the limit and never saw it.
func TestAccessLogHasRefusedRequests(t *testing.T) {
	var logs testenv.LogBuffer
	a := newAPI(t, func(d *server.Deps) { d.Logger = slog.New(slog.NewTextHandler(&logs, nil)) })
	body := strings.NewReader(`{"x":"` + strings.Repeat("a", 2<<20) + `"}`)
	req, err := http.NewRequest(http.MethodPost, a.url+"/webhooks/stripe", body)
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusRequestEntityTooLarge, res.StatusCode)
	require.Contains(t, logs.String(), "status=413", "the refused request is logged")
}
