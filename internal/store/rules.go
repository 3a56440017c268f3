package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"paysplit/internal/money"
	"paysplit/internal/split"
)

// RuleVersion is a stored split rule with when it took effect.
type RuleVersion struct {
	split.Rule
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
}

const ruleColumns = `client_id, version, platform_bps, affiliate_bps, commission_on_tax, commission_on_shipping,
	min_platform_fee, max_platform_fee, fee_currency, created_by, created_at`

func scanRule(row pgx.Row) (RuleVersion, error) {
	var r RuleVersion
	var feeCurrency string
	err := row.Scan(&r.ClientID, &r.Version, &r.PlatformBps, &r.AffiliateBps, &r.CommissionOnTax,
		&r.CommissionOnShipping, &r.MinPlatformFee, &r.MaxPlatformFee, &feeCurrency, &r.CreatedBy, &r.CreatedAt)
	r.FeeCurrency = money.Currency(feeCurrency)
	return r, err
}

// RuleChangedError is CreateRuleOnBase's refusal: the client's rule is no longer at the version
// the change was based on (another admin saved one since).
type RuleChangedError struct {
	ClientID      string
	Base, Current int // Current is 0 when the client has no rule
}

func (e *RuleChangedError) Error() string {
	return fmt.Sprintf("split rule of client %s is at version %d, not %d", e.ClientID, e.Current, e.Base)
}

// CreateRule stores the next version of a client's split rule. Versions are numbered under a lock
// on the client row so two admins saving at once get distinct versions.
func (s *Store) CreateRule(ctx context.Context, r split.Rule, actor string) (RuleVersion, error) {
	_, out, err := s.CreateRuleOnBase(ctx, r, actor, nil)
	return out, err
}

// CreateRuleOnBase is CreateRule with a precondition: when base is not nil, the client's newest
// version must be *base (0: the client has no rule yet), else nothing is stored and the error is
// a *RuleChangedError. Checked under the client row's lock that numbers versions, so of two
// saves on the same base exactly one is stored: without it, the second silently superseded the
// first, its admin never having seen it. It returns the version superseded (nil for the client's
// first), read under the same lock, so the audit log shows what the change changed.
func (s *Store) CreateRuleOnBase(ctx context.Context, r split.Rule, actor string, base *int) (before *RuleVersion, after RuleVersion, err error) {
	if err := ValidID("client_id", r.ClientID); err != nil {
		return nil, RuleVersion{}, err
	}
	r.Version = 1 // validated before numbering; the real version is set below
	if err := r.Validate(); err != nil {
		return nil, RuleVersion{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	// Stored lower-case, as payments' currencies are; left empty, the insert trigger gives the
	// rule its client's default currency.
	r.FeeCurrency = money.Currency(strings.ToLower(string(r.FeeCurrency)))
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var id string
		if err := tx.QueryRow(ctx, `SELECT id FROM clients WHERE id = $1 FOR UPDATE`, r.ClientID).Scan(&id); err != nil {
			return notFound(err, "client "+r.ClientID)
		}
		prev, err := scanRule(tx.QueryRow(ctx, `SELECT `+ruleColumns+` FROM split_rules WHERE client_id = $1
			ORDER BY version DESC LIMIT 1`, r.ClientID))
		switch {
		case err == nil:
			before = &prev
		case !errors.Is(err, pgx.ErrNoRows):
			return fmt.Errorf("read current split rule: %w", err)
		}
		if base != nil {
			current := 0
			if before != nil {
				current = before.Version
			}
			if current != *base {
				return &RuleChangedError{ClientID: r.ClientID, Base: *base, Current: current}
			}
		}
		row := tx.QueryRow(ctx, `
			INSERT INTO split_rules (client_id, version, platform_bps, affiliate_bps, commission_on_tax,
				commission_on_shipping, min_platform_fee, max_platform_fee, fee_currency, created_by)
			SELECT $1, COALESCE(MAX(version), 0) + 1, $2, $3, $4, $5, $6, $7, NULLIF($8, ''), $9 FROM split_rules WHERE client_id = $1
			RETURNING `+ruleColumns,
			r.ClientID, r.PlatformBps, r.AffiliateBps, r.CommissionOnTax, r.CommissionOnShipping,
			r.MinPlatformFee, r.MaxPlatformFee, string(r.FeeCurrency), actor)
		after, err = scanRule(row)
		return err
	})
	if err != nil {
		return nil, RuleVersion{}, fmt.Errorf("create split rule for %s: %w", r.ClientID, err)
	}
	return before, after, nil
}

// RuleAt returns the rule version in force at a moment: the newest created at or before it.
// Provider event times have one-second precision, so a rule counts from the start of the second
// it was created in: a payment captured in that same second uses it. A payment captured before
// the client had any rule (its shop took payments before onboarding was finished) takes the
// client's first rule: it parked for want of one, and an admin's retry once the rule is set must
// be able to pay it (the rule in force at capture would never be found).
func (s *Store) RuleAt(ctx context.Context, clientID string, at time.Time) (RuleVersion, error) {
	r, err := scanRule(s.pool.QueryRow(ctx, `SELECT `+ruleColumns+` FROM split_rules WHERE client_id = $1
		ORDER BY date_trunc('second', created_at) <= $2 DESC,
			CASE WHEN date_trunc('second', created_at) <= $2 THEN version END DESC, version
		LIMIT 1`, clientID, at))
	if err != nil {
		return RuleVersion{}, notFound(err, fmt.Sprintf("split rule for client %s", clientID))
	}
	return r, nil
}

// GetRule returns one version of a client's rule.
func (s *Store) GetRule(ctx context.Context, clientID string, version int) (RuleVersion, error) {
	r, err := scanRule(s.pool.QueryRow(ctx, `SELECT `+ruleColumns+` FROM split_rules WHERE client_id = $1 AND version = $2`, clientID, version))
	if err != nil {
		return RuleVersion{}, notFound(err, fmt.Sprintf("split rule v%d of client %s", version, clientID))
	}
	return r, nil
}

// ListRules returns every version of a client's rule, oldest first.
func (s *Store) ListRules(ctx context.Context, clientID string) ([]RuleVersion, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+ruleColumns+` FROM split_rules WHERE client_id = $1 ORDER BY version`, clientID)
	if err != nil {
		return nil, fmt.Errorf("list split rules of %s: %w", clientID, err)
	}
	defer rows.Close()
	var out []RuleVersion
	for rows.Next() {
		r, err := scanRule(rows)
		if err != nil {
			return nil, fmt.Errorf("scan split rule: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}
