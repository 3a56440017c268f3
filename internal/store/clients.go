package store

import (
	"context"
	"fmt"
	"time"

	"paysplit/internal/money"
)

// Client is one of the agency's shops.
type Client struct {
	ID              string         `json:"id"`
	Name            string         `json:"name"`
	DefaultCurrency money.Currency `json:"default_currency"`
	CreatedAt       time.Time      `json:"created_at"`
	UpdatedAt       time.Time      `json:"updated_at"`
}

// Validate checks a client before it is written.
func (c Client) Validate() error {
	if err := ValidID("client_id", c.ID); err != nil {
		return err
	}
	if err := ValidName("name", c.Name, 200); err != nil {
		return err
	}
	if _, err := money.ParseCurrency(string(c.DefaultCurrency)); err != nil {
		return fmt.Errorf("%w: default_currency: %v", ErrInvalid, err)
	}
	return nil
}

// UpsertClient creates or updates a client; created tells which.
func (s *Store) UpsertClient(ctx context.Context, c Client) (Client, bool, error) {
	cur, err := money.ParseCurrency(string(c.DefaultCurrency))
	if err == nil {
		c.DefaultCurrency = cur
	}
	if err := c.Validate(); err != nil {
		return Client{}, false, err
	}
	var created bool
	err = s.pool.QueryRow(ctx, `
		INSERT INTO clients (id, name, default_currency) VALUES ($1, $2, $3)
		ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, default_currency = EXCLUDED.default_currency, updated_at = now()
		RETURNING created_at, updated_at, (xmax = 0)`, c.ID, c.Name, string(c.DefaultCurrency)).
		Scan(&c.CreatedAt, &c.UpdatedAt, &created)
	if err != nil {
		return Client{}, false, fmt.Errorf("upsert client %s: %w", c.ID, err)
	}
	return c, created, nil
}

// GetClient reads one client.
func (s *Store) GetClient(ctx context.Context, id string) (Client, error) {
	var c Client
	var cur string
	err := s.pool.QueryRow(ctx, `SELECT id, name, default_currency, created_at, updated_at FROM clients WHERE id = $1`, id).
		Scan(&c.ID, &c.Name, &cur, &c.CreatedAt, &c.UpdatedAt)
	if err != nil {
		return Client{}, notFound(err, "client "+id)
	}
	c.DefaultCurrency = money.Currency(cur)
	return c, nil
}

// ListClients returns every client ordered by ID.
func (s *Store) ListClients(ctx context.Context) ([]Client, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, name, default_currency, created_at, updated_at FROM clients ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list clients: %w", err)
	}
	defer rows.Close()
	var out []Client
	for rows.Next() {
		var c Client
		var cur string
		if err := rows.Scan(&c.ID, &c.Name, &cur, &c.CreatedAt, &c.UpdatedAt); err != nil {
			return nil, fmt.Errorf("scan client: %w", err)
		}
		c.DefaultCurrency = money.Currency(cur)
		out = append(out, c)
	}
	return out, rows.Err()
}
