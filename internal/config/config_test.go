package config

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func env(kv map[string]string) func(string) string {
	return func(k string) string { return kv[k] }
}

func TestLoadDefaults(t *testing.T) {
	c, err := load(env(nil))
	require.NoError(t, err)
	require.Equal(t, "127.0.0.1:8080", c.APIAddr)
	require.Equal(t, "127.0.0.1:7233", c.TemporalAddress)
	require.Equal(t, "default", c.TemporalNamespace)
	require.Equal(t, "payments", c.TaskQueue)
	require.Equal(t, "https://api.stripe.com", c.StripeAPIBase)
	require.Equal(t, time.Hour, c.EnrichWait)
	require.Equal(t, time.Hour, c.DueRetryEvery)
	require.Equal(t, 32, c.WebhookRelayParallel)
	require.Equal(t, "temporal", c.WebhookAck)
	require.Equal(t, "gzip", c.TemporalGRPCCompression)
}

func TestLoadErrorsNameTheVariable(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"bad api addr", map[string]string{"API_ADDR": "8080"}, "API_ADDR is malformed"},
		{"bad temporal addr", map[string]string{"TEMPORAL_ADDRESS": "nohostport"}, "TEMPORAL_ADDRESS is malformed"},
		{"bad stripe base", map[string]string{"STRIPE_API_BASE": "ftp://x"}, "STRIPE_API_BASE is malformed"},
		{"bad stripe key", map[string]string{"STRIPE_API_KEY": "pk_live_x"}, "STRIPE_API_KEY is malformed"},
		{"bad webhook secret", map[string]string{"STRIPE_WEBHOOK_SECRET": "secret"}, "STRIPE_WEBHOOK_SECRET is malformed"},
		{"bad database url", map[string]string{"DATABASE_URL": "postgres://%zz"}, "DATABASE_URL is malformed"},
		{"bad duration", map[string]string{"PAYMENT_ENRICH_WAIT": "soon"}, "PAYMENT_ENRICH_WAIT is malformed"},
		{"negative due retry", map[string]string{"PAYMENT_DUE_RETRY_EVERY": "-1h"}, "PAYMENT_DUE_RETRY_EVERY is malformed"},
		// A retry or ask every few seconds would call the provider for each movement due (or each
		// held payee) that often, for a settle window or for ever: 0 (off) or at least a minute.
		{"due retry every second", map[string]string{"PAYMENT_DUE_RETRY_EVERY": "1s"}, "PAYMENT_DUE_RETRY_EVERY is malformed"},
		{"hold recheck every second", map[string]string{"PAYMENT_HOLD_RECHECK_EVERY": "1s"}, "PAYMENT_HOLD_RECHECK_EVERY is malformed"},
		{"negative hold recheck", map[string]string{"PAYMENT_HOLD_RECHECK_EVERY": "-1h"}, "PAYMENT_HOLD_RECHECK_EVERY is malformed"},
		{"short secrets key", map[string]string{"SECRETS_KEY": "c2hvcnQ="}, "SECRETS_KEY is malformed"},
		{"bad rate limit", map[string]string{"API_RATE_LIMIT": "0"}, "API_RATE_LIMIT is malformed"},
		{"bad relay parallelism", map[string]string{"WEBHOOK_RELAY_PARALLEL": "-1"}, "WEBHOOK_RELAY_PARALLEL is malformed"},
		{"bad grpc compression", map[string]string{"TEMPORAL_GRPC_COMPRESSION": "zstd"}, "TEMPORAL_GRPC_COMPRESSION is malformed"},
		{"bad webhook ack", map[string]string{"WEBHOOK_ACK": "never"}, "WEBHOOK_ACK is malformed"},
		{"trusted proxy without a prefix length", map[string]string{"TRUSTED_PROXIES": "10.0.0.1"}, "TRUSTED_PROXIES is malformed"},
		{"trusted proxies with a bad network", map[string]string{"TRUSTED_PROXIES": "10.0.0.0/8,not-a-net"}, "TRUSTED_PROXIES is malformed"},
		{"trusted proxies with an impossible prefix", map[string]string{"TRUSTED_PROXIES": "10.0.0.0/33"}, "TRUSTED_PROXIES is malformed"},
		{"trusted proxies of commas only", map[string]string{"TRUSTED_PROXIES": ", ,"}, "TRUSTED_PROXIES is malformed"},
		{"bad env", map[string]string{"APP_ENV": "staging"}, "APP_ENV"},
		{"production needs secrets", map[string]string{"APP_ENV": "production"}, "DATABASE_URL is required"},
		{"production needs admin key", map[string]string{"APP_ENV": "production", "DATABASE_URL": "postgres://db/x"}, "ADMIN_API_KEY is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := load(env(tt.env))
			require.Error(t, err)
			require.Contains(t, err.Error(), tt.want)
			require.NotContains(t, err.Error(), "\n", "one clear line")
		})
	}
}

// TestLoadTrustedProxies: without TRUSTED_PROXIES the API trusts no forwarding header; with it,
// the listed networks (IPv4 and IPv6, spaces allowed after commas).
func TestLoadTrustedProxies(t *testing.T) {
	tests := []struct {
		name  string
		value string
		want  []string
	}{
		{"unset: none", "", nil},
		{"one network", "10.0.0.0/8", []string{"10.0.0.0/8"}},
		{"several, with spaces and a host", "10.0.0.0/8, 192.0.2.10/32,fd00::/8", []string{"10.0.0.0/8", "192.0.2.10/32", "fd00::/8"}},
		{"host bits are dropped", "192.0.2.77/24", []string{"192.0.2.0/24"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := load(env(map[string]string{"TRUSTED_PROXIES": tt.value}))
			require.NoError(t, err)
			var got []string
			for _, n := range c.TrustedProxies {
				got = append(got, n.String())
			}
			require.Equal(t, tt.want, got)
		})
	}
}

func TestLoadProductionWithEverythingSet(t *testing.T) {
	c, err := load(env(map[string]string{
		"APP_ENV": "production", "DATABASE_URL": "postgres://db.internal/pay", "ADMIN_API_KEY": strings.Repeat("k", 32),
		"STRIPE_API_KEY": "sk_live_abc", "STRIPE_WEBHOOK_SECRET": "whsec_abc", "STRIPE_CONNECT_WEBHOOK_SECRET": "whsec_connect_abc",
		"SECRETS_KEY": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
	}))
	require.NoError(t, err)
	require.Equal(t, "production", c.Env)
	require.Equal(t, "sk_live_abc", c.StripeAPIKey)
}

func TestLoadPayPalSettings(t *testing.T) {
	c, err := load(env(map[string]string{"PAYPAL_CLIENT_ID": "id", "PAYPAL_SECRET": "s", "PAYPAL_WEBHOOK_ID": "WH-1", "PAYPAL_WEBHOOK_VERIFY": "api"}))
	require.NoError(t, err)
	require.Equal(t, "api", c.PayPalWebhookVerify)
	require.Equal(t, "https://api-m.sandbox.paypal.com", c.PayPalAPIBase)
	for _, bad := range []map[string]string{
		{"PAYPAL_CLIENT_ID": "id"},
		{"PAYPAL_WEBHOOK_VERIFY": "trust-me"},
		{"PAYPAL_WEBHOOK_VERIFY": "api"},
	} {
		_, err := load(env(bad))
		require.Error(t, err, "%v", bad)
		require.Contains(t, err.Error(), "PAYPAL_")
	}
}

// The Connect endpoint's secret is a feature a deployment turns on when it sets the endpoint up:
// an upgrade with the previous release's settings starts, the endpoint answering not_configured;
// development has a default, so `make dev` takes Connect events.
func TestConnectWebhookSecretOptionalInProduction(t *testing.T) {
	c, err := load(env(productionEnv()))
	require.NoError(t, err)
	require.Empty(t, c.StripeConnectWebhookSecret)

	set := productionEnv()
	set["STRIPE_CONNECT_WEBHOOK_SECRET"] = "whsec_connect_abc"
	c, err = load(env(set))
	require.NoError(t, err)
	require.Equal(t, "whsec_connect_abc", c.StripeConnectWebhookSecret)

	set["STRIPE_CONNECT_WEBHOOK_SECRET"] = "connect"
	_, err = load(env(set))
	require.ErrorContains(t, err, "STRIPE_CONNECT_WEBHOOK_SECRET is malformed")

	c, err = load(env(map[string]string{}))
	require.NoError(t, err)
	require.Equal(t, "whsec_dev_connect", c.StripeConnectWebhookSecret)
}
