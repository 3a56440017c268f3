package server_test

import (
	"context"
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
