package main

import (
	"errors"
	"os/exec"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paysplit/testenv"
)

// TestWorkerStartWhenPostgresDoesNotAnswer: a Postgres that takes the TCP connection but never
// answers (a database host stuck or overloaded, a proxy in front of a stopped server). The
// worker must give up at start with a line that says which database did not answer, as it does
// when the connection is refused, not wait on it without a word: it did, for ever, before
// serving /healthz, and the orchestrator's SIGTERM then made it log an INFO "worker stopped during
// start" and exit 0.
func TestWorkerStartWhenPostgresDoesNotAnswer(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the worker program")
	}
	db, _ := testenv.SilentServer(t)

	bin := buildWorker(t, t.TempDir())
	worker := testenv.StartProgram(t, bin, "APP_ENV=development",
		"DATABASE_URL=postgres://postgres@"+db+"/paysplit?sslmode=disable",
		"TEMPORAL_ADDRESS=127.0.0.1:1", "WORKER_HTTP_ADDR="+testenv.FreeAddr(t), "PGCONNECT_TIMEOUT=")
	out := worker.Log
	var err error
	select {
	case err = <-worker.Exited:
	case <-time.After(2 * time.Minute): // a liveness bound, far above the connect timeout
		t.Fatalf("the worker still waits on a Postgres that does not answer after 2 minutes, its log:\n%s", out.String())
	}
	var exit *exec.ExitError
	require.True(t, errors.As(err, &exit), "the worker exits with an error: %v, its log:\n%s", err, out.String())
	require.NotZero(t, exit.ExitCode())
	require.Contains(t, out.String(), `"level":"ERROR","msg":"worker stopped"`)
	require.Contains(t, out.String(), "migrate database")
	require.Contains(t, out.String(), db, "the line names the database's address")
}
