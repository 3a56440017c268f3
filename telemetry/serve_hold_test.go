package telemetry_test

import (
	"io"
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paysplit/telemetry"
	"paysplit/testenv"
)

// TestServeDropsConnectionsThatHoldOn: the worker's ops and profile servers close a connection
// whose peer stops mid-request (its headers sent, the body it announced never) or keeps it idle
// after a request. Without such limits each of them holds a connection and its goroutine for as
// long as the peer likes: a health checker or scraper that leaves connections open, or anyone
// who can reach the port, makes them pile up over the worker's uptime.
func TestServeDropsConnectionsThatHoldOn(t *testing.T) {
	t.Cleanup(telemetry.SetServeTimeouts(300*time.Millisecond, 300*time.Millisecond))
	ports, err := testenv.FreePorts(1)
	require.NoError(t, err)
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0]))
	stop, err := telemetry.Serve("test http", addr, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			// Longer than the read limit, as a CPU profile is: its context must last.
			select {
			case <-r.Context().Done():
				http.Error(w, "cut short", http.StatusServiceUnavailable)
				return
			case <-time.After(time.Second):
			}
		}
		_, _ = io.WriteString(w, "ok")
	}), quiet)
	require.NoError(t, err)
	t.Cleanup(stop)

	// An answer that takes longer than the read limit is not cut short.
	res, err := http.Get("http://" + addr + "/slow")
	require.NoError(t, err)
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	require.NoError(t, err)
	require.Equal(t, "ok", string(body))

	for _, tt := range []struct{ name, request string }{
		{"idle after a request", "GET /healthz HTTP/1.1\r\nHost: worker\r\n\r\n"},
		{"body announced, never sent", "POST /healthz HTTP/1.1\r\nHost: worker\r\nContent-Length: 100\r\n\r\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", addr)
			require.NoError(t, err)
			defer conn.Close()
			_, err = io.WriteString(conn, tt.request)
			require.NoError(t, err)
			// Bounded, so a server that never lets go fails the test instead of hanging it.
			require.NoError(t, conn.SetReadDeadline(time.Now().Add(5*time.Second)))
			_, err = io.ReadAll(conn) // until the server closes the connection
			require.NoError(t, err, "the server still holds the connection")
		})
	}
}
