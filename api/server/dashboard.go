package server

import (
	"embed"
	"io/fs"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
)

// static holds the dashboard: one page, its script and styles, and Chart.js vendored from npm
// (`make vendor-chartjs`; the file is committed so a clone builds without npm). Nothing is loaded
// from another origin.
//
//go:embed static
var staticFiles embed.FS

var staticFS = func() fs.FS {
	sub, err := fs.Sub(staticFiles, "static")
	if err != nil {
		panic(err)
	}
	return sub
}()

// contentSecurityPolicy allows only this origin's scripts, styles and API: an injected string in
// the data can never run as script.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

func securityHeaders(c echo.Context) {
	h := c.Response().Header()
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
}

// dashboard serves the page; it logs in by exchanging an API key for a session cookie and then
// reads the client API (and, for admins, the admin API) like any other caller.
func (s *Server) dashboard(c echo.Context) error {
	page, err := fs.ReadFile(staticFS, "index.html")
	if err != nil {
		return err
	}
	securityHeaders(c)
	c.Response().Header().Set("Cache-Control", "no-cache")
	return c.Blob(http.StatusOK, "text/html; charset=utf-8", page)
}

var fileServer = http.StripPrefix("/static/", http.FileServerFS(staticFS))

// static serves the dashboard's files; there are no directory listings.
func (s *Server) static(c echo.Context) error {
	name := c.Param("*")
	if name == "" || strings.HasSuffix(name, "/") {
		return echo.ErrNotFound
	}
	if st, err := fs.Stat(staticFS, name); err != nil || st.IsDir() {
		return echo.ErrNotFound
	}
	securityHeaders(c)
	c.Response().Header().Set("Cache-Control", "public, max-age=300")
	fileServer.ServeHTTP(c.Response(), c.Request())
	return nil
}
