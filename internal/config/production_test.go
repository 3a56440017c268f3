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
		// The local S3 server's credential (cmd/devservices), the development default: optional in
		// production (the SDK's chain), but never the one published here.
		{"S3_SECRET_ACCESS_KEY", "S3_SECRET_ACCESS_KEY", []string{"S3_ENDPOINT", "https://s3.internal.example.com", "S3_BUCKET", "paysplit-reports",
			"S3_ACCESS_KEY_ID", "paysplit-dev", "S3_SECRET_ACCESS_KEY", "paysplit-dev-secret"}},
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

// TestProductionAlertEmailNeedsItsSender: in production, alert emails went out from the
// development sender paysplit-alerts@localhost whenever SMTP_ADDR was set without
// ALERT_EMAIL_FROM, which a relay that checks senders (Amazon SES takes verified identities only)
// refuses, so ledger and monitor alerts were lost when they were sent, not at start. As
// REPORT_MAIL_FROM with REPORT_SMTP_ADDR, production requires the sender with the server.
func TestProductionAlertEmailNeedsItsSender(t *testing.T) {
	email := with(productionEnv(), "SMTP_ADDR", "email-smtp.eu-west-1.amazonaws.com:587", "ALERT_EMAIL_TO", "ops@example.com")
	c, err := load(env(email))
	require.Error(t, err, "production mails alerts from %q", c.AlertEmailFrom)
	require.ErrorContains(t, err, "config: ALERT_EMAIL_FROM is required when SMTP_ADDR is set")

	c, err = load(env(with(email, "ALERT_EMAIL_FROM", "paysplit alerts <alerts@example.com>")))
	require.NoError(t, err)
	require.Equal(t, "paysplit alerts <alerts@example.com>", c.AlertEmailFrom)

	// Without alert email, production needs no sender; development keeps its default.
	_, err = load(env(productionEnv()))
	require.NoError(t, err)
	c, err = load(env(map[string]string{"SMTP_ADDR": "127.0.0.1:1025", "ALERT_EMAIL_TO": "ops@example.com"}))
	require.NoError(t, err)
	require.Equal(t, "paysplit-alerts@localhost", c.AlertEmailFrom)
}

// TestProductionWithoutTemporalUIURLLinksNowhere: TEMPORAL_UI_URL's default is the development
// Temporal UI (http://127.0.0.1:8233). A production worker without it sent on-call an alert
// email and webhook message about a payment linking to localhost, and the API handed admins
// the same links. Production has no default: unset, no workflow link is given (the alerts and
// the admin API leave it out, as they do for an empty one); development keeps its default.
func TestProductionWithoutTemporalUIURLLinksNowhere(t *testing.T) {
	c, err := load(env(productionEnv()))
	require.NoError(t, err, "a production deployment without TEMPORAL_UI_URL still starts")
	require.Empty(t, c.TemporalUIURL, "production links to the development Temporal UI")

	c, err = load(env(with(productionEnv(), "TEMPORAL_UI_URL", "https://cloud.temporal.io")))
	require.NoError(t, err)
	require.Equal(t, "https://cloud.temporal.io", c.TemporalUIURL)

	c, err = load(env(map[string]string{}))
	require.NoError(t, err)
	require.Equal(t, "http://127.0.0.1:8233", c.TemporalUIURL)
}
