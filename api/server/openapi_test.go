package server_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/require"

	"paysplit/api/server"
)

// echoParam matches Echo's path parameters (:name) and its wildcard (*).
var echoParam = regexp.MustCompile(`:([A-Za-z0-9_]+)`)

// openAPIPath writes an Echo route path the way OpenAPI does: /x/:id → /x/{id}, /static/* →
// /static/{path}.
func openAPIPath(p string) string {
	p = echoParam.ReplaceAllString(p, "{$1}")
	if strings.HasSuffix(p, "/*") {
		p = strings.TrimSuffix(p, "*") + "{path}"
	}
	return p
}

// TestOpenAPIMatchesRoutes keeps openapi.yaml true: every route registered on the server is
// documented with the same method and path, and every documented operation is registered.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	a := newAPI(t, nil)
	doc, err := openapi3.NewLoader().LoadFromData(server.OpenAPIJSON)
	require.NoError(t, err)
	require.NoError(t, doc.Validate(context.Background()), "openapi.yaml is a valid OpenAPI 3 document")

	registered := map[string]bool{}
	for _, r := range a.srv.Routes() {
		if r.Method == echo.RouteNotFound {
			continue // Echo's catch-alls so group middleware (authentication) also runs for unknown paths
		}
		registered[r.Method+" "+openAPIPath(r.Path)] = true
	}
	documented := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented[method+" "+path] = true
		}
	}
	var missing, extra []string
	for k := range registered {
		if !documented[k] {
			missing = append(missing, k)
		}
	}
	for k := range documented {
		if !registered[k] {
			extra = append(extra, k)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	require.Empty(t, missing, "routes missing from api/server/openapi.yaml")
	require.Empty(t, extra, "openapi.yaml documents routes the server does not register")
	require.Greater(t, len(registered), 30)

	// The document is served, as JSON, without credentials.
	res, body := a.send(req{method: http.MethodGet, path: "/api/v1/openapi.json"})
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Contains(t, res.Header.Get("Content-Type"), "application/json")
	served, err := openapi3.NewLoader().LoadFromData(body)
	require.NoError(t, err)
	require.Equal(t, doc.Info.Title, served.Info.Title)
	require.Equal(t, len(doc.Paths.Map()), len(served.Paths.Map()))
}

// TestOpenAPIDocumentsWhatMiddlewareAnswers: the statuses that middleware, not handlers, answers
// are documented wherever they can come: 413 (over BodyLimit) and 415 (requireJSON) on every
// route that takes a JSON body, 429 (the rate limiters) and 400 (a NUL character in a query or
// path parameter, a query parameter the operation does not take) on every route under /api/v1
// (the document itself is not rate limited). The live answers match the document too.
func TestOpenAPIDocumentsWhatMiddlewareAnswers(t *testing.T) {
	doc, err := openapi3.NewLoader().LoadFromData(server.OpenAPIJSON)
	require.NoError(t, err)
	var missing []string
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			var want []int
			if strings.HasPrefix(path, "/api/v1/") {
				want = append(want, http.StatusBadRequest) // a query parameter the operation does not take
				if path != "/api/v1/openapi.json" {
					want = append(want, http.StatusTooManyRequests)
				}
			}
			takesJSON := strings.HasPrefix(path, "/api/v1/") && (method == http.MethodPost || method == http.MethodPut)
			if takesJSON || path == "/webhooks/stripe" || path == "/webhooks/paypal" {
				want = append(want, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType)
			}
			for _, status := range want {
				if op.Responses.Status(status) == nil {
					missing = append(missing, fmt.Sprintf("%s %s: %d", method, path, status))
				}
			}
		}
	}
	sort.Strings(missing)
	require.Empty(t, missing, "statuses missing from api/server/openapi.yaml")

	a := newAPI(t, func(d *server.Deps) { d.RateLimit, d.RateBurst = 0.0001, 1 })
	cookies, csrf := a.login(adminKey)
	big := append(append([]byte(`{"name":"`), bytes.Repeat([]byte("x"), 1<<20)...), `"}`...)
	tests := []struct {
		name        string
		method      string
		path        string
		contentType string
		body        []byte
		header      map[string]string
		cookies     []*http.Cookie
		status      int
	}{
		{"stripe webhook as text", http.MethodPost, "/webhooks/stripe", "text/plain", []byte("x"), nil, nil, http.StatusUnsupportedMediaType},
		{"paypal webhook as a form", http.MethodPost, "/webhooks/paypal", "application/x-www-form-urlencoded", []byte("a=b"), nil, nil, http.StatusUnsupportedMediaType},
		{"stripe webhook over 1 MiB", http.MethodPost, "/webhooks/stripe", "application/json", big, nil, nil, http.StatusRequestEntityTooLarge},
		{"admin PUT as text", http.MethodPut, "/api/v1/admin/clients/mw", "text/plain", []byte("x"), map[string]string{"Authorization": "Bearer " + adminKey}, nil, http.StatusUnsupportedMediaType},
		{"admin PUT over 1 MiB", http.MethodPut, "/api/v1/admin/clients/mw", "application/json", big, map[string]string{"Authorization": "Bearer " + adminKey}, nil, http.StatusRequestEntityTooLarge},
		{"admin GET over the key's budget", http.MethodGet, "/api/v1/admin/clients", "", nil, map[string]string{"Authorization": "Bearer " + adminKey}, nil, http.StatusTooManyRequests},
		{"logout over the session's budget", http.MethodDelete, "/api/v1/session", "", nil, map[string]string{"X-CSRF-Token": csrf}, cookies, http.StatusTooManyRequests},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hr, err := http.NewRequest(tt.method, a.url+tt.path, bytes.NewReader(tt.body))
			require.NoError(t, err)
			if tt.contentType != "" {
				hr.Header.Set("Content-Type", tt.contentType)
			}
			for k, v := range tt.header {
				hr.Header.Set(k, v)
			}
			for _, c := range tt.cookies {
				hr.AddCookie(c)
			}
			res, err := http.DefaultClient.Do(hr)
			require.NoError(t, err)
			defer res.Body.Close()
			raw, err := io.ReadAll(res.Body)
			require.NoError(t, err)
			require.Equal(t, tt.status, res.StatusCode, string(raw))
			checkAgainstSpec(t, hr, res, raw)
		})
	}
}
