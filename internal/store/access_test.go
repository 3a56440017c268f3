package store_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paysplit/internal/secrets"
	"paysplit/internal/store"
	"paysplit/testenv"
)

var seq atomic.Int64

// newClient creates a client with a name unique to this test binary run.
func newClient(t *testing.T, s *store.Store, prefix string) string {
	t.Helper()
	id := fmt.Sprintf("%s-%d-%d", prefix, time.Now().UnixNano()%1e9, seq.Add(1))
	_, _, err := s.UpsertClient(context.Background(), store.Client{ID: id, Name: "Shop " + id, DefaultCurrency: "usd"})
	require.NoError(t, err)
	return id
}

func testBox(t *testing.T, b byte) *secrets.Box {
	t.Helper()
	box, err := secrets.New(bytes.Repeat([]byte{b}, 32))
	require.NoError(t, err)
	return box
}

func TestAPIKeys(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	s := store.New(pool)
	ctx := t.Context()
	client := newClient(t, s, "keys")

	invalid := []struct {
		name, role, client string
	}{
		{"admin key with a client", store.RoleAdmin, client},
		{"client key without a client", store.RoleClient, ""},
		{"client key of an unknown client", store.RoleClient, "ghost-client"},
		{"unknown role", "owner", ""},
	}
	for _, tt := range invalid {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := s.CreateAPIKey(ctx, tt.role, tt.client, "x", "test")
			require.ErrorIs(t, err, store.ErrInvalid)
		})
	}

	k, secret, err := s.CreateAPIKey(ctx, store.RoleClient, client, "reporting", "admin:bootstrap")
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(secret, "psk_"), secret)
	require.GreaterOrEqual(t, len(secret), 4+43, "256 random bits")
	require.Equal(t, client, k.ClientID)

	// Only the hash is stored: no column of the row holds the key.
	var row string
	require.NoError(t, pool.QueryRow(ctx, `SELECT row_to_json(k)::text FROM api_keys k WHERE id = $1`, k.ID).Scan(&row))
	require.NotContains(t, row, secret)
	require.NotContains(t, row, strings.TrimPrefix(secret, "psk_"))
	var hash []byte
	require.NoError(t, pool.QueryRow(ctx, `SELECT key_hash FROM api_keys WHERE id = $1`, k.ID).Scan(&hash))
	want := sha256.Sum256([]byte(secret))
	require.Equal(t, want[:], hash)

	got, err := s.APIKeyByToken(ctx, secret)
	require.NoError(t, err)
	require.Equal(t, k.ID, got.ID)
	require.Equal(t, store.RoleClient, got.Role)
	_, err = s.APIKeyByToken(ctx, secret+"x")
	require.ErrorIs(t, err, store.ErrNotFound)

	// A second key never equals the first.
	_, secret2, err := s.CreateAPIKey(ctx, store.RoleAdmin, "", "ops", "admin:bootstrap")
	require.NoError(t, err)
	require.NotEqual(t, secret, secret2)

	keys, err := s.ListAPIKeys(ctx, client)
	require.NoError(t, err)
	require.Len(t, keys, 1)
	require.Equal(t, k.ID, keys[0].ID)
}

func TestSessionsEndWithTheirKey(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	s := store.New(pool)
	ctx := t.Context()
	client := newClient(t, s, "sess")
	k, _, err := s.CreateAPIKey(ctx, store.RoleClient, client, "", "test")
	require.NoError(t, err)

	token, csrf, err := s.CreateSession(ctx, store.Session{KeyID: k.ID, Role: store.RoleClient, ClientID: client, ExpiresAt: time.Now().Add(time.Hour)})
	require.NoError(t, err)
	require.NotEqual(t, token, csrf)
	sess, err := s.SessionByToken(ctx, token, "")
	require.NoError(t, err)
	require.Equal(t, client, sess.ClientID)
	sum := sha256.Sum256([]byte(csrf))
	require.Equal(t, sum[:], sess.CSRFHash)

	bootstrap, _, err := s.CreateSession(ctx, store.Session{KeyID: store.BootstrapKeyID, Role: store.RoleAdmin, BootstrapKey: "admin-key-one", ExpiresAt: time.Now().Add(time.Hour)})
	require.NoError(t, err)
	_, err = s.SessionByToken(ctx, bootstrap, "admin-key-one")
	require.NoError(t, err, "the bootstrap admin key has no api_keys row and still logs in")

	expired, _, err := s.CreateSession(ctx, store.Session{KeyID: k.ID, Role: store.RoleClient, ClientID: client, ExpiresAt: time.Now().Add(-time.Second)})
	require.NoError(t, err)
	_, err = s.SessionByToken(ctx, expired, "")
	require.ErrorIs(t, err, store.ErrNotFound)

	revoked, err := s.RevokeAPIKey(ctx, k.ID)
	require.NoError(t, err)
	require.NotNil(t, revoked.RevokedAt)
	_, err = s.SessionByToken(ctx, token, "")
	require.ErrorIs(t, err, store.ErrNotFound, "revoking a key ends its sessions")
	again, err := s.RevokeAPIKey(ctx, k.ID)
	require.NoError(t, err)
	require.Equal(t, revoked.RevokedAt.UnixMicro(), again.RevokedAt.UnixMicro(), "revoking twice keeps the first time")

	require.NoError(t, s.DeleteSession(ctx, bootstrap))
	_, err = s.SessionByToken(ctx, bootstrap, "admin-key-one")
	require.ErrorIs(t, err, store.ErrNotFound)
}

// TestBootstrapSessionsEndWithTheKey: a session of the bootstrap ADMIN_API_KEY is bound to that
// key (it has no api_keys row to revoke): once the configured key is another, the session is
// refused. The row keeps nothing that helps guess the key.
func TestBootstrapSessionsEndWithTheKey(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	s := store.New(pool)
	ctx := t.Context()
	const key = "bootstrap-key-one"
	token, _, err := s.CreateSession(ctx, store.Session{KeyID: store.BootstrapKeyID, Role: store.RoleAdmin, BootstrapKey: key, ExpiresAt: time.Now().Add(time.Hour)})
	require.NoError(t, err)

	for _, tt := range []struct {
		name, configured string
		live             bool
	}{
		{"the key it was opened with", key, true},
		{"a rotated key", "bootstrap-key-two", false},
		{"the key with a character more", key + "x", false},
		{"no bootstrap key configured", "", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sess, err := s.SessionByToken(ctx, token, tt.configured)
			if !tt.live {
				require.ErrorIs(t, err, store.ErrNotFound)
				return
			}
			require.NoError(t, err)
			require.Equal(t, store.BootstrapKeyID, sess.KeyID)
			require.Equal(t, store.RoleAdmin, sess.Role)
		})
	}

	var mac []byte
	require.NoError(t, pool.QueryRow(ctx, `SELECT key_mac FROM sessions WHERE token_hash = $1`, store.HashToken(token)).Scan(&mac))
	require.Len(t, mac, sha256.Size)
	plain := sha256.Sum256([]byte(key))
	require.NotEqual(t, plain[:], mac, "not a bare hash of the key, which a short key could be guessed from")

	for _, bad := range []store.Session{
		{KeyID: store.BootstrapKeyID, Role: store.RoleAdmin, ExpiresAt: time.Now().Add(time.Hour)},
		{KeyID: "key_other", Role: store.RoleAdmin, BootstrapKey: key, ExpiresAt: time.Now().Add(time.Hour)},
	} {
		_, _, err := s.CreateSession(ctx, bad)
		require.ErrorIs(t, err, store.ErrInvalid, "%+v", bad)
	}
}

func TestAuditIsAtomicAndAppendOnly(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	s := store.New(pool)
	ctx := t.Context()
	target := fmt.Sprintf("client:audit-%d", time.Now().UnixNano())

	// A change that fails leaves no audit entry, and the other way round.
	boom := errors.New("boom")
	err := s.InTx(ctx, func(tx *store.Store) error {
		require.NoError(t, tx.LockTarget(ctx, target))
		require.NoError(t, tx.Audit(ctx, "admin:test", "client.upsert", target, "req-0", nil, map[string]any{"name": "lost"}))
		return boom
	})
	require.ErrorIs(t, err, boom)
	for i := 1; i <= 5; i++ {
		require.NoError(t, s.InTx(ctx, func(tx *store.Store) error {
			return tx.Audit(ctx, "admin:test", "client.upsert", target, fmt.Sprintf("req-%d", i),
				map[string]any{"n": i - 1}, map[string]any{"n": i})
		}))
	}
	var all []store.AuditEntry
	var before int64
	for {
		page, err := s.ListAudit(ctx, store.AuditFilter{Target: target, BeforeID: before, Limit: 2})
		require.NoError(t, err)
		if len(page) == 0 {
			break
		}
		all = append(all, page...)
		before = page[len(page)-1].ID
	}
	require.Len(t, all, 5, "the rolled-back entry is not there")
	for i, e := range all {
		require.Equal(t, fmt.Sprintf("req-%d", 5-i), e.RequestID, "newest first")
		require.JSONEq(t, fmt.Sprintf(`{"n": %d}`, 5-i), string(e.After))
		require.JSONEq(t, fmt.Sprintf(`{"n": %d}`, 4-i), string(e.Before))
	}

	for _, stmt := range []string{`UPDATE audit_log SET actor = 'x' WHERE target = $1`, `DELETE FROM audit_log WHERE target = $1`} {
		_, err := pool.Exec(ctx, stmt, target)
		require.Error(t, err, stmt)
		require.Contains(t, err.Error(), "append-only")
	}
}

func TestWebhookSecretsAreSealedAtRest(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	ctx := t.Context()
	s := store.New(pool, store.WithSecrets(testBox(t, 7)))
	a, b := newClient(t, s, "seca"), newClient(t, s, "secb")

	_, _, err := store.New(pool).SetClientWebhookSecret(ctx, a, "shopify", []byte("whsec_shopify_a"), "t")
	require.ErrorIs(t, err, store.ErrNoSecretsKey)
	_, _, err = s.SetClientWebhookSecret(ctx, a, "Shop ify", []byte("whsec_shopify_a"), "t")
	require.ErrorIs(t, err, store.ErrInvalid)
	_, _, err = s.SetClientWebhookSecret(ctx, a, "shopify", []byte("short"), "t")
	require.ErrorIs(t, err, store.ErrInvalid)
	_, _, err = s.SetClientWebhookSecret(ctx, "ghost", "shopify", []byte("whsec_shopify_a"), "t")
	require.ErrorIs(t, err, store.ErrNotFound)

	_, created, err := s.SetClientWebhookSecret(ctx, a, "shopify", []byte("whsec_shopify_a"), "t")
	require.NoError(t, err)
	require.True(t, created)
	_, created, err = s.SetClientWebhookSecret(ctx, a, "shopify", []byte("whsec_shopify_a2"), "t")
	require.NoError(t, err)
	require.False(t, created)
	got, err := s.ClientWebhookSecret(ctx, a, "shopify")
	require.NoError(t, err)
	require.Equal(t, "whsec_shopify_a2", string(got))
	_, err = s.ClientWebhookSecret(ctx, a, "tiktok")
	require.ErrorIs(t, err, store.ErrNotFound)

	var sealed []byte
	require.NoError(t, pool.QueryRow(ctx, `SELECT sealed FROM client_webhook_secrets WHERE client_id = $1`, a).Scan(&sealed))
	require.NotContains(t, string(sealed), "whsec_shopify_a2")

	// The same ciphertext copied to another client's row does not open there, nor under another key.
	_, err = pool.Exec(ctx, `INSERT INTO client_webhook_secrets (client_id, provider, sealed) VALUES ($1, 'shopify', $2)`, b, sealed)
	require.NoError(t, err)
	_, err = s.ClientWebhookSecret(ctx, b, "shopify")
	require.ErrorIs(t, err, secrets.ErrDecrypt)
	_, err = store.New(pool, store.WithSecrets(testBox(t, 8))).ClientWebhookSecret(ctx, a, "shopify")
	require.ErrorIs(t, err, secrets.ErrDecrypt)

	infos, err := s.ListClientWebhookSecrets(ctx, a)
	require.NoError(t, err)
	require.Len(t, infos, 1)
	require.Equal(t, "shopify", infos[0].Provider)
	_, err = s.DeleteClientWebhookSecret(ctx, a, "shopify")
	require.NoError(t, err)
	_, err = s.ClientWebhookSecret(ctx, a, "shopify")
	require.ErrorIs(t, err, store.ErrNotFound)
}

func TestSettings(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	s := store.New(pool)
	ctx := t.Context()
	c := newClient(t, s, "settings")
	st, err := s.GetSettings(ctx, c)
	require.NoError(t, err)
	require.Equal(t, store.DefaultSettings(c).DefaultPeriod, st.DefaultPeriod)
	_, err = s.GetSettings(ctx, "ghost")
	require.ErrorIs(t, err, store.ErrNotFound)
	for _, bad := range []store.Settings{
		{ClientID: c, DefaultPeriod: "90d", AccentColor: "#aabbcc"},
		{ClientID: c, DefaultPeriod: "7d", AccentColor: "red"},
		{ClientID: c, DefaultPeriod: "7d", AccentColor: "#AABBCC"},
	} {
		_, err := s.PutSettings(ctx, bad)
		require.ErrorIs(t, err, store.ErrInvalid, "%+v", bad)
	}
	_, err = s.PutSettings(ctx, store.Settings{ClientID: c, DefaultPeriod: "7d", AccentColor: "#112233"})
	require.NoError(t, err)
	st, err = s.GetSettings(ctx, c)
	require.NoError(t, err)
	require.Equal(t, "7d", st.DefaultPeriod)
	require.Equal(t, "#112233", st.AccentColor)
}
