package main

import (
	"testing"

	"github.com/stretchr/testify/require"

	"paysplit/api/server"
	"paysplit/internal/config"
	"paysplit/internal/paypalhook"
	"paysplit/testenv"
)

// TestPayPalVerifierTrustsOnlyItsEnvironmentsCertificates: the offline verifier the API builds
// from its configuration takes signing certificates from the PayPal environment PAYPAL_API_BASE
// names only. Anyone can have the sandbox sign webhooks, so a live deployment that took a
// certificate from api.sandbox.paypal.com (before: any *.paypal.com host) would trust
// signatures anyone can obtain; a sandbox deployment has no business with live certificates.
func TestPayPalVerifierTrustsOnlyItsEnvironmentsCertificates(t *testing.T) {
	pp := testenv.NewPayPal(t)
	body := []byte(`{"id":"WH-1","event_type":"PAYMENT.CAPTURE.COMPLETED"}`)
	const (
		liveCert    = "https://api.paypal.com/v1/notifications/certs/CERT-paysplit-test"
		liveMCert   = "https://api-m.paypal.com/v1/notifications/certs/CERT-paysplit-test"
		sandboxCert = "https://api.sandbox.paypal.com/v1/notifications/certs/CERT-paysplit-test"
	)
	tests := []struct {
		name, apiBase, certURL string
		verified               bool
	}{
		{"live takes live", "https://api-m.paypal.com", liveCert, true},
		{"live takes live (api-m)", "https://api-m.paypal.com", liveMCert, true},
		{"live refuses sandbox", "https://api-m.paypal.com", sandboxCert, false},
		{"live (api host) refuses sandbox", "https://api.paypal.com/", sandboxCert, false},
		{"live refuses another PayPal host", "https://api-m.paypal.com", "https://www.paypal.com/v1/notifications/certs/CERT-paysplit-test", false},
		{"live refuses another path", "https://api-m.paypal.com", "https://api.paypal.com/v1/oauth2/CERT-paysplit-test", false},
		{"sandbox takes sandbox", "https://api-m.sandbox.paypal.com", sandboxCert, true},
		{"sandbox refuses live", "https://api-m.sandbox.paypal.com", liveCert, false},
		{"a stand-in is the sandbox", "https://127.0.0.1:8443", sandboxCert, true},
		{"a stand-in refuses live", "https://127.0.0.1:8443", liveCert, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, ok := paypalVerifier(config.Config{PayPalWebhookID: pp.WebhookID, PayPalWebhookVerify: "offline", PayPalAPIBase: tt.apiBase}).(server.OfflinePayPalVerifier)
			require.True(t, ok, "offline verification")
			v.V.HTTP = pp.HTTPClient()
			pp.CertURL = tt.certURL
			err := v.Verify(t.Context(), pp.Sign(body), body)
			if tt.verified {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, paypalhook.ErrUnverified)
		})
	}
}

// TestProductionUpgradeKeepsLivePayPalWebhooks: a live deployment upgraded with the settings the
// previous release ran on. deploy/terraform sets no PAYPAL_API_BASE and the README documents
// PayPal webhooks (PAYPAL_WEBHOOK_ID, offline verification) without payout credentials, so a
// deployment taking live PayPal captures had no reason to set it: the previous release took the
// live certificate (any *.paypal.com host). Now an unset PAYPAL_API_BASE is the sandbox's
// default even with APP_ENV=production, and every live delivery is refused (400), silently, from
// the first new API task on. Production must either refuse to start without PAYPAL_API_BASE
// (one line naming it, as for any setting it lacks) or take PayPal's live certificates.
func TestProductionUpgradeKeepsLivePayPalWebhooks(t *testing.T) {
	pp := testenv.NewPayPal(t)
	env := map[string]string{
		"APP_ENV":               "production",
		"DATABASE_URL":          "postgres://app:secret@db.internal:5432/paysplit?sslmode=require",
		"ADMIN_API_KEY":         "an-admin-key-of-some-length",
		"STRIPE_API_KEY":        "sk_live_123",
		"STRIPE_WEBHOOK_SECRET": "whsec_123",
		"SECRETS_KEY":           "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
		"S3_BUCKET":             "reports",
		"S3_REGION":             "eu-west-1",
		// The previous release's PayPal settings of a live deployment without PayPal payouts.
		"PAYPAL_WEBHOOK_ID": pp.WebhookID,
	}
	cfg, err := config.LoadFrom(func(k string) string { return env[k] })
	if err != nil {
		require.Contains(t, err.Error(), "PAYPAL_API_BASE", "production refuses to start: it must name the setting")
		return
	}
	v, ok := paypalVerifier(cfg).(server.OfflinePayPalVerifier)
	require.True(t, ok, "offline verification")
	v.V.HTTP = pp.HTTPClient()
	pp.CertURL = "https://api.paypal.com/v1/notifications/certs/CERT-paysplit-test"
	body := []byte(`{"id":"WH-1","event_type":"PAYMENT.CAPTURE.COMPLETED"}`)
	require.NoError(t, v.Verify(t.Context(), pp.Sign(body), body),
		"a live PayPal delivery the previous release verified is refused after the upgrade: production started on the sandbox default PAYPAL_API_BASE=%s", cfg.PayPalAPIBase)
}
