package payment

import (
	"go.temporal.io/sdk/temporal"
)

// A run started by an API newer than this worker asks for a code path the worker does not know.
// It must not run as the newest path the worker knows (a newer worker could not replay what it
// recorded): its task fails before any step, so Temporal gives it again, to a worker that knows it.
func (s *workflowSuite) TestRunOfAnUnknownCodePathFailsItsTask() {
	in := testInput()
	in.CodePath = CurrentCodePath + 1
	first := captureEvent("evt_1", gross)
	in.First = &first
	s.env.ExecuteWorkflow(Workflow, in)

	s.Require().True(s.env.IsWorkflowCompleted())
	err := s.env.GetWorkflowError()
	var panicErr *temporal.PanicError
	s.Require().ErrorAs(err, &panicErr, "a panic fails the task, never the run")
	s.Contains(panicErr.Error(), "code path")
	s.Empty(s.w.calls, "no step ran")
	s.Empty(s.w.saved, "nothing stored")
	s.Empty(s.w.entries, "nothing booked")
}

// The newest path is taken as it is.
func (s *workflowSuite) TestRunOfTheCurrentCodePathRuns() {
	in := testInput()
	first := captureEvent("evt_1", gross)
	in.First = &first
	s.env.ExecuteWorkflow(Workflow, in)
	rec := result(s.T(), s.env)
	s.Equal(CurrentCodePath, rec.CodePath)
}
