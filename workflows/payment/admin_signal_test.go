package payment

import (
	"time"

	"paysplit/internal/payment"
)

// The admin signal as the Temporal UI sends it: whatever JSON an admin types. An action this
// build does not know (in any case) is logged and ignored: the run goes on as if it never came,
// its settle window still closes, a refund that comes after it is still applied, and a payment
// waiting for a decision is compensated when no decision comes.
func (s *workflowSuite) TestUnknownAdminActionFromTheUIIsIgnored() {
	s.checkAdminPayloadsIgnored(map[string]any{
		"wrong case":        map[string]any{"Action": "RETRY"},
		"an unknown action": map[string]any{"Action": "approve"},
		"an empty object":   map[string]any{},
		"null":              nil,
	})
}

// A payload that does not decode as an AdminCommand (a bare string, a number for the action) is
// dropped and the run goes on waiting (code path 15). Before, the SDK dropped it inside the admin
// channel's Receive, which wait called from its selector callback, and that Receive then blocked
// until the next well-formed admin signal; meanwhile no timer, event or cancellation was taken: a
// payment in its settle window stayed open, one waiting for a decision was never compensated.
func (s *workflowSuite) TestMalformedAdminPayloadFromTheUIIsIgnored() {
	s.checkAdminPayloadsIgnored(map[string]any{
		"a bare string":        "retry",
		"a number as action":   map[string]any{"Action": 1},
		"an array":             []string{"retry"},
		"a boolean as a party": map[string]any{"Action": "retry", "Party": true},
	})
}

func (s *workflowSuite) checkAdminPayloadsIgnored(payloads map[string]any) {
	for name, bad := range payloads {
		s.Run("in the settle window, "+name, func() {
			s.SetupTest()
			signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
			signalAt(s.env, 10*time.Minute, SignalAdmin, bad)
			signalAt(s.env, 20*time.Minute, SignalEvent, refundEvent("evt_r1", 1100))
			s.env.ExecuteWorkflow(Workflow, testInput())

			s.Require().True(s.env.IsWorkflowCompleted())
			rec := result(s.T(), s.env) // a run that never closes ends the test env with a timeout error
			s.Equal(payment.StatusPartiallyRefunded, rec.Status, "the refund after the signal is applied")
			s.checkBooks(rec)
		})
		s.Run("waiting for a decision, "+name, func() {
			s.SetupTest()
			s.w.failNext["vendor"] = []error{rejected("insufficient platform balance")}
			signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
			signalAt(s.env, time.Hour, SignalAdmin, bad)
			s.env.ExecuteWorkflow(Workflow, testInput())

			s.Require().True(s.env.IsWorkflowCompleted())
			rec := result(s.T(), s.env)
			s.Equal(payment.StatusCompensated, rec.Status, "the decision timeout compensates")
			s.Contains(rec.Reason, "no admin decision within")
			s.checkBooks(rec)
		})
	}
}

// A run of code path 14 or before still blocks on such a payload: the admin gets it going again
// with any well-formed admin signal (README), one with an action no build knows being taken by the
// blocked Receive and ignored, and the run goes on as if neither came.
func (s *workflowSuite) TestWellFormedAdminSignalUnblocksAMalformedOneOnPath14() {
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	signalAt(s.env, 10*time.Minute, SignalAdmin, "retry")
	signalAt(s.env, 20*time.Minute, SignalEvent, refundEvent("evt_r1", 1100))
	signalAt(s.env, 2*time.Hour, SignalAdmin, map[string]any{"Action": "noop"})
	start := s.env.Now()
	in := testInput()
	in.CodePath = codePathOutageProof
	s.env.ExecuteWorkflow(Workflow, in)
	rec := result(s.T(), s.env)
	s.checkBooks(rec)

	s.Equal(payment.StatusPartiallyRefunded, rec.Status)
	s.GreaterOrEqual(s.env.Now().Sub(start), 2*time.Hour, "blocked past its settle window (1 h) until the well-formed signal came")
}
