package testenv

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/activity"
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

// Recorder is a worker on a task queue of its own, for a TestRecordHistories that runs a
// package's workflows on the dev server against canned activities and writes their histories
// as testdata/<Prefix><name>.json.
type Recorder struct {
	Prefix string // RECORD_HISTORY: the recorded files' name prefix
	Client client.Client
	Queue  string
	Worker worker.Worker
}

// NewRecorder skips the test unless RECORD_HISTORY names a file prefix (recording only), and
// otherwise gives a worker on a fresh queue named after name with the workflows register
// registers. Register canned activities with Activity, then Start it.
func NewRecorder(t *testing.T, name string, register func(worker.WorkflowRegistry)) *Recorder {
	t.Helper()
	prefix := os.Getenv("RECORD_HISTORY")
	if prefix == "" {
		t.Skip("records histories only with RECORD_HISTORY=<file prefix>")
	}
	c := TemporalClient(t)
	queue := name + "-record-" + time.Now().Format("150405.000")
	w := worker.New(c, queue, worker.Options{})
	register(w)
	return &Recorder{Prefix: prefix, Client: c, Queue: queue, Worker: w}
}

// Activity registers fn as the activity the workflows call by name.
func (r *Recorder) Activity(name string, fn any) {
	r.Worker.RegisterActivityWithOptions(fn, activity.RegisterOptions{Name: name})
}

// Start starts the worker, stopped when the test ends.
func (r *Recorder) Start(t *testing.T) {
	t.Helper()
	require.NoError(t, r.Worker.Start())
	t.Cleanup(r.Worker.Stop)
}

// Record writes the latest run of workflow id as testdata/<Prefix><name>.
func (r *Recorder) Record(t *testing.T, id, name string) {
	t.Helper()
	RecordHistory(t, r.Client, id, r.Prefix+name)
}
