package store

import (
	"context"
	"fmt"
	"time"

	"paysplit/internal/money"
)

// A client's status: an offboarded client has left the agency. Its KPIs are no longer synced and
// it gets no weekly report, but its payments, books and reports stay, and money events of its
// past payments (refunds, disputes, late captures) are processed as ever.
const (
	ClientActive     = "active"
	ClientOffboarded = "offboarded"
)

// ValidClientStatus checks a status given by an admin.
func ValidClientStatus(status string) error {
	if status != ClientActive && status != ClientOffboarded {
		return fmt.Errorf("%w: status %q must be %s or %s", ErrInvalid, status, ClientActive, ClientOffboarded)
	}
	return nil
}

// Client is one of the agency's shops.
type Client struct {
	ID              string         `json:"id"`
	Name            string         `json:"name"`
	DefaultCurrency money.Currency `json:"default_currency"`
	// Status is ClientActive or ClientOffboarded; only SetClientStatus changes it.
	Status       string     `json:"status"`
	OffboardedAt *time.Time `json:"offboarded_at"`
	CreatedAt    time.Time  `json:"created_at"`
	UpdatedAt    time.Time  `json:"updated_at"`
}

// Offboarded tells whether the client has left.
func (c Client) Offboarded() bool { return c.Status == ClientOffboarded }

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

const clientColumns = `id, name, default_currency, status, offboarded_at, created_at, updated_at`

func scanClient(row interface{ Scan(...any) error }) (Client, error) {
	var c Client
	var cur string
	err := row.Scan(&c.ID, &c.Name, &cur, &c.Status, &c.OffboardedAt, &c.CreatedAt, &c.UpdatedAt)
	c.DefaultCurrency = money.Currency(cur)
	return c, err
}

// UpsertClient creates or updates a client's name and currency; created tells which. A new
// client is active; an existing one keeps its status.
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
		RETURNING status, offboarded_at, created_at, updated_at, (xmax = 0)`, c.ID, c.Name, string(c.DefaultCurrency)).
		Scan(&c.Status, &c.OffboardedAt, &c.CreatedAt, &c.UpdatedAt, &created)
	if err != nil {
		return Client{}, false, fmt.Errorf("upsert client %s: %w", c.ID, err)
	}
	return c, created, nil
}

// SetClientStatus offboards or reactivates an existing client. Setting the status it already has
// changes nothing (an offboarded client keeps the time it left), so a retried request is harmless.
func (s *Store) SetClientStatus(ctx context.Context, id, status string) (Client, error) {
	if err := ValidClientStatus(status); err != nil {
		return Client{}, err
	}
	c, err := scanClient(s.pool.QueryRow(ctx, `
		UPDATE clients SET status = $2,
			offboarded_at = CASE WHEN $2 = 'offboarded' THEN COALESCE(offboarded_at, now()) END,
			updated_at = CASE WHEN status = $2 THEN updated_at ELSE now() END
		WHERE id = $1
		RETURNING `+clientColumns, id, status))
	if err != nil {
		return Client{}, notFound(err, "client "+id)
	}
	return c, nil
}

// GetClient reads one client.
func (s *Store) GetClient(ctx context.Context, id string) (Client, error) {
	c, err := scanClient(s.pool.QueryRow(ctx, `SELECT `+clientColumns+` FROM clients WHERE id = $1`, id))
	if err != nil {
		return Client{}, notFound(err, "client "+id)
	}
	return c, nil
}

// ListClients returns every client, whatever its status, ordered by ID.
func (s *Store) ListClients(ctx context.Context) ([]Client, error) {
	return s.ListClientsByStatus(ctx, "")
}

// ListClientsByStatus returns the clients with status (every client when it is ""), by ID.
func (s *Store) ListClientsByStatus(ctx context.Context, status string) ([]Client, error) {
	if status != "" {
		if err := ValidClientStatus(status); err != nil {
			return nil, err
		}
	}
	rows, err := s.pool.Query(ctx, `SELECT `+clientColumns+` FROM clients WHERE $1 = '' OR status = $1 ORDER BY id`, status)
	if err != nil {
		return nil, fmt.Errorf("list clients: %w", err)
	}
	defer rows.Close()
	var out []Client
	for rows.Next() {
		c, err := scanClient(rows)
		if err != nil {
			return nil, fmt.Errorf("scan client: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}
