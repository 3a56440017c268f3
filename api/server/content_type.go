package server

import (
	"mime"
	"net/http"

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
			mt, _, err := mime.ParseMediaType(r.Header.Get(echo.HeaderContentType))
			if err != nil || mt != echo.MIMEApplicationJSON {
				return errorf(http.StatusUnsupportedMediaType, "unsupported_media_type", "the body must be application/json")
			}
		}
		return next(c)
	}
}
