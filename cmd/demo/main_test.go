package main

import (
	"testing"
	"time"
)

// TestLastWeekIsTheClientsLastWeek: a client's report week is cut in its own time zone (its report
// settings'; UTC until an admin sets one, which a dev database keeps between runs of the demo).
// Whenever the demo runs, the week it mails the report of must have ended there (else the
// regenerate is refused), the backdated payment must be captured in that week there (else the
// report shows none), and in the 7 complete UTC days before today that Postgres keeps KPIs for,
// so the report shows it in its storefront revenue too. The demo took the UTC week before the
// current one and its Sunday at 12:00 UTC for every client: in New York on a Monday before 05:00
// UTC that week had not ended, and in Auckland that Sunday noon is Monday, the next week.
func TestLastWeekIsTheClientsLastWeek(t *testing.T) {
	start := time.Date(2026, 12, 27, 0, 0, 0, 0, time.UTC) // a Sunday; ISO 2026 has 53 weeks
	zones := []string{"UTC", "America/New_York", "America/Los_Angeles", "Pacific/Pago_Pago", "Asia/Tokyo",
		"Asia/Kolkata", "Pacific/Auckland", "Pacific/Kiritimati", "America/St_Johns"}
	for _, name := range zones {
		zone, err := time.LoadLocation(name)
		if err != nil {
			t.Fatal(err)
		}
		// Every quarter hour over two weeks and a day, across the ISO year's turn.
		for m := 0; m < 15*24*4; m++ {
			now := start.Add(time.Duration(m) * 15 * time.Minute)
			week, got := lastWeekIn(now, zone)
			local := now.In(zone)
			monday := time.Date(local.Year(), local.Month(), local.Day()-(int(local.Weekday())+6)%7, 0, 0, 0, 0, zone)
			y, w := monday.AddDate(0, 0, -7).ISOWeek()
			if want := isoWeekOf(y, w); week != want {
				t.Fatalf("%s, now %s: mails %s, not the week before this one there (%s)", name, local, week, want)
			}
			if gy, gw := got.In(zone).ISOWeek(); isoWeekOf(gy, gw) != week {
				t.Fatalf("%s, now %s: capture %s is in %s there, not in %s", name, local, got.In(zone), isoWeekOf(gy, gw), week)
			}
			today := now.UTC().Truncate(24 * time.Hour)
			if !got.Before(today) || got.Before(today.AddDate(0, 0, -7)) {
				t.Fatalf("%s, now %s: capture %s is not one of the 7 complete UTC days before today", name, now, got.UTC())
			}
		}
	}
}

func isoWeekOf(y, w int) string {
	return isoWeek(time.Date(y, 1, 4, 0, 0, 0, 0, time.UTC).AddDate(0, 0, 7*(w-1)))
}
