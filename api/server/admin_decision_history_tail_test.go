package server_test

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/converter"

	"paysplit/api/server"
	"paysplit/workflows/payment"
)

// TestDecisionPendingHistoryTailIsTheEndOfTheWholeHistory: decision_pending reads a run's history backwards
// (GetWorkflowExecutionHistoryReverse, pages growing from 16 batches) and runs its forward reading
// over the tail it read, so the tail must be exactly the whole history's end: the events in their
// order, none missing at a page's edge, none twice, starting at the workflow task completion
// where its reading may start (a backoff's marker and timer come after the completion of the task
// that asked them). Which completion is the spec historyTail states, applied here to the history
// read forwards (GetWorkflowHistory): the last one before the horizon (backoffHorizon before the
// last event) at or before the decision's signal (its last one after the event its entry
// recorded), or before the event after that one when the signal is not there.
//
// The run's history is ~480 events (dropped resolves, as TestDecisionPendingReadsTheTailOfALongHistory
// pads it), several pages read backwards; the horizon is set on the events' own times, so each
// case cuts where the test chose, deep in the history or near its end.
func TestDecisionPendingHistoryTailIsTheEndOfTheWholeHistory(t *testing.T) {
	s := newStack(t, payment.Settings{SettleWindow: 0})
	client := uniqueName("tailpin")
	id := s.heldPayment(client, "pi_"+client, "vendor")
	ctx := context.Background()
	dropped := func(actor string) payment.AdminCommand {
		return payment.AdminCommand{Action: payment.ActionResolve, Party: "affiliate", PayeeID: "nobody", Made: false, Actor: actor}
	}
	for i := range 160 {
		actor := "admin:bootstrap"
		if i == 40 || i == 120 {
			actor = "admin:pin" // the decision looked for: twice, the tail starts at the last
		}
		require.NoError(t, s.tc.SignalWorkflow(ctx, id, "", payment.SignalAdmin, dropped(actor)))
		if i%20 == 19 {
			awaitSignalsTaken(t, s.tc, id) // several workflow tasks, not one that took them all
		}
	}
	awaitSignalsTaken(t, s.tc, id)
	awaitRunWaits(t, s.tc, id)
	runID := s.latestRun(id)
	_, srv := s.Replica(server.RelayOptions{})

	var whole []*historypb.HistoryEvent
	it := s.tc.GetWorkflowHistory(ctx, id, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		require.NoError(t, err)
		whole = append(whole, ev)
	}
	require.Greater(t, len(whole), 400, "a history of several pages")
	last := whole[len(whole)-1].GetEventTime().AsTime()
	var completions, pins []int // indexes in whole
	for i, ev := range whole {
		switch {
		case ev.GetEventType() == enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
			completions = append(completions, i)
		case ev.GetEventType() == enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED && signalledBy(t, ev, "admin:pin"):
			pins = append(pins, i)
		}
	}
	require.Len(t, pins, 2)
	// horizonAt is the horizon that falls on completion c's time: c is not before it, the one
	// before c is.
	horizonAt := func(c int) time.Duration {
		at := whole[completions[c]].GetEventTime().AsTime()
		require.True(t, whole[completions[c-1]].GetEventTime().AsTime().Before(at), "workflow tasks completed one after the other")
		return last.Sub(at)
	}
	deep, near := len(completions)/5, len(completions)-3

	for _, tc := range []struct {
		name    string
		horizon time.Duration
		sender  string
		after   int64
	}{
		{name: "a horizon before the run started: the whole history", horizon: time.Duration(math.MaxInt64)},
		{name: "no decision looked for, a horizon deep in the history", horizon: horizonAt(deep)},
		{name: "no decision looked for, a horizon near its end", horizon: horizonAt(near)},
		{name: "a decision's signal, sent anywhere in the run", horizon: time.Nanosecond, sender: "admin:pin"},
		{name: "a decision's signal, sent after its first", horizon: time.Nanosecond, sender: "admin:pin", after: whole[pins[0]].GetEventId()},
		{name: "a decision's signal not there, sent after its last", horizon: time.Nanosecond, sender: "admin:pin", after: whole[pins[1]].GetEventId()},
		{name: "a decision's signal, the horizon before it", horizon: horizonAt(deep), sender: "admin:pin"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer server.ShortenBackoffHorizon(tc.horizon)()
			tail, err := srv.HistoryTail(ctx, id, runID, tc.sender, tc.after)
			require.NoError(t, err)

			// The spec, on the history read forwards.
			horizon := last.Add(-tc.horizon)
			if tc.horizon == time.Duration(math.MaxInt64) {
				horizon = time.Time{}
			}
			bound := int64(math.MaxInt64) // the last event ID the tail's first may have
			if tc.sender != "" {
				bound = tc.after + 1
				for _, p := range pins {
					if whole[p].GetEventId() > tc.after {
						bound = max(bound, whole[p].GetEventId())
					}
				}
			}
			start := 0
			for _, c := range completions {
				if whole[c].GetEventId() <= bound && whole[c].GetEventTime().AsTime().Before(horizon) {
					start = c
				}
			}
			require.Equal(t, eventIDs(whole[start:]), eventIDs(tail), "the tail read backwards, of a history of %d events", len(whole))
		})
	}
}

func eventIDs(events []*historypb.HistoryEvent) []int64 {
	out := make([]int64, len(events))
	for i, ev := range events {
		out[i] = ev.GetEventId()
	}
	return out
}

// signalledBy reports whether ev, a signal, is an admin command of actor's.
func signalledBy(t *testing.T, ev *historypb.HistoryEvent, actor string) bool {
	t.Helper()
	a := ev.GetWorkflowExecutionSignaledEventAttributes()
	if a.GetSignalName() != payment.SignalAdmin {
		return false
	}
	var cmd payment.AdminCommand
	require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(a.GetInput(), &cmd))
	return cmd.Actor == actor
}
