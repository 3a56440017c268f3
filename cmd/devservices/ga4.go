package main

import (
	"fmt"
	"hash/fnv"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"paysplit/internal/kpi"
	"paysplit/internal/kpi/kpitest"
)

// ga4KeyFile is the service-account key devservices writes into its GA4 credentials directory
// (GA4_CREDENTIALS_DIR in `make dev`): the demo's clients name it as file:<dir>/ga4KeyFile.
const ga4KeyFile = "dev-service-account.json"

// ga4History is how many days back the fake has traffic for: the dashboard's and the reports'
// older ranges, fetched on demand, find figures too.
const ga4History = 60

// demoGA4 is the tests' GA4 fake (kpitest.GA4, the real wire format and OAuth token endpoint)
// with made-up traffic for any property asked about: each property's figures come from its ID
// and the date alone (demoTraffic), so they are the same across restarts and differ per client.
// Days from ga4History ago to today are filled on a property's first report of each hour, so a
// stack left running gets each new hour's traffic too.
type demoGA4 struct {
	fake *kpitest.GA4
	now  func() time.Time

	mu     sync.Mutex
	filled map[string]time.Time // property -> the hour it was last filled up to
}

func newDemoGA4(now func() time.Time) *demoGA4 {
	return &demoGA4{fake: kpitest.NewGA4Handler(), now: now, filled: map[string]time.Time{}}
}

func (d *demoGA4) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimPrefix(r.URL.Path, "/v1beta/properties/")
	if property, ok := strings.CutSuffix(path, ":runReport"); ok && path != r.URL.Path {
		d.fill(property)
	}
	d.fake.ServeHTTP(w, r)
}

// fill gives a property its traffic up to the current hour: whole days before today, and today's
// hours so far (today's date row is their sum, as GA4's would be).
func (d *demoGA4) fill(property string) {
	hour := d.now().UTC().Truncate(time.Hour)
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.filled[property].Equal(hour) {
		return
	}
	today := kpi.DayOf(hour)
	for day := today.AddDate(0, 0, -ga4History); !day.After(today); day = day.AddDate(0, 0, 1) {
		var sum kpi.Traffic
		for _, h := range demoHours(property, day) {
			if h.Hour.After(hour) {
				break
			}
			d.fake.SetHour(property, h.Hour, h.Traffic)
			sum = kpi.MergeTraffic(sum, h.Traffic)
		}
		d.fake.SetDay(property, day, sum)
	}
	d.filled[property] = hour
}

// writeKey writes a service-account key whose token endpoint is the fake at url into dir.
func (d *demoGA4) writeKey(dir, url string) (string, error) {
	d.fake.URL = url
	key, err := d.fake.ServiceAccountKey()
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("ga4 credentials directory: %w", err)
	}
	// Renamed into place: `make dev` waits for the file, and the worker must not read half of it.
	p := filepath.Join(dir, ga4KeyFile)
	if err := os.WriteFile(p+".tmp", key, 0o600); err != nil {
		return "", fmt.Errorf("write ga4 key: %w", err)
	}
	if err := os.Rename(p+".tmp", p); err != nil {
		return "", fmt.Errorf("write ga4 key: %w", err)
	}
	return p, nil
}

// unit is a deterministic number in [0, 1) drawn from the parts.
func unit(parts ...string) float64 {
	h := fnv.New64a()
	for _, p := range parts {
		_, _ = h.Write([]byte(p))
		_, _ = h.Write([]byte{0})
	}
	return float64(h.Sum64()%1_000_000) / 1_000_000
}

// demoTraffic is a property's made-up traffic of a day: a size of its own (a few hundred to
// about 1,500 visitors a day), busier weekends, a slow climb over the weeks and some day-to-day
// noise; 55-75% of visitors new, 1.1-1.5 sessions each, a bounce rate of 35-60%.
func demoTraffic(property string, day time.Time) kpi.Traffic {
	date := day.UTC().Format(time.DateOnly)
	base := 300 + 900*unit(property, "size")
	if wd := day.Weekday(); wd == time.Saturday || wd == time.Sunday {
		base *= 1.3
	}
	trend := 1 + 0.002*float64(day.Unix()/86400%365) // up about 0.2% a day, over a year
	visitors := int64(base * trend * (0.85 + 0.3*unit(property, date, "visitors")))
	newShare := 0.55 + 0.2*unit(property, date, "new")
	perVisitor := 1.1 + 0.4*unit(property, date, "sessions")
	return kpi.Traffic{
		Visitors:      visitors,
		NewVisitors:   int64(float64(visitors) * newShare),
		Sessions:      int64(float64(visitors) * perVisitor),
		BounceRateBps: int32(3500 + 2500*unit(property, date, "bounce")),
	}
}

// hourWeights is a storefront's day: quiet at night, busiest in the evening (UTC).
var hourWeights = [24]int64{2, 1, 1, 1, 1, 2, 3, 4, 5, 6, 6, 6, 6, 6, 6, 6, 6, 7, 8, 9, 9, 8, 6, 4}

// demoHours splits demoTraffic's day over its UTC hours; the hours add up to the day exactly.
func demoHours(property string, day time.Time) []kpi.TrafficHour {
	t := demoTraffic(property, day)
	var total int64
	for _, w := range hourWeights {
		total += w
	}
	out := make([]kpi.TrafficHour, 0, len(hourWeights))
	left := t
	for i, w := range hourWeights {
		h := left // the last hour takes what rounding left
		if i < len(hourWeights)-1 {
			h = kpi.Traffic{Visitors: t.Visitors * w / total, NewVisitors: t.NewVisitors * w / total, Sessions: t.Sessions * w / total, BounceRateBps: t.BounceRateBps}
		}
		left.Visitors, left.NewVisitors, left.Sessions = left.Visitors-h.Visitors, left.NewVisitors-h.NewVisitors, left.Sessions-h.Sessions
		out = append(out, kpi.TrafficHour{Hour: kpi.DayOf(day).Add(time.Duration(i) * time.Hour), Traffic: h})
	}
	return out
}
