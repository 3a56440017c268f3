package report_test

import (
	"testing"

	"paysplit/testenv"
	"paysplit/workflows/report"
)

// TestReplayRecordedHistories replays histories recorded from real runs on the dev server
// (TestWeeklyReportsEndToEnd with RECORD_HISTORY=1) through the current workflow code. The
// histories from before the wait for the week's last UTC day (no version marker) must replay
// unchanged.
func TestReplayRecordedHistories(t *testing.T) {
	testenv.ReplayHistories(t, "testdata", 3, report.Register)
}
