package kpi

import (
	"context"
	"fmt"
	"time"

	"golang.org/x/sync/singleflight"

	"paysplit/internal/money"
)

// HotStore is where the sync keeps the hot window.
type HotStore interface {
	// KPIHotDays returns the stored days from from to to; days without a row are absent.
	KPIHotDays(ctx context.Context, clientID string, from, to time.Time) ([]Day, error)
	// KPISyncStatus returns the sync status of each of the client's sources.
	KPISyncStatus(ctx context.Context, clientID string) ([]SourceStatus, error)
	// KPIClientLeftAt is when the client was offboarded; zero while it is a client (or unknown).
	KPIClientLeftAt(ctx context.Context, clientID string) (time.Time, error)
}

// SourcesFor returns a client's sources for days outside the hot window.
type SourcesFor func(ctx context.Context, clientID string) (Sources, error)

// SourceError is a source that could not answer for part of a series.
type SourceError struct {
	Source  string
	Message string
	// Permanent: the source refused in a way no retry fixes (IsPermanent: credentials missing
	// or refused, no access to the property). Otherwise it may answer a moment later (network,
	// timeout, 5xx, rate limit), which is why the weekly report retries instead of noting it.
	Permanent bool
}

// Series is a client's KPIs over a range: one Day per calendar day, oldest first.
type Series struct {
	Days []Day
	Freshness
	// ColdErrors are the sources that failed on the fetched part; their days are shown as not
	// synced and stale.
	ColdErrors []SourceError
}

// Reader serves any range: the hot window from Postgres, older days (and hot days the sync has
// not stored) from the sources, merged into one series and marked by source.
type Reader struct {
	Hot HotStore
	// Cold gives a client's sources; nil reads everything from Postgres.
	Cold SourcesFor
	// RetentionDays is the hot window (HotStart); 0 treats every stored day as hot.
	RetentionDays int
	// StaleAfter is how old a source's last good sync may be before its days are stale, at
	// least two of its sync periods (SourceStatus.IsStale).
	StaleAfter time.Duration
	// SyncEvery is the deployment's sync period (KPI_SYNC_EVERY), a client's without its own.
	SyncEvery time.Duration
	// Cache keeps what the sources answered, a day an entry keyed by client, source (with its
	// property: Keyed) and day; nil caches nothing.
	Cache *Cache[[]Day]
	Now   func() time.Time

	flight singleflight.Group
}

func (r *Reader) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// Series returns the client's days from from to to. A failing source does not fail the call:
// its days are empty and stale, and it is named in ColdErrors. Days after today (UTC) have
// happened nowhere: they are neither read nor fetched, and come back as SourceNone, not synced
// and not stale (a source asked for them would answer zeros).
//
// An offboarded client's series ends on the (UTC) day it left: the days after it are answered
// like days to come. Its history up to then stays readable (its API keys keep read access to it,
// admins regenerate its past reports), older days from the sources as for any client; but the
// days after it are a departed shop's, which the agency no longer syncs (no schedule, refresh
// 409, a stray sync run syncs no source). Before, once the last sync's rows had aged out of the
// hot window, every request fetched them live from its GA4 property with its stored credentials
// and from the providers: a sync by another door, shown as the shop's current KPIs.
func (r *Reader) Series(ctx context.Context, clientID string, cur money.Currency, from, to time.Time) (Series, error) {
	from, to = DayOf(from), DayOf(to)
	now := r.now()
	hotStart := HotStart(now, r.RetentionDays)
	if r.Cold == nil {
		hotStart = time.Time{}
	}
	left, err := r.Hot.KPIClientLeftAt(ctx, clientID)
	if err != nil {
		return Series{}, err
	}
	// last is the last day any source can have: today, or the day the client left.
	last := DayOf(now)
	if !left.IsZero() && DayOf(left).Before(last) {
		last = DayOf(left)
	}
	if to.Before(last) {
		last = to
	}
	hotFrom := from
	if hotFrom.Before(hotStart) {
		hotFrom = hotStart
	}
	var hot []Day
	if !hotFrom.After(last) {
		if hot, err = r.Hot.KPIHotDays(ctx, clientID, hotFrom, last); err != nil {
			return Series{}, err
		}
	}
	statuses, err := r.Hot.KPISyncStatus(ctx, clientID)
	if err != nil {
		return Series{}, err
	}
	for i := range statuses {
		if statuses[i].Period == 0 {
			statuses[i].Period = r.SyncEvery
		}
	}
	s := Series{Freshness: Summarize(statuses, now, r.StaleAfter)}
	var cold []Day
	if !from.After(last) && r.Cold != nil {
		if cfrom, cto, ok := ColdRange(from, last, hotStart, hot); ok {
			if cold, s.ColdErrors, err = r.fetch(ctx, clientID, cur, cfrom, cto); err != nil {
				return Series{}, err
			}
		}
	}
	s.Days = Merge(from, to, hotStart, hot, cold)
	r.markStale(&s, last)
	return s, nil
}

// markStale flags stored days the last good sync may not have seen in full (from its day on),
// and fetched days a source failed on. Days after last (today, or the day an offboarded client
// left) are never stale: no source was asked.
func (r *Reader) markStale(s *Series, last time.Time) {
	staleFrom := DayOf(s.LastSyncedAt)
	for i := range s.Days {
		d := &s.Days[i]
		switch {
		case d.Day.After(last):
			d.Stale = false
		case d.Source == SourcePostgres:
			d.Stale = s.Stale && !d.Day.Before(staleFrom)
		default:
			d.Stale = len(s.ColdErrors) > 0
		}
	}
}

// fetch asks the client's sources for cfrom..cto, each answer cached on its own so a source that
// failed is asked again next time while the other's answer is reused.
func (r *Reader) fetch(ctx context.Context, clientID string, cur money.Currency, cfrom, cto time.Time) ([]Day, []SourceError, error) {
	src, err := r.Cold(ctx, clientID)
	if err != nil {
		return nil, nil, fmt.Errorf("kpi sources of %s: %w", clientID, err)
	}
	var traffic []TrafficDay
	var revenue []RevenueDay
	var trafficName, revenueName string
	var errs []SourceError
	if src.Traffic != nil {
		trafficName = src.Traffic.Name()
		days, err := r.sourceDays(ctx, "traffic/"+clientID+"/"+cacheName(trafficName, src.Traffic), cfrom, cto, func(ctx context.Context, from, to time.Time) ([]Day, error) {
			t, err := src.Traffic.TrafficDays(ctx, from, to)
			return Combine(t, trafficName, nil, ""), err
		})
		if err != nil {
			errs = append(errs, SourceError{Source: trafficName, Message: err.Error(), Permanent: IsPermanent(err)})
		}
		traffic = trafficOf(days)
	}
	if src.Revenue != nil {
		revenueName = src.Revenue.Name()
		days, err := r.sourceDays(ctx, "revenue/"+clientID+"/"+cacheName(revenueName, src.Revenue)+"/"+string(cur), cfrom, cto, func(ctx context.Context, from, to time.Time) ([]Day, error) {
			rv, err := src.Revenue.RevenueDays(ctx, clientID, cur, from, to)
			return Combine(nil, "", rv, revenueName), err
		})
		if err != nil {
			errs = append(errs, SourceError{Source: revenueName, Message: err.Error(), Permanent: IsPermanent(err)})
		}
		revenue = revenueOf(days)
	}
	return Combine(traffic, trafficName, revenue, revenueName), errs, nil
}

// sharedFetchTimeout bounds a call to a source that concurrent requests share: it runs on
// without the request that started it (see sourceDays), so nothing else ends it. It matches the
// API's write timeout, the longest any request waits for an answer.
const sharedFetchTimeout = 5 * time.Minute

// sourceDays is one source's days from..to: those cached are reused day by day, and the source
// is asked only for the span from the first day missing to the last, with concurrent requests
// for the same span sharing one call. Caching by day, not by the range asked, keeps a client
// that moves a year-long range a day at a time from making the source (Stripe's charges of the
// whole platform account, PayPal's transaction search) list the whole year again each time.
//
// A caller whose context ends stops waiting for the shared call at once, and the call does not
// end with it: on the context of whichever request started it, it failed every other request
// sharing it when that one's client went away, and left nothing cached for the next; and a
// caller that could not leave stayed parked on a slow source however long ago its client had
// gone, so such requests piled up for as long as the source took. The call has its own bound,
// and caches what it brings even when nobody waits for it any more.
func (r *Reader) sourceDays(ctx context.Context, prefix string, from, to time.Time, ask func(ctx context.Context, from, to time.Time) ([]Day, error)) ([]Day, error) {
	all := Days(from, to)
	have := make(map[time.Time]Day, len(all))
	var missFrom, missTo time.Time
	for _, d := range all {
		if v, ok := r.cached(prefix + "/" + d.Format(time.DateOnly)); ok && len(v) == 1 {
			have[d] = v[0]
			continue
		}
		if missFrom.IsZero() {
			missFrom = d
		}
		missTo = d
	}
	if !missFrom.IsZero() {
		span := missFrom.Format(time.DateOnly) + ".." + missTo.Format(time.DateOnly)
		call := r.flight.DoChan(prefix+"/"+span, func() (any, error) {
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), sharedFetchTimeout)
			defer cancel()
			days, err := ask(fctx, missFrom, missTo)
			if err != nil {
				return nil, err
			}
			for _, d := range days {
				r.put(prefix+"/"+d.Day.Format(time.DateOnly), []Day{d})
			}
			return days, nil
		})
		var res singleflight.Result
		select {
		case res = <-call:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if res.Err != nil {
			return nil, res.Err
		}
		for _, d := range res.Val.([]Day) {
			have[d.Day] = d
		}
	}
	out := make([]Day, 0, len(all))
	for _, d := range all {
		if v, ok := have[d]; ok {
			out = append(out, v)
		}
	}
	return out, nil
}

func (r *Reader) cached(key string) ([]Day, bool) {
	if r.Cache == nil {
		return nil, false
	}
	return r.Cache.Get(key)
}

func (r *Reader) put(key string, days []Day) {
	if r.Cache != nil {
		r.Cache.Put(key, days)
	}
}

func trafficOf(days []Day) []TrafficDay {
	out := make([]TrafficDay, 0, len(days))
	for _, d := range days {
		if d.Traffic != nil {
			out = append(out, TrafficDay{Day: d.Day, Traffic: *d.Traffic})
		}
	}
	return out
}

func revenueOf(days []Day) []RevenueDay {
	out := make([]RevenueDay, 0, len(days))
	for _, d := range days {
		if d.Revenue != nil {
			out = append(out, RevenueDay{Day: d.Day, Revenue: *d.Revenue})
		}
	}
	return out
}
