package report_test

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/worker"

	"paysplit/workflows/report"
)

// TestReplayRecordedHistories replays histories recorded from real runs on the dev server
// (TestWeeklyReportsEndToEnd with RECORD_HISTORY=1) through the current workflow code. The
// histories from before the wait for the week's last UTC day (no version marker) must replay
// unchanged: a change that alters the workflows' commands without workflow.GetVersion fails here
// before it can break runs in flight.
func TestReplayRecordedHistories(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(files), 3, "recorded histories are missing")
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			r := worker.NewWorkflowReplayer()
			report.Register(r)
			require.NoError(t, r.ReplayWorkflowHistoryFromJSONFile(nil, f))
		})
	}
}
