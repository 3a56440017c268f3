package config

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestLoadOperationsSettings(t *testing.T) {
	tests := []struct {
		name  string
		env   map[string]string
		check func(t *testing.T, c Config)
		err   string
	}{
		{name: "defaults: local ops port, 30s grace, no TLS, no tracing, no versioning", check: func(t *testing.T, c Config) {
			require.Equal(t, "127.0.0.1:8081", c.WorkerHTTPAddr)
			require.Equal(t, 30*time.Second, c.WorkerStopTimeout)
			require.False(t, c.TemporalTLS)
			require.Empty(t, c.OTLPEndpoint)
			require.Empty(t, c.WorkerBuildID)
			require.Equal(t, "paysplit", c.TemporalDeploymentName)
			require.Empty(t, c.PprofAddr, "profiles are served only when asked for")
		}},
		{name: "profiles", env: map[string]string{"PPROF_ADDR": "127.0.0.1:6060"}, check: func(t *testing.T, c Config) {
			require.Equal(t, "127.0.0.1:6060", c.PprofAddr)
		}},
		{name: "API key implies TLS", env: map[string]string{"TEMPORAL_API_KEY": "key"}, check: func(t *testing.T, c Config) {
			require.True(t, c.TemporalTLS)
			require.Equal(t, "key", c.TemporalAPIKey)
		}},
		{name: "client certificate implies TLS", env: map[string]string{"TEMPORAL_TLS_CERT": "/c.pem", "TEMPORAL_TLS_KEY": "/k.pem"}, check: func(t *testing.T, c Config) {
			require.True(t, c.TemporalTLS)
		}},
		{name: "TLS alone", env: map[string]string{"TEMPORAL_TLS": "true"}, check: func(t *testing.T, c Config) {
			require.True(t, c.TemporalTLS)
		}},
		{name: "tracing and versioning", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318", "WORKER_BUILD_ID": "v1.2.3", "WORKER_STOP_TIMEOUT": "2m"},
			check: func(t *testing.T, c Config) {
				require.Equal(t, "http://collector:4318", c.OTLPEndpoint)
				require.Equal(t, "v1.2.3", c.WorkerBuildID)
				require.Equal(t, 2*time.Minute, c.WorkerStopTimeout)
				require.True(t, c.WorkerPromote, "a versioned worker makes its build current by default")
			}},
		{name: "no promotion", env: map[string]string{"WORKER_BUILD_ID": "v1.2.3", "WORKER_PROMOTE": "false"}, check: func(t *testing.T, c Config) {
			require.False(t, c.WorkerPromote)
		}},
		{name: "certificate without key", env: map[string]string{"TEMPORAL_TLS_CERT": "/c.pem"}, err: "TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY must be set together"},
		{name: "bad TLS flag", env: map[string]string{"TEMPORAL_TLS": "yes"}, err: "TEMPORAL_TLS is malformed"},
		{name: "bad promote flag", env: map[string]string{"WORKER_PROMOTE": "1"}, err: "WORKER_PROMOTE is malformed"},
		{name: "bad OTLP endpoint", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "collector:4318"}, err: "OTEL_EXPORTER_OTLP_ENDPOINT is malformed"},
		{name: "bad ops address", env: map[string]string{"WORKER_HTTP_ADDR": "8081"}, err: "WORKER_HTTP_ADDR is malformed"},
		{name: "bad profiles address", env: map[string]string{"PPROF_ADDR": "6060"}, err: "PPROF_ADDR is malformed"},
		{name: "bad grace period", env: map[string]string{"WORKER_STOP_TIMEOUT": "-1s"}, err: "WORKER_STOP_TIMEOUT is malformed"},
		// No grace at all would cut every activity on SIGTERM, transfers included.
		{name: "no grace period", env: map[string]string{"WORKER_STOP_TIMEOUT": "0s"}, err: "WORKER_STOP_TIMEOUT is malformed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := load(env(tt.env))
			if tt.err != "" {
				require.ErrorContains(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			tt.check(t, c)
		})
	}
}
