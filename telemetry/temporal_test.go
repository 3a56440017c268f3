package telemetry_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paysplit/internal/config"
	"paysplit/telemetry"
)

func TestClientOptionsConnection(t *testing.T) {
	certPEM, keyPEM := selfSigned(t)
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "client.pem"), filepath.Join(dir, "client.key")
	require.NoError(t, os.WriteFile(certFile, certPEM, 0o600))
	require.NoError(t, os.WriteFile(keyFile, keyPEM, 0o600))
	tel, err := telemetry.New(t.Context(), telemetry.Options{Service: "test", Logger: quiet})
	require.NoError(t, err)
	t.Cleanup(func() { _ = tel.Shutdown(context.Background()) })

	base := config.Config{TemporalAddress: "ns.acct.tmprl.cloud:7233", TemporalNamespace: "ns.acct"}
	tests := []struct {
		name       string
		change     func(c *config.Config)
		wantTLS    bool
		wantCert   bool
		wantAPIKey bool
		wantErr    string
	}{
		{name: "plain (dev server)", change: func(*config.Config) {}},
		{name: "API key over TLS", change: func(c *config.Config) { c.TemporalAPIKey, c.TemporalTLS = "secret-key", true }, wantTLS: true, wantAPIKey: true},
		{name: "mTLS from PEM text", change: func(c *config.Config) {
			c.TemporalTLSCert, c.TemporalTLSKey, c.TemporalTLS = string(certPEM), string(keyPEM), true
		}, wantTLS: true, wantCert: true},
		{name: "mTLS from files", change: func(c *config.Config) {
			c.TemporalTLSCert, c.TemporalTLSKey, c.TemporalTLS = certFile, keyFile, true
		}, wantTLS: true, wantCert: true},
		{name: "unreadable key file", change: func(c *config.Config) {
			c.TemporalTLSCert, c.TemporalTLSKey, c.TemporalTLS = certFile, "MIIEv-not-a-pem-secret", true
		}, wantErr: "TEMPORAL_TLS_KEY is neither PEM text nor a readable file"},
		{name: "key that does not match", change: func(c *config.Config) {
			_, otherKey := selfSigned(t)
			c.TemporalTLSCert, c.TemporalTLSKey, c.TemporalTLS = string(certPEM), string(otherKey), true
		}, wantErr: "temporal client certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := base
			tt.change(&cfg)
			opts, err := tel.ClientOptions(cfg)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				require.NotContains(t, err.Error(), "MIIEv", "no secret material in the error")
				return
			}
			require.NoError(t, err)
			require.Equal(t, cfg.TemporalAddress, opts.HostPort)
			require.Equal(t, cfg.TemporalNamespace, opts.Namespace)
			require.NotNil(t, opts.MetricsHandler)
			require.Len(t, opts.Interceptors, 1, "tracing")
			require.Equal(t, tt.wantTLS, opts.ConnectionOptions.TLS != nil)
			if tt.wantTLS {
				require.Equal(t, tt.wantCert, len(opts.ConnectionOptions.TLS.Certificates) == 1)
			}
			require.Equal(t, tt.wantAPIKey, opts.Credentials != nil)
		})
	}
}

func selfSigned(t *testing.T) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "paysplit-test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	keyDER, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
}
