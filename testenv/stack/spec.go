package stack

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/stretchr/testify/require"

	"paysplit/api/server"
)

var spec struct {
	once   sync.Once
	router routers.Router
	err    error
}

// specRouter loads and validates the served OpenAPI document once.
func specRouter(t testing.TB) routers.Router {
	t.Helper()
	spec.once.Do(func() {
		openapi3filter.RegisterBodyDecoder("text/html", openapi3filter.FileBodyDecoder)
		loader := openapi3.NewLoader()
		doc, err := loader.LoadFromData(server.OpenAPIJSON)
		if err != nil {
			spec.err = fmt.Errorf("load: %w", err)
			return
		}
		if err := doc.Validate(context.Background()); err != nil {
			spec.err = fmt.Errorf("validate: %w", err)
			return
		}
		spec.router, spec.err = gorillamux.NewRouter(doc)
	})
	require.NoError(t, spec.err, "openapi.yaml")
	return spec.router
}

// CheckAgainstSpec fails the test when a response's status is not documented for its operation in
// api/server/openapi.yaml or its body does not match the documented schema. body is the response
// body, already read.
func CheckAgainstSpec(t testing.TB, hr *http.Request, res *http.Response, body []byte) {
	t.Helper()
	route, params, err := specRouter(t).FindRoute(hr)
	if err != nil {
		return // an undocumented path on purpose; TestOpenAPIMatchesRoutes covers the real ones
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request: hr, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
		},
		Status: res.StatusCode, Header: res.Header, Body: io.NopCloser(bytes.NewReader(body)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true},
	}
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		t.Errorf("%s %s → %d does not match openapi.yaml: %v\nbody: %.500s", hr.Method, hr.URL.Path, res.StatusCode, err, body)
	}
}
