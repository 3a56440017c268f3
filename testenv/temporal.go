package testenv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"

	"paysplit/workflows/searchattr"
)

// temporalNamespace is the namespace Temporal hands out. The dev server always creates "default",
// so tests need no namespace registration step.
const temporalNamespace = "default"

// temporalStartTimeout bounds the wait for the dev server's frontend; it is ready in well under a
// second when healthy, so this only matters when something is wrong.
const temporalStartTimeout = 60 * time.Second

var temporalServer struct {
	once     sync.Once
	hostPort string
	err      error
}

// Temporal returns the address of a real Temporal dev server, started on first use and shared by
// every test in this test binary (one server per package run). The payment search attributes from
// workflows/searchattr are registered. The server is in memory and stopped by Main.
//
// The CLI comes from $TEMPORAL_CLI, else `temporal` on PATH, else <repo root>/.bin/temporal
// (`make tools`). When it is missing or fails to start the test is skipped, or fails under CI=true.
func Temporal(t testing.TB) (hostPort, namespace string) {
	t.Helper()
	temporalServer.once.Do(func() {
		temporalServer.hostPort, temporalServer.err = startTemporal()
	})
	if temporalServer.err != nil {
		requireService(t, "temporal", temporalServer.err)
		return "", ""
	}
	return temporalServer.hostPort, temporalNamespace
}

// TemporalClient dials the shared dev server (starting it if needed). The client is closed when
// the test finishes; workers built on it must be stopped before then (t.Cleanup runs LIFO, so
// register worker.Stop after calling this).
func TemporalClient(t testing.TB) client.Client {
	t.Helper()
	hostPort, namespace := Temporal(t)
	c, err := client.Dial(client.Options{
		HostPort:  hostPort,
		Namespace: namespace,
		Logger:    quietTemporalLogger(),
	})
	if err != nil {
		t.Fatalf("testenv: dial temporal at %s: %v", hostPort, err)
	}
	t.Cleanup(c.Close)
	return c
}

func startTemporal() (string, error) {
	exe, err := lookupTool("TEMPORAL_CLI", "temporal")
	if err != nil {
		return "", err
	}
	// StartDevServer cannot see its process die and would poll a dead port for the full timeout;
	// a binary that cannot even print its version fails here in milliseconds instead.
	if out, err := exec.Command(exe, "--version").CombinedOutput(); err != nil || !bytes.Contains(out, []byte("temporal version")) {
		return "", fmt.Errorf("%s --version: %v: %s", exe, err, bytes.TrimSpace(out))
	}
	// Another package's server, started at the same moment, can take a port between FreePorts
	// releasing it and this server binding it (seen in CI): then start again on other ports.
	for attempt := 1; ; attempt++ {
		hostPort, err := startTemporalOnFreePorts(exe)
		if !errors.Is(err, errPortTaken) || attempt == 3 {
			return hostPort, err
		}
	}
}

// errPortTaken is a dev server that could not bind a port it was given.
var errPortTaken = errors.New("a port was taken before the server bound it")

func startTemporalOnFreePorts(exe string) (string, error) {
	// The frontend, HTTP API and metrics ports are reserved together: left to choose its HTTP port
	// itself, the dev server once drew the frontend port this process had just released, and
	// failed to start on "address already in use".
	ports, err := FreePorts(3)
	if err != nil {
		return "", err
	}
	return startTemporalOn(exe, ports)
}

// startTemporalOn starts the dev server on the frontend, HTTP API and metrics ports given.
func startTemporalOn(exe string, ports []int) (string, error) {
	hostPort := net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0]))

	// The server's own output goes to a file rather than the test binary's stdout: a server that
	// outlives a crashed test binary would otherwise hold `go test`'s output pipe open.
	logFile, err := os.CreateTemp("", "paysplit-temporal-*.log")
	if err != nil {
		return "", fmt.Errorf("create temporal log file: %w", err)
	}

	// Passed as flags rather than DevServerOptions.SearchAttributes, which wants typed values
	// where we only have names and types. Sorted so the command line is stable across runs.
	flags := searchattr.CLIFlags()
	slices.Sort(flags)
	extra := []string{"--http-port", strconv.Itoa(ports[1]), "--metrics-port", strconv.Itoa(ports[2])}
	for _, f := range flags {
		extra = append(extra, "--search-attribute", f)
	}

	ctx, cancel := context.WithTimeout(context.Background(), temporalStartTimeout)
	defer cancel()
	portTaken := watchForPortTaken(ctx, logFile.Name(), cancel)
	srv, err := testsuite.StartDevServer(ctx, testsuite.DevServerOptions{
		ExistingPath: exe,
		ClientOptions: &client.Options{
			HostPort:  hostPort,
			Namespace: temporalNamespace,
			Logger:    quietTemporalLogger(),
		},
		LogLevel:  "error",
		EnableUI:  false,
		ExtraArgs: extra,
		Stdout:    logFile,
		Stderr:    logFile,
	})
	if err != nil {
		_ = logFile.Close()
		if portTaken.Load() {
			err = errPortTaken
		}
		return "", fmt.Errorf("start temporal dev server %s on %s: %w%s", exe, hostPort, err, logTail(logFile.Name()))
	}

	registerCleanup(func() {
		srv.Client().Close()
		if err := srv.Stop(); err != nil && !isInterruptExit(err) {
			fmt.Fprintf(os.Stderr, "testenv: stop temporal dev server: %v%s\n", err, logTail(logFile.Name()))
		}
		_ = logFile.Close()
		_ = os.Remove(logFile.Name())
	})
	return hostPort, nil
}

// watchForPortTaken reads the server's log until ctx ends; when the server says it could not bind
// a port (it then dies, which StartDevServer cannot see), it sets the flag it returns and cancels,
// so the start fails at once instead of after the whole start timeout.
func watchForPortTaken(ctx context.Context, logPath string, cancel func()) *atomic.Bool {
	var taken atomic.Bool
	go func() {
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			if b, err := os.ReadFile(logPath); err == nil && bytes.Contains(b, []byte("address already in use")) {
				taken.Store(true)
				cancel()
				return
			}
		}
	}()
	return &taken
}

// quietTemporalLogger keeps the SDK's per-client INFO chatter out of test output; warnings and
// errors (failed polls, panics in workflows) still show.
func quietTemporalLogger() tlog.Logger {
	return tlog.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
}

// isInterruptExit reports the exit status of a server that we stopped with SIGINT on purpose.
func isInterruptExit(err error) bool {
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) {
		return false
	}
	return !exitErr.Exited() || exitErr.ExitCode() == 130
}

// lookupTool finds a server binary: $envVar (which must then exist), else name on PATH, else the
// copy `make tools` puts in <repo root>/.bin.
func lookupTool(envVar, name string) (string, error) {
	if p := os.Getenv(envVar); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("%s=%s: %w", envVar, p, err)
		}
		return p, nil
	}
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	root, err := moduleRootDir()
	if err != nil {
		return "", fmt.Errorf("%s not on PATH and %w", name, err)
	}
	p := filepath.Join(root, ".bin", name)
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("%s not found: not in $%s, not on PATH, not at %s (run `make tools`)", name, envVar, p)
	}
	return p, nil
}

// moduleRootDir walks up from the working directory (the package under test) to the go.mod.
func moduleRootDir() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("get working directory: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// FreePorts reserves n distinct unused loopback ports by listening on all of them at once, then
// frees them for a server to bind. Asked one at a time, the kernel may hand the same port out
// twice. Another process could still take one before the server binds it; the servers here
// start within milliseconds, so that is rare.
func FreePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			_ = l.Close()
		}
	}()
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("find free port: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// logTail returns the end of a server log for error messages, so a failed start says why.
func logTail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil || len(bytes.TrimSpace(b)) == 0 {
		return ""
	}
	const max = 2000
	if len(b) > max {
		b = b[len(b)-max:]
	}
	return "\n--- server log (" + path + ") ---\n" + string(bytes.TrimSpace(b))
}
