package store

import (
	"context"
	"fmt"
	"regexp"
	"time"

	"paysplit/internal/money"
)

// KPIDay is one client's storefront analytics for one calendar day (UTC).
type KPIDay struct {
	ClientID      string
	Day           time.Time // midnight UTC
	Visitors      int64
	NewVisitors   int64
	BounceRateBps int32 // 0..10000
	Sessions      int64
	Revenue       int64 // minor units of Currency
	Currency      money.Currency
	UpdatedAt     time.Time
}

// Validate checks a day before it is written.
func (k KPIDay) Validate() error {
	if err := ValidID("client_id", k.ClientID); err != nil {
		return err
	}
	if k.Day.IsZero() {
		return fmt.Errorf("%w: day is required", ErrInvalid)
	}
	if k.Visitors < 0 || k.NewVisitors < 0 || k.Sessions < 0 {
		return fmt.Errorf("%w: visitors, new_visitors and sessions must not be negative", ErrInvalid)
	}
	if k.BounceRateBps < 0 || k.BounceRateBps > 10000 {
		return fmt.Errorf("%w: bounce_rate_bps %d must be 0-10000", ErrInvalid, k.BounceRateBps)
	}
	if k.Currency != "" && !k.Currency.Known() {
		return fmt.Errorf("%w: currency %q is unknown", ErrInvalid, k.Currency)
	}
	return nil
}

// DayOf is the UTC calendar day of t, as midnight UTC.
func DayOf(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// UpsertKPIDay writes (or replaces) one client's KPIs for one day; the sync job calls it for every
// day it fetched, so running it twice is harmless.
func (s *Store) UpsertKPIDay(ctx context.Context, k KPIDay) error {
	k.Day = DayOf(k.Day)
	if cur, err := money.ParseCurrency(string(k.Currency)); err == nil {
		k.Currency = cur
	}
	if err := k.Validate(); err != nil {
		return err
	}
	_, err := s.pool.Exec(ctx, `
		INSERT INTO kpi_daily (client_id, day, visitors, new_visitors, bounce_rate_bps, sessions, revenue, currency)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		ON CONFLICT (client_id, day) DO UPDATE SET visitors = EXCLUDED.visitors, new_visitors = EXCLUDED.new_visitors,
			bounce_rate_bps = EXCLUDED.bounce_rate_bps, sessions = EXCLUDED.sessions, revenue = EXCLUDED.revenue,
			currency = EXCLUDED.currency, updated_at = now()`,
		k.ClientID, k.Day, k.Visitors, k.NewVisitors, k.BounceRateBps, k.Sessions, k.Revenue, string(k.Currency))
	if isForeignKeyViolation(err) {
		return fmt.Errorf("%w: client %q does not exist", ErrInvalid, k.ClientID)
	}
	if err != nil {
		return fmt.Errorf("upsert kpi day %s %s: %w", k.ClientID, k.Day.Format(time.DateOnly), err)
	}
	return nil
}

// KPIRange returns the stored days of one client from from to to (both inclusive, UTC days),
// oldest first. Days without a row are simply absent.
func (s *Store) KPIRange(ctx context.Context, clientID string, from, to time.Time) ([]KPIDay, error) {
	rows, err := s.pool.Query(ctx, `SELECT client_id, day, visitors, new_visitors, bounce_rate_bps, sessions, revenue,
			currency, updated_at
		FROM kpi_daily WHERE client_id = $1 AND day BETWEEN $2 AND $3 ORDER BY day`, clientID, DayOf(from), DayOf(to))
	if err != nil {
		return nil, fmt.Errorf("kpi range of %s: %w", clientID, err)
	}
	defer rows.Close()
	var out []KPIDay
	for rows.Next() {
		var k KPIDay
		var cur string
		if err := rows.Scan(&k.ClientID, &k.Day, &k.Visitors, &k.NewVisitors, &k.BounceRateBps, &k.Sessions, &k.Revenue,
			&cur, &k.UpdatedAt); err != nil {
			return nil, fmt.Errorf("scan kpi day: %w", err)
		}
		k.Day, k.Currency = DayOf(k.Day), money.Currency(cur)
		out = append(out, k)
	}
	return out, rows.Err()
}

// Report is one client's rendered weekly report.
type Report struct {
	ClientID  string    `json:"client_id"`
	ISOWeek   string    `json:"iso_week"` // e.g. 2026-W07
	S3Key     string    `json:"-"`
	CreatedAt time.Time `json:"created_at"`
}

var isoWeekPattern = regexp.MustCompile(`^[0-9]{4}-W(0[1-9]|[1-4][0-9]|5[0-3])$`)

// ValidISOWeek checks an ISO week such as 2026-W07.
func ValidISOWeek(w string) error {
	if !isoWeekPattern.MatchString(w) {
		return fmt.Errorf("%w: iso_week %q must look like 2026-W07", ErrInvalid, w)
	}
	return nil
}

// SaveReport records (or replaces) the stored file of one client's week.
func (s *Store) SaveReport(ctx context.Context, r Report) error {
	if err := ValidID("client_id", r.ClientID); err != nil {
		return err
	}
	if err := ValidISOWeek(r.ISOWeek); err != nil {
		return err
	}
	if r.S3Key == "" {
		return fmt.Errorf("%w: s3_key is required", ErrInvalid)
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO reports (client_id, iso_week, s3_key) VALUES ($1, $2, $3)
		ON CONFLICT (client_id, iso_week) DO UPDATE SET s3_key = EXCLUDED.s3_key, created_at = now()`,
		r.ClientID, r.ISOWeek, r.S3Key)
	if isForeignKeyViolation(err) {
		return fmt.Errorf("%w: client %q does not exist", ErrInvalid, r.ClientID)
	}
	if err != nil {
		return fmt.Errorf("save report %s %s: %w", r.ClientID, r.ISOWeek, err)
	}
	return nil
}

// ListReports returns one client's reports, newest week first; beforeWeek pages backwards.
func (s *Store) ListReports(ctx context.Context, clientID, beforeWeek string, limit int) ([]Report, error) {
	rows, err := s.pool.Query(ctx, `SELECT client_id, iso_week, s3_key, created_at FROM reports
		WHERE client_id = $1 AND ($2 = '' OR iso_week < $2) ORDER BY iso_week DESC LIMIT $3`,
		clientID, beforeWeek, clampLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("list reports of %s: %w", clientID, err)
	}
	defer rows.Close()
	var out []Report
	for rows.Next() {
		var r Report
		if err := rows.Scan(&r.ClientID, &r.ISOWeek, &r.S3Key, &r.CreatedAt); err != nil {
			return nil, fmt.Errorf("scan report: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}
