package server_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// Browsers ask every page's origin for /favicon.ico. The dashboard has no icon, and the 404 it got
// put an error in the browser's console and an unnamed 404 in the API's log at every load (seen
// in the `make dev` run-through). It is answered 204, cached for a day: no icon, and nothing amiss.
func TestFaviconIsNoContent(t *testing.T) {
	a := newAPI(t, nil)
	res, err := http.Get(a.url + "/favicon.ico")
	require.NoError(t, err)
	defer res.Body.Close()
	require.Equal(t, http.StatusNoContent, res.StatusCode)
	require.Equal(t, "public, max-age=86400", res.Header.Get("Cache-Control"))
}
