// Package ga4 reads a client's storefront traffic from the Google Analytics 4 Data API
// (runReport) with Google's own client library: visitors (totalUsers), new visitors (newUsers),
// sessions and bounce rate, per day and per hour.
package ga4

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"cloud.google.com/go/auth"
	analyticsdata "google.golang.org/api/analyticsdata/v1beta"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/option"

	"paysplit/internal/kpi"
)

// Options are the deployment's GA4 settings, the same for every client.
type Options struct {
	// Endpoint replaces Google's (https://analyticsdata.googleapis.com/), e.g. a local fake.
	Endpoint string
	// HTTPClient carries the requests; nil means the library's authenticated client.
	HTTPClient *http.Client
	// Getenv resolves env: credential references; nil means os.Getenv.
	Getenv func(string) string
	// CredentialsDir is the directory file: credential references must be in
	// (GA4_CREDENTIALS_DIR); empty refuses file: references.
	CredentialsDir string
	// WithoutAuthentication sends no credentials (tests against a local server only).
	WithoutAuthentication bool
}

// Source is one client's GA4 property.
type Source struct {
	svc      *analyticsdata.Service
	property string
}

// New builds the source of one property. credentialsRef is env:GA4_NAME (the service-account
// JSON, put there from the secret store by the deployment), file:<CredentialsDir>/<file> or empty
// for Application Default Credentials (the worker's own identity); CheckRef says which refs are
// taken. Errors never contain the credentials, nor anything read from where the ref points.
func New(ctx context.Context, propertyID, credentialsRef string, o Options) (*Source, error) {
	if propertyID == "" {
		return nil, kpi.ErrNotConfigured
	}
	opts := []option.ClientOption{option.WithScopes(analyticsdata.AnalyticsReadonlyScope)}
	if o.Endpoint != "" {
		opts = append(opts, option.WithEndpoint(strings.TrimSuffix(o.Endpoint, "/")+"/"))
	}
	if o.HTTPClient != nil {
		opts = append(opts, option.WithHTTPClient(o.HTTPClient))
	}
	switch {
	case o.WithoutAuthentication:
		opts = append(opts, option.WithoutAuthentication())
	case credentialsRef != "":
		// A ref saved before the rules were tightened is held to them here too.
		if err := CheckRef(credentialsRef, o.CredentialsDir); err != nil {
			return nil, kpi.Permanent(err)
		}
		key, err := readCredentials(credentialsRef, o)
		if err != nil {
			return nil, kpi.Permanent(err)
		}
		opts = append(opts, option.WithAuthCredentialsJSON(option.ServiceAccount, key))
	}
	svc, err := analyticsdata.NewService(ctx, opts...)
	if err != nil {
		// Not wrapped: Google's library quotes what it could not take ("unsupported filetype
		// \"...\""), and this error is stored and shown to admins.
		return nil, kpi.Permanent(fmt.Errorf("ga4: client for property %s: the credentials (%s) could not be used", propertyID, refName(credentialsRef)))
	}
	return &Source{svc: svc, property: "properties/" + propertyID}, nil
}

// refName names where the credentials come from, for errors.
func refName(ref string) string {
	if ref == "" {
		return "Application Default Credentials"
	}
	return ref
}

// ErrBadRef is a credentials reference that does not name a GA4 key the deployment keeps.
var ErrBadRef = errors.New("ga4_credentials_ref must be env:GA4_<NAME> or file:<GA4_CREDENTIALS_DIR>/<file>")

// envRefPattern: env: refs name GA4_ variables only, so a ref can never reach the deployment's
// other secrets (STRIPE_API_KEY, SECRETS_KEY, ...).
var envRefPattern = regexp.MustCompile(`^GA4_[A-Z0-9_]{1,124}$`)

// CheckRef says whether a credentials reference may be used: an env:GA4_* variable, or a file
// in dir (GA4_CREDENTIALS_DIR; no file: refs without it), named by its clean absolute path. The
// error never echoes the reference: a mistyped one could be a pasted secret.
func CheckRef(ref, dir string) error {
	if name, ok := strings.CutPrefix(ref, "env:"); ok {
		if !envRefPattern.MatchString(name) {
			return fmt.Errorf("%w: an env: reference names a variable starting GA4_ (A-Z, 0-9, _)", ErrBadRef)
		}
		return nil
	}
	path, ok := strings.CutPrefix(ref, "file:")
	switch {
	case !ok:
		return ErrBadRef
	case dir == "":
		return fmt.Errorf("%w: file: references need GA4_CREDENTIALS_DIR, which is not set", ErrBadRef)
	}
	if _, err := relToDir(path, dir); err != nil {
		return err
	}
	return nil
}

// relToDir is path relative to dir, when path is a clean absolute path of a file inside dir.
func relToDir(path, dir string) (string, error) {
	if !filepath.IsAbs(path) || filepath.Clean(path) != path {
		return "", fmt.Errorf("%w: a file: reference is a clean absolute path", ErrBadRef)
	}
	rel, err := filepath.Rel(filepath.Clean(dir), path)
	if err != nil || rel == "." || rel == ".." || strings.HasPrefix(rel, "../") {
		return "", fmt.Errorf("%w: a file: reference names a file in GA4_CREDENTIALS_DIR", ErrBadRef)
	}
	return rel, nil
}

// maxKeySize bounds what is read for a key: a service-account key is about 2.3 KB.
const maxKeySize = 64 << 10

// readCredentials reads the key a checked ref points at and makes sure it is a service-account
// key before Google's library sees it, so no error of the library can quote something else.
func readCredentials(ref string, o Options) ([]byte, error) {
	var raw []byte
	if name, ok := strings.CutPrefix(ref, "env:"); ok {
		getenv := o.Getenv
		if getenv == nil {
			getenv = os.Getenv
		}
		if raw = []byte(getenv(name)); len(raw) == 0 {
			return nil, fmt.Errorf("ga4: credentials variable %s is empty", name)
		}
	} else {
		var err error
		if raw, err = readKeyFile(strings.TrimPrefix(ref, "file:"), o.CredentialsDir); err != nil {
			return nil, err
		}
	}
	if !isServiceAccountKey(raw) {
		return nil, fmt.Errorf("ga4: %s does not hold a service-account key (JSON of type service_account with client_email and a PEM private_key)", ref)
	}
	return raw, nil
}

// readKeyFile reads a key file through an os.Root of the credentials directory, so a symbolic
// link in it cannot lead outside. The error names the file, never its content.
func readKeyFile(path, dir string) ([]byte, error) {
	rel, err := relToDir(path, dir)
	if err != nil {
		return nil, err
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("ga4: credentials directory: %w", err)
	}
	defer root.Close()
	f, err := root.Open(rel)
	if err != nil {
		return nil, fmt.Errorf("ga4: credentials file: %w", err)
	}
	defer f.Close()
	raw, err := io.ReadAll(io.LimitReader(f, maxKeySize+1))
	if err != nil {
		return nil, fmt.Errorf("ga4: read credentials file %s: %w", path, err)
	}
	if len(raw) > maxKeySize {
		return nil, fmt.Errorf("ga4: credentials file %s is over %d bytes", path, maxKeySize)
	}
	return raw, nil
}

// isServiceAccountKey says whether raw is a Google service-account key as far as its shape goes.
func isServiceAccountKey(raw []byte) bool {
	var k struct {
		Type        string `json:"type"`
		ClientEmail string `json:"client_email"`
		PrivateKey  string `json:"private_key"`
	}
	if json.Unmarshal(raw, &k) != nil || k.Type != "service_account" || k.ClientEmail == "" {
		return false
	}
	block, _ := pem.Decode([]byte(k.PrivateKey))
	return block != nil
}

// Name is the source's name in sync status and API answers.
func (s *Source) Name() string { return kpi.SourceGA4 }

// CacheKey is the property: caches of a client's GA4 answers are per property (kpi.Keyed).
func (s *Source) CacheKey() string { return s.property }

var metrics = []*analyticsdata.Metric{{Name: "totalUsers"}, {Name: "newUsers"}, {Name: "sessions"}, {Name: "bounceRate"}}

// TrafficDays returns every day from from to to; days GA4 has no row for (no visits) are zeros.
// GA4 dates are in the property's reporting time zone and are taken as the same calendar day.
func (s *Source) TrafficDays(ctx context.Context, from, to time.Time) ([]kpi.TrafficDay, error) {
	from, to = kpi.DayOf(from), kpi.DayOf(to)
	rows, meta, err := s.runReport(ctx, "date", from, to)
	if err != nil {
		return nil, err
	}
	byDay := map[time.Time]kpi.Traffic{}
	for key, t := range rows {
		d, err := time.Parse("20060102", key)
		if err != nil {
			return nil, fmt.Errorf("ga4: date %q: %w", key, err)
		}
		byDay[d] = t
	}
	var out []kpi.TrafficDay
	for _, d := range kpi.Days(from, to) {
		t := byDay[d]
		// GA4 says the report was thresholded, not which rows: every day of it may be low, a day
		// without a row too (its only visitors may be the ones withheld).
		t.Thresholded = meta.thresholded
		out = append(out, kpi.TrafficDay{Day: d, Traffic: t})
	}
	return out, nil
}

// DistinctVisitors is the number of people who visited from from to to, each counted once
// however many of the days they came: totalUsers of the range asked as one, with no dimension
// (GA4 answers one row without dimension values; none when the range had no visitors). By date,
// a visitor of three days is one of each day's totalUsers, three in their sum. Dates are the
// property's, taken as the same calendar days, as in TrafficDays.
func (s *Source) DistinctVisitors(ctx context.Context, from, to time.Time) (kpi.VisitorCount, error) {
	from, to = kpi.DayOf(from), kpi.DayOf(to)
	req := &analyticsdata.RunReportRequest{
		DateRanges: []*analyticsdata.DateRange{{StartDate: from.Format(time.DateOnly), EndDate: to.Format(time.DateOnly)}},
		Metrics:    []*analyticsdata.Metric{{Name: "totalUsers"}},
	}
	rctx, cancel := context.WithTimeout(ctx, requestTimeout)
	res, err := s.svc.Properties.RunReport(s.property, req).Context(rctx).Do()
	cancel()
	if err != nil {
		return kpi.VisitorCount{}, classify(err)
	}
	var meta reportMeta
	meta.read(res.Metadata)
	switch len(res.Rows) {
	case 0:
		return kpi.VisitorCount{Thresholded: meta.thresholded}, nil
	case 1:
	default:
		return kpi.VisitorCount{}, fmt.Errorf("ga4: %d rows for a report without dimensions", len(res.Rows))
	}
	row := res.Rows[0]
	col := slices.IndexFunc(res.MetricHeaders, func(h *analyticsdata.MetricHeader) bool { return h.Name == "totalUsers" })
	if col < 0 || len(row.DimensionValues) != 0 || len(row.MetricValues) != len(res.MetricHeaders) {
		return kpi.VisitorCount{}, errors.New("ga4: row does not match the report's headers")
	}
	v := row.MetricValues[col].Value
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return kpi.VisitorCount{}, fmt.Errorf("ga4: totalUsers %q is not a count", v)
	}
	return kpi.VisitorCount{Visitors: n, Thresholded: meta.thresholded}, nil
}

// TrafficHours returns the UTC hours of day that had visits. GA4 reports dateHour in the
// property's own time zone (the answer's metadata names it), so the property's dates around day
// are asked for and each hour is taken to UTC: stored as if UTC, a New York property's evening
// showed five hours early against the day's revenue, which is in UTC. Each row is counted once,
// in the UTC hour its local hour began (utcHourOf).
func (s *Source) TrafficHours(ctx context.Context, day time.Time) ([]kpi.TrafficHour, error) {
	day = kpi.DayOf(day)
	rows, meta, err := s.runReport(ctx, "dateHour", day.AddDate(0, 0, -1), day.AddDate(0, 0, 1))
	if err != nil {
		return nil, err
	}
	loc, err := reportZone(meta.zone)
	if err != nil {
		return nil, err
	}
	byHour := map[time.Time]kpi.Traffic{}
	for key, t := range rows {
		h, err := utcHourOf(key, loc)
		if err != nil {
			return nil, err
		}
		t.Thresholded = meta.thresholded
		if !h.Before(day) && h.Before(day.AddDate(0, 0, 1)) {
			// Two rows on one UTC hour only if GA4 ever sent an hour the zone skipped (see
			// utcHourOf): one hour here, as Postgres refuses an upsert that writes a row twice.
			if prev, ok := byHour[h]; ok {
				t = kpi.MergeTraffic(prev, t)
			}
			byHour[h] = t
		}
	}
	out := make([]kpi.TrafficHour, 0, len(byHour))
	for h, t := range byHour {
		out = append(out, kpi.TrafficHour{Hour: h, Traffic: t})
	}
	slices.SortFunc(out, func(a, b kpi.TrafficHour) int { return a.Hour.Compare(b.Hour) })
	return out, nil
}

// utcHourOf is the UTC hour (its start) a GA4 dateHour row of a property in loc is counted in:
// the one in which the local hour began. Where the clocks go back, the local hour happens twice
// and GA4 has one row for both: it counts in the UTC hour of the first occurrence, and the
// second's UTC hour has no row (splitting the row would invent how its visits, which cannot be
// divided, fell; the first is where the hour the row names began). time.ParseInLocation does
// not say which occurrence it picks and picked the second in Europe/Berlin, the first in
// America/New_York. In a zone whose clocks go back at UTC midnight (Europe/Chisinau) the first
// occurrence is the last hour of the UTC day before. Where the clocks go forward, the skipped
// local hour has no row in GA4; one, if ever sent, is taken to the instant the clocks jumped,
// the UTC hour of the local hour after it, with which TrafficHours merges it. Local hours that
// begin on a half or quarter hour of UTC (India, Nepal) count in the UTC hour they begin in.
func utcHourOf(key string, loc *time.Location) (time.Time, error) {
	const layout = "2006010215"
	wall, err := time.Parse(layout, key) // the local wall clock, read as if UTC
	if err != nil {
		return time.Time{}, fmt.Errorf("ga4: dateHour %q: %w", key, err)
	}
	in := func(u time.Time) bool { return u.In(loc).Format(layout) == key }
	// The instants whose local hour is key begin either at the wall clock less one of the
	// zone's offsets around it, or at a change of the clocks: try both, keep the earliest.
	var first, jump time.Time
	try := func(u time.Time) {
		if in(u) && (first.IsZero() || u.Before(first)) {
			first = u
		}
	}
	for probe := -26; probe <= 26; probe += 2 {
		_, offset := wall.Add(time.Duration(probe) * time.Hour).In(loc).Zone()
		u := wall.Add(-time.Duration(offset) * time.Second)
		try(u)
		start, end := u.In(loc).ZoneBounds()
		for _, b := range []time.Time{start, end} {
			if b.IsZero() {
				continue
			}
			try(b)
			// A change of the clocks that leaps over the hour: local time before it is earlier
			// than the hour, at it later.
			if b.Add(-time.Second).In(loc).Format(layout) < key && b.In(loc).Format(layout) > key {
				jump = b
			}
		}
	}
	switch {
	case !first.IsZero():
	case !jump.IsZero():
		// A local hour the zone skipped. time.Date would not do: it put Europe/Berlin's skipped
		// 02:00 at the jump, America/New_York's an hour before it, on the row of 01:00.
		first = jump
	default:
		return time.Time{}, fmt.Errorf("ga4: dateHour %q does not exist in %s", key, loc)
	}
	return first.UTC().Truncate(time.Hour), nil
}

// reportZone is the time zone a report's metadata names; none means UTC.
func reportZone(name string) (*time.Location, error) {
	if name == "" {
		return time.UTC, nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("ga4: report time zone %q: %w", name, err)
	}
	return loc, nil
}

// pageSize is GA4's own default; a year of days or a day of hours fits in one page.
const pageSize = 10000

// requestTimeout bounds one runReport call (a page): Google's client has no timeout of its own,
// and the callers' contexts may have none either (a dashboard request's), so a GA4 that takes a
// request and never answers would hold the caller, and everyone waiting on the same days behind
// it, for ever. A report of a year's days answers in seconds. A variable, so tests can shorten it.
var requestTimeout = 30 * time.Second

// reportMeta is what a report's metadata says of all its rows.
type reportMeta struct {
	// zone is the property's reporting time zone.
	zone string
	// thresholded: GA4 applied thresholding (subjectToThresholding) on some page: it may have
	// withheld rows with low user counts.
	thresholded bool
}

// read takes what one page's metadata says.
func (m *reportMeta) read(md *analyticsdata.ResponseMetaData) {
	if md == nil {
		return
	}
	if m.zone == "" {
		m.zone = md.TimeZone
	}
	m.thresholded = m.thresholded || md.SubjectToThresholding
}

// runReport asks for the four metrics by one dimension and returns them by dimension value,
// reading every page, with what the answer's metadata says of them.
func (s *Source) runReport(ctx context.Context, dimension string, from, to time.Time) (map[string]kpi.Traffic, reportMeta, error) {
	out := map[string]kpi.Traffic{}
	var meta reportMeta
	for offset := int64(0); ; {
		req := &analyticsdata.RunReportRequest{
			DateRanges: []*analyticsdata.DateRange{{StartDate: from.Format(time.DateOnly), EndDate: to.Format(time.DateOnly)}},
			Dimensions: []*analyticsdata.Dimension{{Name: dimension}},
			Metrics:    metrics,
			Limit:      pageSize,
			Offset:     offset,
		}
		rctx, cancel := context.WithTimeout(ctx, requestTimeout)
		res, err := s.svc.Properties.RunReport(s.property, req).Context(rctx).Do()
		cancel()
		if err != nil {
			return nil, meta, classify(err)
		}
		idx, err := metricIndex(res)
		if err != nil {
			return nil, meta, err
		}
		meta.read(res.Metadata)
		for _, row := range res.Rows {
			if len(row.DimensionValues) != 1 || len(row.MetricValues) != len(res.MetricHeaders) {
				return nil, meta, errors.New("ga4: row does not match the report's headers")
			}
			t, err := traffic(row, idx)
			if err != nil {
				return nil, meta, err
			}
			out[row.DimensionValues[0].Value] = t
		}
		offset += int64(len(res.Rows))
		if len(res.Rows) == 0 || offset >= res.RowCount {
			return out, meta, nil
		}
	}
}

// metricIndex finds each metric's column by its header: the API answers in request order, but
// reading the headers costs nothing and survives a reordering.
func metricIndex(res *analyticsdata.RunReportResponse) (map[string]int, error) {
	idx := map[string]int{}
	for i, h := range res.MetricHeaders {
		idx[h.Name] = i
	}
	for _, m := range metrics {
		if _, ok := idx[m.Name]; !ok && len(res.Rows) > 0 {
			return nil, fmt.Errorf("ga4: report has no %s column", m.Name)
		}
	}
	return idx, nil
}

func traffic(row *analyticsdata.Row, idx map[string]int) (kpi.Traffic, error) {
	count := func(name string) (int64, error) {
		v := row.MetricValues[idx[name]].Value
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("ga4: %s %q is not a count", name, v)
		}
		return n, nil
	}
	var t kpi.Traffic
	var err error
	if t.Visitors, err = count("totalUsers"); err != nil {
		return t, err
	}
	if t.NewVisitors, err = count("newUsers"); err != nil {
		return t, err
	}
	if t.Sessions, err = count("sessions"); err != nil {
		return t, err
	}
	v := row.MetricValues[idx["bounceRate"]].Value
	rate, err := strconv.ParseFloat(v, 64)
	if err != nil || rate < 0 || rate > 1 || math.IsNaN(rate) {
		return t, fmt.Errorf("ga4: bounceRate %q is not a fraction", v)
	}
	// A ratio, not money: rounding the fraction to basis points is exact enough.
	t.BounceRateBps = int32(math.Round(rate * 10000))
	return t, nil
}

// classify marks errors retrying cannot fix: bad credentials or request, no access to the
// property. Quota (429) and server errors stay retryable.
func classify(err error) error {
	var ge *googleapi.Error
	if errors.As(err, &ge) {
		msg := fmt.Errorf("ga4: runReport: %d %s", ge.Code, ge.Message)
		switch {
		case ge.Code == http.StatusTooManyRequests || ge.Code >= 500:
			return msg
		case ge.Code >= 400:
			return kpi.Permanent(msg)
		}
	}
	// Google's token endpoint refusing the service account's key (deleted or disabled:
	// 400 invalid_grant, 401 invalid_client) comes as the auth package's error, not the API's.
	var ae *auth.Error
	if errors.As(err, &ae) && ae.Response != nil {
		code := ae.Response.StatusCode
		if code >= 400 && code < 500 && code != http.StatusTooManyRequests {
			return kpi.Permanent(fmt.Errorf("ga4: the token endpoint refused the service account's key: %d", code))
		}
	}
	return fmt.Errorf("ga4: runReport: %w", err)
}
