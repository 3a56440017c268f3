package config

import (
	"encoding/base64"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestProductionRefusesDevelopmentSecrets: the development values of the secrets are in this
// repository (and in scripts/dev.sh), so production must refuse them when a deployment sets
// one explicitly (a copied .env, a secret filled from the README), exactly as it refuses a
// secret left unset: one line naming the variable, never the value.
func TestProductionRefusesDevelopmentSecrets(t *testing.T) {
	devKey, err := base64.StdEncoding.DecodeString(devSecretsKey)
	require.NoError(t, err)
	tests := []struct {
		name     string
		variable string
		kv       []string
	}{
		{"DATABASE_URL", "DATABASE_URL", []string{"DATABASE_URL", "postgres://postgres@127.0.0.1:5432/paysplit?sslmode=disable"}},
		{"ADMIN_API_KEY", "ADMIN_API_KEY", []string{"ADMIN_API_KEY", "dev-admin-key"}},
		{"STRIPE_API_KEY", "STRIPE_API_KEY", []string{"STRIPE_API_KEY", "sk_test_123"}},
		{"STRIPE_WEBHOOK_SECRET", "STRIPE_WEBHOOK_SECRET", []string{"STRIPE_WEBHOOK_SECRET", "whsec_dev"}},
		{"STRIPE_CONNECT_WEBHOOK_SECRET", "STRIPE_CONNECT_WEBHOOK_SECRET", []string{"STRIPE_CONNECT_WEBHOOK_SECRET", "whsec_dev_connect"}},
		{"SECRETS_KEY", "SECRETS_KEY", []string{"SECRETS_KEY", devSecretsKey}},
		// The same 32 bytes in another base64 alphabet SECRETS_KEY takes.
		{"SECRETS_KEY in another base64 alphabet", "SECRETS_KEY", []string{"SECRETS_KEY", base64.RawURLEncoding.EncodeToString(devKey)}},
		{"ALERT_WEBHOOK_SECRET", "ALERT_WEBHOOK_SECRET", []string{"ALERT_WEBHOOK_URL", "https://hooks.example.com/paysplit", "ALERT_WEBHOOK_SECRET", devAlertWebhookSecret}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := load(env(with(productionEnv(), tt.kv...)))
			require.Error(t, err, "production started on the development %s", tt.variable)
			require.Contains(t, err.Error(), tt.variable)
			require.NotContains(t, err.Error(), tt.kv[len(tt.kv)-1], "the value stays out of the message")

			// Development takes them, as `make dev` sets them.
			dev := with(map[string]string{}, tt.kv...)
			_, err = load(env(dev))
			require.NoError(t, err)
		})
	}
}
