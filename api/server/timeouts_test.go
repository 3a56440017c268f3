package server_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestHTTPServerHasTimeouts: the server main starts (Echo's own http.Server) bounds how long a
// client may take to send its headers and its request and to read the answer, so clients that
// trickle bytes cannot hold connections and goroutines for ever.
func TestHTTPServerHasTimeouts(t *testing.T) {
	a := newAPI(t, nil)
	hs := a.srv.Echo.Server
	for name, d := range map[string]time.Duration{
		"ReadHeaderTimeout": hs.ReadHeaderTimeout, "ReadTimeout": hs.ReadTimeout,
		"WriteTimeout": hs.WriteTimeout, "IdleTimeout": hs.IdleTimeout,
	} {
		require.Positive(t, d, "%s is not set", name)
		require.LessOrEqual(t, d, 5*time.Minute, name)
	}
	require.LessOrEqual(t, hs.ReadHeaderTimeout, 10*time.Second, "a slow client's headers are cut off quickly")
}
