package config

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestAddressesNeedAUsablePort: an address whose port is missing, not a port, or out of range
// stops the program at start, naming the variable. Before, only the colon was checked: the API
// or worker failed later on listen, the Temporal client on dial, and a broken SMTP_ADDR was
// found only when the first alert email could not be sent. Listeners may take port 0 (any free
// port, as the tests do); what the programs dial may not.
func TestAddressesNeedAUsablePort(t *testing.T) {
	bad := []struct{ name, value string }{
		{"API_ADDR", "127.0.0.1:70000"},
		{"API_ADDR", "0.0.0.0:"},
		{"WORKER_HTTP_ADDR", "0.0.0.0:-1"},
		{"PPROF_ADDR", "127.0.0.1:pprof"},
		{"TEMPORAL_ADDRESS", "temporal.internal:"},
		{"TEMPORAL_ADDRESS", "temporal.internal:0"},
		{"TEMPORAL_ADDRESS", "temporal.internal:72330"},
		{"SMTP_ADDR", "smtp.example.com:abc"},
		{"REPORT_SMTP_ADDR", "smtp.example.com:65536"},
		{"TEMPORAL_UI_URL", "http://temporal-ui.internal:99999"},
		{"STRIPE_API_BASE", "http://127.0.0.1:0"},
		{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:431800"},
	}
	for _, tt := range bad {
		t.Run(tt.name+"="+tt.value, func(t *testing.T) {
			_, err := load(env(map[string]string{tt.name: tt.value, "ALERT_EMAIL_TO": "ops@example.com"}))
			require.Error(t, err, "%s=%s is taken", tt.name, tt.value)
			require.ErrorContains(t, err, "config: "+tt.name+" is malformed")
		})
	}
	good := []struct{ name, value string }{
		{"API_ADDR", ":8080"},
		{"API_ADDR", "0.0.0.0:8080"},
		{"WORKER_HTTP_ADDR", "127.0.0.1:0"},
		{"TEMPORAL_ADDRESS", "[::1]:7233"},
		{"TEMPORAL_ADDRESS", "ns.acct.tmprl.cloud:7233"},
		{"SMTP_ADDR", "email-smtp.eu-west-1.amazonaws.com:587"},
		{"TEMPORAL_UI_URL", "https://cloud.temporal.io"},
		{"STRIPE_API_BASE", "http://127.0.0.1:12111"},
	}
	for _, tt := range good {
		_, err := load(env(map[string]string{tt.name: tt.value, "ALERT_EMAIL_TO": "ops@example.com"}))
		require.NoError(t, err, "%s=%s", tt.name, tt.value)
	}
}
