package ga4_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"paysplit/internal/kpi"
	"paysplit/internal/kpi/ga4"
	"paysplit/internal/kpi/kpitest"
)

// TestCheckRef: env: refs name GA4_ variables, file: refs clean paths inside the credentials
// directory (none without one); nothing else, and the refusal never echoes the ref.
func TestCheckRef(t *testing.T) {
	for _, tt := range []struct {
		ref, dir string
		ok       bool
	}{
		{"env:GA4_KEY_NORTHWIND", "", true},
		{"env:GA4_", "", false},
		{"env:STRIPE_API_KEY", "/keys", false},
		{"env:ga4_key", "", false},
		{"file:/keys/northwind.json", "/keys", true},
		{"file:/keys/sub/northwind.json", "/keys/", true},
		{"file:/keys/northwind.json", "", false},
		{"file:/keys", "/keys", false},
		{"file:/keys/../etc/passwd", "/keys", false},
		{"file:/keys-other/k.json", "/keys", false},
		{"file:keys/k.json", "/keys", false},
		{"file:/proc/self/environ", "/keys", false},
		{"vault:ga4", "/keys", false},
	} {
		err := ga4.CheckRef(tt.ref, tt.dir)
		if tt.ok {
			require.NoError(t, err, tt.ref)
			continue
		}
		require.ErrorIs(t, err, ga4.ErrBadRef, tt.ref)
		if v := tt.ref[4:]; v != "GA4_" { // the one ref the rule's own words contain
			require.NotContains(t, err.Error(), v, "the refusal echoes the ref")
		}
	}
}

// TestNewReadsOnlyServiceAccountKeys: what a ref points at must be a service-account key, and the
// error when it is not quotes nothing of it (Google's library did: `unsupported filetype "..."`);
// a symbolic link in the credentials directory cannot lead outside it.
func TestNewReadsOnlyServiceAccountKeys(t *testing.T) {
	const secret = "sk_live_DO_NOT_SHOW_4242"
	g := kpitest.NewGA4(t)
	dir := t.TempDir()
	outside := filepath.Join(t.TempDir(), "key.json")
	require.NoError(t, os.WriteFile(outside, g.ServiceAccountJSON(t), 0o600))
	require.NoError(t, os.Symlink(outside, filepath.Join(dir, "escape.json")))
	for _, tt := range []struct {
		name, content string
	}{
		{"a string", secret},
		{"JSON of another type", `{"type":"` + secret + `"}`},
		{"a service account without a key", `{"type":"service_account","client_email":"` + secret + `"}`},
		{"a key that is not PEM", `{"type":"service_account","client_email":"a@b.c","private_key":"` + secret + `"}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			require.NoError(t, os.WriteFile(filepath.Join(dir, "k.json"), []byte(tt.content), 0o600))
			for _, ref := range []string{"env:GA4_K", "file:" + filepath.Join(dir, "k.json")} {
				_, err := ga4.New(t.Context(), "1", ref, ga4.Options{Endpoint: g.URL, CredentialsDir: dir, Getenv: func(string) string { return tt.content }})
				require.Error(t, err, ref)
				require.True(t, kpi.IsPermanent(err), "%v", err)
				require.NotContains(t, err.Error(), secret, ref)
			}
		})
	}
	t.Run("symbolic link out of the directory", func(t *testing.T) {
		_, err := ga4.New(t.Context(), "1", "file:"+filepath.Join(dir, "escape.json"), ga4.Options{Endpoint: g.URL, CredentialsDir: dir})
		require.Error(t, err)
		require.True(t, kpi.IsPermanent(err), "%v", err)
		var pe *os.PathError
		require.True(t, errors.As(err, &pe), "refused by the root: %v", err)
	})
}
