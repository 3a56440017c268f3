package server_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paysplit/api/server"
	"paysplit/internal/store"
	"paysplit/workflows/payment"
)

// TestDecisionPendingReadsTheTailOfALongHistory: whether the payment's last decision still waits
// for its run is read in the run's history, in the payment's audit lock. It was read from the
// start: 10-17 MB for a run that retried a step for days on an old code path, for most decisions
// after a payment's first. It is read backwards, as far as the answer needs: back to the last
// decision's signal (after the history_length its entry recorded) and to a local activity's
// backoff timer that may not have fired (backoffHorizon before the last event: shortened here,
// the test's runs being seconds old). The answer is the one the whole history gave (202 here).
//
// The run's history is made long with resolves of a leg the payment does not have, which the run
// takes and drops (as TestADecisionTheRunDroppedBlocksNothing's).
//
// Before, every case read the whole history (the read count was the history's length).
func TestDecisionPendingReadsTheTailOfALongHistory(t *testing.T) {
	for _, tc := range []struct {
		name string
		// earlier: the last decision was made on an earlier save than the one the payment shows
		// (decisionPending looks for its signal and a save after it), sent to this run when its
		// history stood at the length its entry records. Else it was made on the save shown, and
		// the run rests: only a backoff timer not fired yet is looked for.
		earlier bool
	}{
		{name: "the last decision made on the save shown, the run resting"},
		{name: "the last decision made on an earlier save, sent to this run", earlier: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newStack(t, payment.Settings{SettleWindow: 0})
			client := uniqueName("tail")
			id := s.heldPayment(client, "pi_"+client, "vendor")
			ctx := context.Background()
			dropped := payment.AdminCommand{Action: payment.ActionResolve, Party: "affiliate", PayeeID: "nobody", Made: false, Actor: "admin:bootstrap"}
			for range 150 {
				require.NoError(t, s.tc.SignalWorkflow(ctx, id, "", payment.SignalAdmin, dropped))
			}
			awaitSignalsTaken(t, s.tc, id)
			awaitRunWaits(t, s.tc, id)

			// The last decision: a resolve the run drops, audited as the API audits one.
			d, err := s.tc.DescribeWorkflow(ctx, id, "")
			require.NoError(t, err)
			run := d.RawResponse.GetWorkflowExecutionInfo()
			_, savedAt, err := s.Store.GetPaymentSaved(ctx, id)
			require.NoError(t, err)
			entry := map[string]any{"signal": "resolve", "party": "affiliate", "payee_id": "nobody", "saved_at": store.SavedKey(savedAt)}
			if tc.earlier {
				entry["saved_at"] = store.SavedKey(savedAt.Add(-time.Second))
				entry["run_id"], entry["history_length"] = run.GetExecution().GetRunId(), run.GetHistoryLength()
			}
			require.NoError(t, s.Store.Audit(ctx, "admin:bootstrap", "payment.resolve", "payment:"+id, "req-"+client, nil, entry))
			require.NoError(t, s.tc.SignalWorkflow(ctx, id, "", payment.SignalAdmin, dropped))
			awaitSignalsTaken(t, s.tc, id)
			awaitRunWaits(t, s.tc, id)
			d, err = s.tc.DescribeWorkflow(ctx, id, "")
			require.NoError(t, err)
			length := d.RawResponse.GetWorkflowExecutionInfo().GetHistoryLength()
			require.Greater(t, length, int64(300), "a long history")

			defer server.ShortenBackoffHorizon(time.Nanosecond)()
			read, restore := server.CountHistoryRead(id)
			defer restore()
			code, body := s.do(http.MethodPost, "/api/v1/admin/payments/"+id+"/cancel", nil, adminKey)
			require.Equal(t, http.StatusAccepted, code, body)
			require.NotZero(t, read(), "the run's history was read")
			require.Less(t, read(), length/4, "events of the history read, of %d", length)
		})
	}
}
