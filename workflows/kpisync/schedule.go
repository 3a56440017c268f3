package kpisync

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"paysplit/internal/kpi"
	"paysplit/internal/report"
	"paysplit/internal/store"
	"paysplit/workflows/schedules"
	"paysplit/workflows/searchattr"
)

// RetentionScheduleID is the one retention schedule of the deployment.
const RetentionScheduleID = "kpi-retention"

// ScheduleID is the ID of a client's sync schedule; its runs are kpi-sync-<client>-<time>.
func ScheduleID(clientID string) string { return "kpi-sync-" + clientID }

// DefaultEvery is the sync period when neither KPI_SYNC_EVERY nor the client's settings say.
const DefaultEvery = 15 * time.Minute

// syncRunTimeout bounds a run: with overlap "skip", a hung run would hold back the client's
// next syncs; a source's step ends within sourceStepTimeout, retries included, so this is plenty.
const syncRunTimeout = 10 * time.Minute

// Settings is where a client's own sync period and status are kept, and its syncs recorded
// (store.Store).
type Settings interface {
	GetKPISettings(ctx context.Context, clientID string) (store.KPISettings, error)
	GetClient(ctx context.Context, clientID string) (store.Client, error)
	KPISyncStatus(ctx context.Context, clientID string) ([]kpi.SourceStatus, error)
}

// Scheduler creates, updates and triggers the KPI schedules.
type Scheduler struct {
	Client    client.Client
	TaskQueue string
	// Every is the deployment's sync period; a client's settings may override it.
	Every time.Duration
	// HotDays is the hot window each run re-reads and retention keeps.
	HotDays int
	// Settings gives per-client periods and statuses; nil uses Every for everyone and keeps a
	// schedule for every client.
	Settings Settings
}

// ErrUnavailable is returned when Temporal cannot be reached; the API answers 503.
var ErrUnavailable = errors.New("kpi sync: temporal unavailable")

func (s *Scheduler) every(ctx context.Context, clientID string) (time.Duration, error) {
	every := s.Every
	if every <= 0 {
		every = DefaultEvery
	}
	if s.Settings == nil {
		return every, nil
	}
	st, err := s.Settings.GetKPISettings(ctx, clientID)
	if err != nil {
		return 0, fmt.Errorf("kpi settings of %s: %w", clientID, err)
	}
	if st.SyncEvery > 0 {
		every = st.SyncEvery
	}
	return every, nil
}

// clientSchedule is a client's schedule: every period at the client's phase in it, overlap skip
// (a slow run is not joined by another), and a catch-up window of one period, so after an outage the client gets one
// sync, not a backlog of them.
func (s *Scheduler) clientSchedule(clientID string, every time.Duration) client.ScheduleOptions {
	hot := s.HotDays
	if hot <= 0 {
		hot = DefaultHotDays
	}
	return client.ScheduleOptions{
		ID:   ScheduleID(clientID),
		Spec: client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: every, Offset: phase(clientID, every)}}},
		Action: &client.ScheduleWorkflowAction{
			ID: ScheduleID(clientID), Workflow: SyncWorkflowName, TaskQueue: s.TaskQueue,
			Args:                  []any{SyncInput{ClientID: clientID, HotDays: hot}},
			WorkflowRunTimeout:    syncRunTimeout,
			TypedSearchAttributes: temporal.NewSearchAttributes(searchattr.ClientID.ValueSet(clientID)),
		},
		Overlap:       enumspb.SCHEDULE_OVERLAP_POLICY_SKIP,
		CatchupWindow: max(every, time.Minute),
		Note:          "KPI sync of client " + clientID + " (paysplit)",
	}
}

// phase is where in its period a client's syncs fall: a hash of its ID, in whole seconds below
// every. Without it each schedule counted its periods from the Unix epoch, and every client
// synced at the same instant: the sources asked by all clients at once, the worker handed all
// their runs together, then idle for the rest of the period. An offset rather than Temporal's
// jitter, which delays each run by a random part of it: two syncs stay exactly a period apart,
// as the report's wait for a week's KPIs (a sync within a period of the week's end:
// report.Week.KPIsCompleteAt) and the staleness rules (two periods) count on.
//
// The report waits at most report.MaxKPIWait after the week's last UTC day ends, so the phase
// stays below that less a sync's run time (phaseWithin): a period that divides a day then puts a
// sync early enough after each day's end, as the epoch did at the end itself. Spread over the
// whole of a daily period, a client syncing at 15:00 UTC got a report with Sunday as synced
// Sunday 15:00 (TestClientSyncsLeaveTheWeeklyReportItsSync).
func phase(clientID string, every time.Duration) time.Duration {
	secs := uint64(min(every, phaseWithin) / time.Second)
	if secs == 0 {
		return 0
	}
	h := fnv.New64a()
	_, _ = h.Write([]byte(clientID))
	return time.Duration(h.Sum64()%secs) * time.Second
}

// phaseWithin bounds a client's phase: a sync that starts by then after a UTC day's end has
// finished by the time the weekly report reads the day (report.Week.KPIsCompleteAt).
const phaseWithin = report.MaxKPIWait - report.KPISyncRunTime

// EnsureClient creates the client's sync schedule or brings an existing one in line with the
// current settings; for an offboarded client it deletes the schedule, so nothing syncs a shop
// that left (reactivating it creates the schedule again). It is what the API calls when a client
// is created, offboarded, reactivated or its settings change, and what the worker calls for every
// client at start, which also finishes a change whose call could not reach Temporal; calling it
// again is harmless.
func (s *Scheduler) EnsureClient(ctx context.Context, clientID string) error {
	offboarded, err := s.offboarded(ctx, clientID)
	if err != nil {
		return err
	}
	return s.ensureClient(ctx, clientID, offboarded)
}

// ensureClient is EnsureClient for a client whose status the caller has read.
func (s *Scheduler) ensureClient(ctx context.Context, clientID string, offboarded bool) error {
	if offboarded {
		return s.removeClient(ctx, clientID)
	}
	every, err := s.every(ctx, clientID)
	if err != nil {
		return err
	}
	opts := s.clientSchedule(clientID, every)
	// A client that synced before and gets its schedule created (reactivated, or its schedule
	// lost) is behind by as long as it had none: it syncs now, not a whole period from now, when
	// its dashboard, lag gauge and kpi_sync_stale would call it stale all along. Temporal reads
	// this on creation only: an existing schedule is updated without a run.
	if opts.TriggerImmediately, err = s.syncedBefore(ctx, clientID); err != nil {
		return err
	}
	return s.ensure(ctx, opts)
}

// syncedBefore tells whether the client has a sync recorded (or tried).
func (s *Scheduler) syncedBefore(ctx context.Context, clientID string) (bool, error) {
	if s.Settings == nil {
		return false, nil
	}
	st, err := s.Settings.KPISyncStatus(ctx, clientID)
	if err != nil {
		return false, fmt.Errorf("kpi sync status of %s: %w", clientID, err)
	}
	return len(st) > 0, nil
}

// offboarded tells whether the client has left. A client not (yet) in the store keeps the
// schedule as before statuses existed: the API creates the client before it calls EnsureClient.
func (s *Scheduler) offboarded(ctx context.Context, clientID string) (bool, error) {
	if s.Settings == nil {
		return false, nil
	}
	c, err := s.Settings.GetClient(ctx, clientID)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("client %s: %w", clientID, err)
	}
	return c.Offboarded(), nil
}

// removeClient deletes the client's sync schedule; one already gone is fine. A run in progress
// finishes: it only writes the client's KPIs.
func (s *Scheduler) removeClient(ctx context.Context, clientID string) error {
	err := s.Client.ScheduleClient().GetHandle(ctx, ScheduleID(clientID)).Delete(ctx)
	var nf *serviceerror.NotFound
	if err != nil && !errors.As(err, &nf) {
		return fmt.Errorf("delete schedule %s: %w", ScheduleID(clientID), unavailable(err))
	}
	return nil
}

// RetentionOptions configure the retention schedule.
type RetentionOptions struct {
	Days      int
	BatchSize int
	// Every is its period; zero means daily. Offset shifts the runs (default 03:15 UTC).
	Every, Offset time.Duration
}

// EnsureRetention creates or updates the daily retention schedule.
func (s *Scheduler) EnsureRetention(ctx context.Context, o RetentionOptions) error {
	if o.Days < 1 {
		return fmt.Errorf("kpi retention: %d days would delete today's KPIs", o.Days)
	}
	if o.Every <= 0 {
		o.Every, o.Offset = 24*time.Hour, 3*time.Hour+15*time.Minute
	}
	return s.ensure(ctx, client.ScheduleOptions{
		ID:   RetentionScheduleID,
		Spec: client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: o.Every, Offset: o.Offset}}},
		Action: &client.ScheduleWorkflowAction{
			ID: RetentionScheduleID, Workflow: RetentionWorkflowName, TaskQueue: s.TaskQueue,
			Args:                     []any{RetentionInput{Days: o.Days, BatchSize: o.BatchSize}},
			WorkflowExecutionTimeout: 6 * time.Hour,
		},
		Overlap:       enumspb.SCHEDULE_OVERLAP_POLICY_SKIP,
		CatchupWindow: 12 * time.Hour,
		Note:          "KPI retention (paysplit)",
	})
}

// ensure creates a schedule, or updates spec, action and policies when it exists; several
// processes doing it at once is fine: one creates, the others update to the same.
func (s *Scheduler) ensure(ctx context.Context, opts client.ScheduleOptions) error {
	if s.TaskQueue == "" {
		return errors.New("kpi schedules need a task queue")
	}
	if err := schedules.Ensure(ctx, s.Client.ScheduleClient(), opts); err != nil {
		return unavailable(err)
	}
	return nil
}

// unavailable marks errors that mean "Temporal is not reachable now".
func unavailable(err error) error {
	var u *serviceerror.Unavailable
	var d *serviceerror.DeadlineExceeded
	if errors.As(err, &u) || errors.As(err, &d) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return err
}

// ClientLister lists the clients whose schedules the worker keeps (store.Store).
type ClientLister interface {
	ListClients(ctx context.Context) ([]store.Client, error)
}

// EnsureAll makes sure the retention schedule and every client's sync schedule exist and match
// the configuration. The worker runs it at start, which also repairs a client whose creation
// hook could not reach Temporal.
func (s *Scheduler) EnsureAll(ctx context.Context, clients ClientLister, retention RetentionOptions) error {
	if err := s.EnsureRetention(ctx, retention); err != nil {
		return err
	}
	list, err := clients.ListClients(ctx)
	if err != nil {
		return fmt.Errorf("list clients: %w", err)
	}
	// Each listed with its status: not read again per client, as EnsureClient would.
	var errs []error
	for _, c := range list {
		if err := s.ensureClient(ctx, c.ID, c.Offboarded()); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
