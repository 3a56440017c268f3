package testenv

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"
)

// stripeMockStartTimeout bounds the wait for stripe-mock to answer; it loads its bundled OpenAPI
// spec in about a second.
const stripeMockStartTimeout = 30 * time.Second

var stripeMockServer struct {
	once    sync.Once
	baseURL string
	err     error
}

// StripeMock returns the base URL ("http://127.0.0.1:PORT") of a stripe-mock started on first use
// and shared by every test in this test binary. It is stateless: it answers with fixtures shaped
// like Stripe's API, so tests needing specific Stripe state put their own handler in front of it.
//
// The binary comes from $STRIPE_MOCK, else `stripe-mock` on PATH, else <repo root>/.bin/stripe-mock
// (`make tools`). When it is missing or fails to start the test is skipped, or fails under CI=true.
func StripeMock(t testing.TB) string {
	t.Helper()
	stripeMockServer.once.Do(func() {
		stripeMockServer.baseURL, stripeMockServer.err = startStripeMock()
	})
	if stripeMockServer.err != nil {
		requireService(t, "stripe-mock", stripeMockServer.err)
		return ""
	}
	return stripeMockServer.baseURL
}

func startStripeMock() (string, error) {
	exe, err := lookupTool("STRIPE_MOCK", "stripe-mock")
	if err != nil {
		return "", err
	}
	// A port picked free can be taken before stripe-mock binds it; a couple of fresh attempts
	// make that race harmless.
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		baseURL, err := startStripeMockOnce(exe)
		if err == nil {
			return baseURL, nil
		}
		lastErr = err
	}
	return "", lastErr
}

func startStripeMockOnce(exe string) (string, error) {
	ports, err := FreePorts(2)
	if err != nil {
		return "", err
	}
	httpAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0]))
	httpsAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[1]))

	logFile, err := os.CreateTemp("", "paysplit-stripe-mock-*.log")
	if err != nil {
		return "", fmt.Errorf("create stripe-mock log file: %w", err)
	}
	cmd := exec.Command(exe, "-http-addr", httpAddr, "-https-addr", httpsAddr)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	if err := cmd.Start(); err != nil {
		_ = logFile.Close()
		_ = os.Remove(logFile.Name())
		return "", fmt.Errorf("start %s: %w", exe, err)
	}
	var waitErr error
	exited := make(chan struct{})
	go func() {
		waitErr = cmd.Wait()
		close(exited)
	}()

	stop := func() {
		// stripe-mock holds no state worth a graceful shutdown.
		_ = cmd.Process.Kill()
		<-exited
		_ = logFile.Close()
		_ = os.Remove(logFile.Name())
	}

	baseURL := "http://" + httpAddr
	if err := waitStripeMock(baseURL, exited, func() error { return waitErr }); err != nil {
		err = fmt.Errorf("stripe-mock %s on %s: %w%s", exe, httpAddr, err, logTail(logFile.Name()))
		stop()
		return "", err
	}
	registerCleanup(stop)
	return baseURL, nil
}

// waitStripeMock polls until stripe-mock answers any HTTP request, or it exits, or time runs out.
// exitErr is only read after exited is closed.
func waitStripeMock(baseURL string, exited <-chan struct{}, exitErr func() error) error {
	ctx, cancel := context.WithTimeout(context.Background(), stripeMockStartTimeout)
	defer cancel()
	httpc := &http.Client{Timeout: 2 * time.Second}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, baseURL+"/v1/balance", nil)
		if err != nil {
			return fmt.Errorf("build readiness request: %w", err)
		}
		req.Header.Set("Authorization", "Bearer sk_test_123")
		resp, err := httpc.Do(req)
		if err == nil {
			_ = resp.Body.Close()
			return nil
		}
		select {
		case <-exited:
			werr := exitErr()
			if werr == nil {
				werr = errors.New("exited with status 0")
			}
			return fmt.Errorf("exited before answering: %w", werr)
		case <-ctx.Done():
			return fmt.Errorf("not answering after %s: %w", stripeMockStartTimeout, err)
		case <-tick.C:
		}
	}
}
