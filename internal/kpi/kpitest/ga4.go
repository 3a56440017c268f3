// Package kpitest has local servers that speak the wire formats of the KPI sources, for tests of
// the real client libraries: the GA4 Data API's runReport (with Google's OAuth token endpoint)
// and Stripe's charges list. Import it from tests, and from cmd/devservices, which serves the GA4
// fake (NewGA4Handler) to the `make dev` stack.
package kpitest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"paysplit/internal/kpi"
)

// GA4 is a local GA4 Data API: POST /v1beta/properties/{id}:runReport answers from the traffic
// set with SetDay/SetHour/Visit, and POST /token issues access tokens to service accounts.
//
// Visits are held as (day, visitor), so a range's users are counted as GA4 counts them: by date,
// each day's distinct visitors; without a dimension, the range's distinct visitors, where one who
// came on three days counts once. SetDay's visitors are people seen on that day only (a count,
// not named); Visit names people, who may come on several days.
type GA4 struct {
	URL string

	mu       sync.Mutex
	days     map[string]map[string]kpi.Traffic         // property -> YYYYMMDD -> traffic
	visits   map[string]map[string]map[string]struct{} // property -> YYYYMMDD -> visitors named by Visit
	hours    map[string]map[string]kpi.Traffic         // property -> YYYYMMDDHH (UTC) -> traffic
	zones    map[string]*time.Location                 // property -> its reporting time zone (UTC if unset)
	withheld map[string]bool                           // property -> answers are subject to thresholding
	fail     int                                       // status to answer runReport with; 0: answer
	reports  int
	tokens   int
	lastAuth string
	pageSize int
}

// NewGA4 starts the server; it stops when the test ends.
func NewGA4(t testing.TB) *GA4 {
	g := NewGA4Handler()
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	g.URL = srv.URL
	return g
}

// NewGA4Handler is the fake without a server, for a program that serves it itself (ServeHTTP)
// and sets URL to where it listens, which ServiceAccountKey names as the token endpoint.
func NewGA4Handler() *GA4 {
	return &GA4{days: map[string]map[string]kpi.Traffic{}, visits: map[string]map[string]map[string]struct{}{}, hours: map[string]map[string]kpi.Traffic{}, zones: map[string]*time.Location{},
		withheld: map[string]bool{}}
}

// SetDay sets one day's traffic of a property.
func (g *GA4) SetDay(property string, day time.Time, t kpi.Traffic) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.days[property] == nil {
		g.days[property] = map[string]kpi.Traffic{}
	}
	g.days[property][day.UTC().Format("20060102")] = t
}

// Visit records that each of visitors (any IDs) came to a property on day: the day's totalUsers
// counts each once, on top of the visitors SetDay gave it, and a range's counts each once
// however many of its days they came. It adds no new users, sessions or bounces.
func (g *GA4) Visit(property string, day time.Time, visitors ...string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.visits[property] == nil {
		g.visits[property] = map[string]map[string]struct{}{}
	}
	k := day.UTC().Format("20060102")
	if g.visits[property][k] == nil {
		g.visits[property][k] = map[string]struct{}{}
	}
	for _, v := range visitors {
		g.visits[property][k][v] = struct{}{}
	}
}

// SetHour sets one hour's traffic of a property.
func (g *GA4) SetHour(property string, hour time.Time, t kpi.Traffic) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.hours[property] == nil {
		g.hours[property] = map[string]kpi.Traffic{}
	}
	g.hours[property][hour.UTC().Format("2006010215")] = t
}

// SetTimeZone sets a property's reporting time zone: dateHour rows are then that zone's hours
// (and dates), and the answer's metadata names it, as GA4's do.
func (g *GA4) SetTimeZone(property string, loc *time.Location) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.zones[property] = loc
}

// Threshold makes a property's reports say they are subject to thresholding
// (metadata.subjectToThresholding), as GA4's do when it withheld rows with low user counts (a
// property with Google signals on, few users); the figures are answered as set.
func (g *GA4) Threshold(property string, on bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.withheld[property] = on
}

// Fail makes runReport answer status (e.g. 503, 403) until Fail(0).
func (g *GA4) Fail(status int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.fail = status
}

// PageSize makes the server answer at most n rows per page (0: as many as asked).
func (g *GA4) PageSize(n int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.pageSize = n
}

// Reports counts runReport calls; Tokens counts tokens issued.
func (g *GA4) Reports() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.reports
}

// LastAuthorization is the Authorization header of the last runReport call.
func (g *GA4) LastAuthorization() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.lastAuth
}

// ServiceAccountJSON is a service-account key whose token endpoint is this server.
func (g *GA4) ServiceAccountJSON(t testing.TB) []byte {
	js, err := g.ServiceAccountKey()
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// ServiceAccountKey is a new service-account key (JSON) whose token endpoint is g.URL. The fake
// takes any signed assertion, so the key is fresh each call and worth nothing elsewhere.
func (g *GA4) ServiceAccountKey() ([]byte, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("kpitest: rsa key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("kpitest: marshal key: %w", err)
	}
	js, err := json.Marshal(map[string]string{
		"type": "service_account", "project_id": "paysplit-test", "private_key_id": "kpitest-1",
		"private_key":  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email": "kpi-sync@paysplit-test.iam.gserviceaccount.com", "client_id": "1000000001",
		"token_uri": g.URL + "/token", "universe_domain": "googleapis.com",
	})
	if err != nil {
		return nil, fmt.Errorf("kpitest: service account json: %w", err)
	}
	return js, nil
}

// ServiceAccountFile writes ServiceAccountJSON to a temporary file and returns its path.
func (g *GA4) ServiceAccountFile(t testing.TB) string {
	p := filepath.Join(t.TempDir(), "ga4-service-account.json")
	if err := os.WriteFile(p, g.ServiceAccountJSON(t), 0o600); err != nil {
		t.Fatalf("kpitest: write service account: %v", err)
	}
	return p
}

// ServeHTTP answers the token endpoint and runReport.
func (g *GA4) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/token":
		g.mu.Lock()
		g.tokens++
		g.mu.Unlock()
		writeJSON(w, http.StatusOK, map[string]any{"access_token": "ya29.kpitest", "token_type": "Bearer", "expires_in": 3600})
	case r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/v1beta/properties/") && strings.HasSuffix(r.URL.Path, ":runReport"):
		g.runReport(w, r, strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/v1beta/properties/"), ":runReport"))
	default:
		googleError(w, http.StatusNotFound, "NOT_FOUND", "no such method "+r.Method+" "+r.URL.Path)
	}
}

type reportRequest struct {
	DateRanges []struct{ StartDate, EndDate string } `json:"dateRanges"`
	Dimensions []struct{ Name string }               `json:"dimensions"`
	Metrics    []struct{ Name string }               `json:"metrics"`
	Limit      string                                `json:"limit"`
	Offset     string                                `json:"offset"`
}

func (g *GA4) runReport(w http.ResponseWriter, r *http.Request, property string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.reports++
	g.lastAuth = r.Header.Get("Authorization")
	if g.fail != 0 {
		googleError(w, g.fail, statusName(g.fail), "injected failure")
		return
	}
	var req reportRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || len(req.DateRanges) != 1 || len(req.Dimensions) > 1 {
		googleError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "want one date range and at most one dimension")
		return
	}
	loc := g.zones[property]
	if loc == nil {
		loc = time.UTC
	}
	from, err1 := time.Parse(time.DateOnly, req.DateRanges[0].StartDate)
	to, err2 := time.Parse(time.DateOnly, req.DateRanges[0].EndDate)
	if err1 != nil || err2 != nil || to.Before(from) {
		googleError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "bad date range")
		return
	}
	if len(req.Dimensions) == 0 {
		g.rangeReport(w, property, req, loc, from, to)
		return
	}
	data, layout := g.byDate(property), "20060102"
	if req.Dimensions[0].Name == "dateHour" {
		// Hours are kept in UTC and answered in the property's zone. Where the zone's clocks go
		// back, two UTC hours show the same local hour: GA4 has one row for them, which the
		// fake makes of both hours' traffic (counts summed: a visitor of both hours is two
		// here, one in GA4, which no test of ours tells apart).
		data, layout = map[string]kpi.Traffic{}, "2006010215"
		for k, t := range g.hours[property] {
			if h, err := time.Parse(layout, k); err == nil {
				local := h.In(loc).Format(layout)
				data[local] = kpi.MergeTraffic(data[local], t)
			}
		}
	} else if req.Dimensions[0].Name != "date" {
		googleError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "unsupported dimension "+req.Dimensions[0].Name)
		return
	}
	var keys []string
	for k := range data {
		t, err := time.Parse(layout, k)
		if err == nil && !t.Before(from) && t.Before(to.AddDate(0, 0, 1)) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	offset, _ := strconv.Atoi(req.Offset)
	limit, _ := strconv.Atoi(req.Limit)
	if g.pageSize > 0 && (limit == 0 || limit > g.pageSize) {
		limit = g.pageSize
	}
	page := keys[min(offset, len(keys)):]
	if limit > 0 && len(page) > limit {
		page = page[:limit]
	}
	var rows []map[string]any
	for _, k := range page {
		var values []map[string]string
		for _, m := range req.Metrics {
			values = append(values, map[string]string{"value": metricValue(data[k], m.Name)})
		}
		rows = append(rows, map[string]any{"dimensionValues": []map[string]string{{"value": k}}, "metricValues": values})
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"dimensionHeaders": []map[string]string{{"name": req.Dimensions[0].Name}},
		"metricHeaders":    metricHeaders(req),
		"rows":             rows,
		"rowCount":         len(keys),
		"metadata":         g.metadata(property, loc),
		"kind":             "analyticsData#runReport",
	})
}

// byDate is a property's traffic by date: SetDay's, with the visitors Visit named counted once
// each on their day.
func (g *GA4) byDate(property string) map[string]kpi.Traffic {
	out := map[string]kpi.Traffic{}
	for k, t := range g.days[property] {
		out[k] = t
	}
	for k, vs := range g.visits[property] {
		t := out[k]
		t.Visitors += int64(len(vs))
		out[k] = t
	}
	return out
}

// rangeReport answers a request without dimensions as GA4 does: no dimension headers, one row
// of the requested metrics over the whole range (rowCount 1), or no row when nobody came. Users
// are the range's distinct visitors: SetDay's (people of one day each) plus everyone Visit named
// on any of its days, once; new users and sessions add up, the bounce rate is weighted by
// sessions.
func (g *GA4) rangeReport(w http.ResponseWriter, property string, req reportRequest, loc *time.Location, from, to time.Time) {
	in := func(k string) bool {
		d, err := time.Parse("20060102", k)
		return err == nil && !d.Before(from) && d.Before(to.AddDate(0, 0, 1))
	}
	var total kpi.Traffic
	had := false
	for k, t := range g.days[property] {
		if in(k) {
			total, had = kpi.MergeTraffic(total, t), true
		}
	}
	people := map[string]struct{}{}
	for k, vs := range g.visits[property] {
		if in(k) {
			for v := range vs {
				people[v] = struct{}{}
			}
		}
	}
	total.Visitors += int64(len(people))
	res := map[string]any{
		"metricHeaders": metricHeaders(req),
		"metadata":      g.metadata(property, loc),
		"kind":          "analyticsData#runReport",
	}
	if had || len(people) > 0 {
		var values []map[string]string
		for _, m := range req.Metrics {
			values = append(values, map[string]string{"value": metricValue(total, m.Name)})
		}
		res["rows"] = []map[string]any{{"metricValues": values}}
		res["rowCount"] = 1
	}
	writeJSON(w, http.StatusOK, res)
}

// metadata is a report's metadata: the property's zone, and subjectToThresholding when Threshold
// set it (GA4 leaves the field out when false).
func (g *GA4) metadata(property string, loc *time.Location) map[string]any {
	md := map[string]any{"currencyCode": "USD", "timeZone": zoneName(loc)}
	if g.withheld[property] {
		md["subjectToThresholding"] = true
	}
	return md
}

func metricHeaders(req reportRequest) []map[string]string {
	var headers []map[string]string
	for _, m := range req.Metrics {
		typ := "TYPE_INTEGER"
		if m.Name == "bounceRate" {
			typ = "TYPE_FLOAT"
		}
		headers = append(headers, map[string]string{"name": m.Name, "type": typ})
	}
	return headers
}

// zoneName is the IANA name GA4 reports for a zone (Etc/UTC for UTC).
func zoneName(loc *time.Location) string {
	if loc == time.UTC {
		return "Etc/UTC"
	}
	return loc.String()
}

func metricValue(t kpi.Traffic, name string) string {
	switch name {
	case "totalUsers":
		return strconv.FormatInt(t.Visitors, 10)
	case "newUsers":
		return strconv.FormatInt(t.NewVisitors, 10)
	case "sessions":
		return strconv.FormatInt(t.Sessions, 10)
	case "bounceRate":
		// GA4 sends a fraction, often with many digits (0.452499997).
		v := float64(t.BounceRateBps) / 10000
		if v > 0 {
			v -= 0.000000003
		}
		return strconv.FormatFloat(v, 'f', 9, 64)
	}
	return "0"
}

func statusName(code int) string {
	switch code {
	case http.StatusForbidden:
		return "PERMISSION_DENIED"
	case http.StatusUnauthorized:
		return "UNAUTHENTICATED"
	case http.StatusTooManyRequests:
		return "RESOURCE_EXHAUSTED"
	case http.StatusServiceUnavailable:
		return "UNAVAILABLE"
	}
	return "INTERNAL"
}

// googleError writes Google's JSON error envelope.
func googleError(w http.ResponseWriter, code int, status, msg string) {
	writeJSON(w, code, map[string]any{"error": map[string]any{"code": code, "message": msg, "status": status}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		panic(fmt.Sprintf("kpitest: encode: %v", err))
	}
}
