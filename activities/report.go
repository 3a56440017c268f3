package activities

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"paysplit/internal/kpi"
	"paysplit/internal/mailer"
	"paysplit/internal/money"
	"paysplit/internal/objstore"
	"paysplit/internal/report"
	"paysplit/internal/store"
)

// ErrTypeReportInvalid marks a report that cannot be made or sent whatever the retries: an
// unknown client or week, data the renderer refuses, recipients no server accepts.
const ErrTypeReportInvalid = "ReportInvalid"

// ErrTypeKPISourceDown marks a generate attempt that stopped because a KPI source failed in a
// way a retry may cure (network, timeout, 5xx, rate limit): it is retried.
const ErrTypeKPISourceDown = "KPISourceDown"

// lastChanceWindow is how long before its schedule-to-close deadline generate stops retrying a
// KPI source that is down and makes the report with a note instead, in a run from before the
// workflow said when (GenerateReportInput.LastChanceAt zero). The step got the run's 24 hours
// (clientRunTimeout) from when it was scheduled, but the run may have spent up to 14 of them
// before that waiting for the week's KPIs (UTC+14's Monday 06:00 is 8 hours before the week's
// last UTC day ends, and the wait is up to report.MaxKPIWait after it); the attempt can't see the
// run's start, so it keeps that much plus an hour for the last backoff and attempt.
const lastChanceWindow = 15 * time.Hour

// lastChance reports whether this attempt of an activity may be its run's last: a report with a
// note beats no report. It is the last attempt the retry policy allows, or the attempt starts
// within lastChanceWindow of the step's schedule-to-close deadline (in its second half, for a
// step given no more than that).
func lastChance(info activity.Info, now time.Time) bool {
	if lastAttempt(info) {
		return true
	}
	if info.ScheduleToCloseTimeout <= 0 || info.ScheduledTime.IsZero() {
		return false
	}
	window := lastChanceWindow
	if info.ScheduleToCloseTimeout <= window {
		window = info.ScheduleToCloseTimeout / 2
	}
	return !now.Before(info.ScheduledTime.Add(info.ScheduleToCloseTimeout - window))
}

// lastAttempt: the retry policy allows no attempt after this one.
func lastAttempt(info activity.Info) bool {
	p := info.RetryPolicy
	return p != nil && p.MaximumAttempts > 0 && info.Attempt >= p.MaximumAttempts
}

// LastChance reports whether an attempt of the generate step for in, with info, starting at now,
// may be its run's last: it then makes the report with a note for a KPI source that is down
// rather than fail. From in.LastChanceAt on when the workflow set it, else lastChance. Exported
// so the workflow's tests apply the activity's own rule.
func (in GenerateReportInput) LastChance(info activity.Info, now time.Time) bool {
	if in.LastChanceAt.IsZero() {
		return lastChance(info, now)
	}
	return lastAttempt(info) || !now.Before(in.LastChanceAt)
}

// KPISeries serves a client's KPIs over any range (kpi.Reader: the hot window from Postgres,
// older days from the sources).
type KPISeries interface {
	Series(ctx context.Context, clientID string, cur money.Currency, from, to time.Time) (kpi.Series, error)
}

// DistinctVisitors counts a client's distinct visitors over a range of days, each person once
// however many of the days they came (kpisrc.Factory: GA4's runReport without the date
// dimension); kpi.ErrNotConfigured when the client has no analytics.
type DistinctVisitors interface {
	DistinctVisitors(ctx context.Context, clientID string, from, to time.Time) (kpi.VisitorCount, error)
}

// ReportFiles is where report files go (objstore.Store).
type ReportFiles interface {
	Put(ctx context.Context, o objstore.Object) error
	Get(ctx context.Context, key string) ([]byte, error)
}

// Reports holds the weekly report activities' dependencies. Each activity is idempotent per
// client and week through the delivery record (store.ReportDelivery): generate renders once
// unless forced, upload skips a file S3 already has, email sends only while fewer sends were
// made than asked for.
type Reports struct {
	Store *store.Store
	// KPIs reads the KPI series; nil reads Postgres only.
	KPIs KPISeries
	// Visitors counts the week's distinct visitors for the visitors tile; nil (or a client
	// without analytics, or one GA4 refuses) leaves the tile the days' visitors summed.
	Visitors DistinctVisitors
	Files    ReportFiles
	// Mail sends the reports; nil stores them without mailing (no SMTP server configured).
	Mail mailer.Sender
	// Now is the clock for generation times and the email's Date; nil means time.Now.
	Now func() time.Time
	// Fonts are the PDF's fallback fonts (REPORT_FONTS); nil means the installed ones
	// (report.InstalledFonts, REPORT_FONTS=auto).
	Fonts *report.Fonts
	// KPISyncEvery is the deployment's KPI sync period (KPI_SYNC_EVERY), which a client's own
	// sync_every_seconds overrides; zero means DefaultKPISyncEvery.
	KPISyncEvery time.Duration
}

// DefaultKPISyncEvery is the KPI sync period assumed when Reports.KPISyncEvery is not set (the
// default of KPI_SYNC_EVERY).
const DefaultKPISyncEvery = 15 * time.Minute

func (a *Reports) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

// render renders d with the configured fonts.
func (a *Reports) render(d report.Data) (report.PDF, error) {
	if a.Fonts == nil {
		return report.Render(d)
	}
	return report.RenderWith(d, a.Fonts)
}

func (a *Reports) kpis() KPISeries {
	if a.KPIs != nil {
		return a.KPIs
	}
	return &kpi.Reader{Hot: a.Store, Now: a.Now}
}

// invalid wraps a permanent problem so Temporal does not retry it.
func invalid(err error) error {
	return temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeReportInvalid, err)
}

// ListReportClientsInput names a schedule's time zone; After and Limit ask for one page of its
// clients (those with an ID after After, at most Limit; all when Limit is 0).
type ListReportClientsInput struct {
	TimeZone string
	After    string `json:",omitempty"`
	Limit    int    `json:",omitempty"`
}

// ListReportClientsOutput are the clients whose reports run in that zone.
type ListReportClientsOutput struct {
	ClientIDs []string
}

// ListReportClients lists the clients with weekly reports in a time zone, or a page of them.
func (a *Reports) ListReportClients(ctx context.Context, in ListReportClientsInput) (ListReportClientsOutput, error) {
	ids, err := a.Store.ReportClientsPage(ctx, in.TimeZone, in.After, in.Limit)
	return ListReportClientsOutput{ClientIDs: ids}, err
}

// ReportReadyOutput is when the report may be generated.
type ReportReadyOutput struct {
	At time.Time
}

// ReportReadyAt says when the client's report of in.Week may be generated: once the week's last
// (UTC) day has ended and one of the client's KPI syncs has run since (report.Week.KPIsCompleteAt
// with the client's sync period).
func (a *Reports) ReportReadyAt(ctx context.Context, in ReportInput) (ReportReadyOutput, error) {
	w, err := report.ParseWeek(in.Week)
	if err != nil {
		return ReportReadyOutput{}, invalid(err)
	}
	k, err := a.Store.GetKPISettings(ctx, in.ClientID)
	if errors.Is(err, store.ErrNotFound) {
		return ReportReadyOutput{}, invalid(err)
	}
	if err != nil {
		return ReportReadyOutput{}, err
	}
	every := k.SyncEvery
	if every == 0 {
		every = a.KPISyncEvery
	}
	if every == 0 {
		every = DefaultKPISyncEvery
	}
	return ReportReadyOutput{At: w.KPIsCompleteAt(every)}, nil
}

// GenerateReportInput asks for one client's report of one week; Force renders it again from
// the current data (an admin's regenerate).
type GenerateReportInput struct {
	ClientID string
	Week     string
	Force    bool
	// TimeZone overrides the client's setting (ClientInput.TimeZone).
	TimeZone string `json:",omitempty"`
	// MoveTx is the transaction of the zone move (to TimeZone) that started this run before it
	// committed (ClientInput.MoveTx).
	MoveTx string `json:",omitempty"`
	// LastChanceAt is when an attempt stops waiting for a KPI source that is down and makes the
	// report with a note (an hour before the run's end, set by workflows/report from
	// runDeadlineChange on); zero from runs before, which could not say (lastChance).
	LastChanceAt time.Time `json:",omitzero"`
}

// GenerateReportOutput says whether a new file was rendered, and which.
type GenerateReportOutput struct {
	Generated bool
	SHA256    string
	Pages     int
	Bytes     int
	// MoveNotCommitted: the zone move that started the run never happened, so nothing was
	// generated and nothing is to be sent (the client's own zone makes the week's report).
	MoveNotCommitted bool `json:",omitempty"`
}

// GenerateReport gathers the week's numbers, renders the PDF and records both. A report already
// generated is left as it is unless in.Force; nothing is generated for a zone move that did not
// commit.
func (a *Reports) GenerateReport(ctx context.Context, in GenerateReportInput) (GenerateReportOutput, error) {
	if in.MoveTx != "" {
		committed, err := a.Store.ReportZoneMoveCommitted(ctx, in.ClientID, in.TimeZone, in.MoveTx)
		if err != nil {
			return GenerateReportOutput{}, err
		}
		if !committed {
			activity.GetLogger(ctx).Info("zone move not committed: no report", "ClientID", in.ClientID, "Week", in.Week, "TimeZone", in.TimeZone)
			return GenerateReportOutput{MoveNotCommitted: true}, nil
		}
	}
	if !in.Force {
		d, err := a.Store.GetReportDelivery(ctx, in.ClientID, in.Week)
		if err == nil {
			return GenerateReportOutput{SHA256: d.SHA256, Pages: d.Pages, Bytes: d.Bytes}, nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return GenerateReportOutput{}, err
		}
	}
	data, err := a.gather(ctx, in)
	if err != nil {
		return GenerateReportOutput{}, err
	}
	pdf, err := a.render(data)
	if err != nil {
		return GenerateReportOutput{}, invalid(err)
	}
	if len(pdf.Missing) > 0 {
		activity.GetLogger(ctx).Warn("report has characters no font draws (boxes): add a font to REPORT_FONTS",
			"ClientID", in.ClientID, "Week", in.Week, "Characters", string(pdf.Missing))
	}
	if err := a.Store.SaveGeneratedReport(ctx, store.GeneratedReport{Data: data, PDF: pdf, At: a.now()}); err != nil {
		return GenerateReportOutput{}, err
	}
	activity.GetLogger(ctx).Info("report generated", "ClientID", in.ClientID, "Week", in.Week, "Pages", pdf.Pages, "Bytes", len(pdf.Bytes))
	return GenerateReportOutput{Generated: true, SHA256: pdf.SHA256(), Pages: pdf.Pages, Bytes: len(pdf.Bytes)}, nil
}

// gather reads everything the report shows. Days are the ISO week's dates; payments are those
// captured between Monday 00:00 and the next Monday 00:00 in the client's time zone.
func (a *Reports) gather(ctx context.Context, in GenerateReportInput) (report.Data, error) {
	clientID, isoWeek, zone := in.ClientID, in.Week, in.TimeZone
	w, err := report.ParseWeek(isoWeek)
	if err != nil {
		return report.Data{}, invalid(err)
	}
	cl, err := a.Store.GetClient(ctx, clientID)
	if errors.Is(err, store.ErrNotFound) {
		return report.Data{}, invalid(err)
	}
	if err != nil {
		return report.Data{}, err
	}
	settings, err := a.Store.GetReportSettings(ctx, clientID)
	if err != nil {
		return report.Data{}, err
	}
	if zone == "" {
		zone = settings.TimeZone
	}
	loc, err := time.LoadLocation(zone)
	if err != nil {
		return report.Data{}, invalid(fmt.Errorf("time zone of %s: %w", clientID, err))
	}
	d := report.Data{ClientID: cl.ID, ClientName: cl.Name, Week: w, TimeZone: zone, Currency: cl.DefaultCurrency}

	prev := w.Prev()
	series, err := a.kpis().Series(ctx, clientID, cl.DefaultCurrency, prev.Monday(), w.Monday().AddDate(0, 0, 6))
	if err != nil {
		return report.Data{}, fmt.Errorf("kpis of %s: %w", clientID, err)
	}
	byDate := make(map[string]kpi.Day, len(series.Days))
	for _, day := range series.Days {
		byDate[day.Day.Format(time.DateOnly)] = day
	}
	otherCurrency := 0
	days := func(week report.Week) []report.Day {
		out := make([]report.Day, 0, 7)
		for _, date := range week.Days() {
			k := date.Format(time.DateOnly)
			rd := report.Day{Date: k}
			if day, ok := byDate[k]; ok {
				if t := day.Traffic; t != nil {
					rd.HasTraffic, rd.Visitors, rd.NewVisitors, rd.Sessions, rd.BounceRateBps = true, t.Visitors, t.NewVisitors, t.Sessions, t.BounceRateBps
					rd.Thresholded = t.Thresholded
				}
				if r := day.Revenue; r != nil {
					if r.Currency == "" || r.Currency == cl.DefaultCurrency {
						rd.HasRevenue, rd.Revenue = true, r.Net()
					} else if week == w {
						otherCurrency++
					}
				}
			}
			out = append(out, rd)
		}
		return out
	}
	d.Days, d.Previous = days(w), days(prev)
	d.PreviousThresholded = report.TrafficThresholded(d.Previous)
	for _, st := range series.Sources {
		d.Sources = append(d.Sources, report.SourceSync{Source: st.Source, LastSuccess: st.LastSuccess, Failing: st.Failures > 0})
	}
	var down []string
	for _, e := range series.ColdErrors {
		if !e.Permanent {
			down = append(down, e.Message)
		}
	}
	// Nothing is stored yet: a failed attempt leaves the week ungenerated, and the retry asks the
	// source again. Only a refusal no retry fixes, or the run's last chance, gets the note. The
	// wall clock, not a.now: the attempt's times are the server's.
	if len(down) > 0 && activity.IsActivity(ctx) && !in.LastChance(activity.GetInfo(ctx), time.Now()) {
		return report.Data{}, temporal.NewApplicationError(fmt.Sprintf("kpis of %s: source down for the older days: %s", clientID, strings.Join(down, "; ")), ErrTypeKPISourceDown)
	}
	for _, e := range series.ColdErrors {
		d.Notes = append(d.Notes, fmt.Sprintf("The %s KPI source could not be reached for the older days of this report; those figures are missing.", e.Source))
	}
	if otherCurrency > 0 {
		d.Notes = append(d.Notes, fmt.Sprintf("Storefront revenue of %d day(s) is in another currency than %s and is not shown.", otherCurrency, cl.DefaultCurrency.Upper()))
	}
	if err := a.distinctVisitors(ctx, in, cl, series, &d); err != nil {
		return report.Data{}, err
	}

	if d.Payments, err = a.Store.ReportPayments(ctx, clientID, w.Start(loc), w.End(loc)); err != nil {
		return report.Data{}, err
	}
	if d.PreviousPayments, err = a.Store.ReportPayments(ctx, clientID, prev.Start(loc), prev.End(loc)); err != nil {
		return report.Data{}, err
	}
	if d.Payouts, err = a.Store.ReportPayouts(ctx, clientID, w.Start(loc), w.End(loc)); err != nil {
		return report.Data{}, err
	}
	return d, nil
}

// distinctVisitors sets the week's and the previous week's distinct visitors (GA4's totalUsers of
// each week asked as one range), once per report, when the data is gathered; without them the
// visitors tile is the days' visitors summed, labelled so. GA4 is not asked when the client has
// none, when it already failed on this series' older days (the report notes that), or for a
// week past the day the client left (the reader's series ends there too). A failure a retry may
// cure fails the attempt, as a source down for the older days does; one that cannot be cured,
// or the run's last chance, leaves the sum with a note. The previous week's count is only kept
// beside the week's: a distinct count is compared with a distinct count or with nothing; GA4
// thresholding it marks the previous week (Data.PreviousThresholded), as a thresholded day does.
func (a *Reports) distinctVisitors(ctx context.Context, in GenerateReportInput, cl store.Client, series kpi.Series, d *report.Data) error {
	if a.Visitors == nil {
		return nil
	}
	for _, e := range series.ColdErrors {
		if e.Source == kpi.SourceGA4 {
			return nil
		}
	}
	last := kpi.DayOf(a.now())
	if cl.OffboardedAt != nil && kpi.DayOf(*cl.OffboardedAt).Before(last) {
		last = kpi.DayOf(*cl.OffboardedAt)
	}
	count := func(w report.Week) (*kpi.VisitorCount, error) {
		sunday := w.Monday().AddDate(0, 0, 6)
		if sunday.After(last) {
			return nil, nil
		}
		n, err := a.Visitors.DistinctVisitors(ctx, cl.ID, w.Monday(), sunday)
		switch {
		case errors.Is(err, kpi.ErrNotConfigured):
			return nil, nil
		case err == nil:
			return &n, nil
		case !kpi.IsPermanent(err) && activity.IsActivity(ctx) && !in.LastChance(activity.GetInfo(ctx), time.Now()):
			return nil, temporal.NewApplicationError(fmt.Sprintf("kpis of %s: %s could not count the distinct visitors of %s: %v", cl.ID, kpi.SourceGA4, w, err), ErrTypeKPISourceDown)
		}
		activity.GetLogger(ctx).Warn("distinct visitors not counted", "ClientID", cl.ID, "Week", w.String(), "Error", err)
		return nil, errFallback
	}
	cur, err := count(d.Week)
	if errors.Is(err, errFallback) {
		d.Notes = append(d.Notes, fmt.Sprintf("The %s KPI source could not count the week's distinct visitors: the visitors tile is the sum of daily visitors, which counts a visitor once for each day they came.", kpi.SourceGA4))
		return nil
	}
	if err != nil || cur == nil {
		return err
	}
	prev, err := count(d.Week.Prev())
	if errors.Is(err, errFallback) {
		d.Notes = append(d.Notes, fmt.Sprintf("The %s KPI source could not count the previous week's distinct visitors: the visitors tile shows no change.", kpi.SourceGA4))
		err = nil
	}
	if err != nil {
		return err
	}
	d.DistinctVisitors, d.DistinctVisitorsThresholded = &cur.Visitors, cur.Thresholded
	if prev != nil {
		d.PreviousDistinctVisitors = &prev.Visitors
		d.PreviousThresholded = d.PreviousThresholded || prev.Thresholded
	}
	return nil
}

// errFallback: the distinct visitors could not be counted and the report does without them.
var errFallback = errors.New("distinct visitors not counted")

// ReportInput names one client's report of one week.
type ReportInput struct {
	ClientID string
	Week     string
}

// UploadReportOutput says whether the file was written and where it is.
type UploadReportOutput struct {
	Uploaded bool
	Key      string
}

// UploadReport stores the generated file in S3 (server-side encrypted, private) under
// reports/<client>/<week>.pdf and lists it for the API. A file S3 already has is not sent again;
// writing the same key twice is harmless anyway.
func (a *Reports) UploadReport(ctx context.Context, in ReportInput) (UploadReportOutput, error) {
	d, err := a.Store.GetReportDelivery(ctx, in.ClientID, in.Week)
	if errors.Is(err, store.ErrNotFound) {
		return UploadReportOutput{}, invalid(fmt.Errorf("upload before generate: %w", err))
	}
	if err != nil {
		return UploadReportOutput{}, err
	}
	key := report.ObjectKey(d.Data.ClientID, d.Data.Week)
	if d.Uploaded {
		return UploadReportOutput{Key: d.S3Key}, nil
	}
	pdf, err := a.Store.PendingReportPDF(ctx, in.ClientID, in.Week)
	if err != nil {
		return UploadReportOutput{}, err
	}
	var rendered *report.PDF
	if pdf == nil {
		// Cleared while S3 holds another version (an upload attempt that outlived its timeout
		// recorded the version it had read after the week was generated again): the stored data
		// is rendered again, which is the same bytes only with the same release and fonts.
		r, err := a.render(*d.Data)
		if err != nil {
			return UploadReportOutput{}, invalid(err)
		}
		pdf, rendered = r.Bytes, &r
	}
	sum := sha256.Sum256(pdf)
	sha := hex.EncodeToString(sum[:])
	err = a.Files.Put(ctx, objstore.Object{Key: key, Body: pdf, ContentType: "application/pdf",
		FileName: report.FileName(d.Data.ClientID, d.Data.Week)})
	if err != nil {
		return UploadReportOutput{}, err
	}
	if rendered != nil {
		// Recorded as the delivery's file, not only as uploaded: a render other than the one
		// generated left the week "not uploaded" with no local copy, and every send of it failed.
		err = a.Store.MarkReportRestored(ctx, in.ClientID, in.Week, key, d.SHA256, *rendered)
	} else {
		err = a.Store.MarkReportUploaded(ctx, in.ClientID, in.Week, key, sha)
	}
	if err != nil {
		return UploadReportOutput{}, err
	}
	activity.GetLogger(ctx).Info("report uploaded", "ClientID", in.ClientID, "Week", in.Week, "Key", key)
	return UploadReportOutput{Uploaded: true, Key: key}, nil
}

// EmailReportInput asks for the report's email. EnsureSends is how many sends must have been
// made once the activity is done: 1 from the schedule (the first send, if it has not happened),
// sends done + 1 from an admin's resend, 0 to send only what was asked for before.
type EmailReportInput struct {
	ClientID    string
	Week        string
	EnsureSends int
	// Weekly: the weekly schedule's send (or a zone move's make-up of it), which a client
	// offboarded, or whose reports were turned off, since its run listed it does not get; an
	// admin's send goes out regardless.
	Weekly bool `json:",omitempty"`
}

// EmailReportOutput says what happened: Sent (by this run: a retried step whose earlier attempt
// made the send says Sent too), or why not (already_sent by another run, not_requested,
// client_offboarded, reports_disabled, no_recipients, email_off).
type EmailReportOutput struct {
	Sent       bool
	Reason     string
	Send       int // the send's number for this client and week, 1 for the first
	MessageID  string
	Recipients int // how many got it
	// Refused is how many recipients the mail server refused for good (no such mailbox); the
	// others got the report. The delivery record says which.
	Refused int `json:",omitempty"`
}

// EmailReport sends the stored file (read back from S3, so the mail carries exactly what the
// API hands out) to the client's recipients, when a send is due. The Message-ID is derived from
// client, week and send number: should a retry repeat a send whose record was lost, mail clients
// see the same message twice, not two reports.
func (a *Reports) EmailReport(ctx context.Context, in EmailReportInput) (EmailReportOutput, error) {
	ensure, withheld := in.EnsureSends, ""
	if in.Weekly {
		// The run can wait hours for the week's KPIs (days for a service that is down); the client
		// may have left meanwhile, or had its weekly reports turned off. Its send is then not asked
		// for: a send asked for stays wanted, and a later run that asks for none (an admin's
		// regenerate without email) made it, mailing the client the report the weekly run withheld.
		// An admin's send, or the schedule's once the client is back, delivers.
		cl, err := a.Store.GetClient(ctx, in.ClientID)
		if err != nil {
			return EmailReportOutput{}, err
		}
		settings, err := a.Store.GetReportSettings(ctx, in.ClientID)
		if err != nil {
			return EmailReportOutput{}, err
		}
		switch {
		case cl.Offboarded():
			ensure, withheld = 0, "client_offboarded"
		case !settings.Enabled:
			ensure, withheld = 0, "reports_disabled"
		}
	}
	d, err := a.Store.WantReportSends(ctx, in.ClientID, in.Week, ensure)
	if errors.Is(err, store.ErrNotFound) {
		return EmailReportOutput{}, invalid(fmt.Errorf("email before generate: %w", err))
	}
	if err != nil {
		return EmailReportOutput{}, err
	}
	switch {
	case d.SendsWanted > 0 && d.SendsDone >= d.SendsWanted && d.SentByRun != "" && d.SentByRun == runOf(ctx):
		// This run's own send, made and recorded by an earlier attempt whose completion was lost
		// (its worker died after the record): the run did send, and says so. Before, the retry
		// answered already_sent and the week's outcome said not_sent for a report it had sent.
		return EmailReportOutput{Sent: true, Send: d.SendsDone, MessageID: d.MessageID, Recipients: d.Recipients,
			Refused: len(d.RefusedRecipients)}, nil
	case d.SendsWanted > 0 && d.SendsDone >= d.SendsWanted:
		return EmailReportOutput{Reason: "already_sent", Send: d.SendsDone, MessageID: d.MessageID, Recipients: d.Recipients}, nil
	case withheld != "":
		// An earlier attempt of this step may have asked for the send before the client left or
		// turned its reports off (it then failed: a mail server down): that ask is taken back too.
		if err := a.Store.WithdrawReportSends(ctx, in.ClientID, in.Week, in.EnsureSends); err != nil {
			return EmailReportOutput{}, err
		}
		return EmailReportOutput{Reason: withheld}, nil
	case d.SendsWanted == 0:
		return EmailReportOutput{Reason: "not_requested"}, nil
	case !d.Uploaded:
		return EmailReportOutput{}, fmt.Errorf("report %s %s is not uploaded yet", in.ClientID, in.Week)
	}
	if a.Mail == nil {
		// Nothing is recorded: a resend once mail is configured delivers.
		return EmailReportOutput{Reason: "email_off"}, nil
	}
	settings, err := a.Store.GetReportSettings(ctx, in.ClientID)
	if err != nil {
		return EmailReportOutput{}, err
	}
	if len(settings.Recipients) == 0 {
		// Nothing is recorded: once recipients are set, a resend (or a rerun) delivers.
		return EmailReportOutput{Reason: "no_recipients"}, nil
	}
	full, err := a.Store.GetReportDelivery(ctx, in.ClientID, in.Week)
	if err != nil {
		return EmailReportOutput{}, err
	}
	pdf, err := a.Files.Get(ctx, d.S3Key)
	if errors.Is(err, objstore.ErrNotFound) {
		pdf, err = a.restoreFile(ctx, in, d.S3Key, full.SHA256, *full.Data)
	}
	if err != nil {
		return EmailReportOutput{}, err
	}
	e, err := report.EmailFor(*full.Data)
	if err != nil {
		return EmailReportOutput{}, invalid(err)
	}
	seq := d.SendsWanted
	msgID := fmt.Sprintf("report-%s-%s-%d@paysplit.reports", in.ClientID, in.Week, seq)
	sent, err := a.Mail.Deliver(ctx, mailer.Message{
		To: settings.Recipients, Subject: e.Subject, Text: e.Text, HTML: e.HTML, MessageID: msgID, Date: a.now(),
		Attachments: []mailer.Attachment{{Name: report.FileName(in.ClientID, full.Data.Week), ContentType: "application/pdf", Data: pdf}},
	})
	if errors.Is(err, mailer.ErrRecipientsRefused) {
		// Every recipient was refused: nothing was sent, and a retry is refused the same way.
		return EmailReportOutput{}, invalid(errors.New(redactAddresses(err.Error())))
	}
	if errors.Is(err, mailer.ErrInvalidMessage) {
		return EmailReportOutput{}, invalid(err)
	}
	if errors.Is(err, mailer.ErrMessageRefused) {
		// Too large, or refused by the server's policy: the same message is refused again, so
		// the run ends now with why (a retry resent the PDF for days while the week stayed
		// locked to the admin's resend and regenerate).
		return EmailReportOutput{}, invalid(errors.New(redactAddresses(err.Error())))
	}
	if err != nil {
		// SMTP replies often quote the recipient; the error goes into workflow history.
		return EmailReportOutput{}, errors.New(redactAddresses(err.Error()))
	}
	// The server took the message for the others: the send is made, and recorded as such, so a
	// retry does not mail them twice. The refused ones are kept by position for the admin listing.
	got := len(settings.Recipients) - len(sent.Refused)
	if err := a.Store.MarkReportEmailed(ctx, in.ClientID, in.Week, store.ReportSend{
		Seq: seq, MessageID: msgID, Recipients: got, Refused: sent.Refused, Run: runOf(ctx),
	}); err != nil {
		return EmailReportOutput{}, err
	}
	// Recipients are counted, never logged.
	if len(sent.Refused) > 0 {
		activity.GetLogger(ctx).Warn("report emailed; the mail server refused some recipients for good", "ClientID", in.ClientID,
			"Week", in.Week, "Send", seq, "Recipients", got, "Refused", len(sent.Refused))
	} else {
		activity.GetLogger(ctx).Info("report emailed", "ClientID", in.ClientID, "Week", in.Week, "Send", seq, "Recipients", got)
	}
	return EmailReportOutput{Sent: true, Send: seq, MessageID: msgID, Recipients: got, Refused: len(sent.Refused)}, nil
}

// restoreFile puts a report whose file is no longer in S3 back under its key, rendered again from
// the data kept with its delivery record, and returns it. The render is the same bytes only with
// the same release and fonts: one generated by an older release comes out otherwise, so the
// delivery is recorded as this file (generatedSHA is the one it had), not only its upload.
// The file goes missing when the reports move to another bucket (S3_BUCKET changed) or a
// lifecycle rule or an operator removes old files; S3's NoSuchKey is no outage, and retrying it
// failed the send for the whole run while the week's resend and regenerate answered 409.
func (a *Reports) restoreFile(ctx context.Context, in EmailReportInput, key, generatedSHA string, data report.Data) ([]byte, error) {
	r, err := a.render(data)
	if err != nil {
		return nil, invalid(err)
	}
	err = a.Files.Put(ctx, objstore.Object{Key: key, Body: r.Bytes, ContentType: "application/pdf", FileName: report.FileName(data.ClientID, data.Week)})
	if err != nil {
		return nil, err
	}
	if err := a.Store.MarkReportRestored(ctx, in.ClientID, in.Week, key, generatedSHA, r); err != nil {
		return nil, err
	}
	activity.GetLogger(ctx).Warn("report file was not in S3: rendered again from its data and put back", "ClientID", in.ClientID, "Week", in.Week, "Key", key,
		"SameBytes", r.SHA256() == generatedSHA)
	return r.Bytes, nil
}

// runOf names the Temporal run an activity works for (empty outside one): the run whose email
// step made a send.
func runOf(ctx context.Context) string {
	if !activity.IsActivity(ctx) {
		return ""
	}
	return activity.GetInfo(ctx).WorkflowExecution.RunID
}

var emailAddress = regexp.MustCompile(`[^\s<>"'@,;:()]+@[^\s<>"',;:()]+`)

// redactAddresses replaces email addresses in a message.
func redactAddresses(s string) string { return emailAddress.ReplaceAllString(s, "<address>") }
