package payment

import (
	"testing"

	"paysplit/testenv"
)

// TestReplayRecordedHistories replays histories recorded from real runs against the real server
// (api/server's end-to-end tests with RECORD_HISTORY=1) through the current workflow code: every
// code path's, from v0_ on.
func TestReplayRecordedHistories(t *testing.T) {
	testenv.ReplayHistories(t, "testdata", 3, Register)
}
