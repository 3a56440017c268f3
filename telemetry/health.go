package telemetry

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.temporal.io/sdk/client"
)

// readyTimeout bounds one readiness check: a load balancer's probe must get an answer even when
// a dependency hangs instead of refusing.
const readyTimeout = 2 * time.Second

// Pinger is what readiness asks of Postgres (a *pgxpool.Pool).
type Pinger interface {
	Ping(ctx context.Context) error
}

// TemporalChecker is what readiness asks of Temporal (a client.Client).
type TemporalChecker interface {
	CheckHealth(ctx context.Context, req *client.CheckHealthRequest) (*client.CheckHealthResponse, error)
}

// Readiness checks Postgres and Temporal at once. The answer says only "ok" or "unavailable" per
// dependency (it is served to load balancers); the cause goes to the log.
func Readiness(ctx context.Context, logger *slog.Logger, db Pinger, tc TemporalChecker) (checks map[string]string, ready bool) {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	type result struct {
		name string
		err  error
	}
	results := make(chan result, 2)
	go func() { results <- result{"postgres", db.Ping(ctx)} }()
	go func() {
		_, err := tc.CheckHealth(ctx, &client.CheckHealthRequest{})
		results <- result{"temporal", err}
	}()
	checks, ready = map[string]string{}, true
	for range 2 {
		r := <-results
		checks[r.name] = "ok"
		if r.err != nil {
			checks[r.name], ready = "unavailable", false
			logger.Warn("not ready", "dependency", r.name, "error", r.err)
		}
	}
	return checks, ready
}

// OpsHandler serves /metrics (reg), /healthz (the process answers) and /readyz (Postgres and
// Temporal answer; 503 otherwise): the worker's small HTTP server.
func OpsHandler(reg *prometheus.Registry, logger *slog.Logger, db Pinger, tc TemporalChecker) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		checks, ready := Readiness(r.Context(), logger, db, tc)
		status := http.StatusOK
		if !ready {
			status = http.StatusServiceUnavailable
		}
		writeJSON(w, status, checks)
	})
	return mux
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// Probe GETs /healthz of a program listening on addr. It is the container health check of
// images without a shell or curl: `worker healthcheck`, `api healthcheck`.
func Probe(ctx context.Context, addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("probe address %q: %w", addr, err)
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+net.JoinHostPort(host, port)+"/healthz", nil)
	if err != nil {
		return err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("healthz answered %d", res.StatusCode)
	}
	return nil
}
