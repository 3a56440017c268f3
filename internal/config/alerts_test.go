package config

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLoadAlertSettings(t *testing.T) {
	prod := productionEnv()
	tests := []struct {
		name    string
		env     map[string]string
		wantErr string
		check   func(t *testing.T, c Config)
	}{
		{name: "defaults: alerts off, daily verification, monitors every 15m", env: nil, check: func(t *testing.T, c Config) {
			assert.Empty(t, c.AlertWebhookURL)
			assert.Empty(t, c.SMTPAddr)
			assert.Equal(t, "0 3 * * *", c.IntegrityVerifyCron)
			assert.Equal(t, 15*time.Minute, c.MonitorEvery)
		}},
		{name: "webhook in development gets a dev secret", env: map[string]string{"ALERT_WEBHOOK_URL": "http://127.0.0.1:9000/hook"},
			check: func(t *testing.T, c Config) { assert.Equal(t, devAlertWebhookSecret, c.AlertWebhookSecret) }},
		{name: "email", env: map[string]string{"SMTP_ADDR": "127.0.0.1:1025", "ALERT_EMAIL_TO": "ops@example.com, finance@example.com"},
			check: func(t *testing.T, c Config) {
				assert.Equal(t, []string{"ops@example.com", "finance@example.com"}, c.AlertEmailTo)
			}},
		{name: "monitors with the daily round only", env: map[string]string{"MONITOR_EVAL_EVERY": "0s"},
			check: func(t *testing.T, c Config) { assert.Zero(t, c.MonitorEvery) }},
		{name: "production webhook needs its secret", env: with(prod, "ALERT_WEBHOOK_URL", "https://hooks.example.com/x"),
			wantErr: "ALERT_WEBHOOK_SECRET is required"},
		{name: "production webhook with secret", env: with(prod, "ALERT_WEBHOOK_URL", "https://hooks.example.com/x", "ALERT_WEBHOOK_SECRET", strings.Repeat("s", 32)),
			check: func(t *testing.T, c Config) { assert.Equal(t, strings.Repeat("s", 32), c.AlertWebhookSecret) }},
		{name: "short secret", env: map[string]string{"ALERT_WEBHOOK_SECRET": "short"}, wantErr: "ALERT_WEBHOOK_SECRET is malformed"},
		{name: "bad webhook url", env: map[string]string{"ALERT_WEBHOOK_URL": "ftp://x"}, wantErr: "ALERT_WEBHOOK_URL is malformed"},
		{name: "smtp without recipients", env: map[string]string{"SMTP_ADDR": "127.0.0.1:25"}, wantErr: "ALERT_EMAIL_TO is required"},
		{name: "bad smtp address", env: map[string]string{"SMTP_ADDR": "mail"}, wantErr: "SMTP_ADDR is malformed"},
		{name: "bad recipient", env: map[string]string{"ALERT_EMAIL_TO": "ops@example.com, nobody"}, wantErr: "ALERT_EMAIL_TO is malformed"},
		{name: "user without password", env: map[string]string{"SMTP_USERNAME": "u"}, wantErr: "SMTP_USERNAME and SMTP_PASSWORD"},
		{name: "bad cron", env: map[string]string{"INTEGRITY_VERIFY_CRON": "daily"}, wantErr: "INTEGRITY_VERIFY_CRON is malformed"},
		{name: "too frequent", env: map[string]string{"MONITOR_EVAL_EVERY": "5s"}, wantErr: "MONITOR_EVAL_EVERY is malformed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := load(env(tt.env))
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				assert.NotContains(t, err.Error(), "\n")
				return
			}
			require.NoError(t, err)
			tt.check(t, c)
		})
	}
}
