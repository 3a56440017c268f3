package server

import (
	_ "embed"
	"net/http"

	"github.com/labstack/echo/v4"
)

//go:embed dashboard.html
var dashboardHTML []byte

// dashboard serves the admin page; it calls the admin API with the key the admin types in.
func (s *Server) dashboard(c echo.Context) error {
	return c.Blob(http.StatusOK, "text/html; charset=utf-8", dashboardHTML)
}
