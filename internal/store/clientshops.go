package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// ClientShop is the shop a client's webhooks of a platform must come from (migration 00051), in
// the form the platform's deliveries name it (storefront.CanonicalShop).
type ClientShop struct {
	ClientID  string    `json:"client_id"`
	Platform  string    `json:"platform"`
	Shop      string    `json:"shop"`
	UpdatedBy string    `json:"updated_by"`
	UpdatedAt time.Time `json:"updated_at"`
}

// ErrShopTaken is a shop already bound to another client: one shop's orders are one client's.
var ErrShopTaken = errors.New("shop bound to another client")

// SetClientShop binds a client to its shop on a platform, replacing an earlier binding. created
// tells whether there was none before; before is the earlier one.
func (s *Store) SetClientShop(ctx context.Context, cs ClientShop) (out ClientShop, before *ClientShop, err error) {
	if old, err := s.ClientShop(ctx, cs.ClientID, cs.Platform); err == nil {
		before = &old
	} else if !errors.Is(err, ErrNotFound) {
		return ClientShop{}, nil, err
	}
	var holder string
	err = s.pool.QueryRow(ctx, `SELECT client_id FROM client_shops WHERE platform = $1 AND shop = $2 AND client_id <> $3`,
		cs.Platform, cs.Shop, cs.ClientID).Scan(&holder)
	if err == nil {
		return ClientShop{}, nil, fmt.Errorf("%w: %s shop %s is bound to client %s", ErrShopTaken, cs.Platform, cs.Shop, holder)
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return ClientShop{}, nil, fmt.Errorf("client bound to %s shop %s: %w", cs.Platform, cs.Shop, err)
	}
	out = cs
	err = s.pool.QueryRow(ctx, `INSERT INTO client_shops (client_id, platform, shop, updated_by) VALUES ($1, $2, $3, $4)
		ON CONFLICT (client_id, platform) DO UPDATE SET shop = EXCLUDED.shop, updated_by = EXCLUDED.updated_by, updated_at = now()
		RETURNING updated_at`, cs.ClientID, cs.Platform, cs.Shop, cs.UpdatedBy).Scan(&out.UpdatedAt)
	var pgErr *pgconn.PgError
	switch {
	case isForeignKeyViolation(err):
		return ClientShop{}, nil, fmt.Errorf("client %s: %w", cs.ClientID, ErrNotFound)
	case errors.As(err, &pgErr) && pgErr.Code == "23505":
		// Bound to another client between the look and the insert.
		return ClientShop{}, nil, fmt.Errorf("%w: %s shop %s", ErrShopTaken, cs.Platform, cs.Shop)
	case err != nil:
		return ClientShop{}, nil, fmt.Errorf("bind client %s to %s shop: %w", cs.ClientID, cs.Platform, err)
	}
	return out, before, nil
}

// ClientShop is the shop a client is bound to on a platform; ErrNotFound when it is not bound.
func (s *Store) ClientShop(ctx context.Context, clientID, platform string) (ClientShop, error) {
	cs := ClientShop{ClientID: clientID, Platform: platform}
	err := s.pool.QueryRow(ctx, `SELECT shop, updated_by, updated_at FROM client_shops WHERE client_id = $1 AND platform = $2`,
		clientID, platform).Scan(&cs.Shop, &cs.UpdatedBy, &cs.UpdatedAt)
	if err != nil {
		return ClientShop{}, notFound(err, "shop of client "+clientID+" on "+platform)
	}
	return cs, nil
}

// ListClientShops is every shop a client is bound to, by platform.
func (s *Store) ListClientShops(ctx context.Context, clientID string) ([]ClientShop, error) {
	rows, err := s.pool.Query(ctx, `SELECT platform, shop, updated_by, updated_at FROM client_shops
		WHERE client_id = $1 ORDER BY platform`, clientID)
	if err != nil {
		return nil, fmt.Errorf("list shops of %s: %w", clientID, err)
	}
	defer rows.Close()
	var out []ClientShop
	for rows.Next() {
		cs := ClientShop{ClientID: clientID}
		if err := rows.Scan(&cs.Platform, &cs.Shop, &cs.UpdatedBy, &cs.UpdatedAt); err != nil {
			return nil, fmt.Errorf("scan client shop: %w", err)
		}
		out = append(out, cs)
	}
	return out, rows.Err()
}

// DeleteClientShop unbinds a client from its shop on a platform: its deliveries are taken from
// any shop again.
func (s *Store) DeleteClientShop(ctx context.Context, clientID, platform string) (ClientShop, error) {
	cs := ClientShop{ClientID: clientID, Platform: platform}
	err := s.pool.QueryRow(ctx, `DELETE FROM client_shops WHERE client_id = $1 AND platform = $2
		RETURNING shop, updated_by, updated_at`, clientID, platform).Scan(&cs.Shop, &cs.UpdatedBy, &cs.UpdatedAt)
	if err != nil {
		return ClientShop{}, notFound(err, "shop of client "+clientID+" on "+platform)
	}
	return cs, nil
}
