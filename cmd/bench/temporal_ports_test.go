package main

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"paysplit/testenv"
)

// TestTemporalStartedAgainWhenAPortIsTaken: a port found free was taken before the dev server
// bound it (a full run's first limit server failed so, "bind: address already in use" for its
// HTTP port, after the whole day had run, and the bench ended without figures). The start is made
// again on other ports.
func TestTemporalStartedAgainWhenAPortIsTaken(t *testing.T) {
	testenv.Temporal(t) // skips (or fails under CI=true) where no Temporal CLI is installed
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer taken.Close()
	takenPort := taken.Addr().(*net.TCPAddr).Port

	picks := 0
	defer func(pick func() ([]int, error)) { temporalPorts = pick }(temporalPorts)
	temporalPorts = func() ([]int, error) {
		picks++
		ports, err := testenv.FreePorts(3)
		if err == nil && picks == 1 {
			ports[1] = takenPort // the HTTP API port, as in the run that failed
		}
		return ports, err
	}

	e := &env{owned: true, dir: t.TempDir(), pids: map[string]int{}}
	defer e.close(true)
	srv, err := e.freshTemporal(t.Context(), "temporal-limit-taken")
	require.NoError(t, err, "started on other ports")
	defer srv.stop()
	require.Equal(t, 2, picks, "one start on the taken port, one on others")
	require.NotEqual(t, strconv.Itoa(takenPort), srv.addr[strings.LastIndex(srv.addr, ":")+1:])

	c, err := dialTemporal(srv.addr)
	require.NoError(t, err)
	defer c.Close()
	_, err = c.CheckHealth(t.Context(), nil)
	require.NoError(t, err, "the server serves")
	log, err := os.ReadFile(filepath.Join(e.dir, "temporal-limit-taken.start1.log"))
	require.NoError(t, err)
	require.Contains(t, string(log), "address already in use", "the first start failed on the taken port")
}
