package kpi

import "time"

// DayOf is the UTC calendar day of t, as midnight UTC.
func DayOf(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// HotStart is the first day Postgres keeps for a retention of days: the last days complete days
// and today, which is still going (so 7 keeps today and the 7 days before). Counting today among
// the seven left the reported week's Monday out of the window on the Monday its report is made,
// and the report read that day from the sources instead of the books. Zero or less keeps
// everything: the zero time.
func HotStart(now time.Time, days int) time.Time {
	if days <= 0 {
		return time.Time{}
	}
	return DayOf(now).AddDate(0, 0, -days)
}

// Days lists the days from from to to, both inclusive.
func Days(from, to time.Time) []time.Time {
	var out []time.Time
	for d := DayOf(from); !d.After(DayOf(to)); d = d.AddDate(0, 0, 1) {
		out = append(out, d)
	}
	return out
}
