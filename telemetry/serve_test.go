package telemetry_test

import (
	"io"
	"net"
	"net/http"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"paysplit/telemetry"
	"paysplit/testenv"
)

// Profiles are served on PPROF_ADDR only: a CPU profile comes back as pprof's gzipped protobuf,
// the named profiles (heap) by name, and no address serves nothing.
func TestServeProfiles(t *testing.T) {
	ports, err := testenv.FreePorts(1)
	require.NoError(t, err)
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0]))
	stop, err := telemetry.ServeProfiles(addr, quiet)
	require.NoError(t, err)
	t.Cleanup(stop)

	tests := []struct {
		path, want string
		gzipped    bool
	}{
		{path: "/debug/pprof/profile?seconds=1", gzipped: true},
		{path: "/debug/pprof/heap?debug=1", want: "heap profile"},
		{path: "/debug/pprof/goroutine?debug=1", want: "goroutine profile"},
		{path: "/debug/pprof/", want: "Types of profiles available"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			res, err := http.Get("http://" + addr + tt.path)
			require.NoError(t, err)
			defer res.Body.Close()
			body, err := io.ReadAll(res.Body)
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, res.StatusCode, string(body))
			if tt.gzipped {
				require.Greater(t, len(body), 2)
				assert.Equal(t, []byte{0x1f, 0x8b}, body[:2], "a profile is gzipped protobuf")
				return
			}
			assert.Contains(t, string(body), tt.want)
		})
	}

	_, err = telemetry.ServeProfiles(addr, quiet)
	require.ErrorContains(t, err, "pprof "+addr, "a taken port stops the program at start")

	noop, err := telemetry.ServeProfiles("", quiet)
	require.NoError(t, err)
	noop()
}
