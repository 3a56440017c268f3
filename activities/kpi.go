package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"paysplit/internal/kpi"
	"paysplit/internal/kpi/kpisrc"
	"paysplit/internal/money"
	"paysplit/internal/store"
)

// Error types of the KPI activities that retrying cannot fix.
const (
	// ErrTypeKPISourceRefused is a source that refused the request (bad credentials, no access
	// to the property, not configured): the sync records it and the client's KPIs go stale.
	ErrTypeKPISourceRefused = "KPISourceRefused"
	// ErrTypeKPIClientNotFound is a schedule whose client no longer exists.
	ErrTypeKPIClientNotFound = "KPIClientNotFound"
)

// KPI holds the dependencies of the KPI sync and retention activities. Its method names are
// distinct from Activities' so one worker can register both.
type KPI struct {
	Store   *store.Store
	Sources *kpisrc.Factory
	// Now stamps sync status; nil means time.Now.
	Now func() time.Time
}

func (a *KPI) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

// PlanKPISyncInput names the client.
type PlanKPISyncInput struct{ ClientID string }

// PlanKPISyncOutput is what a sync of the client does: which sources, revenue in which currency.
type PlanKPISyncOutput struct {
	Sources  []string
	Currency money.Currency
}

// PlanKPISync reads the client's KPI settings: revenue always comes from our payments, traffic
// from GA4 when the client has a property (store.KPISettings.KPISources, which also decides whose
// sync status counts). An offboarded client's sync has no source: its schedule is deleted when it
// leaves, but one left behind (the API's hook could not reach Temporal, or a settings change
// raced the offboarding) runs until a worker start removes it, and must not sync a shop that left.
func (a *KPI) PlanKPISync(ctx context.Context, in PlanKPISyncInput) (PlanKPISyncOutput, error) {
	cl, err := a.Store.GetClient(ctx, in.ClientID)
	if errors.Is(err, store.ErrNotFound) {
		return PlanKPISyncOutput{}, temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeKPIClientNotFound, err)
	}
	if err != nil {
		return PlanKPISyncOutput{}, err
	}
	if cl.Offboarded() {
		activity.GetLogger(ctx).Warn("kpi sync of an offboarded client: nothing synced; a worker start deletes its schedule", "ClientID", in.ClientID)
		return PlanKPISyncOutput{Currency: cl.DefaultCurrency}, nil
	}
	st, err := a.Store.GetKPISettings(ctx, in.ClientID)
	if err != nil {
		return PlanKPISyncOutput{}, err
	}
	return PlanKPISyncOutput{Sources: st.KPISources(), Currency: cl.DefaultCurrency}, nil
}

// SyncKPISourceInput is one source's part of a sync: the days From..To (the hot window) and the
// hours of Today.
type SyncKPISourceInput struct {
	ClientID string
	Source   string
	Currency money.Currency
	From, To time.Time
	Today    time.Time
}

// SyncKPISourceOutput says what was stored.
type SyncKPISourceOutput struct {
	Source   string
	Days     int
	Hours    int
	SyncedAt time.Time
}

// SyncKPISource fetches one source's days and today's hours and stores them (upserts, so a
// retry or an overlapping run writes the same rows again), then records the good sync.
func (a *KPI) SyncKPISource(ctx context.Context, in SyncKPISourceInput) (SyncKPISourceOutput, error) {
	out := SyncKPISourceOutput{Source: in.Source}
	var err error
	switch in.Source {
	case kpi.SourceLedger:
		out.Days, out.Hours, err = a.syncLedger(ctx, in)
	case kpi.SourceGA4:
		out.Days, out.Hours, err = a.syncGA4(ctx, in)
	default:
		err = kpi.Permanent(fmt.Errorf("unknown KPI source %q", in.Source))
	}
	if err != nil {
		if kpi.IsPermanent(err) || errors.Is(err, store.ErrInvalid) {
			return out, temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeKPISourceRefused, err)
		}
		return out, err
	}
	out.SyncedAt = a.now()
	if err := a.Store.MarkKPISynced(ctx, in.ClientID, in.Source, out.SyncedAt); err != nil {
		return out, err
	}
	return out, nil
}

func (a *KPI) syncLedger(ctx context.Context, in SyncKPISourceInput) (days, hours int, err error) {
	led := kpisrc.Ledger{Store: a.Store}
	rev, err := led.RevenueDays(ctx, in.ClientID, in.Currency, in.From, in.To)
	if err != nil {
		return 0, 0, err
	}
	if err := a.Store.UpsertKPIRevenue(ctx, in.ClientID, kpi.SourceLedger, rev); err != nil {
		return 0, 0, err
	}
	today := kpi.DayOf(in.Today)
	hs, err := a.Store.RevenueHours(ctx, in.ClientID, in.Currency, today, today.AddDate(0, 0, 1))
	if err != nil {
		return 0, 0, err
	}
	if err := a.Store.UpsertKPIRevenueHours(ctx, in.ClientID, hs); err != nil {
		return 0, 0, err
	}
	return len(rev), len(hs), nil
}

func (a *KPI) syncGA4(ctx context.Context, in SyncKPISourceInput) (days, hours int, err error) {
	src, err := a.Sources.Traffic(ctx, in.ClientID)
	if err != nil {
		return 0, 0, err
	}
	tr, err := src.TrafficDays(ctx, in.From, in.To)
	if err != nil {
		return 0, 0, err
	}
	// Stored with its property, so the days are not shown once the client has another.
	if err := a.Store.UpsertKPITraffic(ctx, in.ClientID, kpi.StoredName(src), tr); err != nil {
		return 0, 0, err
	}
	hs, err := src.TrafficHours(ctx, in.Today)
	if err != nil {
		return 0, 0, err
	}
	if err := a.Store.UpsertKPITrafficHours(ctx, in.ClientID, hs); err != nil {
		return 0, 0, err
	}
	return len(tr), len(hs), nil
}

// RecordKPISyncFailureInput is a source whose sync failed for good in this run.
type RecordKPISyncFailureInput struct {
	ClientID, Source, Message string
	// StartedAt is when the run started (zero in runs from before it was passed).
	StartedAt time.Time
}

// RecordKPISyncFailure keeps the failure and leaves the stored numbers and the last good sync
// time alone: the API then shows the client's KPIs as stale since that time.
func (a *KPI) RecordKPISyncFailure(ctx context.Context, in RecordKPISyncFailureInput) error {
	return a.Store.MarkKPISyncFailed(ctx, in.ClientID, in.Source, in.Message, in.StartedAt, a.now())
}

// PruneKPIsInput is the retention cut: rows older than Before go, BatchSize at a time.
type PruneKPIsInput struct {
	Before    time.Time
	BatchSize int
}

// PruneKPIsOutput counts what was deleted.
type PruneKPIsOutput struct {
	Daily, Hourly, WebhookDeliveries, WebhookInbox, OrderWaiters, EarlyOrderStatuses int64
	StripeKeySends                                                                   int64
}

// PruneKPIs deletes KPI rows, webhook delivery records, forwarded inbox events, the order waits of
// payments no order can change any more (store.PruneOrderWaiters) and the status changes kept for
// orders that never arrived (store.PruneEarlyOrderStatuses) older than Before, and the first sends
// of payout keys older than that and than store.KeySendKeep whose payment is finished
// (store.PruneKeySends), in small batches, heartbeating after each so a long prune after an
// outage is not mistaken for a hung one. A retry starts over harmlessly: what was deleted stays
// deleted.
func (a *KPI) PruneKPIs(ctx context.Context, in PruneKPIsInput) (PruneKPIsOutput, error) {
	var out PruneKPIsOutput
	for _, t := range []struct {
		table string
		n     *int64
	}{
		{store.PruneKPIDaily, &out.Daily},
		{store.PruneKPIHourly, &out.Hourly},
		{store.PruneWebhookDeliveries, &out.WebhookDeliveries},
		{store.PruneWebhookInbox, &out.WebhookInbox},
		{store.PruneOrderWaiters, &out.OrderWaiters},
		{store.PruneEarlyOrderStatuses, &out.EarlyOrderStatuses},
		{store.PruneKeySends, &out.StripeKeySends},
	} {
		for {
			n, err := a.Store.PruneBatch(ctx, t.table, in.Before, in.BatchSize)
			if err != nil {
				if errors.Is(err, store.ErrInvalid) {
					return out, temporal.NewNonRetryableApplicationError(err.Error(), "InvalidPrune", err)
				}
				return out, err
			}
			*t.n += n
			activity.RecordHeartbeat(ctx, out)
			if n < int64(in.BatchSize) {
				break
			}
		}
	}
	return out, nil
}
