package paypalkpi

import (
	"time"

	"paysplit/internal/money"
)

// Retained is what the shared search in cur for the days from to to keeps: its client entries and
// their days with sums, in all; ok is false when no such search is kept.
func Retained(s *Shared, cur money.Currency, from, to time.Time) (clients, days int, ok bool) {
	all, ok := s.l.Cache.Get(string(cur) + "/" + from.Format(time.DateOnly) + ".." + to.Format(time.DateOnly))
	for _, cs := range all {
		clients++
		days += len(cs.days)
	}
	return clients, days, ok
}
