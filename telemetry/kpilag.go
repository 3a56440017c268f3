package telemetry

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"paysplit/internal/kpi"
)

// KPISyncs reads every client's KPI sync state (store.Store.KPISyncs).
type KPISyncs interface {
	KPISyncs(ctx context.Context) ([]kpi.ClientSync, error)
}

var (
	kpiSyncLagDesc = prometheus.NewDesc("paysplit_kpi_sync_lag_seconds",
		"Time since each client's last good KPI sync (the oldest over its sources), at scrape time; +Inf while a source was tried and never synced.",
		[]string{"client"}, nil)
	kpiSyncPeriodDesc = prometheus.NewDesc("paysplit_kpi_sync_period_seconds",
		"Each client's KPI sync period (its own, else KPI_SYNC_EVERY): its lag above two of them is what the dashboard calls stale.",
		[]string{"client"}, nil)
)

// KPISyncLagOptions configure RegisterKPISyncLag.
type KPISyncLagOptions struct {
	// SyncEvery is the deployment's sync period (KPI_SYNC_EVERY), a client's without its own.
	SyncEvery time.Duration
	// Now is the clock; nil means time.Now.
	Now    func() time.Time
	Logger *slog.Logger
}

// RegisterKPISyncLag exports each client's KPI sync lag on reg, computed at every scrape from
// what Postgres holds: now minus the client's last good sync. It was set by the sync itself, so
// when syncs stopped (worker down, schedule paused) it stayed at its last value, 0 after a good
// run, and an alert on it never fired. Both programs export it: the API's /metrics still
// answers while every worker is down.
func RegisterKPISyncLag(reg prometheus.Registerer, src KPISyncs, o KPISyncLagOptions) error {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if err := reg.Register(&kpiSyncCollector{src: src, o: o}); err != nil {
		return fmt.Errorf("register kpi sync lag: %w", err)
	}
	return nil
}

// kpiSyncCollector reads the clients' syncs once per scrape. When Postgres does not answer, it
// reports from the last syncs it read: the lags keep growing with the clock, as they do, rather
// than vanishing or freezing just when something is wrong.
type kpiSyncCollector struct {
	src KPISyncs
	o   KPISyncLagOptions

	mu   sync.Mutex
	last []kpi.ClientSync
}

func (c *kpiSyncCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- kpiSyncLagDesc
	ch <- kpiSyncPeriodDesc
}

func (c *kpiSyncCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	syncs, err := c.src.KPISyncs(ctx)
	c.mu.Lock()
	if err != nil {
		c.o.Logger.Warn("kpi syncs for metrics: reporting from the last ones read", "error", err)
		syncs = c.last
	} else {
		c.last = syncs
	}
	c.mu.Unlock()
	now := c.o.Now()
	for _, s := range syncs {
		ch <- prometheus.MustNewConstMetric(kpiSyncLagDesc, prometheus.GaugeValue, lagSeconds(s.Lag(now)), s.ClientID)
		period := s.Period
		if period == 0 {
			period = c.o.SyncEvery
		}
		if period > 0 {
			ch <- prometheus.MustNewConstMetric(kpiSyncPeriodDesc, prometheus.GaugeValue, period.Seconds(), s.ClientID)
		}
	}
}

// lagSeconds is a lag for Prometheus: kpi.NeverSynced is +Inf.
func lagSeconds(lag time.Duration) float64 {
	if lag == kpi.NeverSynced {
		return math.Inf(1)
	}
	return lag.Seconds()
}
