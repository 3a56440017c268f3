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
