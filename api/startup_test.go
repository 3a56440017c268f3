package main

import (
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paysplit/testenv"
)

// TestAPIStoppedWhileStartingExitsCleanly: an orchestrator that stops the API while it still
// waits for its database (a rolling deploy during a database failover, a scale-down) sends
// SIGTERM. Nothing was serving yet, so that is a clean stop: exit 0 with an INFO line, as the
// worker does. The API exited 1 with an ERROR "api stopped", which restart policies and alerts
// count as a crash.
func TestAPIStoppedWhileStartingExitsCleanly(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the api program")
	}
	db, connected := testenv.SilentServer(t)
	bin := filepath.Join(t.TempDir(), "api")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, "go build ./api: %s", out)

	api := testenv.StartProgram(t, bin, "APP_ENV=development",
		"DATABASE_URL=postgres://postgres@"+db+"/paysplit?sslmode=disable&connect_timeout=600",
		"TEMPORAL_ADDRESS=127.0.0.1:1", "API_ADDR="+testenv.FreeAddr(t), "PGCONNECT_TIMEOUT=")
	log, exited := api.Log, api.Exited

	select {
	case <-connected: // the API is waiting for its database: still starting
	case err := <-exited:
		t.Fatalf("the api exited before reaching its database: %v, its log:\n%s", err, log.String())
	case <-time.After(2 * time.Minute): // a liveness bound
		t.Fatalf("the api never reached its database, its log:\n%s", log.String())
	}
	require.NoError(t, api.Cmd.Process.Signal(syscall.SIGTERM))
	select {
	case err = <-exited:
	case <-time.After(2 * time.Minute):
		t.Fatalf("the api still runs 2 minutes after SIGTERM, its log:\n%s", log.String())
	}
	require.NoError(t, err, "a stop during start is a clean exit, the api's log:\n%s", log.String())
	require.Contains(t, log.String(), `"level":"INFO","msg":"api stopped during start"`)
	require.NotContains(t, log.String(), `"level":"ERROR"`)
}
