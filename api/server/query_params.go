package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"
)

// The API refuses a query parameter its operation does not take: a misspelled filter
// (?client=acme for ?client_id=) was ignored, so an admin got every client's payments and acted
// on them as acme's. What each operation takes is what openapi.yaml lists for it, the one place;
// TestEachOperationListsExactlyTheQueryParametersItsHandlerReads keeps each list equal to what
// the operation's handler reads. Only the API (/api/v1) is checked: providers may append their
// own parameters to a webhook's URL, and probes, scrapers and a browser's cache busting theirs to
// the other paths.

// queryParams maps "METHOD /echo/route/:path" to the query parameters the operation takes, in
// the document's order.
var queryParams = operationQueryParams(OpenAPIJSON)

var openAPIPathParam = regexp.MustCompile(`\{([^}]+)\}`)

// operationQueryParams reads each operation's query parameters (the path item's and its own,
// $refs to components/parameters resolved) from the OpenAPI document.
func operationQueryParams(doc []byte) map[string][]string {
	type param struct {
		Ref  string `json:"$ref"`
		Name string `json:"name"`
		In   string `json:"in"`
	}
	var d struct {
		Paths      map[string]map[string]json.RawMessage `json:"paths"`
		Components struct {
			Parameters map[string]param `json:"parameters"`
		} `json:"components"`
	}
	if err := json.Unmarshal(doc, &d); err != nil {
		panic(fmt.Sprintf("openapi.yaml: %v", err))
	}
	resolve := func(raw json.RawMessage) []param {
		var ps []param
		if err := json.Unmarshal(raw, &ps); err != nil {
			panic(fmt.Sprintf("openapi.yaml parameters: %v", err))
		}
		for i, p := range ps {
			if name, ok := strings.CutPrefix(p.Ref, "#/components/parameters/"); ok {
				ref, found := d.Components.Parameters[name]
				if !found {
					panic("openapi.yaml: no parameter " + p.Ref)
				}
				ps[i] = ref
			}
		}
		return ps
	}
	out := map[string][]string{}
	for path, item := range d.Paths {
		var common []param
		if raw, ok := item["parameters"]; ok {
			common = resolve(raw)
		}
		route := openAPIPathParam.ReplaceAllString(path, ":$1")
		for method, raw := range item {
			if method == "parameters" || method == "summary" || method == "description" || method == "servers" {
				continue
			}
			var op struct {
				Parameters json.RawMessage `json:"parameters"`
			}
			if err := json.Unmarshal(raw, &op); err != nil {
				panic(fmt.Sprintf("openapi.yaml %s %s: %v", method, path, err))
			}
			ps := common
			if op.Parameters != nil {
				ps = append(slices.Clone(common), resolve(op.Parameters)...)
			}
			names := []string{}
			for _, p := range ps {
				if p.In == "query" && !slices.Contains(names, p.Name) {
					names = append(names, p.Name)
				}
			}
			out[strings.ToUpper(method)+" "+route] = names
		}
	}
	return out
}

// refuseUnknownQuery answers 400 unknown_parameter for a query parameter the route's operation
// does not list. A route the document does not describe (the 404 catch-alls) is left to answer
// as it does; TestOpenAPIMatchesRoutes keeps every real one described.
func refuseUnknownQuery(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		method := c.Request().Method
		if method == http.MethodHead {
			method = http.MethodGet // HEAD is answered as the GET (routeHeadAsGet)
		}
		taken, described := queryParams[method+" "+c.Path()]
		if !described {
			return next(c)
		}
		// Go drops the pairs of a query it cannot read (a ; separator, a bad % escape) without a
		// word: ?client_id=acme;status=held was no filter at all, as a misspelled one was.
		query, err := url.ParseQuery(c.Request().URL.RawQuery)
		if err != nil {
			return errorf(http.StatusBadRequest, "invalid_query", "the query string cannot be read ("+err.Error()+
				"): separate parameters with & and percent-encode their values")
		}
		var unknown, repeated []string
		for name, values := range query {
			if !slices.Contains(taken, name) {
				unknown = append(unknown, name)
			} else if len(values) > 1 {
				repeated = append(repeated, name)
			}
		}
		if len(unknown) > 0 {
			return errorf(http.StatusBadRequest, "unknown_parameter", unknownQueryMessage(unknown, taken))
		}
		// No parameter is a list: the handlers read a name's first value, so
		// ?status=held&status=paid was held alone, the second dropped without a word.
		if len(repeated) > 0 {
			slices.Sort(repeated)
			return errorf(http.StatusBadRequest, "invalid_query", fmt.Sprintf("query parameter %q is given more than once; give it once", repeated[0]))
		}
		return next(c)
	}
}

func unknownQueryMessage(unknown, taken []string) string {
	slices.Sort(unknown)
	quoted := make([]string, len(unknown))
	for i, u := range unknown {
		quoted[i] = fmt.Sprintf("%q", u)
	}
	switch {
	case len(taken) == 0 && len(unknown) == 1:
		return "query parameter " + quoted[0] + " is not taken: this operation has no query parameters"
	case len(taken) == 0:
		return "query parameters " + strings.Join(quoted, ", ") + " are not taken: this operation has no query parameters"
	case len(unknown) == 1:
		return "query parameter " + quoted[0] + " is not one of: " + strings.Join(taken, ", ")
	}
	return "query parameters " + strings.Join(quoted, ", ") + " are not any of: " + strings.Join(taken, ", ")
}
