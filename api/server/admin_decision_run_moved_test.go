package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"

	"paysplit/api/server"
	"paysplit/internal/stripeevent"
	"paysplit/workflows/payment"
)

// TestADecisionGoesToTheRunItWasCheckedOn: an admin releases a held payment. In the decision's
// audit lock the API describes the payment's run (decision_pending: is the last decision still
// waiting for it?) and records it in the entry (run_id, history_length); then it signals. Between
// the two that run closes and a refund starts a new one (an event's signal-with-start). The API
// signalled "whichever run is current", so the new run took a release nobody checked against it,
// and the audit entry named the closed run, whose history decision_pending reads for the release
// next time: nothing said a decision was waiting on the new run. Sent to the run described, the
// release finds it closed: 409 not_running, nothing sent or audited, as when the run closed
// before the request.
//
// Deterministic: the API waits between its describe and its send (server.BetweenCheckAndSend)
// until the test closed the run and the refund's run started.
//
// It failed: the release was answered 202 and the refund's run had its signal.
func TestADecisionGoesToTheRunItWasCheckedOn(t *testing.T) {
	s := newStack(t, payment.Settings{SettleWindow: 0})
	client := uniqueName("runmoved")
	pi := "pi_" + client
	id := s.heldPayment(client, pi, "vendor")
	code, body := s.do(http.MethodPut, "/api/v1/admin/payees/"+client+"-vendor",
		map[string]any{"client_id": client, "kind": "vendor", "stripe_account": uniqueAccount("runmoved")}, adminKey)
	require.Equal(t, http.StatusOK, code, body)
	held := s.latestRun(id)

	checked, goOn := make(chan string, 1), make(chan struct{})
	restore := server.BetweenCheckAndSend(func(workflowID, runID string) {
		if workflowID == id {
			checked <- runID
			<-goOn
		}
	})
	defer restore()
	answer := make(chan decisionAnswer, 1)
	go func() { answer <- s.decideInBackground(http.MethodPost, "/api/v1/admin/payments/"+id+"/release") }()
	select {
	case run := <-checked:
		require.Equal(t, held, run, "the run the decision was checked on")
	case <-time.After(hangGuard):
		close(goOn)
		t.Fatal("the release never reached its send")
	}

	// Meanwhile the held run closes, and a refund starts the payment's next run.
	require.NoError(t, s.tc.TerminateWorkflow(context.Background(), id, held, "test: the run closes between the decision's check and its send"))
	refund := stripeevent.Refund{EventID: "evt_" + pi + "_re", PaymentIntent: pi, Charge: "ch_" + pi, Currency: "usd",
		Amount: 11000, AmountRefunded: 500, Created: time.Now()}
	code, body = s.webhook(stripeevent.Sign(refund.Body(), webhookSecret, time.Now()))
	require.Equal(t, http.StatusOK, code, body)
	next := s.latestRun(id)
	require.NotEqual(t, held, next, "the refund started another run")
	close(goOn)

	got := <-answer
	require.NoError(t, got.err)
	require.Equal(t, http.StatusConflict, got.code, "a release checked on a run that closed before it was sent, another run started since, was answered %s", got.body)
	require.Equal(t, "not_running", got.errorCode(), got.body)
	require.Empty(t, s.decisionsAudited(id), "nothing was sent, nothing is audited")
	require.Zero(t, adminSignals(t, s, id, next), "the refund's run was sent no decision")
}

// decisionAnswer is what the API answered a request sent from another goroutine than the test's.
type decisionAnswer struct {
	code int
	body []byte
	err  error
}

func (a decisionAnswer) errorCode() string {
	var out struct {
		Error struct{ Code string } `json:"error"`
	}
	_ = json.Unmarshal(a.body, &out)
	return out.Error.Code
}

// decideInBackground is stack.do for a goroutine of the test's own: it fails nothing itself.
func (s *stack) decideInBackground(method, path string) decisionAnswer {
	req, err := http.NewRequest(method, s.API.URL+path, nil)
	if err != nil {
		return decisionAnswer{err: err}
	}
	req.Header.Set("Authorization", "Bearer "+adminKey)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return decisionAnswer{err: err}
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	return decisionAnswer{code: res.StatusCode, body: body, err: err}
}

// adminSignals counts the admin signals in the history of run runID of workflow id.
func adminSignals(t *testing.T, s *stack, id, runID string) int {
	t.Helper()
	it := s.tc.GetWorkflowHistory(context.Background(), id, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	n := 0
	for it.HasNext() {
		ev, err := it.Next()
		require.NoError(t, err)
		if ev.GetEventType() == enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED &&
			ev.GetWorkflowExecutionSignaledEventAttributes().GetSignalName() == payment.SignalAdmin {
			n++
		}
	}
	return n
}
