package kpisync_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"paysplit/testenv"
	"paysplit/workflows/kpisync"
)

// TestRefreshLookingForItsRunFails: once the trigger is accepted the run starts (or waits behind
// the one in progress), so a refresh whose look for that run fails still reports it started;
// only a schedule gone since the trigger (the client offboarded under it) is an error. The look
// fails mostly at the deadline: a refresh behind a hung run polls the schedule until shortly
// before its deadline, and under load the server ends the last Describe (RST_STREAM CANCEL, or
// DEADLINE_EXCEEDED) before the caller's context says it is done. The refresh then answered
// "temporal unavailable" (the API's 503, "a refresh cannot start right now") for a run it had
// queued: TestRefreshesDoNotPileUpRuns failed that way alongside workflows/report.
func TestRefreshLookingForItsRunFails(t *testing.T) {
	tc := testenv.TemporalClient(t)
	for _, tt := range []struct {
		name    string
		look    error
		wantErr bool
	}{
		{"the server ends the call at the deadline", serviceerror.NewUnavailable("stream terminated by RST_STREAM with error code: CANCEL"), false},
		{"the server's deadline passes first", serviceerror.NewDeadlineExceeded("context deadline exceeded"), false},
		{"the schedule was deleted under it", serviceerror.NewNotFound("schedule not found"), true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			clientID := "look-" + time.Now().Format("150405.000000")
			// No worker: the run the trigger starts waits on its task queue, which is all this needs.
			s := &kpisync.Scheduler{Client: tc, TaskQueue: "kpi-" + t.Name(), Every: time.Hour, HotDays: 7}
			require.NoError(t, s.EnsureClient(t.Context(), clientID))
			schedule := tc.ScheduleClient().GetHandle(context.Background(), kpisync.ScheduleID(clientID))
			t.Cleanup(func() { _ = schedule.Delete(context.Background()) })

			s.Client = lookFails{Client: tc, err: tt.look}
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			err := s.Refresh(ctx, clientID)
			if tt.wantErr {
				require.ErrorIs(t, err, tt.look)
				return
			}
			require.NoError(t, err, "the trigger was accepted: the refresh started a run")
			// And it did: the schedule shows the run (bounded: the schedule starts it at once).
			require.Eventually(t, func() bool {
				d, err := schedule.Describe(t.Context())
				return err == nil && (len(d.Info.RecentActions) > 0 || len(d.Info.RunningWorkflows) > 0)
			}, 30*time.Second, 100*time.Millisecond, "the refresh's run shows on the schedule")
		})
	}
}

// lookFails is a Temporal client whose schedule handles answer every Describe after an accepted
// Trigger with err: the trigger went through, the look for its run did not.
type lookFails struct {
	client.Client
	err error
}

func (c lookFails) ScheduleClient() client.ScheduleClient {
	return lookFailsSchedules{ScheduleClient: c.Client.ScheduleClient(), err: c.err}
}

type lookFailsSchedules struct {
	client.ScheduleClient
	err error
}

func (s lookFailsSchedules) GetHandle(ctx context.Context, id string) client.ScheduleHandle {
	return &lookFailsHandle{ScheduleHandle: s.ScheduleClient.GetHandle(ctx, id), err: s.err}
}

type lookFailsHandle struct {
	client.ScheduleHandle
	err       error
	triggered bool
}

func (h *lookFailsHandle) Trigger(ctx context.Context, o client.ScheduleTriggerOptions) error {
	err := h.ScheduleHandle.Trigger(ctx, o)
	h.triggered = err == nil
	return err
}

func (h *lookFailsHandle) Describe(ctx context.Context) (*client.ScheduleDescription, error) {
	if h.triggered {
		return nil, h.err
	}
	return h.ScheduleHandle.Describe(ctx)
}
