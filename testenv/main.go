// Package testenv provides real backing services (Postgres, Temporal,
// stripe-mock) to tests. Each test binary gets its own instances, created on
// first use and torn down by Main, so packages can run in parallel without
// sharing state. Import it from _test files only.
package testenv

import (
	"os"
	"sync"
	"testing"
)

// Main runs the tests and then releases everything the helpers created. Use it
// as: func TestMain(m *testing.M) { testenv.Main(m) }
func Main(m *testing.M) {
	MainThen(m, nil)
}

// MainThen is Main with a last word: after runs once the tests are done, before the services
// stop, with the tests' exit code (a suite prints its summary there).
func MainThen(m *testing.M, after func(code int)) {
	code := m.Run()
	if after != nil {
		after(code)
	}
	runCleanups()
	os.Exit(code)
}

var cleanups struct {
	mu  sync.Mutex
	fns []func()
}

// registerCleanup schedules f to run after all tests of the binary. testing's
// t.Cleanup is per test, but the services here are shared by the whole binary.
func registerCleanup(f func()) {
	cleanups.mu.Lock()
	defer cleanups.mu.Unlock()
	cleanups.fns = append(cleanups.fns, f)
}

// runCleanups runs in reverse registration order, so a resource is released
// before whatever it depends on (a pool before its database is dropped).
func runCleanups() {
	cleanups.mu.Lock()
	fns := cleanups.fns
	cleanups.fns = nil
	cleanups.mu.Unlock()
	for i := len(fns) - 1; i >= 0; i-- {
		fns[i]()
	}
}

// requireService skips a test whose backing service is missing on a developer
// machine, but fails it under CI=true: there a skip would silently turn an
// integration suite green without running it.
func requireService(t testing.TB, name string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is required when CI=true: %v", name, err)
	}
	t.Skipf("%s unavailable, skipping (set CI=true to fail instead): %v", name, err)
}
