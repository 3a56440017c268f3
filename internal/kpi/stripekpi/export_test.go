package stripekpi

import "time"

// Retained is what the shared listing for the days from to to keeps: its (client, currency)
// entries and their days with sums, in all; ok is false when no such listing is kept.
func Retained(s *Shared, from, to time.Time) (clients, days int, ok bool) {
	key, _, _ := listing(from, to)
	all, ok := s.l.Cache.Get(key)
	if !ok {
		return 0, 0, false
	}
	for _, cs := range all.of {
		clients++
		days += len(cs.days)
	}
	return clients, days, true
}
