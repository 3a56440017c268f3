package store

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/jackc/pgx/v5"
)

// ErrNoSecretsKey is returned when webhook secrets are used on a Store built without WithSecrets.
var ErrNoSecretsKey = errors.New("store: no secrets key configured")

// Settings tune a client's dashboard; the layout itself is the same for every client.
type Settings struct {
	ClientID      string `json:"client_id"`
	DefaultPeriod string `json:"default_period"` // 7d or 30d
	AccentColor   string `json:"accent_color"`   // #rrggbb
	// UpdatedAt is nil for settings nobody saved (the defaults), never Go's zero time, which
	// reads as a save made in year 1.
	UpdatedAt *time.Time `json:"updated_at"`
}

// DefaultSettings are what a client without stored settings gets.
func DefaultSettings(clientID string) Settings {
	return Settings{ClientID: clientID, DefaultPeriod: "30d", AccentColor: "#2563eb"}
}

var colorPattern = regexp.MustCompile(`^#[0-9a-f]{6}$`)

// Validate checks settings before they are written.
func (st Settings) Validate() error {
	if st.DefaultPeriod != "7d" && st.DefaultPeriod != "30d" {
		return fmt.Errorf("%w: default_period %q must be 7d or 30d", ErrInvalid, st.DefaultPeriod)
	}
	if !colorPattern.MatchString(st.AccentColor) {
		return fmt.Errorf("%w: accent_color %q must look like #1a2b3c (lower case)", ErrInvalid, st.AccentColor)
	}
	return nil
}

// GetSettings returns a client's settings, or the defaults when none were saved.
func (s *Store) GetSettings(ctx context.Context, clientID string) (Settings, error) {
	if _, err := s.GetClient(ctx, clientID); err != nil {
		return Settings{}, err
	}
	st := DefaultSettings(clientID)
	err := s.pool.QueryRow(ctx, `SELECT default_period, accent_color, updated_at FROM client_settings WHERE client_id = $1`,
		clientID).Scan(&st.DefaultPeriod, &st.AccentColor, &st.UpdatedAt)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return Settings{}, fmt.Errorf("settings of %s: %w", clientID, err)
	}
	return st, nil
}

// PutSettings replaces a client's settings.
func (s *Store) PutSettings(ctx context.Context, st Settings) (Settings, error) {
	if err := st.Validate(); err != nil {
		return Settings{}, err
	}
	err := s.pool.QueryRow(ctx, `INSERT INTO client_settings (client_id, default_period, accent_color) VALUES ($1, $2, $3)
		ON CONFLICT (client_id) DO UPDATE SET default_period = EXCLUDED.default_period, accent_color = EXCLUDED.accent_color,
			updated_at = now()
		RETURNING updated_at`, st.ClientID, st.DefaultPeriod, st.AccentColor).Scan(&st.UpdatedAt)
	if isForeignKeyViolation(err) {
		return Settings{}, fmt.Errorf("client %s: %w", st.ClientID, ErrNotFound)
	}
	if err != nil {
		return Settings{}, fmt.Errorf("save settings of %s: %w", st.ClientID, err)
	}
	return st, nil
}

var providerPattern = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,31}$`)

// ValidProvider checks the name of a storefront or payment provider (shopify, woocommerce, ...).
func ValidProvider(p string) error {
	if !providerPattern.MatchString(p) {
		return fmt.Errorf("%w: provider %q must be 1-32 lower-case letters, digits, '_' or '-'", ErrInvalid, p)
	}
	return nil
}

// WebhookSecretInfo says that a secret is set, never what it is.
type WebhookSecretInfo struct {
	Provider  string    `json:"provider"`
	UpdatedBy string    `json:"updated_by"`
	UpdatedAt time.Time `json:"updated_at"`
}

// secretAAD binds a sealed secret to its row, so a ciphertext copied to another client or
// provider does not open.
func secretAAD(clientID, provider string) []byte {
	return []byte("client_webhook_secret\x00" + clientID + "\x00" + provider)
}

// SetClientWebhookSecret seals and stores a client's signing secret for a provider, replacing any
// earlier one. created tells whether there was none before.
func (s *Store) SetClientWebhookSecret(ctx context.Context, clientID, provider string, secret []byte, actor string) (info WebhookSecretInfo, created bool, err error) {
	if s.secrets == nil {
		return WebhookSecretInfo{}, false, ErrNoSecretsKey
	}
	if err := ValidProvider(provider); err != nil {
		return WebhookSecretInfo{}, false, err
	}
	if len(secret) < 8 || len(secret) > 512 {
		return WebhookSecretInfo{}, false, fmt.Errorf("%w: secret must be 8-512 bytes", ErrInvalid)
	}
	sealed, err := s.secrets.Seal(secret, secretAAD(clientID, provider))
	if err != nil {
		return WebhookSecretInfo{}, false, err
	}
	info = WebhookSecretInfo{Provider: provider, UpdatedBy: actor}
	err = s.pool.QueryRow(ctx, `INSERT INTO client_webhook_secrets (client_id, provider, sealed, updated_by) VALUES ($1, $2, $3, $4)
		ON CONFLICT (client_id, provider) DO UPDATE SET sealed = EXCLUDED.sealed, updated_by = EXCLUDED.updated_by, updated_at = now()
		RETURNING updated_at, (xmax = 0)`, clientID, provider, sealed, actor).Scan(&info.UpdatedAt, &created)
	if isForeignKeyViolation(err) {
		return WebhookSecretInfo{}, false, fmt.Errorf("client %s: %w", clientID, ErrNotFound)
	}
	if err != nil {
		return WebhookSecretInfo{}, false, fmt.Errorf("save webhook secret %s/%s: %w", clientID, provider, err)
	}
	return info, created, nil
}

// ClientWebhookSecret returns a client's signing secret for a provider in the clear, for verifying
// that provider's webhooks. ErrNotFound when none is set.
func (s *Store) ClientWebhookSecret(ctx context.Context, clientID, provider string) ([]byte, error) {
	if s.secrets == nil {
		return nil, ErrNoSecretsKey
	}
	var sealed []byte
	err := s.pool.QueryRow(ctx, `SELECT sealed FROM client_webhook_secrets WHERE client_id = $1 AND provider = $2`,
		clientID, provider).Scan(&sealed)
	if err != nil {
		return nil, notFound(err, "webhook secret "+clientID+"/"+provider)
	}
	secret, err := s.secrets.Open(sealed, secretAAD(clientID, provider))
	if err != nil {
		return nil, fmt.Errorf("webhook secret %s/%s: %w", clientID, provider, err)
	}
	return secret, nil
}

// ListClientWebhookSecrets says which providers have a secret set for a client.
func (s *Store) ListClientWebhookSecrets(ctx context.Context, clientID string) ([]WebhookSecretInfo, error) {
	rows, err := s.pool.Query(ctx, `SELECT provider, updated_by, updated_at FROM client_webhook_secrets
		WHERE client_id = $1 ORDER BY provider`, clientID)
	if err != nil {
		return nil, fmt.Errorf("list webhook secrets of %s: %w", clientID, err)
	}
	defer rows.Close()
	var out []WebhookSecretInfo
	for rows.Next() {
		var i WebhookSecretInfo
		if err := rows.Scan(&i.Provider, &i.UpdatedBy, &i.UpdatedAt); err != nil {
			return nil, fmt.Errorf("scan webhook secret: %w", err)
		}
		out = append(out, i)
	}
	return out, rows.Err()
}

// DeleteClientWebhookSecret removes a client's secret for a provider.
func (s *Store) DeleteClientWebhookSecret(ctx context.Context, clientID, provider string) (WebhookSecretInfo, error) {
	info := WebhookSecretInfo{Provider: provider}
	err := s.pool.QueryRow(ctx, `DELETE FROM client_webhook_secrets WHERE client_id = $1 AND provider = $2
		RETURNING updated_by, updated_at`, clientID, provider).Scan(&info.UpdatedBy, &info.UpdatedAt)
	if err != nil {
		return WebhookSecretInfo{}, notFound(err, "webhook secret "+clientID+"/"+provider)
	}
	return info, nil
}

// PayeeFilter narrows ListPayees; empty fields match everything.
type PayeeFilter struct {
	ClientID, Kind string
}

// ListPayees returns payees ordered by client and ID.
func (s *Store) ListPayees(ctx context.Context, f PayeeFilter) ([]Payee, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+payeeColumns+` FROM payees
		WHERE ($1 = '' OR client_id = $1) AND ($2 = '' OR kind = $2) ORDER BY client_id, id`, f.ClientID, f.Kind)
	if err != nil {
		return nil, fmt.Errorf("list payees: %w", err)
	}
	defer rows.Close()
	var out []Payee
	for rows.Next() {
		p, err := scanPayee(rows)
		if err != nil {
			return nil, fmt.Errorf("scan payee: %w", err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}
