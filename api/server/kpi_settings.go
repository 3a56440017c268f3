package server

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"paysplit/internal/kpi"
	"paysplit/internal/kpi/ga4"
	"paysplit/internal/money"
	"paysplit/internal/store"
)

// KPIReader serves a client's KPIs over any range (kpi.Reader).
type KPIReader interface {
	Series(ctx context.Context, clientID string, cur money.Currency, from, to time.Time) (kpi.Series, error)
}

// VisitorCounter counts a client's distinct visitors over a range (kpi.RangeVisitors: GA4 asked
// for the range as one, cached), for the dashboard's visitors tile.
type VisitorCounter interface {
	Distinct(ctx context.Context, clientID string, from, to time.Time) (kpi.VisitorCount, error)
}

// kpiSettingsView is the API shape of store.KPISettings; sync_every_seconds 0 means the
// deployment's KPI_SYNC_EVERY.
type kpiSettingsView struct {
	store.KPISettings
	SyncEverySeconds int64 `json:"sync_every_seconds"`
}

func viewKPISettings(k store.KPISettings) kpiSettingsView {
	return kpiSettingsView{KPISettings: k, SyncEverySeconds: int64(k.SyncEvery / time.Second)}
}

// A client's own KPI sync period: a minute to a day, as the store allows.
const (
	minSyncEverySeconds = 60
	maxSyncEverySeconds = 86400
)

// getKPISettings answers where a client's KPIs come from.
func (s *Server) getKPISettings(c echo.Context) error {
	k, err := s.deps.Store.GetKPISettings(c.Request().Context(), c.Param("client_id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, viewKPISettings(k))
}

// putKPISettings replaces a client's KPI source settings and brings its sync schedule in line.
// The GA4 credentials are given by reference (file:<GA4_CREDENTIALS_DIR>/... or env:GA4_NAME),
// never as the key; a ref elsewhere could make GA4 read the deployment's other secrets.
func (s *Server) putKPISettings(c echo.Context) error {
	var body struct {
		GA4PropertyID     string `json:"ga4_property_id"`
		GA4CredentialsRef string `json:"ga4_credentials_ref"`
		ProviderRevenue   *bool  `json:"provider_revenue"`
		SyncEverySeconds  int64  `json:"sync_every_seconds"`
	}
	if err := bind(c, &body); err != nil {
		return err
	}
	// Checked as seconds, before they become a Duration: a huge count would wrap around to
	// another period (2^55+3600 seconds is an hour as nanoseconds in an int64).
	if n := body.SyncEverySeconds; n != 0 && (n < minSyncEverySeconds || n > maxSyncEverySeconds) {
		return errorf(http.StatusBadRequest, "invalid_request", fmt.Sprintf(
			"sync_every_seconds must be 0 (the deployment's KPI_SYNC_EVERY) or %d-%d", minSyncEverySeconds, maxSyncEverySeconds))
	}
	if ref := body.GA4CredentialsRef; ref != "" {
		if err := ga4.CheckRef(ref, s.deps.GA4CredentialsDir); err != nil {
			return errorf(http.StatusBadRequest, "invalid_request", err.Error())
		}
	}
	id := c.Param("client_id")
	k := store.KPISettings{ClientID: id, GA4PropertyID: body.GA4PropertyID, GA4CredentialsRef: body.GA4CredentialsRef,
		ProviderRevenue: body.ProviderRevenue == nil || *body.ProviderRevenue, SyncEvery: time.Duration(body.SyncEverySeconds) * time.Second}
	var prev store.KPISettings
	err := s.audited(c, "client.kpi_settings", "client:"+id, func(ctx context.Context, tx *store.Store) (before, after any, err error) {
		if prev, err = tx.GetKPISettings(ctx, id); err != nil {
			return nil, nil, err
		}
		k, err = tx.PutKPISettings(ctx, k)
		return viewKPISettings(prev), viewKPISettings(k), err
	})
	if err != nil {
		return err
	}
	s.clientChanged(c, id)
	if k.GA4PropertyID != "" && k.GA4PropertyID != prev.GA4PropertyID {
		s.syncNewProperty(c, id)
	}
	return c.JSON(http.StatusOK, viewKPISettings(k))
}

// propertySyncWait bounds how long a settings save waits for the sync it starts; the run goes on
// without it.
const propertySyncWait = 3 * time.Second

// syncNewProperty starts a KPI sync (the on-demand refresh) for a client whose GA4 property was
// just set or changed: the hot days' stored traffic counts only while it is the current
// property's (store.KPIHotDays), so without it they had no traffic until the next scheduled
// sync, up to a day later. The change stands whatever happens; a failure is logged, and the
// scheduled sync stores the new property's days.
func (s *Server) syncNewProperty(c echo.Context, clientID string) {
	if s.deps.KPIRefresh == nil {
		return
	}
	if cl, err := s.deps.Store.GetClient(c.Request().Context(), clientID); err != nil || cl.Offboarded() {
		return // offboarded: no schedule, nothing synced
	}
	ctx, cancel := context.WithTimeout(c.Request().Context(), propertySyncWait)
	defer cancel()
	if err := s.deps.KPIRefresh(ctx, clientID); err != nil {
		s.deps.Logger.Warn("kpi sync for the new GA4 property did not start; the scheduled sync stores its days",
			"client_id", clientID, "request_id", requestID(c), "error", err)
	}
}

// clientChanged runs the OnClientChanged hook after a saved change. The change stands whatever
// the hook does; a failure is logged and repaired when a worker starts (it ensures every
// client's schedule).
func (s *Server) clientChanged(c echo.Context, clientID string) {
	if s.deps.OnClientChanged == nil {
		return
	}
	ctx, cancel := context.WithTimeout(c.Request().Context(), 5*time.Second)
	defer cancel()
	if err := s.deps.OnClientChanged(ctx, clientID); err != nil {
		s.deps.Logger.Warn("client change hook failed; the worker repairs KPI schedules at start",
			"client_id", clientID, "request_id", requestID(c), "error", err)
	}
}
