package main

import (
	"testing"
	"time"
)

// TestLastWeekCaptureIsInLastWeekAndTheHotWindow: whenever the demo runs, its backdated payments
// fall in the ISO week before the current one (the latest week a report can be made of) and in
// the 7 complete UTC days before today that Postgres keeps KPIs for, so the report shows them in
// its storefront revenue as well as in its payments.
func TestLastWeekCaptureIsInLastWeekAndTheHotWindow(t *testing.T) {
	start := time.Date(2026, 12, 27, 0, 0, 0, 0, time.UTC) // a Sunday; ISO 2026 has 53 weeks
	for h := 0; h < 24*15; h++ {
		for _, zone := range []*time.Location{time.UTC, time.FixedZone("JST", 9*3600), time.FixedZone("PST", -8*3600)} {
			now := start.Add(time.Duration(h) * time.Hour).In(zone)
			got := lastWeekCapture(now)
			nowUTC := now.UTC()
			y, w := nowUTC.AddDate(0, 0, -7).ISOWeek()
			gy, gw := got.ISOWeek()
			if gy != y || gw != w {
				t.Fatalf("now %s: capture %s is in %d-W%02d, not the week before (%d-W%02d)", now, got, gy, gw, y, w)
			}
			today := time.Date(nowUTC.Year(), nowUTC.Month(), nowUTC.Day(), 0, 0, 0, 0, time.UTC)
			if !got.Before(today) || got.Before(today.AddDate(0, 0, -7)) {
				t.Fatalf("now %s: capture %s is not one of the 7 complete UTC days before today", now, got)
			}
		}
	}
}
