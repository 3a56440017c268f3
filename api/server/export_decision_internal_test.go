package server

import (
	"context"
	"sync/atomic"
	"time"

	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/converter"
)

// BetweenCheckAndSend has f called in each decision's audit lock after decisionPending described
// the payment's run (runID, "" for none) and before the decision is sent, for a test that changes
// the payment's runs there; it returns what restores the API as it was.
func BetweenCheckAndSend(f func(workflowID, runID string)) (restore func()) {
	old := beforeSend
	beforeSend = f
	return func() { beforeSend = old }
}

// ShortenBackoffHorizon has decisions look for a local activity's backoff timer only within d of
// a run's last event, for a test whose runs are seconds old; it returns what restores it.
func ShortenBackoffHorizon(d time.Duration) (restore func()) {
	old := backoffHorizon
	backoffHorizon = d
	return func() { backoffHorizon = old }
}

// CountHistoryRead counts the events of workflowID's run histories that decisions read; read says
// how many so far.
func CountHistoryRead(workflowID string) (read func() int64, restore func()) {
	var n atomic.Int64
	old := historyPageRead
	historyPageRead = func(id string, events int) {
		if id == workflowID {
			n.Add(int64(events))
		}
	}
	return n.Load, func() { historyPageRead = old }
}

// BackoffHorizon is how far before a run's last event decisions look for a local activity's
// backoff timer not fired yet.
func BackoffHorizon() time.Duration { return backoffHorizon }

// HistoryTail is the end of run runID's history that decisions read (historyTail), oldest first,
// looking for the signal of a decision by sender sent after event after ("" sender: none).
func (s *Server) HistoryTail(ctx context.Context, workflowID, runID, sender string, after int64) ([]*historypb.HistoryEvent, error) {
	var sent *decisionSent
	if sender != "" {
		sent = &decisionSent{sender: sender, after: after}
	}
	return s.historyTail(ctx, workflowID, runID, sent, converter.GetDefaultDataConverter())
}
