package server

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"
	"go.yaml.in/yaml/v3"
)

// openAPIYAML is the hand-written OpenAPI 3 document of the whole API. TestOpenAPIMatchesRoutes
// keeps it true: every route the server registers is in it, with the same method and path, and
// nothing else is; the client API tests validate their responses against it.
//
//go:embed openapi.yaml
var openAPIYAML []byte

// OpenAPIJSON is the document as JSON, converted once at start.
var OpenAPIJSON = func() []byte {
	var doc any
	if err := yaml.Unmarshal(openAPIYAML, &doc); err != nil {
		panic(fmt.Sprintf("openapi.yaml: %v", err))
	}
	b, err := json.Marshal(jsonable(doc))
	if err != nil {
		panic(fmt.Sprintf("openapi.yaml: %v", err))
	}
	return b
}()

func (s *Server) openAPI(c echo.Context) error {
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, OpenAPIJSON)
}

// jsonable turns YAML mappings with non-string keys (an unquoted 200) into JSON objects.
func jsonable(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			t[k] = jsonable(x)
		}
		return t
	case map[any]any:
		m := make(map[string]any, len(t))
		for k, x := range t {
			m[fmt.Sprint(k)] = jsonable(x)
		}
		return m
	case []any:
		for i, x := range t {
			t[i] = jsonable(x)
		}
	}
	return v
}
