package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// rawJSON posts body as it is (not re-encoded from a Go value, which could not hold a name twice)
// and decodes the answer.
func (a *apiEnv) rawJSON(method, path, key, body string) (int, map[string]any) {
	a.t.Helper()
	hr, err := http.NewRequest(method, a.url+path, bytes.NewReader([]byte(body)))
	require.NoError(a.t, err)
	hr.Header.Set("Content-Type", "application/json")
	hr.Header.Set("Authorization", "Bearer "+key)
	res, err := http.DefaultClient.Do(hr)
	require.NoError(a.t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(a.t, err)
	checkAgainstSpec(a.t, hr, res, b)
	out := map[string]any{}
	require.NoError(a.t, json.Unmarshal(b, &out), string(b))
	return res.StatusCode, out
}

// TestAdminBodyWithANameTwiceOrInAnotherCaseIsRefused: Go's decoder matches field names
// regardless of case and lets the last of a repeated name win, so a split rule sent as
// {"platform_bps":100,"PLATFORM_BPS":200} was stored at 200 bps, answered 201 as if nothing were
// odd; an admin's tool that merged two bodies got whichever came last. The money a rule takes
// must be the one the body plainly says: a body naming a field twice, or in a case the API does
// not use, is 400 with the name, and nothing is stored.
func TestAdminBodyWithANameTwiceOrInAnotherCaseIsRefused(t *testing.T) {
	a := newAPI(t, nil)
	cl := a.newClient("dupkeys")
	rules := "/api/v1/admin/clients/" + cl + "/split-rules"
	for _, tc := range []struct{ name, path, method, body, mentions string }{
		{"name twice", rules, http.MethodPost, `{"platform_bps":100,"platform_bps":200}`, "platform_bps"},
		{"name in upper case after", rules, http.MethodPost, `{"platform_bps":100,"PLATFORM_BPS":200}`, "PLATFORM_BPS"},
		{"long s folding to s", rules, http.MethodPost, `{"platform_bp\u017f":100}`, "platform_bp"},
		{"name in another case alone", rules, http.MethodPost, `{"Platform_Bps":100}`, "Platform_Bps"},
		{"name twice after an array", "/api/v1/admin/clients/" + cl + "/report-settings", http.MethodPut,
			`{"recipients":["a@example.com","b@example.com"],"time_zone":"UTC","Time_Zone":"Asia/Tokyo"}`, "Time_Zone"},
		{"client name twice", "/api/v1/admin/clients/" + cl, http.MethodPut, `{"name":"A","default_currency":"usd","default_currency":"jpy"}`, "default_currency"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := a.rawJSON(tc.method, tc.path, adminKey, tc.body)
			require.Equal(t, http.StatusBadRequest, code, body)
			e := body["error"].(map[string]any)
			require.Equal(t, "invalid_json", e["code"])
			require.Contains(t, e["message"], tc.mentions)
		})
	}
	var n int
	require.NoError(t, a.pool.QueryRow(context.Background(), `SELECT count(*) FROM split_rules WHERE client_id = $1`, cl).Scan(&n))
	require.Zero(t, n, "a refused rule is not stored")
	c, err := a.store.GetClient(context.Background(), cl)
	require.NoError(t, err)
	require.Equal(t, "usd", string(c.DefaultCurrency))

	// Names the API uses, each once, still go through.
	code, body := a.rawJSON(http.MethodPost, rules, adminKey, `{"platform_bps":100,"affiliate_bps":50}`)
	require.Equal(t, http.StatusCreated, code, body)
	require.EqualValues(t, 100, body["platform_bps"])
}
