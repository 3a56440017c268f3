package server

import (
	"mime"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
)

// requireJSON refuses a request body that is not declared as JSON: the handlers decode JSON
// strictly, and a form or text body declared as something else is a client bug worth a clear
// 415 rather than a confusing decode error.
func requireJSON(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		hasBody := r.ContentLength > 0 || (r.ContentLength < 0 && len(r.TransferEncoding) > 0)
		if hasBody && (r.Method == http.MethodPost || r.Method == http.MethodPut || r.Method == http.MethodPatch) {
			if err := notJSON(r); err != nil {
				return err
			}
		}
		return next(c)
	}
}

// notJSON refuses a request whose Content-Type is not JSON in UTF-8 (415), nil when it is.
func notJSON(r *http.Request) error {
	mt, params, err := mime.ParseMediaType(r.Header.Get(echo.HeaderContentType))
	if err != nil || mt != echo.MIMEApplicationJSON {
		return errorf(http.StatusUnsupportedMediaType, "unsupported_media_type", "the body must be application/json")
	}
	// JSON is UTF-8 (RFC 8259) and is decoded as such: a body declared in another charset
	// (latin1) had its accents read as invalid UTF-8 and refused as a name with "control
	// characters or U+FFFD", which said nothing of the charset.
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") && !strings.EqualFold(cs, "utf8") {
		return errorf(http.StatusUnsupportedMediaType, "unsupported_media_type", "the body must be application/json in UTF-8, not charset "+cs)
	}
	return nil
}
