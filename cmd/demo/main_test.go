package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
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

// TestUseGA4KeepsAnAdminsPropertyAndOtherSettings: the demo gives a client without a GA4
// property the dev fake's (its key named as a file: ref in GA4_CREDENTIALS_DIR), keeping the
// client's other KPI settings; a property already set (an admin's, in a kept dev database) stays,
// and without GA4_CREDENTIALS_DIR (no fake) the settings are left alone.
func TestUseGA4KeepsAnAdminsPropertyAndOtherSettings(t *testing.T) {
	tests := []struct {
		name, dir, stored string
		wantPut           map[string]any
	}{
		{"no property", "/srv/ga4", "", map[string]any{"ga4_property_id": "100000001",
			"ga4_credentials_ref": "file:/srv/ga4/dev-service-account.json", "provider_revenue": false, "sync_every_seconds": float64(600)}},
		{"an admin's property", "/srv/ga4", "987", nil},
		{"no fake", "", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var put map[string]any
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/api/v1/admin/clients/northwind/kpi-settings" {
					t.Errorf("unexpected %s %s", r.Method, r.URL.Path)
				}
				if r.Method == http.MethodPut {
					if err := json.NewDecoder(r.Body).Decode(&put); err != nil {
						t.Error(err)
					}
				}
				_ = json.NewEncoder(w).Encode(map[string]any{"client_id": "northwind", "ga4_property_id": tt.stored,
					"provider_revenue": false, "sync_every_seconds": 600})
			}))
			defer srv.Close()
			d := demo{api: srv.URL, key: "k", ga4Dir: tt.dir, http: srv.Client()}
			if err := d.useGA4(clients[0]); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(put, tt.wantPut) {
				t.Fatalf("PUT %v, want %v", put, tt.wantPut)
			}
		})
	}
}
