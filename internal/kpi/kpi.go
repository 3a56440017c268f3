// Package kpi is the domain of client KPIs: the sources they come from (web analytics, our own
// payments, the payment provider), the hot window Postgres keeps, and how the stored (hot) part
// and the part fetched from the sources on demand (cold) merge into the one series a client sees.
// It does no I/O of its own: sources and the store come in through the interfaces below.
package kpi

import (
	"context"
	"errors"
	"time"

	"paysplit/internal/money"
)

// Source names, as stored in the sync status and shown per day in the API.
const (
	// SourcePostgres marks a day read from the stored (hot) KPI rows.
	SourcePostgres = "postgres"
	// SourceGA4 is Google Analytics 4 (traffic).
	SourceGA4 = "ga4"
	// SourceLedger is our own payments and their split (revenue of the hot window).
	SourceLedger = "ledger"
	// SourceStripe is the payment provider's charges (revenue older than the hot window).
	SourceStripe = "stripe"
	// SourcePayPal is the payment provider's transaction search (revenue older than the hot
	// window, summed with Stripe's when both are configured: "stripe+paypal").
	SourcePayPal = "paypal"
	// SourceNone marks a day no source could fill: shown as not synced, never as zeros.
	SourceNone = "none"
)

// Traffic is one period's storefront analytics.
type Traffic struct {
	Visitors      int64
	NewVisitors   int64
	Sessions      int64
	BounceRateBps int32 // 0..10000
	// Thresholded says GA4 answered these figures subject to thresholding
	// (metadata.subjectToThresholding): it may have withheld rows with low user counts (it does not
	// say whether it did), so the counts may be lower than the real ones. Shown as ThresholdedNote wherever they are.
	Thresholded bool
}

// ThresholdedNote is what the API, the dashboard and the weekly report say when figures they
// show are Thresholded.
const ThresholdedNote = "GA4 applied thresholding, which may withhold low counts: visitor figures may be lower than the real ones."

// MergeTraffic is the traffic of two periods as one: counts added, the bounce rate weighted by
// sessions (rounded to the nearest basis point). Visitors of both periods count twice, as
// visitor counts cannot be added exactly; it is for what must not be dropped (two rows that
// fall on one hour), not for summing hours into days.
func MergeTraffic(a, b Traffic) Traffic {
	out := Traffic{Visitors: a.Visitors + b.Visitors, NewVisitors: a.NewVisitors + b.NewVisitors, Sessions: a.Sessions + b.Sessions,
		Thresholded: a.Thresholded || b.Thresholded}
	switch {
	case out.Sessions > 0:
		out.BounceRateBps = int32((int64(a.BounceRateBps)*a.Sessions + int64(b.BounceRateBps)*b.Sessions + out.Sessions/2) / out.Sessions)
	default:
		out.BounceRateBps = max(a.BounceRateBps, b.BounceRateBps)
	}
	return out
}

// TrafficDay is one UTC day of traffic.
type TrafficDay struct {
	Day time.Time
	Traffic
}

// TrafficHour is one hour of traffic (Hour is the start of the hour, UTC).
type TrafficHour struct {
	Hour time.Time
	Traffic
}

// Revenue is one period's sales in one currency, in minor units. Refunds count on the day of the
// payment they refund, so a day's numbers only change while its payments can still be refunded.
type Revenue struct {
	Currency money.Currency
	Gross    int64
	Refunds  int64
	// Commission is the platform's share net of refunds; nil when the source cannot tell (the
	// payment provider knows charges, not how we split them).
	Commission *int64
}

// Net is what the period sold after refunds.
func (r Revenue) Net() int64 { return r.Gross - r.Refunds }

// RevenueDay is one UTC day of revenue.
type RevenueDay struct {
	Day time.Time
	Revenue
}

// RevenueDaysOf is every day from from to to (inclusive) with its revenue in byDay, in cur; a
// day byDay lacks had none.
func RevenueDaysOf(from, to time.Time, cur money.Currency, byDay map[time.Time]Revenue) []RevenueDay {
	var out []RevenueDay
	for _, d := range Days(from, to) {
		r := byDay[d]
		r.Currency = cur
		out = append(out, RevenueDay{Day: d, Revenue: r})
	}
	return out
}

// RevenueHour is one hour of revenue (Hour is the start of the hour, UTC).
type RevenueHour struct {
	Hour time.Time
	Revenue
}

// Day is one day of a client's series. A nil part means no source had it: the API shows the day
// as not synced instead of as zeros.
type Day struct {
	Day time.Time
	// Source is SourcePostgres for stored days, the names of the sources that filled a fetched
	// day joined with "+" (e.g. "ga4+stripe"), or SourceNone.
	Source  string
	Stale   bool
	Traffic *Traffic
	Revenue *Revenue
}

// Synced reports whether any source filled the day.
func (d Day) Synced() bool { return d.Traffic != nil || d.Revenue != nil }

// TrafficSource reads web analytics for one client (its property is part of the source).
type TrafficSource interface {
	Name() string
	// TrafficDays returns every day from from to to (inclusive); a day without visits is zeros.
	TrafficDays(ctx context.Context, from, to time.Time) ([]TrafficDay, error)
	// TrafficHours returns the hours of one day that had traffic.
	TrafficHours(ctx context.Context, day time.Time) ([]TrafficHour, error)
}

// VisitorCounter is a traffic source that can count a range's distinct visitors: each person
// once, however many of its days they came (GA4 asked for the range as one). A day's visitors do
// not add up to that: one who came on three days is in three days' counts.
type VisitorCounter interface {
	DistinctVisitors(ctx context.Context, from, to time.Time) (VisitorCount, error)
}

// VisitorCount is a range's distinct visitors. Thresholded: GA4 may have withheld low counts from the
// report it was counted from, so it may be lower than the real one (see Traffic).
type VisitorCount struct {
	Visitors    int64
	Thresholded bool
}

// Keyed is a source whose answers depend on a setting of the client's, not only on the client:
// GA4's on the property it reads. Caches key its answers by CacheKey too, so a client moved to
// another property is never answered from what the previous one gave. Sources are built from the
// stored settings on each request, so every API replica keys by the current setting as soon as
// it is saved, whichever replica saved it (invalidating on the change would reach only that one).
type Keyed interface {
	CacheKey() string
}

// cacheName is a source's name for cache keys: its name, and its CacheKey when it has one.
func cacheName(name string, src any) string {
	if k, ok := src.(Keyed); ok {
		return name + "@" + k.CacheKey()
	}
	return name
}

// StoredName is what the sync stores as the source of a day's part: the source's name, and its
// CacheKey when it has one (GA4's property: "ga4@properties/123"), so a stored day's traffic is
// known to be the current property's (store.KPIHotDays) and never shown once the client was moved
// to another property or dropped GA4.
func StoredName(src interface{ Name() string }) string { return cacheName(src.Name(), src) }

// RevenueSource reads one client's revenue in one currency.
type RevenueSource interface {
	Name() string
	// RevenueDays returns every day from from to to (inclusive); a day without sales is zeros.
	RevenueDays(ctx context.Context, clientID string, cur money.Currency, from, to time.Time) ([]RevenueDay, error)
}

// Sources are where a client's days older than the hot window come from. Either may be nil: a
// client without analytics still gets revenue.
type Sources struct {
	Traffic TrafficSource
	Revenue RevenueSource
}

// ErrNotConfigured is returned for a source the client has not set up.
var ErrNotConfigured = errors.New("kpi source not configured")

// permanentError marks a source error that retrying cannot fix (bad credentials, no access to the
// property, a malformed request).
type permanentError struct{ err error }

func (e permanentError) Error() string { return e.err.Error() }
func (e permanentError) Unwrap() error { return e.err }

// Permanent marks err as not worth retrying.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanentError{err}
}

// IsPermanent reports whether err (or what it wraps) was marked Permanent or is ErrNotConfigured.
func IsPermanent(err error) bool {
	var p permanentError
	return errors.As(err, &p) || errors.Is(err, ErrNotConfigured)
}
