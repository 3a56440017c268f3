package testenv

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/worker"
)

// ReplayHistories replays every history recorded in dir (*.json, at least min of them) through
// the workflows register puts on a replayer. Histories come from real runs on the dev server; a
// change that alters a workflow's commands without workflow.GetVersion (or a code path) fails
// here before it can break the runs in flight.
func ReplayHistories(t *testing.T, dir string, min int, register func(worker.WorkflowRegistry)) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(files), min, "recorded histories are missing")
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			r := worker.NewWorkflowReplayer()
			register(r)
			require.NoError(t, r.ReplayWorkflowHistoryFromJSONFile(nil, f))
		})
	}
}
