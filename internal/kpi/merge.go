package kpi

import (
	"strings"
	"time"
)

// ColdRange is the span of days the sources must be asked for: every day before the hot window,
// and hot days that have no stored row yet (a client created today, a sync that never ran), so
// a gap in Postgres is filled from the source rather than shown as zeros. ok is false when
// Postgres has every day. to must not be after today: a source asked for a later day answers
// zeros for it, which would show a day that has not happened as synced.
func ColdRange(from, to, hotStart time.Time, hot []Day) (cfrom, cto time.Time, ok bool) {
	stored := make(map[time.Time]bool, len(hot))
	for _, d := range hot {
		stored[DayOf(d.Day)] = true
	}
	for _, d := range Days(from, to) {
		if d.Before(hotStart) || !stored[d] {
			if !ok {
				cfrom, ok = d, true
			}
			cto = d
		}
	}
	return cfrom, cto, ok
}

// Combine turns what the sources answered into days. Either slice may be nil (source not
// configured or failed); a day only one source answered has only that part.
func Combine(traffic []TrafficDay, trafficSource string, revenue []RevenueDay, revenueSource string) []Day {
	byDay := map[time.Time]*Day{}
	var order []time.Time
	get := func(t time.Time) *Day {
		t = DayOf(t)
		if d, ok := byDay[t]; ok {
			return d
		}
		d := &Day{Day: t}
		byDay[t] = d
		order = append(order, t)
		return d
	}
	for _, t := range traffic {
		tr := t.Traffic
		d := get(t.Day)
		d.Traffic = &tr
		d.Source = joinSource(d.Source, trafficSource)
	}
	for _, r := range revenue {
		rv := r.Revenue
		d := get(r.Day)
		d.Revenue = &rv
		d.Source = joinSource(d.Source, revenueSource)
	}
	out := make([]Day, 0, len(order))
	for _, t := range order {
		out = append(out, *byDay[t])
	}
	return out
}

func joinSource(have, add string) string {
	switch {
	case have == "":
		return add
	case strings.Contains("+"+have+"+", "+"+add+"+"):
		return have
	}
	return have + "+" + add
}

// Merge builds the series from from to to, one entry per day, oldest first: a stored day inside
// the hot window wins (Postgres is what the sync verified); any other day takes what the sources
// answered; a day neither has is empty with SourceNone, so the caller sees a gap, not zeros.
// Stored days outside the hot window (not yet pruned) are ignored: the source is the truth there.
func Merge(from, to, hotStart time.Time, hot, cold []Day) []Day {
	hotBy := make(map[time.Time]Day, len(hot))
	for _, d := range hot {
		hotBy[DayOf(d.Day)] = d
	}
	coldBy := make(map[time.Time]Day, len(cold))
	for _, d := range cold {
		coldBy[DayOf(d.Day)] = d
	}
	var out []Day
	for _, t := range Days(from, to) {
		if d, ok := hotBy[t]; ok && !t.Before(hotStart) {
			d.Day, d.Source = t, SourcePostgres
			out = append(out, d)
			continue
		}
		if d, ok := coldBy[t]; ok && d.Synced() {
			d.Day = t
			out = append(out, d)
			continue
		}
		out = append(out, Day{Day: t, Source: SourceNone})
	}
	return out
}
