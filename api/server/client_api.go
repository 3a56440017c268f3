package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/labstack/echo/v4"

	"paysplit/internal/kpi"
	"paysplit/internal/money"
	"paysplit/internal/store"
)

// ErrRefreshUnavailable may be returned by a KPIRefresh hook that cannot start a sync now.
var ErrRefreshUnavailable = errors.New("kpi refresh unavailable")

// clientInfo returns the scoped client and its dashboard settings.
func (s *Server) clientInfo(c echo.Context) error {
	id, err := s.scope(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	cl, err := s.deps.Store.GetClient(ctx, id)
	if err != nil {
		return err
	}
	st, err := s.deps.Store.GetSettings(ctx, id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"client": cl, "settings": st})
}

type kpiDayView struct {
	Day           string `json:"day"`
	Synced        bool   `json:"synced"`
	Visitors      int64  `json:"visitors"`
	NewVisitors   int64  `json:"new_visitors"`
	BounceRateBps int32  `json:"bounce_rate_bps"`
	Sessions      int64  `json:"sessions"`
	Revenue       int64  `json:"revenue"`
	Currency      string `json:"currency"`
	// Where the day came from: postgres (the synced hot window), the sources that filled an
	// older day joined with "+" (ga4+stripe), or none. has_traffic/has_revenue say which parts
	// a source had: a missing part is zeros here but never data.
	Source     string `json:"source"`
	Stale      bool   `json:"stale"`
	HasTraffic bool   `json:"has_traffic"`
	HasRevenue bool   `json:"has_revenue"`
	// Thresholded: GA4 may have withheld rows with low user counts from the day's traffic (kpi.Traffic).
	Thresholded bool   `json:"thresholded"`
	Gross       int64  `json:"gross"`
	Refunds     int64  `json:"refunds"`
	Commission  *int64 `json:"commission"`
}

type kpiSourceView struct {
	Source        string     `json:"source"`
	Stale         bool       `json:"stale"`
	LastSyncedAt  *time.Time `json:"last_synced_at"`
	LastAttemptAt *time.Time `json:"last_attempt_at"`
	LastError     string     `json:"last_error,omitempty"`
	Failures      int        `json:"failures"`
}

type amountView struct {
	Currency string `json:"currency"`
	Amount   int64  `json:"amount"`
}

// kpis answers the client's storefront KPIs for every day of the range: the hot window from
// Postgres, older days fetched from the sources, each day marked by source. Days no source filled
// are zeros with synced=false, so charts have no gaps and nobody mistakes them for data; days a
// lagging source may not have seen in full are stale, with the last good sync time alongside.
func (s *Server) kpis(c echo.Context) error {
	cl, from, to, err := s.clientWindow(c)
	if err != nil {
		return err
	}
	ctx, id := c.Request().Context(), cl.ID
	reader := s.deps.KPIs
	if reader == nil {
		reader = &kpi.Reader{Hot: s.deps.Store, StaleAfter: time.Hour, Now: s.deps.Now}
	}
	series, err := reader.Series(ctx, id, cl.DefaultCurrency, from, to)
	if err != nil {
		return err
	}
	days := []kpiDayView{}
	var visitors, newVisitors, sessions, bounceWeighted, bounceSum, trafficDays, revenueDays, synced, thresholded int64
	revenue := map[money.Currency]int64{}
	var currencies []money.Currency
	for _, d := range series.Days {
		v := kpiDayView{Day: formatDay(d.Day), Synced: d.Synced(), Source: d.Source, Stale: d.Stale, Currency: string(cl.DefaultCurrency)}
		if d.Synced() {
			synced++
		}
		if t := d.Traffic; t != nil {
			v.HasTraffic, v.Visitors, v.NewVisitors, v.BounceRateBps, v.Sessions = true, t.Visitors, t.NewVisitors, t.BounceRateBps, t.Sessions
			visitors, newVisitors, sessions = visitors+t.Visitors, newVisitors+t.NewVisitors, sessions+t.Sessions
			bounceWeighted += int64(t.BounceRateBps) * t.Sessions
			bounceSum += int64(t.BounceRateBps)
			trafficDays++
			if t.Thresholded {
				v.Thresholded = true
				thresholded++
			}
		}
		if r := d.Revenue; r != nil {
			v.HasRevenue, v.Revenue, v.Gross, v.Refunds, v.Commission = true, r.Net(), r.Gross, r.Refunds, r.Commission
			revenueDays++
			if r.Currency != "" {
				v.Currency = string(r.Currency)
			}
			cur := money.Currency(v.Currency)
			if _, seen := revenue[cur]; !seen {
				currencies = append(currencies, cur)
			}
			// Checked as kpi's own sums are: a total that does not fit is refused, never a wrapped
			// (negative) amount shown as the period's revenue. A shorter range can be answered.
			if revenue[cur], err = money.AddInt(revenue[cur], v.Revenue); err != nil {
				return errorf(http.StatusBadRequest, "invalid_request",
					fmt.Sprintf("the range's %s revenue total does not fit in 64 bits (%v); ask for a shorter range", cur.Upper(), err))
			}
		}
		days = append(days, v)
	}
	// The period's bounce rate weighs each day by its sessions; without sessions, days count alike.
	var bounce int64
	switch {
	case sessions > 0:
		bounce = (bounceWeighted + sessions/2) / sessions
	case trafficDays > 0:
		bounce = (bounceSum + trafficDays/2) / trafficDays
	}
	if len(currencies) == 0 {
		currencies = []money.Currency{cl.DefaultCurrency}
	}
	totalRevenue := []amountView{}
	for _, cur := range currencies {
		totalRevenue = append(totalRevenue, amountView{Currency: string(cur), Amount: revenue[cur]})
	}
	sources := []kpiSourceView{}
	for _, st := range series.Sources {
		sources = append(sources, kpiSourceView{Source: st.Source, Stale: st.Stale, LastSyncedAt: timeOrNil(st.LastSuccess),
			LastAttemptAt: timeOrNil(st.LastAttempt), LastError: sourceMessage(c, st.Source, st.LastError), Failures: st.Failures})
	}
	// Notes are remarks the figures must be read with, shown by the dashboard as they are.
	notes := []string{}
	if thresholded > 0 {
		notes = append(notes, kpi.ThresholdedNote)
	}
	sourceErrors := []map[string]string{}
	for _, e := range series.ColdErrors {
		sourceErrors = append(sourceErrors, map[string]string{"source": e.Source, "message": sourceMessage(c, e.Source, e.Message)})
	}
	return c.JSON(http.StatusOK, map[string]any{
		"client_id": id, "from": formatDay(from), "to": formatDay(to), "days": days, "exponents": exponents(append(currencies, cl.DefaultCurrency)),
		"stale": series.Stale, "last_synced_at": timeOrNil(series.LastSyncedAt), "sources": sources, "source_errors": sourceErrors,
		"notes": notes,
		// traffic_days and revenue_days count the days that have each part: the totals are sums
		// over those, and without any such day a total is "no data", not zero (as in the report).
		"totals": map[string]any{"visitors": visitors, "new_visitors": newVisitors, "sessions": sessions,
			"bounce_rate_bps": bounce, "revenue": totalRevenue, "synced_days": synced,
			"traffic_days": trafficDays, "revenue_days": revenueDays},
		"currency": string(cl.DefaultCurrency),
	})
}

// kpiVisitors answers the range's distinct visitors, each person once however many of its days
// they came (GA4's totalUsers of the range asked as one), which the days' visitors summed are
// not. It is asked apart from GET /api/v1/kpis so the dashboard never waits for GA4: the page
// shows the sum of daily visitors and replaces it when this answers. visitors is null, with why
// (not_configured, source_error, no_days), when there is no such count; never an error status for
// GA4's failure. Days after today, or after the day an offboarded client left, are not asked for.
func (s *Server) kpiVisitors(c echo.Context) error {
	cl, from, to, err := s.clientWindow(c)
	if err != nil {
		return err
	}
	last := store.DayOf(s.deps.Now())
	if cl.OffboardedAt != nil && store.DayOf(*cl.OffboardedAt).Before(last) {
		last = store.DayOf(*cl.OffboardedAt)
	}
	if to.After(last) {
		to = last
	}
	answer := func(n *kpi.VisitorCount, reason, msg string) error {
		var visitors *int64
		notes := []string{}
		if n != nil {
			visitors = &n.Visitors
			if n.Thresholded {
				notes = append(notes, kpi.ThresholdedNote)
			}
		}
		out := map[string]any{"client_id": cl.ID, "from": formatDay(from), "to": formatDay(to), "visitors": visitors, "notes": notes}
		if reason != "" {
			out["reason"] = reason
		}
		if msg != "" {
			out["message"] = msg
		}
		return c.JSON(http.StatusOK, out)
	}
	switch {
	case from.After(to):
		return answer(nil, "no_days", "")
	case s.deps.Visitors == nil:
		return answer(nil, "not_configured", "")
	}
	n, err := s.deps.Visitors.Distinct(c.Request().Context(), cl.ID, from, to)
	switch {
	case errors.Is(err, kpi.ErrNotConfigured):
		return answer(nil, "not_configured", "")
	case err != nil:
		return answer(nil, "source_error", sourceMessage(c, kpi.SourceGA4, err.Error()))
	}
	return answer(&n, "", "")
}

// sourceMessage is a KPI source's error as the caller may see it: admins get the source's own
// words (a credentials file or variable name, a library's error), a client key only that the
// source failed, since the rest is the deployment's configuration.
func sourceMessage(c echo.Context, source, msg string) string {
	if p, _ := principalOf(c); msg == "" || p.Role != store.RoleClient {
		return msg
	}
	return "the " + source + " source could not be read; the agency's admins can see why"
}

// timeOrNil is nil for the zero time ("never"), so it shows as null rather than year 1.
func timeOrNil(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// refreshKPIs starts an on-demand KPI sync for the client, when the sync exists.
func (s *Server) refreshKPIs(c echo.Context) error {
	id, err := s.scope(c)
	if err != nil {
		return err
	}
	cl, err := s.deps.Store.GetClient(c.Request().Context(), id)
	if err != nil {
		return err
	}
	if cl.Offboarded() {
		// Its sync schedule is gone: a refresh would sync a shop the agency no longer serves.
		return offboardedRefresh(id)
	}
	if s.deps.KPIRefresh == nil {
		return errorf(http.StatusNotImplemented, "not_implemented", "on-demand KPI refresh is not available yet; KPIs update on the regular sync")
	}
	ctx, cancel := context.WithTimeout(c.Request().Context(), 10*time.Second)
	defer cancel()
	if err := s.deps.KPIRefresh(ctx, id); err != nil {
		if errors.Is(err, ErrRefreshUnavailable) {
			return errorf(http.StatusServiceUnavailable, "refresh_unavailable", "a refresh cannot start right now; retry later")
		}
		// Offboarded during the refresh: its schedule was deleted under it.
		if cl, gerr := s.deps.Store.GetClient(c.Request().Context(), id); gerr == nil && cl.Offboarded() {
			return offboardedRefresh(id)
		}
		return err
	}
	return c.JSON(http.StatusAccepted, map[string]string{"status": "refresh_started", "client_id": id})
}

// offboardedRefresh is the answer to a refresh of an offboarded client.
func offboardedRefresh(id string) error {
	return errorf(http.StatusConflict, "client_offboarded", "client "+id+" is offboarded: its KPIs are no longer synced; reactivate it to refresh")
}

type revenueView struct {
	Day              string `json:"day,omitempty"`
	Currency         string `json:"currency"`
	Payments         int64  `json:"payments"`
	Gross            int64  `json:"gross"`
	Refunds          int64  `json:"refunds"`
	DisputesLost     int64  `json:"disputes_lost"`
	Commission       int64  `json:"commission"`
	VendorPayouts    int64  `json:"vendor_payouts"`
	AffiliatePayouts int64  `json:"affiliate_payouts"`
	Unsplit          int64  `json:"unsplit"`
}

// add adds one day to v. Sums are checked: a total beyond int64 is an error, never a wrapped
// (negative) amount shown as the range's money.
func (v *revenueView) add(d store.RevenueDay) error {
	for _, f := range []struct {
		name     string
		sum      *int64
		addition int64
	}{
		{"payments", &v.Payments, d.Payments}, {"gross", &v.Gross, d.Gross}, {"refunds", &v.Refunds, d.Refunds},
		{"disputes_lost", &v.DisputesLost, d.DisputesLost}, {"commission", &v.Commission, d.Commission},
		{"vendor_payouts", &v.VendorPayouts, d.VendorPayouts}, {"affiliate_payouts", &v.AffiliatePayouts, d.AffiliatePayouts},
		{"unsplit", &v.Unsplit, d.Unsplit},
	} {
		s, err := money.AddInt(*f.sum, f.addition)
		if err != nil {
			return fmt.Errorf("%s %s: %w", v.Currency, f.name, err)
		}
		*f.sum = s
	}
	return nil
}

// clientWindow is the client the credential is scoped to and the requested date range
// (30 days ending today by default), the start of every per-day client endpoint.
func (s *Server) clientWindow(c echo.Context) (store.Client, time.Time, time.Time, error) {
	id, err := s.scope(c)
	if err != nil {
		return store.Client{}, time.Time{}, time.Time{}, err
	}
	from, to, err := dateRange(c, s.deps.Now(), 30)
	if err != nil {
		return store.Client{}, time.Time{}, time.Time{}, err
	}
	cl, err := s.deps.Store.GetClient(c.Request().Context(), id)
	return cl, from, to, err
}

// revenue answers the client's payments by capture day and how they were split, per currency,
// for every day of the range (zeros where nothing was captured).
func (s *Server) revenue(c echo.Context) error {
	cl, from, to, err := s.clientWindow(c)
	if err != nil {
		return err
	}
	ctx, id := c.Request().Context(), cl.ID
	rows, err := s.deps.Store.RevenueByDay(ctx, id, from, to)
	if err != nil {
		return err
	}
	type key struct {
		day time.Time
		cur money.Currency
	}
	byKey := map[key]store.RevenueDay{}
	// The client's default currency is the main one, first and always listed (zeros when nothing
	// was captured in it); the others follow by code. Amounts in different currencies are never
	// compared, and the first currency captured in the range is not the main one for that.
	var others []money.Currency
	for _, r := range rows {
		byKey[key{r.Day, r.Currency}] = r
		if r.Currency != cl.DefaultCurrency && !slices.Contains(others, r.Currency) {
			others = append(others, r.Currency)
		}
	}
	slices.Sort(others)
	currencies := append([]money.Currency{cl.DefaultCurrency}, others...)
	days := []revenueView{}
	totals := []revenueView{}
	for _, cur := range currencies {
		total := revenueView{Currency: string(cur)}
		for d := from; !d.After(to); d = d.AddDate(0, 0, 1) {
			v := revenueView{Day: formatDay(d), Currency: string(cur)}
			if r, ok := byKey[key{d, cur}]; ok {
				if err := v.add(r); err != nil {
					return err // one stored day: a sum the database made, so it fits
				}
				if err := total.add(r); err != nil {
					return errorf(http.StatusBadRequest, "invalid_request",
						fmt.Sprintf("the range's totals do not fit in 64 bits (%v); ask for a shorter range", err))
				}
			}
			days = append(days, v)
		}
		totals = append(totals, total)
	}
	cs := make([]string, len(currencies))
	for i, cur := range currencies {
		cs[i] = string(cur)
	}
	return c.JSON(http.StatusOK, map[string]any{
		"client_id": id, "from": formatDay(from), "to": formatDay(to), "default_currency": string(cl.DefaultCurrency),
		"currencies": cs, "days": days, "totals": totals, "exponents": exponents(currencies),
	})
}

type payoutCursor struct {
	CapturedAt time.Time `json:"t"`
	WorkflowID string    `json:"w"`
	Leg        string    `json:"l"`
}

func (c payoutCursor) complete() bool {
	return !c.CapturedAt.IsZero() && c.WorkflowID != "" && c.Leg != ""
}

var legStates = []string{"pending", "transferring", "transferred", "held", "failed", "reversed", "cancelled", "nothing_due"}

// payouts lists what the client's vendors and affiliates are owed per payment and what became of
// it, newest first, a page at a time.
func (s *Server) payouts(c echo.Context) error {
	id, err := s.scope(c)
	if err != nil {
		return err
	}
	from, to, err := optionalDateRange(c)
	if err != nil {
		return err
	}
	limit, err := limitParam(c)
	if err != nil {
		return err
	}
	state := c.QueryParam("state")
	if state != "" && !slices.Contains(legStates, state) {
		return errorf(http.StatusBadRequest, "invalid_request", "state must be one of pending, transferring, transferred, held, failed, reversed, cancelled, nothing_due")
	}
	f := store.PayoutFilter{ClientID: id, From: from, To: to, State: state, Limit: limit + 1}
	var cur payoutCursor
	if ok, err := decodeCursor(c, &cur); err != nil {
		return err
	} else if ok {
		f.After = &store.PayoutCursor{CapturedAt: cur.CapturedAt, WorkflowID: cur.WorkflowID, Leg: cur.Leg}
	}
	rows, err := s.deps.Store.ListPayouts(c.Request().Context(), f)
	if err != nil {
		return err
	}
	rows, next := pageOf(rows, limit, func(last store.Payout) any {
		at := last.Cursor()
		return payoutCursor{CapturedAt: at.CapturedAt, WorkflowID: at.WorkflowID, Leg: at.Leg}
	})
	if p, _ := principalOf(c); p.Role == store.RoleClient {
		for i := range rows {
			rows[i].Reason = store.ClientReason(rows[i].Reason)
			rows[i].HeldReason = store.ClientReason(rows[i].HeldReason)
			rows[i].FailedReason = store.ClientReason(rows[i].FailedReason)
		}
	}
	cs := make([]money.Currency, 0, len(rows))
	for _, r := range rows {
		cs = append(cs, r.Currency)
	}
	return c.JSON(http.StatusOK, map[string]any{"client_id": id, "payouts": nonNil(rows), "next_cursor": next, "exponents": exponents(cs)})
}

type reportCursor struct {
	ISOWeek string `json:"w"`
}

func (c reportCursor) complete() bool { return c.ISOWeek != "" }

// reports lists the client's weekly reports, newest first, each with a presigned download link
// that expires (S3_PRESIGN_TTL); null when the server has no report storage configured.
func (s *Server) reports(c echo.Context) error {
	id, err := s.scope(c)
	if err != nil {
		return err
	}
	limit, err := limitParam(c)
	if err != nil {
		return err
	}
	var cur reportCursor
	if _, err := decodeCursor(c, &cur); err != nil {
		return err
	}
	rows, err := s.deps.Store.ListReports(c.Request().Context(), id, cur.ISOWeek, limit+1)
	if err != nil {
		return err
	}
	rows, next := pageOf(rows, limit, func(last store.Report) any { return reportCursor{ISOWeek: last.ISOWeek} })
	out := make([]map[string]any, 0, len(rows))
	for _, r := range rows {
		u, err := s.downloadURL(c.Request().Context(), r.S3Key)
		if err != nil {
			return err
		}
		out = append(out, map[string]any{"iso_week": r.ISOWeek, "created_at": r.CreatedAt, "download_url": u})
	}
	return c.JSON(http.StatusOK, map[string]any{"client_id": id, "reports": out, "next_cursor": next})
}

// exponents tells the dashboard how many minor-unit digits each currency has, so it can format
// amounts without a table of its own.
func exponents(cs []money.Currency) map[string]int {
	out := make(map[string]int, len(cs))
	for _, c := range cs {
		if e := c.Exponent(); e >= 0 {
			out[string(c)] = e
		}
	}
	return out
}
