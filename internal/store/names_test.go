package store_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"paysplit/internal/store"
	"paysplit/testenv"
)

// TestNamesCountCharactersNotBytes: a client's name and an API key's name are limited to 200
// and 100 characters, as the error says; a Japanese name of 70 characters (210 bytes in UTF-8)
// was refused as "must be 1-200 characters". One past the limit is still refused, and so is a
// name that is not one line of text: control characters (a line break would end a mail header
// or a report line) and U+FFFD, which is what JSON's decoder makes of an unpaired surrogate
// (\ud800) or invalid UTF-8, so the name stored would not be the one sent.
func TestNamesCountCharactersNotBytes(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	s := store.New(pool)
	ctx := t.Context()
	id := newClient(t, s, "names")
	tests := []struct {
		name   string
		client string
		ok     bool
	}{
		{"japanese, 70 characters", strings.Repeat("桜", 70), true},
		{"japanese, 200 characters", strings.Repeat("桜", 200), true},
		{"japanese, 201 characters", strings.Repeat("桜", 201), false},
		{"arabic with marks", "مَتْجَر الوَرْد", true},
		{"emoji, 200 characters", strings.Repeat("🌸", 200), true},
		{"line break", "Sakura\r\nBcc: someone@example.com", false},
		{"tab", "Sakura\tShop", false},
		{"C1 control", "Sakura\u0085Shop", false},
		{"replacement character", "Sakura \ufffd", false},
		{"invalid UTF-8", "Sakura \xff", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, _, err := s.UpsertClient(ctx, store.Client{ID: id, Name: tc.client, DefaultCurrency: "jpy"})
			if !tc.ok {
				require.ErrorIs(t, err, store.ErrInvalid)
				return
			}
			require.NoError(t, err)
			got, err := s.GetClient(ctx, id)
			require.NoError(t, err)
			require.Equal(t, tc.client, got.Name)
			require.Equal(t, c.Name, got.Name)
		})
	}

	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{strings.Repeat("鍵", 100), true},
		{strings.Repeat("鍵", 101), false},
		{"report\nbot", false},
	} {
		_, _, err := s.CreateAPIKey(ctx, store.RoleClient, id, tc.name, "test")
		if tc.ok {
			require.NoError(t, err, "%q", tc.name)
		} else {
			require.ErrorIs(t, err, store.ErrInvalid, "%q", tc.name)
		}
	}
}
