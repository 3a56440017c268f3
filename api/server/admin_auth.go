package server

import (
	"crypto/subtle"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
)

// requireAdmin checks the bootstrap admin key in constant time.
func (s *Server) requireAdmin(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		token, ok := strings.CutPrefix(c.Request().Header.Get(echo.HeaderAuthorization), "Bearer ")
		if !ok || token == "" {
			return errorf(http.StatusUnauthorized, "unauthorized", "missing Authorization: Bearer <admin key>")
		}
		if subtle.ConstantTimeCompare([]byte(token), []byte(s.deps.AdminAPIKey)) != 1 {
			return errorf(http.StatusUnauthorized, "unauthorized", "invalid admin key")
		}
		c.Set("actor", "admin")
		return next(c)
	}
}
