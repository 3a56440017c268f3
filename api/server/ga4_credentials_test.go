package server_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paysplit/api/server"
	"paysplit/internal/kpi"
	"paysplit/internal/kpi/ga4"
	"paysplit/internal/kpi/kpisrc"
)

// TestGA4CredentialsRefReachesOnlyGA4Keys: ga4_credentials_ref named any environment variable or
// absolute file, so an admin could point GA4 at the deployment's other secrets
// (env:STRIPE_API_KEY, env:SECRETS_KEY, file:/proc/self/environ); refs are now GA4_* variables
// or files in the configured GA4 credentials directory, and anything else is 400.
func TestGA4CredentialsRefReachesOnlyGA4Keys(t *testing.T) {
	a := newAPI(t, func(d *server.Deps) { d.GA4CredentialsDir = "/etc/paysplit/ga4" })
	c := a.newClient("ga4ref")
	tests := []struct {
		ref    string
		status int
	}{
		{"env:GA4_KEY_NORTHWIND", http.StatusOK},
		{"file:/etc/paysplit/ga4/northwind.json", http.StatusOK},
		{"env:STRIPE_API_KEY", http.StatusBadRequest},
		{"env:SECRETS_KEY", http.StatusBadRequest},
		{"env:ADMIN_API_KEY", http.StatusBadRequest},
		{"env:GA4_BAD-NAME", http.StatusBadRequest},
		{"file:/proc/self/environ", http.StatusBadRequest},
		{"file:/etc/paysplit/ga4/../../passwd", http.StatusBadRequest},
		{"file:/etc/paysplit/ga4", http.StatusBadRequest},
		{"file:/etc/paysplit/ga4-other/key.json", http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			code, body := a.json(req{method: http.MethodPut, path: "/api/v1/admin/clients/" + c + "/kpi-settings", key: adminKey,
				body: map[string]any{"ga4_property_id": "123456789", "ga4_credentials_ref": tt.ref}})
			require.Equal(t, tt.status, code, body)
			if tt.status == http.StatusBadRequest {
				raw, _ := json.Marshal(body)
				require.NotContains(t, string(raw), tt.ref[4:], "the refusal does not echo the reference")
			}
		})
	}
}

// TestGA4CredentialErrorsDoNotQuoteTheSecret: a GA4 variable that holds something other than a
// service-account key made Google's library answer with part of it ("credentials: unsupported
// filetype \"<the value of type>\"", "invalid character 's'..."), and that text became the
// GA4 source's error shown to admins in GET /api/v1/kpis (source_errors) and stored as
// last_error. The error now says only that the variable holds no service-account key.
func TestGA4CredentialErrorsDoNotQuoteTheSecret(t *testing.T) {
	const secret = "sk_live_DO_NOT_SHOW_4242"
	now := time.Date(2026, 6, 15, 12, 0, 0, 0, time.UTC)
	for _, content := range []string{
		`{"type":"` + secret + `"}`,
		secret,
		`{"type":"service_account","client_email":"` + secret + `"}`,
		`{"type":"service_account","client_email":"a@b.c","private_key":"` + secret + `"}`,
	} {
		t.Run(content, func(t *testing.T) {
			a := newAPI(t, func(d *server.Deps) {
				d.Now = func() time.Time { return now }
				factory := &kpisrc.Factory{Store: d.Store, GA4: ga4.Options{Getenv: func(string) string { return content }}}
				d.KPIs = &kpi.Reader{Hot: d.Store, Cold: factory.Cold, RetentionDays: 7, StaleAfter: time.Hour, Now: func() time.Time { return now }}
			})
			c := a.newClient("ga4leak")
			code, body := a.json(req{method: http.MethodPut, path: "/api/v1/admin/clients/" + c + "/kpi-settings", key: adminKey,
				body: map[string]any{"ga4_property_id": "123456789", "ga4_credentials_ref": "env:GA4_KEY_LEAKY"}})
			require.Equal(t, http.StatusOK, code, body)

			code, body = a.json(req{method: http.MethodGet, path: "/api/v1/kpis?client_id=" + c + "&from=2026-04-01&to=2026-04-30", key: adminKey})
			require.Equal(t, http.StatusOK, code, body)
			errs, _ := json.Marshal(body["source_errors"])
			require.Contains(t, string(errs), `"source":"ga4"`, "GA4 failed for the cold days")
			require.NotContains(t, string(errs), secret, "the credential's content is shown to admins")
			require.NotContains(t, string(errs), secret[:6], "not even part of it")
		})
	}
}
