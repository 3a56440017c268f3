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
	if res.StatusCode < 300 {
		checkAcceptedRequest(t, hr, in.RequestValidationInput)
	}
}

// checkAcceptedRequest fails the test when the server took (2xx) a request the document does not
// describe: a query parameter it does not list, a value outside a listed enum or bounds, a body
// its schema refuses. The response checks see none of that: a handler that reads a parameter the
// document forgot, or takes a value the document's enum lacks, answers within its documented
// statuses all the same, and an API consumer reading the document never learns of it.
func checkAcceptedRequest(t testing.TB, hr *http.Request, in *openapi3filter.RequestValidationInput) {
	t.Helper()
	documented := map[string]bool{}
	for _, params := range []openapi3.Parameters{in.Route.PathItem.Parameters, in.Route.Operation.Parameters} {
		for _, p := range params {
			if p.Value != nil && p.Value.In == openapi3.ParameterInQuery {
				documented[p.Value.Name] = true
			}
		}
	}
	for name := range hr.URL.Query() {
		if !documented[name] {
			t.Errorf("%s %s took query parameter %q, which openapi.yaml does not list for it", hr.Method, hr.URL.Path, name)
		}
	}
	r := hr.Clone(context.Background())
	v := *in
	v.Request = r
	if hr.GetBody != nil {
		b, err := hr.GetBody()
		require.NoError(t, err)
		r.Body = b
	} else if hr.Body != nil && hr.Body != http.NoBody {
		// A body from a plain reader (sent chunked) was read by the client and cannot be read
		// again: its parameters are checked, its body is not.
		v.Options = &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, ExcludeRequestBody: true}
	}
	if err := openapi3filter.ValidateRequest(context.Background(), &v); err != nil {
		t.Errorf("%s %s was taken but does not match openapi.yaml's request: %v", hr.Method, hr.URL.String(), err)
	}
}
