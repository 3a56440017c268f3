package config

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLoadReportSettings(t *testing.T) {
	prod := productionEnv()
	tests := []struct {
		name    string
		env     map[string]string
		wantErr string
		check   func(t *testing.T, r Reports)
	}{
		{name: "development: the local S3 and SMTP servers", env: nil, check: func(t *testing.T, r Reports) {
			assert.Equal(t, Reports{S3Endpoint: "http://127.0.0.1:9100", S3Bucket: "paysplit-reports", S3Region: "us-east-1",
				S3AccessKeyID: "paysplit-dev", S3SecretAccessKey: "paysplit-dev-secret", S3SSE: "AES256", PresignTTL: 15 * time.Minute,
				SMTPAddr: "127.0.0.1:1025", SMTPTLS: "opportunistic", MailFrom: "paysplit reports <reports@paysplit.localhost>", Fonts: "auto"}, r)
			assert.True(t, r.Enabled())
		}},
		{name: "production without settings: reports off, nothing local", env: prod, check: func(t *testing.T, r Reports) {
			assert.Equal(t, Reports{S3SSE: "AES256", PresignTTL: 15 * time.Minute, SMTPTLS: "opportunistic", Fonts: "auto"}, r)
			assert.False(t, r.Enabled())
			assert.False(t, r.TurnedOff(), "a process without S3_BUCKET does not turn reports off for the fleet")
		}},
		{name: "reports off for the deployment", env: with(prod, "REPORTS", "off"), check: func(t *testing.T, r Reports) {
			assert.False(t, r.Enabled())
			assert.True(t, r.TurnedOff())
		}},
		{name: "reports off wins over a bucket", env: map[string]string{"REPORTS": "off"}, check: func(t *testing.T, r Reports) {
			assert.Equal(t, "paysplit-reports", r.S3Bucket)
			assert.False(t, r.Enabled())
			assert.True(t, r.TurnedOff())
		}},
		{name: "reports on with a bucket", env: with(prod, "REPORTS", "on", "S3_BUCKET", "paysplit-production-reports-1"), check: func(t *testing.T, r Reports) {
			assert.True(t, r.Enabled())
			assert.False(t, r.TurnedOff())
		}},
		{name: "reports on without a bucket", env: with(prod, "REPORTS", "on"), wantErr: "REPORTS=on needs S3_BUCKET"},
		{name: "reports neither on nor off", env: map[string]string{"REPORTS": "false"}, wantErr: "REPORTS is malformed"},
		{name: "production on AWS with the task role and KMS", env: with(prod, "S3_BUCKET", "paysplit-production-reports-1",
			"S3_SSE", "aws:kms", "S3_SSE_KMS_KEY_ID", "alias/paysplit-reports", "REPORT_SMTP_ADDR", "email-smtp.eu-west-1.amazonaws.com:587",
			"REPORT_SMTP_USERNAME", "AKIA", "REPORT_SMTP_PASSWORD", "secret", "REPORT_SMTP_TLS", "mandatory", "REPORT_MAIL_FROM", "reports@example.com"),
			check: func(t *testing.T, r Reports) {
				assert.Empty(t, r.S3Endpoint)
				assert.Empty(t, r.S3AccessKeyID, "default credential chain")
				assert.Equal(t, "aws:kms", r.S3SSE)
				assert.Equal(t, "mandatory", r.SMTPTLS)
			}},
		{name: "production smtp needs a sender", env: with(prod, "REPORT_SMTP_ADDR", "smtp.example.com:587"), wantErr: "REPORT_MAIL_FROM is required"},
		{name: "key without secret", env: map[string]string{"S3_SECRET_ACCESS_KEY": ""}, check: func(t *testing.T, r Reports) {
			assert.Equal(t, "paysplit-dev-secret", r.S3SecretAccessKey, "an empty value takes the default")
		}},
		{name: "production key without secret", env: with(prod, "S3_ACCESS_KEY_ID", "AKIA"), wantErr: "S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY"},
		{name: "kms key without kms", env: map[string]string{"S3_SSE_KMS_KEY_ID": "k"}, wantErr: "S3_SSE=aws:kms"},
		{name: "unknown encryption", env: map[string]string{"S3_SSE": "none"}, wantErr: "S3_SSE is malformed"},
		{name: "bad bucket", env: map[string]string{"S3_BUCKET": "Reports_Bucket"}, wantErr: "S3_BUCKET is malformed"},
		{name: "bad endpoint", env: map[string]string{"S3_ENDPOINT": "127.0.0.1:9100"}, wantErr: "S3_ENDPOINT is malformed"},
		{name: "link too long", env: map[string]string{"S3_PRESIGN_TTL": "200h"}, wantErr: "S3_PRESIGN_TTL is malformed"},
		{name: "bad sender", env: map[string]string{"REPORT_MAIL_FROM": "reports"}, wantErr: "REPORT_MAIL_FROM is malformed"},
		{name: "password in clear", env: map[string]string{"REPORT_SMTP_USERNAME": "u", "REPORT_SMTP_PASSWORD": "p", "REPORT_SMTP_TLS": "none"},
			wantErr: "clear text"},
		{name: "fonts listed", env: map[string]string{"REPORT_FONTS": "/opt/fonts/A-Regular.ttf, /opt/fonts/B.TTF"}, check: func(t *testing.T, r Reports) {
			assert.Equal(t, []string{"/opt/fonts/A-Regular.ttf", "/opt/fonts/B.TTF"}, r.FontPaths())
		}},
		{name: "no fallback fonts", env: map[string]string{"REPORT_FONTS": "none"}, check: func(t *testing.T, r Reports) {
			assert.Nil(t, r.FontPaths())
		}},
		{name: "relative font path", env: map[string]string{"REPORT_FONTS": "fonts/A.ttf"}, wantErr: "REPORT_FONTS is malformed"},
		{name: "font collection", env: map[string]string{"REPORT_FONTS": "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"}, wantErr: "TrueType"},
		{name: "user without password", env: map[string]string{"REPORT_SMTP_USERNAME": "u"}, wantErr: "REPORT_SMTP_USERNAME and REPORT_SMTP_PASSWORD"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := load(env(tt.env))
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			tt.check(t, c.Reports)
		})
	}
}
