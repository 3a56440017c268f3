package kpi

import (
	"math"
	"time"
)

// SourceStatus is what the sync knows about one of a client's sources.
type SourceStatus struct {
	Source string
	// LastSuccess is the end of the last sync that stored this source's data; zero: never.
	LastSuccess time.Time
	LastAttempt time.Time
	// LastError is the last failure's message (no credentials in it), cleared by a success.
	LastError string
	// Failures counts failed syncs since the last success.
	Failures int
	Stale    bool
	// Period is how often the client's schedule syncs the source (its own sync period, else the
	// deployment's; 0: unknown).
	Period time.Duration `json:"-"`
}

// IsStale reports whether the source's stored data is older than after, or than two of its sync
// periods when that is longer (a client synced once a day is not stale an hour after its sync):
// its last good sync is that old, or it was tried and never succeeded. A source never tried is
// not stale, just empty.
func (s SourceStatus) IsStale(now time.Time, after time.Duration) bool {
	if s.LastSuccess.IsZero() {
		return !s.LastAttempt.IsZero()
	}
	return now.Sub(s.LastSuccess) > max(after, 2*s.Period)
}

// Freshness sums up a client's sources.
type Freshness struct {
	Stale bool
	// LastSyncedAt is the oldest last good sync over the sources: every stored number is at
	// least that fresh. Zero when some source never synced.
	LastSyncedAt time.Time
	Sources      []SourceStatus
}

// Summarize marks each source stale or not and sums them up.
func Summarize(statuses []SourceStatus, now time.Time, after time.Duration) Freshness {
	var f Freshness
	never := false
	for _, s := range statuses {
		s.Stale = s.IsStale(now, after)
		f.Stale = f.Stale || s.Stale
		if s.LastSuccess.IsZero() {
			never = true
		} else if f.LastSyncedAt.IsZero() || s.LastSuccess.Before(f.LastSyncedAt) {
			f.LastSyncedAt = s.LastSuccess
		}
		f.Sources = append(f.Sources, s)
	}
	if never {
		// One source that never synced: the client's numbers were never complete.
		f.LastSyncedAt = time.Time{}
	}
	return f
}

// NeverSynced is the sync lag of a client with a source tried and never synced (stale for the
// API however long ago it was tried): the longest duration, exported as +Inf.
const NeverSynced = time.Duration(math.MaxInt64)

// ClientSync is a client's sync state over the sources it counts, as of what is stored: what
// Summarize makes of its statuses, without reading them one client at a time.
type ClientSync struct {
	ClientID string
	// LastSuccess is the oldest last good sync over the sources (the API's last_synced_at); zero
	// when a source was tried and never synced.
	LastSuccess time.Time
	// Period is the client's own sync period; 0: the deployment's.
	Period time.Duration
}

// Lag is how long ago the client's KPIs were last synced, as of now: NeverSynced while a source
// was tried and never synced. It grows between syncs, and on and on once they stop.
func (c ClientSync) Lag(now time.Time) time.Duration {
	if c.LastSuccess.IsZero() {
		return NeverSynced
	}
	return max(0, now.Sub(c.LastSuccess))
}
