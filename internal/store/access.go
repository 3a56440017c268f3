package store

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
)

// Roles a credential can have.
const (
	RoleAdmin  = "admin"
	RoleClient = "client"
)

// BootstrapKeyID names the ADMIN_API_KEY from the environment in sessions and audit records.
const BootstrapKeyID = "bootstrap"

// keyPrefix marks paysplit API keys so they are recognisable in a secret scanner or a paste.
const keyPrefix = "psk_"

// APIKey is a stored credential. The key itself is never stored: only its SHA-256.
type APIKey struct {
	ID        string     `json:"id"`
	Role      string     `json:"role"`
	ClientID  string     `json:"client_id,omitempty"`
	Name      string     `json:"name"`
	CreatedBy string     `json:"created_by"`
	CreatedAt time.Time  `json:"created_at"`
	RevokedAt *time.Time `json:"revoked_at"`
}

// HashToken is how keys and session tokens are looked up. They carry 256 random bits, so a plain
// SHA-256 is enough: nothing in the hash helps guess the token.
func HashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

func randomToken(prefix string, n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random token: %w", err)
	}
	return prefix + base64.RawURLEncoding.EncodeToString(b), nil
}

func validRole(role, clientID string) error {
	switch role {
	case RoleAdmin:
		if clientID != "" {
			return fmt.Errorf("%w: an admin key belongs to no client; leave client_id empty", ErrInvalid)
		}
	case RoleClient:
		if err := ValidID("client_id", clientID); err != nil {
			return err
		}
	default:
		return fmt.Errorf("%w: role %q must be admin or client", ErrInvalid, role)
	}
	return nil
}

// CreateAPIKey stores a new key and returns it with its secret, which exists nowhere else: the
// caller shows it once.
func (s *Store) CreateAPIKey(ctx context.Context, role, clientID, name, createdBy string) (APIKey, string, error) {
	if err := validRole(role, clientID); err != nil {
		return APIKey{}, "", err
	}
	name = strings.TrimSpace(name)
	if name != "" { // a key's name is optional
		if err := ValidName("name", name, 100); err != nil {
			return APIKey{}, "", err
		}
	}
	secret, err := randomToken(keyPrefix, 32)
	if err != nil {
		return APIKey{}, "", err
	}
	idBytes := make([]byte, 8)
	if _, err := rand.Read(idBytes); err != nil {
		return APIKey{}, "", fmt.Errorf("random key id: %w", err)
	}
	k := APIKey{ID: "key_" + hex.EncodeToString(idBytes), Role: role, ClientID: clientID, Name: name, CreatedBy: createdBy}
	err = s.pool.QueryRow(ctx, `INSERT INTO api_keys (id, role, client_id, name, key_hash, created_by)
		VALUES ($1, $2, NULLIF($3, ''), $4, $5, $6) RETURNING created_at`,
		k.ID, k.Role, k.ClientID, k.Name, HashToken(secret), k.CreatedBy).Scan(&k.CreatedAt)
	if isForeignKeyViolation(err) {
		return APIKey{}, "", fmt.Errorf("%w: client %q does not exist", ErrInvalid, clientID)
	}
	if err != nil {
		return APIKey{}, "", fmt.Errorf("create api key: %w", err)
	}
	return k, secret, nil
}

const apiKeyColumns = `id, role, COALESCE(client_id, ''), name, created_by, created_at, revoked_at`

func scanAPIKey(row interface{ Scan(...any) error }) (APIKey, error) {
	var k APIKey
	err := row.Scan(&k.ID, &k.Role, &k.ClientID, &k.Name, &k.CreatedBy, &k.CreatedAt, &k.RevokedAt)
	return k, err
}

// APIKeyByToken finds the live (not revoked) key a bearer token is.
func (s *Store) APIKeyByToken(ctx context.Context, token string) (APIKey, error) {
	k, err := scanAPIKey(s.pool.QueryRow(ctx, `SELECT `+apiKeyColumns+` FROM api_keys
		WHERE key_hash = $1 AND revoked_at IS NULL`, HashToken(token)))
	if err != nil {
		return APIKey{}, notFound(err, "api key")
	}
	return k, nil
}

// GetAPIKey reads one key's metadata.
func (s *Store) GetAPIKey(ctx context.Context, id string) (APIKey, error) {
	k, err := scanAPIKey(s.pool.QueryRow(ctx, `SELECT `+apiKeyColumns+` FROM api_keys WHERE id = $1`, id))
	if err != nil {
		return APIKey{}, notFound(err, "api key "+id)
	}
	return k, nil
}

// ListAPIKeys returns keys (of one client when clientID is set), newest first.
func (s *Store) ListAPIKeys(ctx context.Context, clientID string) ([]APIKey, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+apiKeyColumns+` FROM api_keys
		WHERE ($1 = '' OR client_id = $1) ORDER BY created_at DESC, id`, clientID)
	if err != nil {
		return nil, fmt.Errorf("list api keys: %w", err)
	}
	defer rows.Close()
	var out []APIKey
	for rows.Next() {
		k, err := scanAPIKey(rows)
		if err != nil {
			return nil, fmt.Errorf("scan api key: %w", err)
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// RevokeAPIKey revokes a key and ends its browser sessions. Revoking a revoked key changes
// nothing and is not an error.
func (s *Store) RevokeAPIKey(ctx context.Context, id string) (APIKey, error) {
	k, err := scanAPIKey(s.pool.QueryRow(ctx, `UPDATE api_keys SET revoked_at = COALESCE(revoked_at, now())
		WHERE id = $1 RETURNING `+apiKeyColumns, id))
	if err != nil {
		return APIKey{}, notFound(err, "api key "+id)
	}
	if _, err := s.pool.Exec(ctx, `DELETE FROM sessions WHERE key_id = $1`, id); err != nil {
		return APIKey{}, fmt.Errorf("end sessions of api key %s: %w", id, err)
	}
	return k, nil
}

// Session is a browser login: the role and client of the key it was opened with.
type Session struct {
	KeyID     string    `json:"key_id"`
	Role      string    `json:"role"`
	ClientID  string    `json:"client_id,omitempty"`
	ExpiresAt time.Time `json:"expires_at"`
	// CSRFHash is the SHA-256 of the session's CSRF token.
	CSRFHash []byte `json:"-"`
	// BootstrapKey is, for a session opened with the bootstrap key (KeyID BootstrapKeyID), that
	// key. It is not stored: the session keeps bootstrapKeyMAC of it, so the session ends when
	// ADMIN_API_KEY changes (the bootstrap key has no api_keys row to revoke).
	BootstrapKey string `json:"-"`
}

// bootstrapKeyMAC binds a session to the bootstrap key it was opened with: HMAC-SHA256 under the
// key of the session's token. The token itself is never stored (only its SHA-256), so the stored
// MAC helps nobody guess the key, however short it is.
func bootstrapKeyMAC(key, token string) []byte {
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte("paysplit bootstrap session\x00"))
	m.Write([]byte(token))
	return m.Sum(nil)
}

// CreateSession opens a session and returns its token (for the HttpOnly cookie) and its CSRF
// token (for the page to echo in a header). Expired sessions are swept on the way.
func (s *Store) CreateSession(ctx context.Context, sess Session) (token, csrf string, err error) {
	if err := validRole(sess.Role, sess.ClientID); err != nil {
		return "", "", err
	}
	if (sess.KeyID == BootstrapKeyID) != (sess.BootstrapKey != "") {
		return "", "", fmt.Errorf("%w: a session names the bootstrap key if and only if it was opened with it", ErrInvalid)
	}
	if token, err = randomToken("", 32); err != nil {
		return "", "", err
	}
	if csrf, err = randomToken("", 32); err != nil {
		return "", "", err
	}
	if _, err := s.pool.Exec(ctx, `DELETE FROM sessions WHERE expires_at < now()`); err != nil {
		return "", "", fmt.Errorf("sweep sessions: %w", err)
	}
	var keyMAC []byte
	if sess.KeyID == BootstrapKeyID {
		keyMAC = bootstrapKeyMAC(sess.BootstrapKey, token)
	}
	_, err = s.pool.Exec(ctx, `INSERT INTO sessions (token_hash, csrf_hash, key_id, role, client_id, expires_at, key_mac)
		VALUES ($1, $2, $3, $4, NULLIF($5, ''), $6, $7)`,
		HashToken(token), HashToken(csrf), sess.KeyID, sess.Role, sess.ClientID, sess.ExpiresAt, keyMAC)
	if err != nil {
		return "", "", fmt.Errorf("create session: %w", err)
	}
	return token, csrf, nil
}

// SessionByToken finds a live session: not expired, and its key not revoked. A session of the
// bootstrap key lives only while bootstrapKey (the configured ADMIN_API_KEY) is the key it was
// opened with: rotating the key ends it.
func (s *Store) SessionByToken(ctx context.Context, token, bootstrapKey string) (Session, error) {
	var sess Session
	var keyMAC []byte
	err := s.pool.QueryRow(ctx, `SELECT se.key_id, se.role, COALESCE(se.client_id, ''), se.expires_at, se.csrf_hash, se.key_mac
		FROM sessions se LEFT JOIN api_keys k ON k.id = se.key_id
		WHERE se.token_hash = $1 AND se.expires_at > now()
			AND (se.key_id = $2 OR (k.id IS NOT NULL AND k.revoked_at IS NULL))`, HashToken(token), BootstrapKeyID).
		Scan(&sess.KeyID, &sess.Role, &sess.ClientID, &sess.ExpiresAt, &sess.CSRFHash, &keyMAC)
	if err != nil {
		return Session{}, notFound(err, "session")
	}
	if sess.KeyID == BootstrapKeyID && (bootstrapKey == "" || !hmac.Equal(keyMAC, bootstrapKeyMAC(bootstrapKey, token))) {
		return Session{}, fmt.Errorf("session of a bootstrap key that is no longer configured: %w", ErrNotFound)
	}
	return sess, nil
}

// DeleteSession ends a session (logout).
func (s *Store) DeleteSession(ctx context.Context, token string) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM sessions WHERE token_hash = $1`, HashToken(token)); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}
