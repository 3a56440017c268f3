package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"paysplit/internal/report"
	"paysplit/internal/store"
	reportwf "paysplit/workflows/report"
)

// ReportLinks hands out download links for stored report files (objstore.Store): presigned GET
// URLs that expire; the objects themselves are never public.
type ReportLinks interface {
	PresignGet(ctx context.Context, key string) (url string, expires time.Time, err error)
}

// downloadURL presigns a report's file, or nil when files cannot be served here or nothing was
// uploaded yet.
func (s *Server) downloadURL(ctx context.Context, key string) (*string, error) {
	if s.deps.ReportLinks == nil || key == "" {
		return nil, nil
	}
	u, _, err := s.deps.ReportLinks.PresignGet(ctx, key)
	if err != nil {
		return nil, err
	}
	return &u, nil
}

// --- settings ---------------------------------------------------------------------------------------

func (s *Server) getReportSettings(c echo.Context) error {
	st, err := s.deps.Store.GetReportSettings(c.Request().Context(), c.Param("client_id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, st)
}

// putReportSettings sets a client's recipients, time zone and whether reports run. The zone's
// Monday schedule is created first: a client is never moved to a zone that has no schedule.
func (s *Server) putReportSettings(c echo.Context) error {
	var body struct {
		TimeZone   string   `json:"time_zone"`
		Recipients []string `json:"recipients"`
		Enabled    *bool    `json:"enabled"`
	}
	if err := bind(c, &body); err != nil {
		return err
	}
	id := c.Param("client_id")
	want := store.ReportSettings{ClientID: id, TimeZone: body.TimeZone, Recipients: body.Recipients, Enabled: body.Enabled == nil || *body.Enabled}
	if body.Recipients == nil {
		want.Recipients = []string{}
	}
	want, err := want.Normalize()
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	if _, err := s.deps.Store.GetClient(ctx, id); err != nil {
		return err
	}
	if !s.deps.ReportsOff {
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := reportwf.EnsureZoneSchedule(sctx, s.deps.Temporal, s.deps.TaskQueue, want.TimeZone); err != nil {
			s.deps.Logger.Warn("report schedule", "time_zone", want.TimeZone, "error", err)
			return errorf(http.StatusServiceUnavailable, "temporal_unavailable", "the workflow service is unavailable; retry later")
		}
	}
	var saved store.ReportSettings
	// Recipients are personal data: the audit log records how many there are, not who.
	view := func(r store.ReportSettings) map[string]any {
		return map[string]any{"time_zone": r.TimeZone, "recipients": len(r.Recipients), "enabled": r.Enabled}
	}
	err = s.audited(c, "report_settings.update", "client:"+id, func(ctx context.Context, tx *store.Store) (before, after any, err error) {
		old, err := tx.GetReportSettings(ctx, id)
		if err != nil {
			return nil, nil, err
		}
		if saved, err = tx.PutReportSettings(ctx, want); err != nil {
			return nil, nil, err
		}
		// Read under the client's lock (audited), which offboarding takes too.
		cl, err := tx.GetClient(ctx, id)
		if err != nil {
			return nil, nil, err
		}
		if cl.Offboarded() || s.deps.ReportsOff {
			return view(old), view(saved), nil // no weekly report, so no make-up one either
		}
		return view(old), view(saved), s.startSkippedReport(ctx, tx, old, saved)
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, saved)
}

// startSkippedReport starts the report of the week a zone move makes both zones' runs skip (a
// move west to east on a Monday, between the two runs), before the move commits: when Temporal
// cannot take it, the move is refused (503) and nothing changed. Started after the commit, a
// Temporal failure would leave the move made and the week unreported, with nothing to retry
// (the move is done). The run covers the week in the new zone and carries the move's
// transaction: should the commit fail, it makes and sends nothing (the old zone's run, still to
// come, reports the week). A report already made is not sent again (report_deliveries).
func (s *Server) startSkippedReport(ctx context.Context, tx *store.Store, old, moved store.ReportSettings) error {
	if !old.Enabled || !moved.Enabled || old.TimeZone == moved.TimeZone {
		return nil
	}
	from, err1 := time.LoadLocation(old.TimeZone)
	to, err2 := time.LoadLocation(moved.TimeZone)
	if err := errors.Join(err1, err2); err != nil {
		return fmt.Errorf("time zones of %s: %w", moved.ClientID, err)
	}
	week, skipped := reportwf.SkippedByMove(from, to, s.deps.Now())
	if !skipped {
		return nil
	}
	txID, err := tx.TxID(ctx)
	if err != nil {
		return err
	}
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	in := reportwf.ClientInput{ClientID: moved.ClientID, Week: week.String(), EnsureSends: 1, TimeZone: moved.TimeZone, MoveTx: txID, Weekly: true}
	id, _, err := reportwf.StartClient(sctx, s.deps.Temporal, s.deps.TaskQueue, in)
	switch {
	case err == nil, errors.Is(err, reportwf.ErrRunInProgress):
		s.deps.Logger.Info("report of the week the zone move skipped started", "client_id", moved.ClientID, "week", week.String(), "workflow_id", id)
		return nil
	}
	s.deps.Logger.Warn("start report run", "workflow_id", id, "error", err)
	return errorf(http.StatusServiceUnavailable, "temporal_unavailable", "the workflow service is unavailable; retry later")
}

// --- deliveries -------------------------------------------------------------------------------------

type adminReportCursor struct {
	ISOWeek  string `json:"w"`
	ClientID string `json:"c"`
}

func (c adminReportCursor) complete() bool { return c.ISOWeek != "" && c.ClientID != "" }

type reportView struct {
	store.ReportDelivery
	DownloadURL *string `json:"download_url"`
}

// listAdminReports lists generated reports, newest week first, with where each delivery stands
// and a download link.
func (s *Server) listAdminReports(c echo.Context) error {
	clientID := c.QueryParam("client_id")
	if clientID != "" {
		if err := store.ValidID("client_id", clientID); err != nil {
			return err
		}
		if _, err := s.clientFilter(c); err != nil {
			return err
		}
	}
	limit, err := limitParam(c)
	if err != nil {
		return err
	}
	var cur adminReportCursor
	if _, err := decodeCursor(c, &cur); err != nil {
		return err
	}
	ctx := c.Request().Context()
	rows, err := s.deps.Store.ListReportDeliveries(ctx, clientID, cur.ISOWeek, cur.ClientID, limit+1)
	if err != nil {
		return err
	}
	rows, next := pageOf(rows, limit, func(last store.ReportDelivery) any {
		return adminReportCursor{ISOWeek: last.ISOWeek, ClientID: last.ClientID}
	})
	out := make([]reportView, 0, len(rows))
	for _, r := range rows {
		var u *string
		if r.UploadedAt != nil {
			if u, err = s.downloadURL(ctx, r.S3Key); err != nil {
				return err
			}
		}
		out = append(out, reportView{ReportDelivery: r, DownloadURL: u})
	}
	return c.JSON(http.StatusOK, map[string]any{"reports": out, "next_cursor": next})
}

// reportTarget reads and checks the client and week of a report action.
func (s *Server) reportTarget(c echo.Context) (clientID string, week report.Week, err error) {
	clientID = c.Param("client_id")
	if err := store.ValidID("client_id", clientID); err != nil {
		return "", week, err
	}
	if week, err = report.ParseWeek(c.Param("iso_week")); err != nil {
		return "", week, errorf(http.StatusBadRequest, "invalid_request", err.Error())
	}
	if week.Year < 1 {
		// A report of year 0 was rendered and stored, and listed to the client, whose own API
		// refuses any day outside these years.
		return "", week, errorf(http.StatusBadRequest, "invalid_request", fmt.Sprintf("week %s: the year must be 0001-9999", week))
	}
	return clientID, week, nil
}

// reportsOff refuses a report run while weekly reports are turned off: no worker would take it.
func (s *Server) reportsOff() error {
	if !s.deps.ReportsOff {
		return nil
	}
	return errorf(http.StatusConflict, "reports_off", "weekly reports are off (REPORTS=off, or S3_BUCKET is not set for this API): no report can be made or sent")
}

// resendReport emails a generated report again to the client's current recipients.
func (s *Server) resendReport(c echo.Context) error {
	clientID, week, err := s.reportTarget(c)
	if err != nil {
		return err
	}
	if err := s.reportsOff(); err != nil {
		return err
	}
	return s.startReportRun(c, "report.resend", clientID, week, func(d *store.ReportDelivery) (reportwf.ClientInput, error) {
		if d == nil {
			return reportwf.ClientInput{}, errorf(http.StatusNotFound, "not_found", "no report for "+clientID+" "+week.String()+"; regenerate it first")
		}
		return reportwf.ClientInput{ClientID: clientID, Week: week.String(), EnsureSends: d.SendsDone + 1}, nil
	})
}

// regenerateReport renders a week's report again from the current data (after a correction, or
// for a week that was missed) and stores it; {"email": true} also sends it.
func (s *Server) regenerateReport(c echo.Context) error {
	clientID, week, err := s.reportTarget(c)
	if err != nil {
		return err
	}
	if err := s.reportsOff(); err != nil {
		return err
	}
	var body struct {
		Email bool `json:"email"`
	}
	if c.Request().ContentLength != 0 {
		if err := bind(c, &body); err != nil {
			return err
		}
	}
	ctx := c.Request().Context()
	settings, err := s.deps.Store.GetReportSettings(ctx, clientID)
	if err != nil {
		return err
	}
	loc, err := time.LoadLocation(settings.TimeZone)
	if err != nil {
		return fmt.Errorf("time zone of %s: %w", clientID, err)
	}
	if end := week.End(loc); end.After(s.deps.Now()) {
		return errorf(http.StatusBadRequest, "invalid_request", fmt.Sprintf("week %s has not ended yet in %s", week, settings.TimeZone))
	}
	return s.startReportRun(c, "report.regenerate", clientID, week, func(d *store.ReportDelivery) (reportwf.ClientInput, error) {
		in := reportwf.ClientInput{ClientID: clientID, Week: week.String(), Regenerate: true}
		switch {
		case body.Email && d != nil:
			in.EnsureSends = d.SendsDone + 1
		case body.Email:
			in.EnsureSends = 1
		}
		return in, nil
	})
}

// idempotencyKeyHeader names the request an admin's client may send with a report run, so that
// its retry (the first POST timed out, a double click) is answered with the first run instead of
// emailing the client again: the run-in-progress 409 stops a retry only while the first run is
// going, and a resend run finishes in seconds.
const idempotencyKeyHeader = "Idempotency-Key"

// idempotencyKey reads the optional Idempotency-Key: 1 to 255 visible ASCII characters.
func idempotencyKey(c echo.Context) (string, error) {
	k := c.Request().Header.Get(idempotencyKeyHeader)
	if len(k) > 255 || strings.IndexFunc(k, func(r rune) bool { return r < 0x21 || r > 0x7e }) >= 0 {
		return "", errorf(http.StatusBadRequest, "invalid_request", idempotencyKeyHeader+" must be 1 to 255 visible ASCII characters")
	}
	return k, nil
}

// reportRunAudit is what the audit entry of a report run records after it; a retry with the same
// idempotency key is answered from it.
type reportRunAudit struct {
	WorkflowID     string `json:"workflow_id"`
	RunID          string `json:"run_id"`
	Regenerate     bool   `json:"regenerate"`
	EnsureSends    int    `json:"ensure_sends"`
	IdempotencyKey string `json:"idempotency_key,omitempty"`
}

// replayedRun ends the audited transaction of a retried request without writing an entry.
type replayedRun struct{ first reportRunAudit }

func (r *replayedRun) Error() string { return "replayed report run " + r.first.RunID }

// startReportRun starts a ClientReport run for an admin and records it in the audit log. The
// audit entry commits only once Temporal accepted the run; the send to make is in the run's
// input, so nothing is written that the run depends on. A request whose Idempotency-Key this
// action on this report was already audited with starts nothing and answers the first run.
func (s *Server) startReportRun(c echo.Context, action, clientID string, week report.Week,
	plan func(*store.ReportDelivery) (reportwf.ClientInput, error)) error {
	key, err := idempotencyKey(c)
	if err != nil {
		return err
	}
	target := "report:" + clientID + "/" + week.String()
	var rec reportRunAudit
	var in reportwf.ClientInput
	err = s.audited(c, action, target, func(ctx context.Context, tx *store.Store) (before, after any, err error) {
		if _, err := tx.GetClient(ctx, clientID); err != nil {
			return nil, nil, err
		}
		var d *store.ReportDelivery
		got, err := tx.GetReportDelivery(ctx, clientID, week.String())
		switch {
		case err == nil:
			d, before = &got, map[string]any{"sha256": got.SHA256, "sends_done": got.SendsDone}
		case !errors.Is(err, store.ErrNotFound):
			return nil, nil, err
		}
		if in, err = plan(d); err != nil {
			return nil, nil, err
		}
		if key != "" {
			if err := replay(ctx, tx, action, target, key, in); err != nil {
				return nil, nil, err
			}
		}
		if err := recipientsFor(ctx, tx, clientID, in); err != nil {
			return nil, nil, err
		}
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		rec.WorkflowID, rec.RunID, err = reportwf.StartClient(sctx, s.deps.Temporal, s.deps.TaskQueue, in)
		if errors.Is(err, reportwf.ErrRunInProgress) {
			return nil, nil, errorf(http.StatusConflict, "run_in_progress", "a run of this report is in progress; retry when it has finished")
		}
		if err != nil {
			s.deps.Logger.Warn("start report run", "workflow_id", rec.WorkflowID, "error", err)
			return nil, nil, errorf(http.StatusServiceUnavailable, "temporal_unavailable", "the workflow service is unavailable; retry later")
		}
		rec.Regenerate, rec.EnsureSends, rec.IdempotencyKey = in.Regenerate, in.EnsureSends, key
		return before, rec, nil
	})
	var rp *replayedRun
	replayed := errors.As(err, &rp)
	switch {
	case replayed:
		rec = rp.first
	case err != nil:
		return err
	}
	return c.JSON(http.StatusAccepted, map[string]any{
		"status": "started", "client_id": clientID, "iso_week": week.String(), "workflow_id": rec.WorkflowID, "run_id": rec.RunID,
		"regenerate": rec.Regenerate, "send": rec.EnsureSends > 0, "workflow_url": s.workflowURL(rec.WorkflowID),
		"replayed": replayed,
	})
}

// recipientsFor refuses a run that is to email the report when the client's settings name no
// recipient: the run's email step would find nobody and skip, after the admin was answered 202
// "send": true, and the delivery would keep a send asked for that no run makes.
func recipientsFor(ctx context.Context, tx *store.Store, clientID string, in reportwf.ClientInput) error {
	if in.EnsureSends == 0 {
		return nil
	}
	settings, err := tx.GetReportSettings(ctx, clientID)
	if err != nil {
		return err
	}
	if len(settings.Recipients) == 0 {
		return errorf(http.StatusConflict, "no_recipients", "client "+clientID+" has no report recipients, so nobody would get the mail: "+
			"set them with PUT /api/v1/admin/clients/"+clientID+"/report-settings, then send again (a regenerate without email needs none)")
	}
	return nil
}

// replay returns a *replayedRun when key was already used for action on target with the same
// request (the same send or not), and a 422 when it was used for another request.
func replay(ctx context.Context, tx *store.Store, action, target, key string, in reportwf.ClientInput) error {
	raw, found, err := tx.AuditAfterForKey(ctx, action, target, key)
	if err != nil || !found {
		return err
	}
	var first reportRunAudit
	if err := json.Unmarshal(raw, &first); err != nil {
		return fmt.Errorf("audit entry of %s %s: %w", action, target, err)
	}
	if (first.EnsureSends > 0) != (in.EnsureSends > 0) {
		return errorf(http.StatusUnprocessableEntity, "idempotency_key_reused",
			idempotencyKeyHeader+" "+key+" was used for another request to this report; use a new key")
	}
	return &replayedRun{first: first}
}
