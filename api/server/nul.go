package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/labstack/echo/v4"
)

// Postgres cannot store a NUL character in text (nor \u0000 in jsonb), and no identifier, name
// or filter of this API has a use for one: it is refused with a 400 at the door, in query
// values, path parameters (refuseNUL), JSON bodies (bind) and paging cursors (decodeCursor),
// rather than reaching the database. The store maps Postgres refusing such text to ErrInvalid
// all the same (store.InvalidInput), for whatever comes in another way.

// errNUL is the answer to a NUL character in what names.
func errNUL(what string) error {
	return errorf(http.StatusBadRequest, "invalid_request", what+` must not contain NUL (\u0000) characters`)
}

// errNotUTF8 is the answer to bytes that are not UTF-8 (a %ff in the URL) in what names.
// Postgres refuses them too, but its refusal could not say which parameter it was.
func errNotUTF8(what string) error {
	return errorf(http.StatusBadRequest, "invalid_request", what+" must be UTF-8 text")
}

// refuseNUL answers 400 for a NUL character, or bytes that are not UTF-8, in a query parameter
// (name or value) or a path parameter. It runs after routing, so the path parameters are known.
func refuseNUL(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		for name, values := range c.QueryParams() {
			if strings.ContainsRune(name, 0) {
				return errNUL("a query parameter's name")
			}
			if !utf8.ValidString(name) {
				return errNotUTF8("a query parameter's name")
			}
			for _, v := range values {
				if strings.ContainsRune(v, 0) {
					return errNUL(fmt.Sprintf("query parameter %s", name))
				}
				if !utf8.ValidString(v) {
					return errNotUTF8(fmt.Sprintf("query parameter %s", name))
				}
			}
		}
		values := c.ParamValues()
		for i, name := range c.ParamNames() {
			if i >= len(values) {
				continue
			}
			if strings.ContainsRune(values[i], 0) {
				return errNUL(fmt.Sprintf("path parameter %s", name))
			}
			if !utf8.ValidString(values[i]) {
				return errNotUTF8(fmt.Sprintf("path parameter %s", name))
			}
		}
		return next(c)
	}
}

// jsonHasNUL says whether a JSON document has a NUL character in a string (a key or a value).
// JSON can only carry one escaped, as \u0000; a document that does not parse is left to its
// decoder to refuse.
func jsonHasNUL(doc []byte) bool {
	if !bytes.Contains(doc, []byte(`\u0000`)) {
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(doc))
	for {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		if s, ok := tok.(string); ok && strings.ContainsRune(s, 0) {
			return true
		}
	}
}
