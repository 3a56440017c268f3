package secrets_test

import (
	"bytes"
	"encoding/base64"
	"testing"

	"github.com/stretchr/testify/require"

	"paysplit/internal/secrets"
)

var (
	key1 = bytes.Repeat([]byte{1}, 32)
	key2 = bytes.Repeat([]byte{2}, 32)
)

func TestSealOpenRoundTrip(t *testing.T) {
	b, err := secrets.New(key1)
	require.NoError(t, err)
	for _, pt := range [][]byte{{}, []byte("whsec_abc"), bytes.Repeat([]byte("x"), 4096)} {
		sealed, err := b.Seal(pt, []byte("client/shopify"))
		require.NoError(t, err)
		require.False(t, len(pt) > 4 && bytes.Contains(sealed, pt), "plaintext visible in sealed value")
		got, err := b.Open(sealed, []byte("client/shopify"))
		require.NoError(t, err)
		require.Equal(t, string(pt), string(got))
	}
	a, err := b.Seal([]byte("same"), nil)
	require.NoError(t, err)
	c, err := b.Seal([]byte("same"), nil)
	require.NoError(t, err)
	require.NotEqual(t, a, c, "a fresh nonce per seal")
}

func TestOpenRejects(t *testing.T) {
	b1, err := secrets.New(key1)
	require.NoError(t, err)
	b2, err := secrets.New(key2)
	require.NoError(t, err)
	sealed, err := b1.Seal([]byte("whsec_abc"), []byte("a/shopify"))
	require.NoError(t, err)
	flip := func(i int) []byte {
		c := bytes.Clone(sealed)
		c[i] ^= 1
		return c
	}
	tests := []struct {
		name   string
		box    *secrets.Box
		sealed []byte
		aad    string
	}{
		{"other key", b2, sealed, "a/shopify"},
		{"other row", b1, sealed, "b/shopify"},
		{"tampered version", b1, flip(0), "a/shopify"},
		{"tampered nonce", b1, flip(3), "a/shopify"},
		{"tampered ciphertext", b1, flip(len(sealed) - 1), "a/shopify"},
		{"truncated", b1, sealed[:10], "a/shopify"},
		{"empty", b1, nil, "a/shopify"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.box.Open(tt.sealed, []byte(tt.aad))
			require.ErrorIs(t, err, secrets.ErrDecrypt)
		})
	}
}

func TestParseKey(t *testing.T) {
	tests := []struct {
		name, in string
		ok       bool
	}{
		{"std", base64.StdEncoding.EncodeToString(key1), true},
		{"raw url", base64.RawURLEncoding.EncodeToString(key2), true},
		{"short", base64.StdEncoding.EncodeToString(key1[:16]), false},
		{"long", base64.StdEncoding.EncodeToString(append(key1, 0)), false},
		{"not base64", "not base64 at all!", false},
		{"empty", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := secrets.ParseKey(tt.in)
			if !tt.ok {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			require.Len(t, k, secrets.KeySize)
			_, err = secrets.New(k)
			require.NoError(t, err)
		})
	}
	_, err := secrets.New(key1[:31])
	require.Error(t, err)
}
