package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"go.temporal.io/sdk/client"

	"paysplit/activities"
	"paysplit/api/server"
	"paysplit/internal/config"
	"paysplit/internal/kpi"
	"paysplit/internal/kpi/ga4"
	"paysplit/internal/kpi/kpisrc"
	"paysplit/internal/store"
	"paysplit/workflows/kpisync"
)

// kpiCacheEntries bounds the in-process cache of fetched days, an entry a client, source and
// day: 40 clients' year-long ranges of two sources fit, in about 10 MB.
const kpiCacheEntries = 40000

// kpiListings bounds the provider listings kept for every client (kpisrc.Listings), a provider
// and range an entry: each holds every client's sums per currency and day of its range (Stripe's
// only with KPI_STRIPE_REVENUE=list; searches are per client, kept by the Reader's cache).
// kpiConcurrentListings is how many listings of the platform's accounts, and Stripe searches,
// run at once, leaving Stripe's per-account rate limit to the payment workflows (and well under
// Search's own 20 requests a second).
const (
	kpiListings           = 32
	kpiConcurrentListings = 2
)

// kpis is the API's side of client KPIs: the reader that merges Postgres with the sources, the
// schedules it keeps in line with client changes, and the on-demand refresh.
type kpis struct {
	reader    *kpi.Reader
	visitors  *kpi.RangeVisitors
	schedules *kpisync.Scheduler
}

func newKPIs(cfg config.Config, st *store.Store, tc client.Client) kpis {
	// Listed once for every client asking for the same days, kept as long as fetched days.
	listings := kpisrc.NewListings(cfg.KPICacheTTL, kpiListings, kpiConcurrentListings)
	// Stripe's revenue is searched for the asking client's charges only, unless the deployment
	// lists the account (KPI_STRIPE_REVENUE=list: Stripe Search is not offered to its account).
	if cfg.KPIStripeRevenue != config.KPIStripeRevenueList {
		listings.SearchStripe()
	}
	sources := &kpisrc.Factory{
		Store:    st,
		Stripe:   activities.NewStripeClient(cfg.StripeAPIKey, cfg.StripeAPIBase, nil),
		GA4:      ga4.Options{Endpoint: cfg.GA4APIEndpoint, CredentialsDir: cfg.GA4CredentialsDir},
		Listings: listings,
	}
	// With PayPal credentials, older revenue includes PayPal's transaction search.
	if cfg.PayPalClientID != "" {
		pp, err := activities.NewPayPalClient(cfg.PayPalClientID, cfg.PayPalSecret, cfg.PayPalAPIBase, nil)
		if err != nil {
			slog.Warn("older KPI revenue without PayPal", "error", err)
		}
		sources.PayPal = pp
	}
	return kpis{
		reader: &kpi.Reader{
			Hot: st, Cold: sources.Cold, RetentionDays: cfg.KPIRetentionDays, StaleAfter: cfg.KPIStaleAfter, SyncEvery: cfg.KPISyncEvery,
			Cache: &kpi.Cache[[]kpi.Day]{TTL: cfg.KPICacheTTL, Max: kpiCacheEntries},
		},
		// A range's distinct visitors, for the dashboard's tile, kept as long as fetched days.
		visitors: &kpi.RangeVisitors{Counter: sources.VisitorCounter, Cache: &kpi.Cache[kpi.VisitorCount]{TTL: cfg.KPICacheTTL, Max: kpiCacheEntries}},
		schedules: &kpisync.Scheduler{
			Client: tc, TaskQueue: cfg.TaskQueue, Every: cfg.KPISyncEvery, HotDays: cfg.KPIRetentionDays, Settings: st,
		},
	}
}

// refresh is POST /api/v1/kpis/refresh: Temporal out of reach answers 503.
func (k kpis) refresh(ctx context.Context, clientID string) error {
	err := k.schedules.Refresh(ctx, clientID)
	if errors.Is(err, kpisync.ErrUnavailable) {
		return fmt.Errorf("%w: %w", server.ErrRefreshUnavailable, err)
	}
	return err
}
