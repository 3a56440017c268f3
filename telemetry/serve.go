package telemetry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"
)

// The limits of the servers Serve starts on a peer: its headers within 5 s, the rest of its
// request (a body it announced) within serveReadTimeout, its next request on a kept-alive
// connection within serveIdleTimeout. Without the last two, a peer that announces a body and
// never sends it, or keeps a connection idle after a request, holds that connection and its
// goroutine for as long as it likes. Variables, so tests can shorten them.
var (
	serveReadTimeout = 30 * time.Second
	serveIdleTimeout = 2 * time.Minute
)

// Serve starts an HTTP server for h on addr, named name in logs and errors. Listening happens
// here, so a taken port stops the program at start instead of in a goroutine's log line. The
// server has no write timeout: a CPU profile is written only when its seconds are over. (The read
// timeout does not cut it short: it covers reading the request, which a profile's has none of.)
func Serve(name, addr string, h http.Handler, logger *slog.Logger) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", name, addr, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: serveReadTimeout, IdleTimeout: serveIdleTimeout}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error(name, "error", err)
		}
	}()
	logger.Info(name+" listening", "addr", ln.Addr().String())
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}, nil
}

// ProfilesHandler serves the Go runtime's profiles under /debug/pprof/ (CPU, heap, goroutines,
// execution trace) for `go tool pprof`. It is served only on PPROF_ADDR, its own listener, never
// on the API's port: a profile shows the program's internals and costs CPU while it runs.
func ProfilesHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /debug/pprof/", pprof.Index) // and every named profile: heap, goroutine, allocs, ...
	mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	return mux
}

// ServeProfiles serves ProfilesHandler on addr when it is set; stop is a no-op otherwise.
func ServeProfiles(addr string, logger *slog.Logger) (stop func(), err error) {
	if addr == "" {
		return func() {}, nil
	}
	return Serve("pprof", addr, ProfilesHandler(), logger)
}
