package server

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/labstack/echo/v4"

	"paysplit/internal/alert"
	"paysplit/internal/ledger"
	"paysplit/internal/money"
	"paysplit/internal/monitor"
	"paysplit/internal/store"
)

// Ledger integrity endpoints: chain verification, point-in-time balances of one account,
// monitors and the alerts they raised.

func (s *Server) monitors() *monitor.Store { return monitor.NewStore(s.deps.Pool, s.deps.Ledger) }

// changeMonitor makes a monitor change and writes its audit entry in one transaction, so no
// monitor change is ever left unaudited nor an audit entry left without its change. Both go
// through the one connection the transaction holds: writing the audit entry in a transaction of
// its own (s.audited) would hold this connection while waiting for a second, and as many changes
// at once as the pool has connections would then wait on each other for as long as their clients
// wait, with every other request queued behind them.
func (s *Server) changeMonitor(c echo.Context, action string, fn func(ms *monitor.Store) (target string, before, after any, err error)) error {
	ctx := c.Request().Context()
	return pgx.BeginFunc(ctx, s.deps.Pool, func(tx pgx.Tx) error {
		target, before, after, err := fn(s.monitors().InTx(tx))
		if err != nil {
			return integrityError(err)
		}
		st := s.deps.Store.Joining(tx)
		if err := st.LockTarget(ctx, target); err != nil {
			return err
		}
		return st.Audit(ctx, actor(c), action, target, requestID(c), before, after)
	})
}

// integrityError maps the monitor and ledger packages' sentinels to the API's error shape.
func integrityError(err error) error {
	switch {
	case errors.Is(err, monitor.ErrInvalid), errors.Is(err, ledger.ErrInvalidEntry):
		return errorf(http.StatusBadRequest, "invalid_request", err.Error())
	case errors.Is(err, ledger.ErrAsOfNotPast):
		return errorf(http.StatusBadRequest, "invalid_request", "as_of must be a past time: a balance as of a time not yet reached can still change")
	case errors.Is(err, monitor.ErrNotFound):
		return errorf(http.StatusNotFound, "not_found", err.Error())
	case errors.Is(err, monitor.ErrSystem):
		return errorf(http.StatusConflict, "system_monitor", err.Error())
	}
	return err
}

// verifyLedger walks the journal's hash chain now. It only reads: the scheduled integrity
// workflow is what raises (and resolves) the chain alert.
func (s *Server) verifyLedger(c echo.Context) error {
	v, err := s.deps.Ledger.Verify(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{
		"ok": v.OK, "entries_checked": v.Entries, "head": v.Head, "break": v.Break, "verified_at": s.deps.Now().UTC(),
	})
}

// accountBalances is one account's balance per currency as of a past time (default now).
func (s *Server) accountBalances(c echo.Context) error {
	account, err := url.PathUnescape(c.Param("account"))
	if err != nil {
		return errorf(http.StatusBadRequest, "invalid_request", "account is not a valid path segment")
	}
	var asOf time.Time
	if v := c.QueryParam("as_of"); v != "" {
		if asOf, err = parseQueryTime("as_of", v); err != nil {
			return err
		}
		if asOf.IsZero() {
			// The ledger reads the zero time as "now": nothing was booked by then.
			return c.JSON(http.StatusOK, map[string]any{"account": account, "as_of": asOf, "balances": []any{}, "exponents": map[string]int{}})
		}
	}
	bs, err := s.deps.Ledger.AccountBalances(c.Request().Context(), account, asOf)
	if err != nil {
		return integrityError(err)
	}
	type balance struct {
		Currency money.Currency `json:"currency"`
		Balance  int64          `json:"balance"`
	}
	out := make([]balance, 0, len(bs))
	cs := make([]money.Currency, 0, len(bs))
	for _, b := range bs {
		out = append(out, balance{Currency: b.Currency, Balance: b.Balance})
		cs = append(cs, b.Currency)
	}
	at := asOf
	if at.IsZero() {
		at = s.deps.Now()
	}
	return c.JSON(http.StatusOK, map[string]any{"account": account, "as_of": at.UTC(), "balances": out, "exponents": exponents(cs)})
}

// monitorView is a monitor as the API shows it.
func monitorView(m monitor.Monitor) map[string]any {
	return map[string]any{
		"id": m.ID, "name": m.Name, "kind": m.Kind, "params": m.Params, "period_seconds": int64(m.Period / time.Second),
		"system": m.System, "created_by": m.CreatedBy, "created_at": m.CreatedAt,
		"last_status": m.LastStatus, "last_summary": m.LastSummary, "last_evaluated_at": m.LastEvaluatedAt,
	}
}

func (s *Server) createMonitor(c echo.Context) error {
	var body struct {
		Name      string `json:"name"`
		Kind      string `json:"kind"`
		Account   string `json:"account"`
		Currency  string `json:"currency"`
		Side      string `json:"side"`
		Threshold int64  `json:"threshold"`
		Days      int    `json:"days"`
		Hours     int    `json:"hours"`
		Minutes   int    `json:"minutes"`
		ClientID  string `json:"client_id"`
		// PeriodHours deduplicates notifications: one firing and one resolved message per period.
		PeriodHours int `json:"period_hours"`
	}
	if err := bind(c, &body); err != nil {
		return err
	}
	if body.PeriodHours < 0 || body.PeriodHours > 24*365 {
		return errorf(http.StatusBadRequest, "invalid_request", "period_hours must be between 1 and 8760 (default 24)")
	}
	if body.ClientID != "" {
		// A monitor of a client that does not exist (a typo) was created and could never fire.
		if _, err := s.deps.Store.GetClient(c.Request().Context(), body.ClientID); errors.Is(err, store.ErrNotFound) {
			return errorf(http.StatusBadRequest, "invalid_request", fmt.Sprintf("client_id: client %q does not exist", body.ClientID))
		} else if err != nil {
			return err
		}
	}
	var m monitor.Monitor
	err := s.changeMonitor(c, "monitor.create", func(ms *monitor.Store) (string, any, any, error) {
		var err error
		m, err = ms.Create(c.Request().Context(), monitor.Monitor{
			Name: body.Name, Kind: monitor.Kind(body.Kind), Period: time.Duration(body.PeriodHours) * time.Hour,
			Params: monitor.Params{Account: body.Account, Currency: money.Currency(body.Currency), Side: monitor.Side(body.Side),
				Threshold: body.Threshold, Days: body.Days, Hours: body.Hours, Minutes: body.Minutes, ClientID: body.ClientID},
		}, actor(c))
		return monitorTarget(m.ID), nil, monitorView(m), err
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, monitorView(m))
}

func (s *Server) listMonitors(c echo.Context) error {
	ms, err := s.monitors().List(c.Request().Context())
	if err != nil {
		return err
	}
	out := make([]map[string]any, 0, len(ms))
	for _, m := range ms {
		out = append(out, monitorView(m))
	}
	return c.JSON(http.StatusOK, map[string]any{"monitors": out})
}

func (s *Server) getMonitor(c echo.Context) error {
	id, err := pathID(c, "monitor_id")
	if err != nil {
		return err
	}
	m, err := s.monitors().Get(c.Request().Context(), id)
	if err != nil {
		return integrityError(err)
	}
	return c.JSON(http.StatusOK, monitorView(m))
}

// deleteMonitor retires a monitor; its open alert is resolved (and announced).
func (s *Server) deleteMonitor(c echo.Context) error {
	id, err := pathID(c, "monitor_id")
	if err != nil {
		return err
	}
	err = s.changeMonitor(c, "monitor.delete", func(ms *monitor.Store) (string, any, any, error) {
		ctx := c.Request().Context()
		m, err := ms.Get(ctx, id)
		if err != nil {
			return "", nil, nil, err
		}
		return monitorTarget(id), monitorView(m), nil, ms.Delete(ctx, id, s.deps.Now())
	})
	if err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// alertCursor is the last alert of a page.
type alertCursor struct {
	FiredAt time.Time `json:"fired_at"`
	ID      int64     `json:"id"`
}

// complete: IDs start at 1, and every alert has fired.
func (c alertCursor) complete() bool { return c.ID > 0 && !c.FiredAt.IsZero() }

// listAlerts lists alerts, newest first, a page at a time; ?from=&to= bound when they fired.
func (s *Server) listAlerts(c echo.Context) error {
	f := monitor.AlertFilter{State: monitor.AlertState(c.QueryParam("state"))}
	// ?one_off=true lists the alerts of events that happened once (a PayPal payout taken back),
	// stored resolved as they fire: the dashboard shows them beside the firing ones.
	if q := c.QueryParams(); q.Has("one_off") {
		if q.Get("one_off") != "true" {
			return errorf(http.StatusBadRequest, "invalid_request", "one_off must be true (leave it out to list every alert)")
		}
		f.OneOff = true
	}
	var err error
	if f.MonitorID, f.Limit, f.From, f.To, err = alertListParams(c); err != nil {
		return err
	}
	var cur alertCursor
	if ok, err := decodeCursor(c, &cur); err != nil {
		return err
	} else if ok {
		f.After = &monitor.AlertCursor{FiredAt: cur.FiredAt, ID: cur.ID}
	}
	limit := f.Limit
	f.Limit++
	as, err := s.monitors().Alerts(c.Request().Context(), f)
	if err != nil {
		return integrityError(err)
	}
	as, next := pageOf(as, limit, func(last monitor.Alert) any { return alertCursor{FiredAt: last.FiredAt, ID: last.ID} })
	views := make([]alertView, 0, len(as))
	for _, a := range as {
		views = append(views, s.alertView(a))
	}
	return c.JSON(http.StatusOK, map[string]any{"alerts": views, "next_cursor": next})
}

// alertView is an alert as the admin API shows it: its payment, when it is about one, comes with
// the links an admin acts from, as the worker's alert messages give them. Its Payment hides the
// embedded alert's (a shallower JSON field wins).
type alertView struct {
	monitor.Alert
	Payment *alert.Payment `json:"payment"`
}

func (s *Server) alertView(a monitor.Alert) alertView {
	return alertView{Alert: a, Payment: a.Payment.Linked(s.deps.TemporalUIURL, s.deps.Namespace)}
}

// alertListParams reads the filters the alert and alert message lists share: ?monitor_id=,
// ?limit= (default 100) and ?from=&to=.
func alertListParams(c echo.Context) (monitorID int64, limit int, from, to time.Time, err error) {
	limit = 100
	if v := c.QueryParam("monitor_id"); v != "" {
		if monitorID, err = strconv.ParseInt(v, 10, 64); err != nil || monitorID <= 0 {
			return 0, 0, from, to, errorf(http.StatusBadRequest, "invalid_request", "monitor_id must be a positive integer")
		}
	}
	if v := c.QueryParam("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 || limit > monitor.MaxAlertsPage-1 {
			return 0, 0, from, to, errorf(http.StatusBadRequest, "invalid_request", fmt.Sprintf("limit must be between 1 and %d", monitor.MaxAlertsPage-1))
		}
	}
	from, to, err = instantRange(c)
	return monitorID, limit, from, to, err
}

func monitorTarget(id int64) string { return "monitor:" + strconv.FormatInt(id, 10) }

func pathID(c echo.Context, name string) (int64, error) {
	id, err := strconv.ParseInt(c.Param(name), 10, 64)
	if err != nil || id <= 0 {
		return 0, errorf(http.StatusBadRequest, "invalid_request", name+" must be a positive integer")
	}
	return id, nil
}
