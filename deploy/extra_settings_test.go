package deploy

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/stretchr/testify/require"

	"paysplit/internal/config"
)

// TestExtraSettingsTheirDescriptionsNameAreEnough: extra_env's and extra_secrets' descriptions
// tell an operator which settings to add for mail, alerts and PayPal. Each setting named there
// (with a value of the right shape) is read by the programs, and all of them together start
// production: a setting that needs another one the descriptions do not name (a webhook URL
// without its signing secret, an SMTP password without its user name) would crash-loop both
// services with "config: ... is required".
func TestExtraSettingsTheirDescriptionsNameAreEnough(t *testing.T) {
	f, diags := hclparse.NewParser().ParseHCLFile("terraform/variables.tf")
	require.False(t, diags.HasErrors(), "%s", diags.Error())
	name := regexp.MustCompile(`\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b`)
	var named []string
	for _, b := range f.Body.(*hclsyntax.Body).Blocks {
		if b.Type != "variable" || (b.Labels[0] != "extra_env" && b.Labels[0] != "extra_secrets") {
			continue
		}
		v, d := b.Body.Attributes["description"].Expr.Value(nil)
		require.False(t, d.HasErrors(), "%s", d.Error())
		named = append(named, name.FindAllString(v.AsString(), -1)...)
	}
	slices.Sort(named)
	named = slices.Compact(named)
	require.NotEmpty(t, named)

	// Values of the right shape; the test asks for one it lacks.
	samples := map[string]string{
		"REPORT_SMTP_ADDR": "email-smtp.eu-west-1.amazonaws.com:587", "REPORT_MAIL_FROM": "reports@example.com",
		"REPORT_SMTP_USERNAME": "AKIAEXAMPLE", "REPORT_SMTP_PASSWORD": "smtp-password",
		"SMTP_ADDR": "email-smtp.eu-west-1.amazonaws.com:587", "ALERT_EMAIL_TO": "ops@example.com", "ALERT_EMAIL_FROM": "alerts@example.com",
		"SMTP_USERNAME": "AKIAEXAMPLE", "SMTP_PASSWORD": "smtp-password",
		"ALERT_WEBHOOK_URL": "https://hooks.example.com/paysplit", "ALERT_WEBHOOK_SECRET": "an-alert-webhook-secret-of-some-length",
		"PAYPAL_CLIENT_ID": "paypal-client", "PAYPAL_SECRET": "paypal-secret", "PAYPAL_WEBHOOK_ID": "WH-1",
	}
	env := productionSample()
	read := map[string]bool{}
	for _, n := range named {
		v, ok := samples[n]
		require.True(t, ok, "the descriptions name %s: add a sample value to this test", n)
		env[n] = v
	}
	_, err := config.LoadFrom(func(k string) string {
		read[k] = true
		return env[k]
	})
	require.NoError(t, err, "production with the settings extra_env and extra_secrets name, %v", named)
	for _, n := range named {
		require.True(t, read[n], "the descriptions name %s, which the programs do not read", n)
	}
}

// TestDeploySetsOnlySettingsTheProgramsRead: every variable the task definitions, the secrets
// and the images set is one the programs read; a misspelt name would leave its setting at the
// default without a word (in production, a default such as TEMPORAL_TLS=false or the local
// Temporal address). The other direction, what production requires, is
// TestProductionSettingsAreProvided's.
func TestDeploySetsOnlySettingsTheProgramsRead(t *testing.T) {
	read := map[string]bool{}
	for _, env := range []map[string]string{{}, productionSample()} {
		_, _ = config.LoadFrom(func(k string) string {
			read[k] = true
			return env[k]
		})
	}
	set := map[string]string{}
	patterns := map[string]*regexp.Regexp{
		"terraform/ecs.tf":     regexp.MustCompile(`\{\s*name\s*=\s*"([A-Z][A-Z0-9_]+)",\s*value\s*=`),
		"terraform/secrets.tf": regexp.MustCompile(`\b([A-Z][A-Z0-9_]+)\s+=\s`),
		// The images' ENV lines: ENV K=V K=V.
		"docker/api.Dockerfile":    regexp.MustCompile(`(?m)^ENV\s+(.+)$`),
		"docker/worker.Dockerfile": regexp.MustCompile(`(?m)^ENV\s+(.+)$`),
	}
	for file, re := range patterns {
		b, err := os.ReadFile(file)
		require.NoError(t, err)
		ms := re.FindAllStringSubmatch(string(b), -1)
		require.NotEmpty(t, ms, "%s sets no variables?", file)
		for _, m := range ms {
			for _, kv := range strings.Fields(m[1]) {
				name, _, _ := strings.Cut(kv, "=")
				set[name] = file
			}
		}
	}
	require.Contains(t, set, "DATABASE_URL", "the secrets' names are read from secrets.tf")
	require.Contains(t, set, "API_ADDR", "the images' ENV lines are read")
	for name, file := range set {
		require.True(t, read[name], "%s sets %s, which the programs do not read", file, name)
	}
}

// productionSample is what production requires, with values of the right shape.
func productionSample() map[string]string {
	return map[string]string{
		"APP_ENV": "production", "S3_BUCKET": "reports", "S3_REGION": "eu-west-1",
		"DATABASE_URL":   "postgres://app:secret@db.internal:5432/paysplit?sslmode=require",
		"ADMIN_API_KEY":  "an-admin-key-of-some-length",
		"STRIPE_API_KEY": "sk_live_123", "STRIPE_WEBHOOK_SECRET": "whsec_123",
		"SECRETS_KEY": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
	}
}
