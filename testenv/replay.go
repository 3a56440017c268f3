package testenv

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"google.golang.org/protobuf/encoding/protojson"
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

// HistoryJSON is the latest run of workflow id as JSON, the format ReplayHistories reads.
func HistoryJSON(t testing.TB, c client.Client, id string) []byte {
	t.Helper()
	it := c.GetWorkflowHistory(context.Background(), id, "", false, 0)
	h := &historypb.History{}
	for it.HasNext() {
		ev, err := it.Next()
		require.NoError(t, err)
		h.Events = append(h.Events, ev)
	}
	b, err := protojson.MarshalOptions{Indent: "  "}.Marshal(h)
	require.NoError(t, err)
	return b
}

// RecordHistory writes the latest run of workflow id to testdata/name, for ReplayHistories.
func RecordHistory(t testing.TB, c client.Client, id, name string) {
	t.Helper()
	require.NoError(t, os.WriteFile(filepath.Join("testdata", name), HistoryJSON(t, c, id), 0o644))
}
