package report

import (
	"fmt"
	"regexp"
	"strconv"
	"time"

	// Report weeks are cut in each client's time zone; the zone database is embedded so a
	// container image without /usr/share/zoneinfo cuts them the same way.
	_ "time/tzdata"
)

// Week is an ISO 8601 week: weeks start on Monday and week 1 is the one with the year's first
// Thursday, so the days of a week can belong to two calendar years.
type Week struct {
	Year int `json:"year"`
	Week int `json:"week"`
}

var weekPattern = regexp.MustCompile(`^([0-9]{4})-W([0-9]{2})$`)

// ParseWeek reads a week written as 2026-W07.
func ParseWeek(s string) (Week, error) {
	m := weekPattern.FindStringSubmatch(s)
	if m == nil {
		return Week{}, fmt.Errorf("week %q: want the form 2026-W07", s)
	}
	y, _ := strconv.Atoi(m[1])
	n, _ := strconv.Atoi(m[2])
	w := Week{Year: y, Week: n}
	if n < 1 || n > weeksIn(y) {
		return Week{}, fmt.Errorf("week %q: %d has %d ISO weeks", s, y, weeksIn(y))
	}
	return w, nil
}

// WeekOf is the ISO week that the calendar day of t (in t's location) belongs to.
func WeekOf(t time.Time) Week {
	y, n := t.ISOWeek()
	return Week{Year: y, Week: n}
}

// String is the form used in keys and file names: 2026-W07.
func (w Week) String() string { return fmt.Sprintf("%04d-W%02d", w.Year, w.Week) }

// Monday is the week's first day as a date (midnight UTC); dates, not instants, so a day's KPIs
// are the same whichever zone reads them.
func (w Week) Monday() time.Time {
	// 4 January is always in week 1.
	jan4 := time.Date(w.Year, time.January, 4, 0, 0, 0, 0, time.UTC)
	offset := (int(jan4.Weekday()) + 6) % 7 // days since Monday
	return jan4.AddDate(0, 0, -offset+(w.Week-1)*7)
}

// Days are the week's seven dates, Monday first.
func (w Week) Days() []time.Time {
	out := make([]time.Time, 7)
	for i := range out {
		out[i] = w.Monday().AddDate(0, 0, i)
	}
	return out
}

// Start is the instant the week starts in loc (Monday 00:00 local time).
func (w Week) Start(loc *time.Location) time.Time {
	y, m, d := w.Monday().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, loc)
}

// End is the instant the week ends in loc (the next Monday 00:00 local time), exclusive.
func (w Week) End(loc *time.Location) time.Time {
	y, m, d := w.Monday().AddDate(0, 0, 7).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, loc)
}

// Prev is the week before.
func (w Week) Prev() Week { return WeekOf(w.Monday().AddDate(0, 0, -7)) }

// Next is the week after.
func (w Week) Next() Week { return WeekOf(w.Monday().AddDate(0, 0, 7)) }

// weeksIn is 53 for years whose 28 December falls in week 53, else 52.
func weeksIn(year int) int {
	_, n := time.Date(year, time.December, 28, 0, 0, 0, 0, time.UTC).ISOWeek()
	return n
}

// LastCompleteWeek is the most recent week that has fully ended at now in loc: on Monday 06:00
// that is the week that ended six hours earlier.
func LastCompleteWeek(now time.Time, loc *time.Location) Week {
	return WeekOf(now.In(loc)).Prev()
}

// KPISyncRunTime is what KPIsCompleteAt allows a KPI sync to run, retries included (about two
// minutes when a source keeps failing).
const KPISyncRunTime = 5 * time.Minute

// MaxKPIWait bounds how long after its last day ends a report waits for the KPI sync, so a
// client whose KPIs sync once a day still gets its report within the run's time limit (its notes
// then say the sync may be behind).
const MaxKPIWait = 6 * time.Hour

// KPIsCompleteAt is the earliest a report of w may be generated: its last KPI day (a UTC date,
// like every KPI day) has ended and a KPI sync of period syncEvery has run since, but no later
// than MaxKPIWait after that day's end. East of UTC+6 a Monday-morning run is earlier than that
// (the week's last UTC day has not ended yet) and must wait.
func (w Week) KPIsCompleteAt(syncEvery time.Duration) time.Time {
	return w.Monday().AddDate(0, 0, 7).Add(min(max(syncEvery, 0)+KPISyncRunTime, MaxKPIWait))
}
