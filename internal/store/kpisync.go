package store

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"paysplit/internal/kpi"
	"paysplit/internal/money"
)

// KPISettings say where a client's KPIs come from. GA4CredentialsRef names the credentials
// (file:/path/to/service-account.json or env:GA4_VARIABLE); the secret itself is never stored here.
type KPISettings struct {
	ClientID          string        `json:"client_id"`
	GA4PropertyID     string        `json:"ga4_property_id"`
	GA4CredentialsRef string        `json:"ga4_credentials_ref"`
	ProviderRevenue   bool          `json:"provider_revenue"`
	SyncEvery         time.Duration `json:"-"`
	// UpdatedAt is nil for settings nobody saved (the defaults), never Go's zero time, which
	// reads as a save made in year 1.
	UpdatedAt *time.Time `json:"updated_at"`
}

// DefaultKPISettings are what a client without stored KPI settings gets: revenue only.
func DefaultKPISettings(clientID string) KPISettings {
	return KPISettings{ClientID: clientID, ProviderRevenue: true}
}

var (
	ga4PropertyPattern = regexp.MustCompile(`^[0-9]{1,20}$`)
	// env: refs name GA4_ variables only (ga4.CheckRef): any other variable could be one of the
	// deployment's own secrets. file: refs are held to GA4_CREDENTIALS_DIR by the API.
	credentialsPattern = regexp.MustCompile(`^(file:/\S{1,500}|env:GA4_[A-Z0-9_]{1,124})$`)
)

// Validate checks settings before they are written. The messages never echo the reference: a
// mistyped one could be a pasted secret.
func (k KPISettings) Validate() error {
	if err := ValidID("client_id", k.ClientID); err != nil {
		return err
	}
	if k.GA4PropertyID != "" && !ga4PropertyPattern.MatchString(k.GA4PropertyID) {
		return fmt.Errorf("%w: ga4_property_id must be the numeric GA4 property ID", ErrInvalid)
	}
	if k.GA4CredentialsRef != "" && !credentialsPattern.MatchString(k.GA4CredentialsRef) {
		return fmt.Errorf("%w: ga4_credentials_ref must be file:/absolute/path.json or env:GA4_VARIABLE_NAME (a reference, not the key itself)", ErrInvalid)
	}
	if k.GA4CredentialsRef != "" && k.GA4PropertyID == "" {
		return fmt.Errorf("%w: ga4_credentials_ref needs a ga4_property_id", ErrInvalid)
	}
	if k.SyncEvery != 0 && (k.SyncEvery < time.Minute || k.SyncEvery > 24*time.Hour || k.SyncEvery%time.Second != 0) {
		return fmt.Errorf("%w: sync_every must be whole seconds between 1m and 24h", ErrInvalid)
	}
	return nil
}

// KPISources are the sources the KPI sync keeps for these settings: our ledger always, GA4 when
// the client has a property. Only these count for the client's sync status.
func (k KPISettings) KPISources() []string {
	out := []string{kpi.SourceLedger}
	if k.GA4PropertyID != "" {
		out = append(out, kpi.SourceGA4)
	}
	return out
}

// GetKPISettings returns a client's KPI settings, or the defaults when none were saved.
func (s *Store) GetKPISettings(ctx context.Context, clientID string) (KPISettings, error) {
	if _, err := s.GetClient(ctx, clientID); err != nil {
		return KPISettings{}, err
	}
	return s.kpiSettings(ctx, clientID)
}

// kpiSettings reads the stored settings without checking the client exists.
func (s *Store) kpiSettings(ctx context.Context, clientID string) (KPISettings, error) {
	k := DefaultKPISettings(clientID)
	var every int
	err := s.pool.QueryRow(ctx, `SELECT ga4_property_id, ga4_credentials_ref, provider_revenue, sync_every_seconds, updated_at
		FROM kpi_settings WHERE client_id = $1`, clientID).
		Scan(&k.GA4PropertyID, &k.GA4CredentialsRef, &k.ProviderRevenue, &every, &k.UpdatedAt)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return KPISettings{}, fmt.Errorf("kpi settings of %s: %w", clientID, err)
	}
	k.SyncEvery = time.Duration(every) * time.Second
	return k, nil
}

// PutKPISettings replaces a client's KPI settings.
func (s *Store) PutKPISettings(ctx context.Context, k KPISettings) (KPISettings, error) {
	if err := k.Validate(); err != nil {
		return KPISettings{}, err
	}
	err := s.pool.QueryRow(ctx, `
		INSERT INTO kpi_settings (client_id, ga4_property_id, ga4_credentials_ref, provider_revenue, sync_every_seconds)
		VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (client_id) DO UPDATE SET ga4_property_id = EXCLUDED.ga4_property_id,
			ga4_credentials_ref = EXCLUDED.ga4_credentials_ref, provider_revenue = EXCLUDED.provider_revenue,
			sync_every_seconds = EXCLUDED.sync_every_seconds, updated_at = now()
		RETURNING updated_at`,
		k.ClientID, k.GA4PropertyID, k.GA4CredentialsRef, k.ProviderRevenue, int(k.SyncEvery/time.Second)).Scan(&k.UpdatedAt)
	if isForeignKeyViolation(err) {
		return KPISettings{}, fmt.Errorf("client %s: %w", k.ClientID, ErrNotFound)
	}
	if err != nil {
		return KPISettings{}, fmt.Errorf("save kpi settings of %s: %w", k.ClientID, err)
	}
	return k, nil
}

// UpsertKPITraffic writes the traffic part of a client's days; the revenue part is left alone.
// Writing the same days again replaces them, so a retried or overlapping sync is harmless.
func (s *Store) UpsertKPITraffic(ctx context.Context, clientID, source string, days []kpi.TrafficDay) error {
	if len(days) == 0 {
		return nil
	}
	var (
		ds                []time.Time
		vis, nv, sessions []int64
		bounce            []int32
		thresholded       []bool
	)
	for _, d := range days {
		if err := validTraffic(d.Traffic); err != nil {
			return err
		}
		ds = append(ds, kpi.DayOf(d.Day))
		vis, nv, sessions, bounce = append(vis, d.Visitors), append(nv, d.NewVisitors), append(sessions, d.Sessions), append(bounce, d.BounceRateBps)
		thresholded = append(thresholded, d.Thresholded)
	}
	// traffic_thresholded_at is this write's traffic_synced_at (now(): the transaction's time, one
	// value) when GA4 thresholded the day (migration 00049).
	_, err := s.pool.Exec(ctx, `
		INSERT INTO kpi_daily (client_id, day, visitors, new_visitors, sessions, bounce_rate_bps, traffic_source, traffic_synced_at,
			traffic_thresholded_at)
		SELECT $1, t.d, t.v, t.nv, t.s, t.b, $7, now(), CASE WHEN t.th THEN now() END
		FROM unnest($2::date[], $3::bigint[], $4::bigint[], $5::bigint[], $6::integer[], $8::boolean[]) AS t(d, v, nv, s, b, th)
		ON CONFLICT (client_id, day) DO UPDATE SET visitors = EXCLUDED.visitors, new_visitors = EXCLUDED.new_visitors,
			sessions = EXCLUDED.sessions, bounce_rate_bps = EXCLUDED.bounce_rate_bps,
			traffic_source = EXCLUDED.traffic_source, traffic_synced_at = EXCLUDED.traffic_synced_at,
			traffic_thresholded_at = EXCLUDED.traffic_thresholded_at, updated_at = now()`,
		clientID, ds, vis, nv, sessions, bounce, source, thresholded)
	return kpiWriteErr(err, "traffic", clientID)
}

// UpsertKPIRevenue writes the revenue part of a client's days; the traffic part is left alone.
func (s *Store) UpsertKPIRevenue(ctx context.Context, clientID, source string, days []kpi.RevenueDay) error {
	if len(days) == 0 {
		return nil
	}
	var (
		ds                  []time.Time
		net, gross, refunds []int64
		commission          []*int64
		currencies          []string
	)
	for _, d := range days {
		if _, err := money.ParseCurrency(string(d.Currency)); err != nil {
			return fmt.Errorf("%w: revenue currency: %v", ErrInvalid, err)
		}
		ds = append(ds, kpi.DayOf(d.Day))
		net, gross, refunds = append(net, d.Net()), append(gross, d.Gross), append(refunds, d.Refunds)
		commission, currencies = append(commission, d.Commission), append(currencies, string(d.Currency))
	}
	_, err := s.pool.Exec(ctx, `
		INSERT INTO kpi_daily (client_id, day, revenue, gross, refunds, commission, currency, revenue_source, revenue_synced_at)
		SELECT $1, t.d, t.n, t.g, t.r, t.c, t.cur, $8, now()
		FROM unnest($2::date[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[], $7::text[]) AS t(d, n, g, r, c, cur)
		ON CONFLICT (client_id, day) DO UPDATE SET revenue = EXCLUDED.revenue, gross = EXCLUDED.gross,
			refunds = EXCLUDED.refunds, commission = EXCLUDED.commission, currency = EXCLUDED.currency,
			revenue_source = EXCLUDED.revenue_source, revenue_synced_at = EXCLUDED.revenue_synced_at, updated_at = now()`,
		clientID, ds, net, gross, refunds, commission, currencies, source)
	return kpiWriteErr(err, "revenue", clientID)
}

// UpsertKPITrafficHours writes the traffic part of a client's hours.
func (s *Store) UpsertKPITrafficHours(ctx context.Context, clientID string, hours []kpi.TrafficHour) error {
	if len(hours) == 0 {
		return nil
	}
	var (
		hs                []time.Time
		vis, nv, sessions []int64
		bounce            []int32
	)
	for _, h := range hours {
		if err := validTraffic(h.Traffic); err != nil {
			return err
		}
		hs = append(hs, h.Hour.UTC().Truncate(time.Hour))
		vis, nv, sessions, bounce = append(vis, h.Visitors), append(nv, h.NewVisitors), append(sessions, h.Sessions), append(bounce, h.BounceRateBps)
	}
	_, err := s.pool.Exec(ctx, `
		INSERT INTO kpi_hourly (client_id, hour, visitors, new_visitors, sessions, bounce_rate_bps)
		SELECT $1, t.h, t.v, t.nv, t.s, t.b
		FROM unnest($2::timestamptz[], $3::bigint[], $4::bigint[], $5::bigint[], $6::integer[]) AS t(h, v, nv, s, b)
		ON CONFLICT (client_id, hour) DO UPDATE SET visitors = EXCLUDED.visitors, new_visitors = EXCLUDED.new_visitors,
			sessions = EXCLUDED.sessions, bounce_rate_bps = EXCLUDED.bounce_rate_bps, updated_at = now()`,
		clientID, hs, vis, nv, sessions, bounce)
	return kpiWriteErr(err, "hourly traffic", clientID)
}

// UpsertKPIRevenueHours writes the revenue part of a client's hours.
func (s *Store) UpsertKPIRevenueHours(ctx context.Context, clientID string, hours []kpi.RevenueHour) error {
	if len(hours) == 0 {
		return nil
	}
	var (
		hs             []time.Time
		gross, refunds []int64
		currencies     []string
	)
	for _, h := range hours {
		hs = append(hs, h.Hour.UTC().Truncate(time.Hour))
		gross, refunds, currencies = append(gross, h.Gross), append(refunds, h.Refunds), append(currencies, string(h.Currency))
	}
	_, err := s.pool.Exec(ctx, `
		INSERT INTO kpi_hourly (client_id, hour, gross, refunds, currency)
		SELECT $1, t.h, t.g, t.r, t.cur FROM unnest($2::timestamptz[], $3::bigint[], $4::bigint[], $5::text[]) AS t(h, g, r, cur)
		ON CONFLICT (client_id, hour) DO UPDATE SET gross = EXCLUDED.gross, refunds = EXCLUDED.refunds,
			currency = EXCLUDED.currency, updated_at = now()`,
		clientID, hs, gross, refunds, currencies)
	return kpiWriteErr(err, "hourly revenue", clientID)
}

func validTraffic(t kpi.Traffic) error {
	if t.Visitors < 0 || t.NewVisitors < 0 || t.Sessions < 0 || t.BounceRateBps < 0 || t.BounceRateBps > 10000 {
		return fmt.Errorf("%w: traffic counts must not be negative and bounce rate must be 0-10000 bps", ErrInvalid)
	}
	return nil
}

func kpiWriteErr(err error, what, clientID string) error {
	if isForeignKeyViolation(err) {
		return fmt.Errorf("%w: client %q does not exist", ErrInvalid, clientID)
	}
	if err != nil {
		return fmt.Errorf("upsert kpi %s of %s: %w", what, clientID, err)
	}
	return nil
}

// currentTrafficSQL is SQL true for a stored day's traffic (kpi_daily d) the client's KPI settings
// (kpi_settings k, left-joined) still stand behind: the sync stores GA4's with its property
// (kpi.StoredName: "ga4@properties/<id>"), which must be the one set now. Traffic of another
// property (the client was moved, perhaps off another shop's property set by mistake) or of a
// GA4 the client dropped is not the client's any more: until the next sync rewrote it (a period,
// up to a day), or for good when GA4 was dropped, as no sync touches traffic then, the hot days
// showed it beside the new property's older days. GA4's stored without a property ("ga4", by a
// worker of the previous release) counts while the client has a GA4 property, whichever it is,
// and not once GA4 was removed: no sync rewrites it then, so it stayed until it aged out.
const currentTrafficSQL = `(CASE WHEN d.traffic_source = '` + kpi.SourceGA4 + `' THEN COALESCE(k.ga4_property_id, '') <> ''
	WHEN d.traffic_source LIKE '` + kpi.SourceGA4 + `@%' THEN
		d.traffic_source = '` + kpi.SourceGA4 + `@properties/' || COALESCE(NULLIF(k.ga4_property_id, ''), '-')
	ELSE true END)`

// KPIHotDays returns a client's stored days from from to to (inclusive), oldest first, with only
// the parts some source filled; traffic only while it is from the client's current GA4 property
// (currentTrafficSQL).
func (s *Store) KPIHotDays(ctx context.Context, clientID string, from, to time.Time) ([]kpi.Day, error) {
	rows, err := s.pool.Query(ctx, `SELECT d.day, d.visitors, d.new_visitors, d.sessions, d.bounce_rate_bps, d.revenue, d.gross,
			d.refunds, d.commission, d.currency, d.traffic_source IS NOT NULL, d.revenue_source IS NOT NULL,
			d.traffic_thresholded_at IS NOT NULL AND d.traffic_thresholded_at = d.traffic_synced_at,
			d.traffic_source IS NOT NULL AND `+currentTrafficSQL+`
		FROM kpi_daily d LEFT JOIN kpi_settings k ON k.client_id = d.client_id
		WHERE d.client_id = $1 AND d.day BETWEEN $2 AND $3 ORDER BY d.day`, clientID, kpi.DayOf(from), kpi.DayOf(to))
	if err != nil {
		return nil, fmt.Errorf("kpi days of %s: %w", clientID, err)
	}
	defer rows.Close()
	var out []kpi.Day
	for rows.Next() {
		var d kpi.Day
		var t kpi.Traffic
		var net int64
		var r kpi.Revenue
		var cur string
		var hasTraffic, hasRevenue, currentTraffic bool
		if err := rows.Scan(&d.Day, &t.Visitors, &t.NewVisitors, &t.Sessions, &t.BounceRateBps, &net, &r.Gross, &r.Refunds,
			&r.Commission, &cur, &hasTraffic, &hasRevenue, &t.Thresholded, &currentTraffic); err != nil {
			return nil, fmt.Errorf("scan kpi day: %w", err)
		}
		if !hasTraffic && !hasRevenue {
			// A row from before the sync tracked its parts: all of it counts, revenue is net.
			hasTraffic, hasRevenue, currentTraffic = true, true, true
			r.Gross, r.Refunds = net, 0
		}
		// Traffic of a property the client no longer has is no part of its day.
		hasTraffic = hasTraffic && currentTraffic
		d.Day, r.Currency = kpi.DayOf(d.Day), money.Currency(cur)
		if hasTraffic {
			d.Traffic = &t
		}
		if hasRevenue {
			d.Revenue = &r
		}
		if !d.Synced() {
			// Only another property's traffic: as good as no row, which the reader fetches.
			continue
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// KPIHours returns a client's stored hours from from (inclusive) to to (exclusive).
func (s *Store) KPIHours(ctx context.Context, clientID string, from, to time.Time) ([]kpi.TrafficHour, []kpi.RevenueHour, error) {
	rows, err := s.pool.Query(ctx, `SELECT hour, visitors, new_visitors, sessions, bounce_rate_bps, gross, refunds, currency
		FROM kpi_hourly WHERE client_id = $1 AND hour >= $2 AND hour < $3 ORDER BY hour`, clientID, from, to)
	if err != nil {
		return nil, nil, fmt.Errorf("kpi hours of %s: %w", clientID, err)
	}
	defer rows.Close()
	var traffic []kpi.TrafficHour
	var revenue []kpi.RevenueHour
	for rows.Next() {
		var h time.Time
		var vis, nv, sessions, gross, refunds *int64
		var bounce *int32
		var cur string
		if err := rows.Scan(&h, &vis, &nv, &sessions, &bounce, &gross, &refunds, &cur); err != nil {
			return nil, nil, fmt.Errorf("scan kpi hour: %w", err)
		}
		h = h.UTC()
		if vis != nil {
			traffic = append(traffic, kpi.TrafficHour{Hour: h, Traffic: kpi.Traffic{Visitors: *vis, NewVisitors: deref(nv), Sessions: deref(sessions), BounceRateBps: deref(bounce)}})
		}
		if gross != nil {
			revenue = append(revenue, kpi.RevenueHour{Hour: h, Revenue: kpi.Revenue{Currency: money.Currency(cur), Gross: *gross, Refunds: deref(refunds)}})
		}
	}
	return traffic, revenue, rows.Err()
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// RevenueHours sums one client's captured payments in cur per hour from from (inclusive) to to
// (exclusive), like RevenueByDay; hours without payments are absent. Refunds are refunds only
// (RevenueDay.RefundsOnly): these are storefront revenue KPIs.
func (s *Store) RevenueHours(ctx context.Context, clientID string, cur money.Currency, from, to time.Time) ([]kpi.RevenueHour, error) {
	rows, err := s.pool.Query(ctx, `SELECT date_trunc('hour', p.captured_at AT TIME ZONE 'UTC'), sum(p.gross),
			sum(p.refunded - `+disputesLostSQL+`)
		FROM payments p WHERE p.client_id = $1 AND currency = $2 AND captured_at >= $3 AND captured_at < $4
		GROUP BY 1 ORDER BY 1`, clientID, string(cur), from, to)
	if err != nil {
		return nil, fmt.Errorf("hourly revenue of %s: %w", clientID, err)
	}
	defer rows.Close()
	var out []kpi.RevenueHour
	for rows.Next() {
		var h time.Time
		r := kpi.RevenueHour{Revenue: kpi.Revenue{Currency: cur}}
		if err := rows.Scan(&h, &r.Gross, &r.Refunds); err != nil {
			return nil, fmt.Errorf("scan hourly revenue: %w", err)
		}
		r.Hour = time.Date(h.Year(), h.Month(), h.Day(), h.Hour(), 0, 0, 0, time.UTC)
		out = append(out, r)
	}
	return out, rows.Err()
}

// KPISyncStatus returns the sync status of each of a client's sources (KPISettings.KPISources),
// by source name. The row of a source the client no longer has (GA4 after its property was
// cleared) stays in the table, with its history, but is not listed: the sync no longer updates
// it, so it would mark the client stale for good. Should the source come back, so does its row.
func (s *Store) KPISyncStatus(ctx context.Context, clientID string) ([]kpi.SourceStatus, error) {
	k, err := s.kpiSettings(ctx, clientID)
	if err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT source, last_success_at, last_attempt_at, last_error, failures
		FROM kpi_sync_status WHERE client_id = $1 AND source = ANY($2) ORDER BY source`, clientID, k.KPISources())
	if err != nil {
		return nil, fmt.Errorf("kpi sync status of %s: %w", clientID, err)
	}
	defer rows.Close()
	var out []kpi.SourceStatus
	for rows.Next() {
		var st kpi.SourceStatus
		var ok *time.Time
		if err := rows.Scan(&st.Source, &ok, &st.LastAttempt, &st.LastError, &st.Failures); err != nil {
			return nil, fmt.Errorf("scan kpi sync status: %w", err)
		}
		if ok != nil {
			st.LastSuccess = ok.UTC()
		}
		st.LastAttempt = st.LastAttempt.UTC()
		st.Period = k.SyncEvery // the client's own; 0: the deployment's, which the reader knows
		out = append(out, st)
	}
	return out, rows.Err()
}

// KPIClientLeftAt is when the client was offboarded (kpi.HotStore): zero for an active client,
// and for one that does not exist (the reader then has nothing stored to show either).
func (s *Store) KPIClientLeftAt(ctx context.Context, clientID string) (time.Time, error) {
	var at *time.Time
	err := s.pool.QueryRow(ctx, `SELECT offboarded_at FROM clients WHERE id = $1`, clientID).Scan(&at)
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && at == nil) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("offboarding of %s: %w", clientID, err)
	}
	return at.UTC(), nil
}

// CountedKPISources is the condition on kpi_sync_status st, left-joined to kpi_settings k on the
// client, that keeps the sources a client's KPIs count (KPISettings.KPISources): our ledger
// always, GA4 while the client has a property. The sync lag metric and the kpi_sync_stale
// monitor read by it, so both count what the API counts.
const CountedKPISources = `(st.source = '` + kpi.SourceLedger + `' OR (st.source = '` + kpi.SourceGA4 + `' AND COALESCE(k.ga4_property_id, '') <> ''))`

// KPISyncs returns every client's sync state over the sources it counts (KPISettings.KPISources,
// as KPISyncStatus), one row per client with a sync recorded, in one query: what the sync lag
// metric is computed from at each scrape. Clients are never deleted, so the rows are bounded by
// the clients that have KPIs. An offboarded client is left out: it is no longer synced, and a
// lag growing forever would be an alert nobody can act on.
func (s *Store) KPISyncs(ctx context.Context) ([]kpi.ClientSync, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT st.client_id, CASE WHEN bool_or(st.last_success_at IS NULL) THEN NULL ELSE min(st.last_success_at) END,
		       COALESCE(max(k.sync_every_seconds), 0)
		FROM kpi_sync_status st LEFT JOIN kpi_settings k ON k.client_id = st.client_id
		WHERE `+CountedKPISources+`
		  AND NOT EXISTS (SELECT 1 FROM clients c WHERE c.id = st.client_id AND c.status = 'offboarded')
		GROUP BY st.client_id ORDER BY st.client_id`)
	if err != nil {
		return nil, fmt.Errorf("kpi syncs: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (kpi.ClientSync, error) {
		var c kpi.ClientSync
		var ok *time.Time
		var every int64
		if err := row.Scan(&c.ClientID, &ok, &every); err != nil {
			return c, err
		}
		if ok != nil {
			c.LastSuccess = ok.UTC()
		}
		c.Period = time.Duration(every) * time.Second
		return c, nil
	})
	if err != nil {
		return nil, fmt.Errorf("kpi syncs: %w", err)
	}
	return out, nil
}

// MarkKPISynced records a good sync of one source at at.
func (s *Store) MarkKPISynced(ctx context.Context, clientID, source string, at time.Time) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO kpi_sync_status (client_id, source, last_success_at, last_attempt_at)
		VALUES ($1, $2, $3, $3)
		ON CONFLICT (client_id, source) DO UPDATE SET last_success_at = GREATEST(kpi_sync_status.last_success_at, EXCLUDED.last_success_at),
			last_attempt_at = GREATEST(kpi_sync_status.last_attempt_at, EXCLUDED.last_attempt_at), last_error = '', failures = 0`,
		clientID, source, at)
	return kpiWriteErr(err, "sync status", clientID)
}

// MarkKPISyncFailed records a failed sync of one source, by a run that started at startedAt; its
// stored data and last good sync stay. A failure of a run that started before the last good sync
// (an older run that outlasted a newer one, as a refresh runs beside the schedule's) is not the
// source's state any more: only its attempt time is kept.
func (s *Store) MarkKPISyncFailed(ctx context.Context, clientID, source, message string, startedAt, at time.Time) error {
	message = truncateText(message, 1000)
	if startedAt.IsZero() {
		startedAt = at
	}
	// A run's failure is counted once, keyed by the run's start: Temporal repeats the write when
	// an attempt's completion is lost.
	_, err := s.pool.Exec(ctx, `INSERT INTO kpi_sync_status (client_id, source, last_attempt_at, last_error, failures, last_failed_run)
		VALUES ($1, $2, $3, $4, 1, $5)
		ON CONFLICT (client_id, source) DO UPDATE SET last_attempt_at = GREATEST(kpi_sync_status.last_attempt_at, EXCLUDED.last_attempt_at),
			last_error = CASE WHEN kpi_sync_status.last_success_at > $5 THEN kpi_sync_status.last_error ELSE EXCLUDED.last_error END,
			failures = CASE WHEN kpi_sync_status.last_success_at > $5 OR kpi_sync_status.last_failed_run = $5
				THEN kpi_sync_status.failures ELSE kpi_sync_status.failures + 1 END,
			last_failed_run = CASE WHEN kpi_sync_status.last_success_at > $5 THEN kpi_sync_status.last_failed_run ELSE $5 END`,
		clientID, source, at, message, startedAt)
	return kpiWriteErr(err, "sync status", clientID)
}

// truncateText makes s text Postgres stores: bytes that are not UTF-8 (a source's error page in
// Latin-1, quoted in its error) become U+FFFD, NUL is dropped, and the result is cut to at most
// n bytes between characters. Text Postgres refused would leave the failure unrecorded.
func truncateText(s string, n int) string {
	s = strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "")
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

// Tables the KPI retention prunes by age. The ledger and payments are never among them.
const (
	PruneKPIDaily          = "kpi_daily"
	PruneKPIHourly         = "kpi_hourly"
	PruneWebhookDeliveries = "webhook_deliveries"
	// PruneWebhookInbox deletes forwarded inbox events only; one still waiting for Temporal stays.
	PruneWebhookInbox = "webhook_inbox"
	// PruneOrderWaiters deletes the record that a payment waited for its order once the payment
	// waits for no order any more (orderWaitOver). A shop's later updates of the order signal
	// every payment recorded as waiting for it, and a retried delivery must still reach one a
	// failed wake-up missed, so a waiter stays while its payment may need waking; kept for good,
	// they grew by one a payment that came before its order, each update signalling more runs.
	PruneOrderWaiters = "order_waiters"
	// PruneEarlyOrderStatuses deletes status changes kept for an order that never arrived
	// (KeepEarlyStatus), past the same cut as the delivery records that claimed them.
	PruneEarlyOrderStatuses = "early_order_statuses"
	// PruneKeySends deletes the first sends of payout keys, Stripe's and PayPal's (NoteKeySend),
	// older than the cut and than KeySendKeep, whichever is earlier, once their payment is
	// finished (keySendsDone).
	PruneKeySends = "stripe_key_sends"
)

// keySendsDone is SQL true for a payment (p) whose run sends none of its keys again: paid out,
// refunded, compensated or cancelled (a leg or a movement due in doubt or held keeps it
// payout_failed or held, for as long as an admin takes). The record of a key whose payment is
// not (or has no row yet: a run saves its payment at its first milestone, after its first
// payouts, so a worker that died sending them left none) stays whatever its age: pruned, the
// key's next send (an admin's retry or release, a run its workers come back to after an outage)
// would count as its first, and PayPal, which forgets a key after 30 days, would pay it again;
// Stripe's rail would not look for the movement made under it. Keys name their payment's
// workflow before their first '/' (payment-<provider>-<id>/...).
const keySendsDone = `p.status IN ('paid', 'partially_refunded', 'refunded', 'compensated', 'cancelled')`

// orderWaitOver is SQL true for a payment (p) that no order can change any more: split (paying out
// and on), or cancelled. One waiting for its capture, its metadata or an admin (needs_attention,
// which an order that comes later may settle) may still need waking.
const orderWaitOver = `p.status NOT IN ('awaiting_capture', 'awaiting_metadata', 'needs_attention')`

// PruneBatch deletes at most limit rows of table older than before (a day for kpi_daily, an
// instant for the others) and returns how many it deleted. One small statement per batch keeps
// row locks short and lets autovacuum keep up; callers loop until it returns less than limit.
func (s *Store) PruneBatch(ctx context.Context, table string, before time.Time, limit int) (int64, error) {
	var q string
	switch table {
	case PruneKPIDaily:
		q = `DELETE FROM kpi_daily WHERE ctid IN (SELECT ctid FROM kpi_daily WHERE day < $1 LIMIT $2)`
		before = kpi.DayOf(before)
	case PruneKPIHourly:
		q = `DELETE FROM kpi_hourly WHERE ctid IN (SELECT ctid FROM kpi_hourly WHERE hour < $1 LIMIT $2)`
	case PruneWebhookDeliveries:
		// A record with its body's hash stays for DeliveryBodyKeep even under a shorter retention.
		q = `DELETE FROM webhook_deliveries WHERE ctid IN (SELECT ctid FROM webhook_deliveries WHERE received_at < $1
			AND (body_sha256 IS NULL OR received_at < now() - make_interval(secs => $3)) LIMIT $2)`
	case PruneWebhookInbox:
		q = `DELETE FROM webhook_inbox WHERE ctid IN (SELECT ctid FROM webhook_inbox WHERE forwarded_at < $1 LIMIT $2)`
	case PruneOrderWaiters:
		q = `DELETE FROM order_waiters WHERE ctid IN (SELECT w.ctid FROM order_waiters w
			JOIN payments p ON p.workflow_id = w.workflow_id WHERE w.created_at < $1 AND ` + orderWaitOver + ` LIMIT $2)`
	case PruneEarlyOrderStatuses:
		q = `DELETE FROM early_order_statuses WHERE ctid IN (SELECT ctid FROM early_order_statuses WHERE received_at < $1 LIMIT $2)`
	case PruneKeySends:
		q = `DELETE FROM stripe_key_sends WHERE ctid IN (SELECT k.ctid FROM stripe_key_sends k
			WHERE k.first_sent_at < LEAST($1, now() - make_interval(secs => $3)) AND EXISTS (SELECT 1 FROM payments p
				WHERE p.workflow_id = split_part(k.key, '/', 1) AND ` + keySendsDone + `) LIMIT $2)`
	default:
		return 0, fmt.Errorf("%w: %q is not a table retention prunes", ErrInvalid, table)
	}
	if limit <= 0 {
		return 0, fmt.Errorf("%w: batch size must be positive", ErrInvalid)
	}
	args := []any{before, limit}
	switch table {
	case PruneWebhookDeliveries:
		args = append(args, DeliveryBodyKeep.Seconds())
	case PruneKeySends:
		args = append(args, KeySendKeep.Seconds())
	}
	tag, err := s.pool.Exec(ctx, q, args...)
	if err != nil {
		return 0, fmt.Errorf("prune %s before %s: %w", table, before.Format(time.RFC3339), err)
	}
	return tag.RowsAffected(), nil
}
