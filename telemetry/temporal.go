package telemetry

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/uber-go/tally/v4"
	tallyprom "github.com/uber-go/tally/v4/prometheus"
	"go.temporal.io/sdk/client"
	sdktally "go.temporal.io/sdk/contrib/tally"
	tlog "go.temporal.io/sdk/log"

	"paysplit/internal/config"
)

// tallyFlushInterval is how often the SDK's metrics reach the Prometheus registry: well under
// any scrape interval.
const tallyFlushInterval = time.Second

// newTemporalMetrics bridges the Temporal SDK's metrics (polls, task latencies, activity and
// workflow outcomes, request failures: temporal_*) into reg, the way Temporal documents it: a
// tally scope with the Prometheus reporter. The closer flushes and stops the reporting loop.
func newTemporalMetrics(reg *prometheus.Registry, logger *slog.Logger) (client.MetricsHandler, io.Closer) {
	reporter := tallyprom.NewReporter(tallyprom.Options{
		Registerer:       reg,
		DefaultTimerType: tallyprom.HistogramTimerType,
		// A metric the SDK emits with another label set must not crash the program.
		OnRegisterError: func(err error) { logger.Warn("temporal metric not registered", "error", err) },
	})
	scope, closer := tally.NewRootScope(tally.ScopeOptions{
		CachedReporter:  reporter,
		Separator:       tallyprom.DefaultSeparator,
		SanitizeOptions: &sdktally.PrometheusSanitizeOptions,
	}, tallyFlushInterval)
	return sdktally.NewMetricsHandler(sdktally.NewPrometheusNamingScope(scope)), closer
}

// ClientOptions are the options every Temporal client of the programs is dialed with: the
// address and namespace, TLS with an API key or a client certificate when configured (Temporal
// Cloud), the SDK's logger, metrics and tracing. Credentials never reach a log line.
func (t *Telemetry) ClientOptions(cfg config.Config) (client.Options, error) {
	opts := client.Options{
		HostPort:       cfg.TemporalAddress,
		Namespace:      cfg.TemporalNamespace,
		Logger:         tlog.NewStructuredLogger(t.logger),
		MetricsHandler: t.temporalMetrics,
		Interceptors:   t.clientInterceptors,
	}
	opts.ConnectionOptions.GrpcCompression = GRPCCompression(cfg.TemporalGRPCCompression)
	if cfg.TemporalTLS {
		tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12}
		if cfg.TemporalTLSCert != "" {
			cert, err := loadKeyPair(cfg.TemporalTLSCert, cfg.TemporalTLSKey)
			if err != nil {
				return client.Options{}, err
			}
			tlsCfg.Certificates = []tls.Certificate{cert}
		}
		opts.ConnectionOptions.TLS = tlsCfg
	}
	if cfg.TemporalAPIKey != "" {
		opts.Credentials = client.NewAPIKeyStaticCredentials(cfg.TemporalAPIKey)
	}
	return opts, nil
}

// GRPCCompression maps TEMPORAL_GRPC_COMPRESSION to the SDK's option; anything but "gzip" is none.
func GRPCCompression(name string) client.GrpcCompression {
	if name == "gzip" {
		return &client.GrpcCompressionGzip{}
	}
	return &client.GrpcCompressionNone{}
}

// loadKeyPair reads the client certificate and key, each given as PEM text (how a secret store
// injects it into the environment) or as a file path (a mounted secret).
func loadKeyPair(cert, key string) (tls.Certificate, error) {
	certPEM, err := pemOrFile("TEMPORAL_TLS_CERT", cert)
	if err != nil {
		return tls.Certificate{}, err
	}
	keyPEM, err := pemOrFile("TEMPORAL_TLS_KEY", key)
	if err != nil {
		return tls.Certificate{}, err
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		// The error text of X509KeyPair never includes key material.
		return tls.Certificate{}, fmt.Errorf("temporal client certificate: %w", err)
	}
	return pair, nil
}

func pemOrFile(name, v string) ([]byte, error) {
	if strings.HasPrefix(strings.TrimSpace(v), "-----BEGIN") {
		return []byte(v), nil
	}
	b, err := os.ReadFile(v)
	if err != nil {
		// Not the path error itself: a mangled PEM value would end up in the log as its "path".
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("%s is neither PEM text nor a readable file: %w", name, err)
	}
	return b, nil
}
