package report

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	ireport "paysplit/internal/report"
	"paysplit/workflows/schedules"
)

// One schedule per time zone in use, not one per client: a zone's schedule fires at one instant
// for all its clients, so a schedule per client would be hundreds of identical timers to keep in
// step with the clients table, while zones are a few dozen at most and change rarely. Clients
// stay isolated from each other by the per-client child workflows the run starts; moving a
// client to another zone is a settings change, picked up by the next run of that zone.

// SchedulePrefix starts every weekly report schedule's ID.
const SchedulePrefix = "weekly-reports-"

// ScheduleID is a zone's schedule: weekly-reports-Europe.Berlin (slashes become dots, which no
// zone name contains, so IDs stay distinct and URL-friendly).
func ScheduleID(zone string) string { return SchedulePrefix + strings.ReplaceAll(zone, "/", ".") }

// runHour is the local hour on Monday at which a zone's weekly reports run.
const runHour = 6

// RunDue is when a zone's schedule runs the report of week w: the Monday after it, at runHour
// there.
func RunDue(w ireport.Week, loc *time.Location) time.Time {
	next := w.End(loc)
	return time.Date(next.Year(), next.Month(), next.Day(), runHour, 0, 0, 0, loc)
}

// SkippedByMove is the week whose report a client moved from zone from to zone to on now may
// get from neither zone's run: the new zone's run of the week it last completed has gone (the
// client was not in its list), and the old zone's is still to come or may still be going (the
// client is no longer in the pages it lists from now on: a zone's week lists its clients a page
// per run, for as long as weeklyRunTimeout). A make-up run for a week the old zone's run did
// report sends nothing twice (report_deliveries).
func SkippedByMove(from, to *time.Location, now time.Time) (ireport.Week, bool) {
	w := ireport.LastCompleteWeek(now, to)
	return w, !now.Before(RunDue(w, to)) && now.Before(RunDue(w, from).Add(weeklyRunTimeout))
}

// weeklyRunTimeout bounds a zone's WeeklyReports run.
const weeklyRunTimeout = 48 * time.Hour

// scheduleOptions run WeeklyReports every Monday at 06:00 in zone. A run missed while the
// cluster was down still happens within three days: it reports the same week, because the week
// comes from the scheduled time.
func scheduleOptions(zone, taskQueue string) client.ScheduleOptions {
	id := ScheduleID(zone)
	return client.ScheduleOptions{
		ID: id,
		Spec: client.ScheduleSpec{
			Calendars: []client.ScheduleCalendarSpec{{
				DayOfWeek: []client.ScheduleRange{{Start: int(time.Monday)}},
				Hour:      []client.ScheduleRange{{Start: runHour}},
				Minute:    []client.ScheduleRange{{Start: 0}},
				Second:    []client.ScheduleRange{{Start: 0}},
			}},
			TimeZoneName: zone,
		},
		Action: &client.ScheduleWorkflowAction{
			ID: id, Workflow: WeeklyWorkflowName, TaskQueue: taskQueue,
			Args:                     []any{WeeklyInput{TimeZone: zone}},
			WorkflowExecutionTimeout: weeklyRunTimeout,
		},
		Overlap:       enumspb.SCHEDULE_OVERLAP_POLICY_SKIP,
		CatchupWindow: 72 * time.Hour,
		Note:          "weekly client reports for " + zone + " (paysplit worker)",
	}
}

// EnsureSchedules makes the schedules match zones: creates missing ones, brings existing ones in
// line (task queue, spec), and deletes the schedules of zones no longer in use. The worker calls
// it at start with store.ReportTimeZones.
func EnsureSchedules(ctx context.Context, c client.Client, taskQueue string, zones []string) error {
	sc := c.ScheduleClient()
	for _, zone := range zones {
		if err := schedules.Ensure(ctx, sc, scheduleOptions(zone, taskQueue)); err != nil {
			return fmt.Errorf("report: %w", err)
		}
	}
	return deleteSchedules(ctx, sc, zones, staleScheduleMinAge)
}

// RemoveSchedules deletes every weekly report schedule, however new. The worker calls it at
// start when reports are turned off for the deployment (REPORTS=off; a worker merely without
// S3_BUCKET leaves them to the replicas that have it): it then registers no report workflow, so a
// schedule left from when they were on would start a WeeklyReports run every Monday that no
// worker runs, its workflow tasks failing on the unknown type for the run's 48 hours. A start
// with reports on makes them again (EnsureSchedules).
func RemoveSchedules(ctx context.Context, c client.Client) error {
	return deleteSchedules(ctx, c.ScheduleClient(), nil, 0)
}

// staleScheduleMinAge is how old a zone's schedule must be before a worker start that does not
// know the zone deletes it: the API creates a new zone's schedule before it saves the client's
// zone, so a worker that read the zones a moment before would otherwise delete the schedule the
// API just made, and that zone would have no Monday run until the next worker start.
var staleScheduleMinAge = 10 * time.Minute

// deleteSchedules removes weekly report schedules of zones not in zones, unless created less
// than minAge ago. The listing is eventually consistent: a schedule created a
// moment ago may be missing from it, which is fine, since only schedules of other zones are
// deleted.
func deleteSchedules(ctx context.Context, sc client.ScheduleClient, zones []string, minAge time.Duration) error {
	keep := make([]string, len(zones))
	for i, z := range zones {
		keep[i] = ScheduleID(z)
	}
	it, err := sc.List(ctx, client.ScheduleListOptions{PageSize: 100})
	if err != nil {
		return fmt.Errorf("report schedules: list: %w", err)
	}
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			return fmt.Errorf("report schedules: list: %w", err)
		}
		if !strings.HasPrefix(e.ID, SchedulePrefix) || slices.Contains(keep, e.ID) {
			continue
		}
		h := sc.GetHandle(ctx, e.ID)
		var nf *serviceerror.NotFound
		if minAge > 0 {
			desc, err := h.Describe(ctx)
			if errors.As(err, &nf) {
				continue
			}
			if err != nil {
				return fmt.Errorf("report schedule %s: describe: %w", e.ID, err)
			}
			if time.Since(desc.Info.CreatedAt) < minAge {
				continue
			}
		}
		err = h.Delete(ctx)
		if err != nil && !errors.As(err, &nf) {
			return fmt.Errorf("report schedule %s: delete: %w", e.ID, err)
		}
	}
	return nil
}

// EnsureZoneSchedule creates the schedule of one zone if it is missing (the API calls it before
// it saves a client's time zone, so a new zone never goes without its Monday run).
func EnsureZoneSchedule(ctx context.Context, c client.Client, taskQueue, zone string) error {
	_, err := c.ScheduleClient().Create(ctx, scheduleOptions(zone, taskQueue))
	if err != nil && !errors.Is(err, temporal.ErrScheduleAlreadyRunning) {
		return fmt.Errorf("report schedule %s: create: %w", ScheduleID(zone), err)
	}
	return nil
}

// ErrRunInProgress is returned by StartClient while another run of the same report is going.
var ErrRunInProgress = errors.New("a run of this report is in progress")

// StartClient starts a ClientReport run (an admin's resend or regenerate) and returns its run ID.
func StartClient(ctx context.Context, c client.Client, taskQueue string, in ClientInput) (workflowID, runID string, err error) {
	id := ClientWorkflowID(in.ClientID, in.Week)
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: id, TaskQueue: taskQueue,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		// Without it the SDK hands back the running execution as if it had started ours.
		WorkflowExecutionErrorWhenAlreadyStarted: true,
		WorkflowExecutionTimeout:                 clientRunTimeout,
	}, ClientWorkflowName, in)
	if temporal.IsWorkflowExecutionAlreadyStartedError(err) {
		return id, "", ErrRunInProgress
	}
	if err != nil {
		return id, "", fmt.Errorf("start %s: %w", id, err)
	}
	return id, run.GetRunID(), nil
}
