package main

import (
	"bufio"
	"cmp"
	"context"
	"fmt"
	"io"
	"maps"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/proto"
)

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat times: 100 on every Linux the bench
// runs on (it is fixed by the kernel ABI, not by CONFIG_HZ).
const clockTicks = 100

// procCPU is a process's user+system CPU time.
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may contain spaces; the fields after its ")" are fixed.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: too few fields", pid)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: bad times", pid)
	}
	return time.Duration(utime+stime) * time.Second / clockTicks, nil
}

// procMemory reads VmRSS and VmHWM (the RSS peak the kernel kept) in KiB.
func procMemory(pid int) (rss, hwm int64, err error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		switch k {
		case "VmRSS":
			rss = n
		case "VmHWM":
			hwm = n
		}
	}
	return rss, hwm, sc.Err()
}

// rssSampler reads a process's RSS every 200 ms.
type rssSampler struct {
	mu      sync.Mutex
	peakKiB int64
	stop    chan struct{}
	done    chan struct{}
}

func sampleRSS(pid int) *rssSampler {
	s := &rssSampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			if rss, _, err := procMemory(pid); err == nil {
				s.mu.Lock()
				s.peakKiB = max(s.peakKiB, rss)
				s.mu.Unlock()
			}
			select {
			case <-t.C:
			case <-s.stop:
				return
			}
		}
	}()
	return s
}

func (s *rssSampler) finish() int64 {
	close(s.stop)
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peakKiB
}

// gauge names one series of a Prometheus text endpoint: a metric, optionally only its samples
// whose labels contain a string.
type gauge struct{ name, labels string }

// gaugeSampler scrapes a Prometheus text endpoint every second and keeps the peak of each gauge
// (summed over the label sets that match).
type gaugeSampler struct {
	mu    sync.Mutex
	peaks map[string]float64
	stop  chan struct{}
	done  chan struct{}
}

func sampleGauges(url string, gauges map[string]gauge) *gaugeSampler {
	g := &gaugeSampler{peaks: map[string]float64{}, stop: make(chan struct{}), done: make(chan struct{})}
	httpc := &http.Client{Timeout: 2 * time.Second}
	go func() {
		defer close(g.done)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			if body, err := scrape(httpc, url); err == nil {
				g.mu.Lock()
				for key, gg := range gauges {
					if v, ok := gaugeValue(strings.NewReader(body), gg.name, gg.labels); ok {
						g.peaks[key] = max(g.peaks[key], v)
					}
				}
				g.mu.Unlock()
			}
			select {
			case <-t.C:
			case <-g.stop:
				return
			}
		}
	}()
	return g
}

func (g *gaugeSampler) finish() map[string]float64 {
	close(g.stop)
	<-g.done
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.peaks
}

func scrape(httpc *http.Client, url string) (string, error) {
	res, err := httpc.Get(url)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return string(b), err
}

// gaugeValue sums the samples of one metric in Prometheus text format whose labels contain
// labels ("" matches all).
func gaugeValue(r io.Reader, name, labels string) (float64, bool) {
	var sum float64
	found := false
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := sc.Text()
		rest, ok := strings.CutPrefix(line, name)
		if !ok || rest == "" || (rest[0] != ' ' && rest[0] != '{') {
			continue
		}
		end := strings.LastIndexByte(rest, '}') + 1
		if !strings.Contains(rest[:end], labels) {
			continue
		}
		f := strings.Fields(rest[end:])
		if len(f) == 0 {
			continue
		}
		if v, err := strconv.ParseFloat(f[0], 64); err == nil {
			sum += v
			found = true
		}
	}
	return sum, found
}

// machineCPU reads the whole machine's busy and total jiffies from /proc/stat.
func machineCPU() (busy, total uint64) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	for i, v := range f[1:] {
		n, _ := strconv.ParseUint(v, 10, 64)
		total += n
		if i != 3 && i != 4 { // idle, iowait
			busy += n
		}
	}
	return busy, total
}

// postgresCPU is the CPU time of the Postgres server processes serving database name, by PID
// (their process titles name the database).
func postgresCPU(name string) map[int]time.Duration {
	out := map[int]time.Duration{}
	if name == "" {
		return out
	}
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		cmd, err := os.ReadFile(d + "/cmdline")
		if err != nil || !strings.HasPrefix(string(cmd), "postgres: ") || !slices.Contains(strings.Fields(string(cmd)), name) {
			continue
		}
		pid, _ := strconv.Atoi(filepath.Base(d))
		if cpu, err := procCPU(pid); err == nil {
			out[pid] = cpu
		}
	}
	return out
}

// cpuSnapshot is the CPU time of every measured process at one moment.
type cpuSnapshot struct {
	procs          map[string]time.Duration
	postgres       map[int]time.Duration
	bench          time.Duration
	busy, total    uint64
	machineReading time.Time
}

func snapshotCPU(pids map[string]int, database string) cpuSnapshot {
	s := cpuSnapshot{procs: map[string]time.Duration{}, postgres: postgresCPU(database), machineReading: time.Now()}
	for name, pid := range pids {
		if pid > 0 {
			if cpu, err := procCPU(pid); err == nil {
				s.procs[name] = cpu
			}
		}
	}
	s.bench, _ = procCPU(os.Getpid())
	s.busy, s.total = machineCPU()
	return s
}

// cpuUse is what each process used between two snapshots, in seconds.
func cpuUse(a, b cpuSnapshot) map[string]float64 {
	out := map[string]float64{}
	for name, cpu := range b.procs {
		out[name] = (cpu - a.procs[name]).Seconds()
	}
	var pg time.Duration
	for pid, cpu := range b.postgres {
		pg += cpu - a.postgres[pid] // a backend that started later began at zero
	}
	out[procPostgres] = pg.Seconds()
	out[procBench] = (b.bench - a.bench).Seconds()
	return out
}

func machineBusyPct(a, b cpuSnapshot) float64 {
	if b.total <= a.total {
		return 0
	}
	return 100 * float64(b.busy-a.busy) / float64(b.total-a.total)
}

// pgRowsWritten sums n_tup_ins + n_tup_upd over the database's tables, with the per-table view.
func pgRowsWritten(ctx context.Context, pool *pgxpool.Pool) (int64, map[string]int64, error) {
	rows, err := pool.Query(ctx, `SELECT relname, n_tup_ins + n_tup_upd FROM pg_stat_user_tables`)
	if err != nil {
		return 0, nil, fmt.Errorf("read pg_stat_user_tables: %w", err)
	}
	defer rows.Close()
	by := map[string]int64{}
	var total int64
	for rows.Next() {
		var name string
		var n int64
		if err := rows.Scan(&name, &n); err != nil {
			return 0, nil, err
		}
		by[name] += n
		total += n
	}
	return total, by, rows.Err()
}

// statsSettle is how long a Postgres 15 session may keep its table statistics before flushing
// them while idle (PGSTAT_IDLE_INTERVAL, 10 s), with a margin.
const statsSettle = 11 * time.Second

// awaitPayments polls the payments table until every planned payment has its final status,
// showing progress; it gives up when none completes for stall. The poll runs on the measured
// Postgres, so it is kept cheap: a count of the day's payments in a final status (one pass over
// the table), and the exact per-payment comparison (an index lookup per payment) only once that
// count says all are there.
func awaitPayments(ctx context.Context, pool *pgxpool.Pool, d day, prefixes []string, stall time.Duration, since time.Time) error {
	ids := make([]string, len(d.Payments))
	want := make([]string, len(d.Payments))
	final := map[string]bool{}
	for i, p := range d.Payments {
		ids[i], want[i] = p.WorkflowID, string(p.WantStatus)
		final[want[i]] = true
	}
	statuses := slices.Sorted(maps.Keys(final))
	bar := newProgress("done", len(ids), since)
	defer bar.finish()
	last, lastChange := -1, time.Now()
	for {
		var done int
		err := pool.QueryRow(ctx, `SELECT count(*) FROM payments WHERE workflow_id LIKE ANY($1) AND status = ANY($2)`,
			likePrefixes(prefixes), statuses).Scan(&done)
		if err == nil && done >= len(ids) {
			err = pool.QueryRow(ctx, `SELECT count(*) FROM payments p JOIN unnest($1::text[], $2::text[]) AS w(id, status)
				ON p.workflow_id = w.id AND p.status = w.status`, ids, want).Scan(&done)
		}
		if err != nil {
			return fmt.Errorf("poll payments: %w", err)
		}
		bar.set(done)
		if done == len(ids) {
			return nil
		}
		if done != last {
			last, lastChange = done, time.Now()
		} else if time.Since(lastChange) > stall {
			return fmt.Errorf("%d of %d payments reached their final status; none more for %s", done, len(ids), stall)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// completions are the times the day's payments were last saved (their final status), by
// workflow ID.
func completions(ctx context.Context, pool *pgxpool.Pool, prefixes []string) (map[string]time.Time, error) {
	rows, err := pool.Query(ctx, `SELECT workflow_id, updated_at FROM payments WHERE workflow_id LIKE ANY($1)`, likePrefixes(prefixes))
	if err != nil {
		return nil, fmt.Errorf("read completion times: %w", err)
	}
	defer rows.Close()
	out := map[string]time.Time{}
	for rows.Next() {
		var id string
		var t time.Time
		if err := rows.Scan(&id, &t); err != nil {
			return nil, err
		}
		out[id] = t
	}
	return out, rows.Err()
}

// slowPayment is one of the payments that took longest from its capture's acknowledgement to
// its final status, with its history: what it waited on.
type slowPayment struct {
	WorkflowID string  `json:"workflow_id"`
	AckedAtS   float64 `json:"capture_acked_at_s"`
	DoneAtS    float64 `json:"done_at_s"`
	// Timeline is every event of every run: milliseconds since the run's first event and type.
	Timeline []string `json:"timeline"`
}

// slowest finds the n payments with the longest time from capture acknowledgement to final
// status and reads their histories.
func slowest(ctx context.Context, c client.Client, d day, got []delivery, done map[string]time.Time, t0 time.Time, n int) ([]slowPayment, error) {
	acked := map[string]time.Duration{}
	for i, ev := range d.Events {
		if ev.Kind == kindCapture {
			acked[d.Payments[ev.Payment].WorkflowID] = got[i].At + got[i].Latency
		}
	}
	var all []slowPayment
	for id, t := range done {
		all = append(all, slowPayment{WorkflowID: id, AckedAtS: round3(acked[id].Seconds()), DoneAtS: round3(t.Sub(t0).Seconds())})
	}
	slices.SortFunc(all, func(a, b slowPayment) int {
		da, db := a.DoneAtS-a.AckedAtS, b.DoneAtS-b.AckedAtS
		switch {
		case da > db:
			return -1
		case da < db:
			return 1
		}
		return strings.Compare(a.WorkflowID, b.WorkflowID)
	})
	all = all[:min(n, len(all))]
	for i := range all {
		runs, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: fmt.Sprintf("WorkflowId = '%s'", all[i].WorkflowID)})
		if err != nil {
			return nil, fmt.Errorf("list runs of %s: %w", all[i].WorkflowID, err)
		}
		for _, ex := range runs.Executions {
			tl, err := timeline(ctx, c, all[i].WorkflowID, ex.GetExecution().GetRunId())
			if err != nil {
				return nil, err
			}
			all[i].Timeline = append(all[i].Timeline, tl...)
		}
	}
	return all, nil
}

func timeline(ctx context.Context, c client.Client, id, runID string) ([]string, error) {
	var out []string
	var first time.Time
	it := c.GetWorkflowHistory(ctx, id, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return nil, fmt.Errorf("history of %s/%s: %w", id, runID, err)
		}
		at := ev.GetEventTime().AsTime()
		if first.IsZero() {
			first = at
		}
		name := strings.TrimPrefix(ev.GetEventType().String(), "EVENT_TYPE_")
		if m := ev.GetMarkerRecordedEventAttributes(); m != nil {
			name += " " + m.GetMarkerName()
		}
		out = append(out, fmt.Sprintf("+%dms %s", at.Sub(first).Milliseconds(), name))
	}
	return out, nil
}

// lastLedgerEntry is when the day's last journal entry was appended.
func lastLedgerEntry(ctx context.Context, pool *pgxpool.Pool, prefixes []string) (time.Time, error) {
	var t *time.Time
	if err := pool.QueryRow(ctx, `SELECT max(created_at) FROM journal_entries WHERE reference LIKE ANY($1)`, likePrefixes(prefixes)).Scan(&t); err != nil {
		return time.Time{}, fmt.Errorf("last ledger entry: %w", err)
	}
	if t == nil {
		return time.Time{}, fmt.Errorf("no journal entries for %v", prefixes)
	}
	return *t, nil
}

// historyStats describes the Temporal histories of a sample of payments.
type historyStats struct {
	Payments int `json:"payments_sampled"`
	Runs     int `json:"runs"`
	// Per payment, over all its runs (refunds after the run closed start a follow-up run).
	EventsPerPayment  float64 `json:"events_per_payment"`
	RegularPerPayment float64 `json:"activities_per_payment"`
	LocalPerPayment   float64 `json:"local_activities_per_payment"`
	// BytesPerPayment is the encoded size of the history events, what the server stores and
	// ships to the worker; BytesByEventType splits it by event type (per payment).
	BytesPerPayment  float64            `json:"bytes_per_payment"`
	BytesByEventType map[string]float64 `json:"bytes_by_event_type"`
	// Shapes are the activity sequences (R regular, L local) of the sampled payments that had
	// one run and no refund, with how many had each.
	Shapes map[string]int `json:"capture_run_shapes"`
	// PaymentShapes are the sampled payments' runs, each run's shape joined by "+" (a refund
	// after the run closed adds a run), with how many payments had each.
	PaymentShapes map[string]int `json:"payment_shapes"`
	// WorkflowTaskFailures counts the sampled runs' failed workflow tasks by cause (UnhandledCommand:
	// an event came while the task ran, so the task is taken again with it; harmless).
	WorkflowTaskFailures map[string]int `json:"workflow_task_failures,omitempty"`
	// UpsertsPerPayment counts the runs' search-attribute upserts (what admins filter on in the
	// Temporal UI), each a visibility update on the server.
	UpsertsPerPayment float64 `json:"upserts_per_payment"`
	// Payloads are the mean sizes of what the runs carried, which the limit with data carries.
	Payloads payloadBytes `json:"payload_bytes"`
	// work is every sampled payment's runs, one shape each: the limit runs them in that mix,
	// so it schedules as many workflows and activities per payment as the day did.
	work [][]string
	// withUpserts is work with each run's upserts in their places (the limit with upserts).
	withUpserts [][]string
}

// payloadBytes are the mean encoded sizes of the runs' payloads: a run's input and its result,
// and a local activity's result (the data of its marker).
type payloadBytes struct {
	InputPerRun         int `json:"input_per_run"`
	LocalActivityResult int `json:"local_activity_result"`
	ResultPerRun        int `json:"result_per_run"`
}

// historySample picks up to n payments of the day for readHistories, in the day's own mix: as
// many of each provider, refunded or not, as their share of the day (largest remainders), spread
// evenly within each. A plain every-k-th pick took 8 refunded payments in 50 from a day with 5 %
// refunded, and the limit, which copies the sample's work, did a tenth more than the day.
func historySample(payments []plannedPayment, n int) []int {
	groups := map[string][]int{}
	for i, p := range payments {
		key := fmt.Sprintf("%s/%t", p.Provider, p.Refunded > 0)
		groups[key] = append(groups[key], i)
	}
	keys := slices.Sorted(maps.Keys(groups))
	n = min(n, len(payments))
	counts := make([]int, len(keys))
	type rest struct{ key, frac int }
	var rests []rest
	given := 0
	for k, key := range keys {
		exact := n * len(groups[key])
		counts[k] = exact / len(payments)
		given += counts[k]
		rests = append(rests, rest{k, exact % len(payments)})
	}
	slices.SortStableFunc(rests, func(a, b rest) int { return cmp.Compare(b.frac, a.frac) })
	for _, r := range rests[:n-given] {
		counts[r.key]++
	}
	var out []int
	for k, key := range keys {
		g := groups[key]
		for j := range counts[k] {
			out = append(out, g[j*len(g)/counts[k]])
		}
	}
	slices.Sort(out)
	return out
}

// readHistories reads every run of up to n payments of the day (historySample).
func readHistories(ctx context.Context, c client.Client, d day, n int) (historyStats, error) {
	var st historyStats
	st.Shapes, st.PaymentShapes = map[string]int{}, map[string]int{}
	var events, regular, local, upserts, bytes int
	var payloads history
	byType := map[string]int{}
	for _, i := range historySample(d.Payments, n) {
		id := d.Payments[i].WorkflowID
		runs, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: fmt.Sprintf("WorkflowId = '%s'", id)})
		if err != nil {
			return st, fmt.Errorf("list runs of %s: %w", id, err)
		}
		if len(runs.Executions) == 0 {
			return st, fmt.Errorf("no run of %s in visibility", id)
		}
		var runShapes, runSteps []string
		for _, ex := range runs.Executions {
			h, err := readHistory(ctx, c, id, ex.GetExecution().GetRunId())
			if err != nil {
				return st, err
			}
			events += h.events
			bytes += h.bytes
			payloads.inputBytes += h.inputBytes
			payloads.localResultBytes += h.localResultBytes
			payloads.resultBytes += h.resultBytes
			for t, b := range h.byType {
				byType[t] += b
			}
			regular += strings.Count(h.shape, "R")
			local += strings.Count(h.shape, "L")
			upserts += strings.Count(h.steps, "U")
			for _, cause := range h.taskFailures {
				if st.WorkflowTaskFailures == nil {
					st.WorkflowTaskFailures = map[string]int{}
				}
				st.WorkflowTaskFailures[cause]++
			}
			st.Runs++
			runShapes, runSteps = append(runShapes, h.shape), append(runSteps, h.steps)
			if len(runs.Executions) == 1 && d.Payments[i].Refunded == 0 {
				st.Shapes[h.shape]++
			}
		}
		st.work, st.withUpserts = append(st.work, runShapes), append(st.withUpserts, runSteps)
		st.PaymentShapes[strings.Join(runShapes, "+")]++
		st.Payments++
	}
	if st.Payments == 0 {
		return st, fmt.Errorf("no payment history to sample")
	}
	st.EventsPerPayment = float64(events) / float64(st.Payments)
	st.RegularPerPayment = float64(regular) / float64(st.Payments)
	st.LocalPerPayment = float64(local) / float64(st.Payments)
	st.UpsertsPerPayment = float64(upserts) / float64(st.Payments)
	st.BytesPerPayment = round3(float64(bytes) / float64(st.Payments))
	st.Payloads = payloadBytes{InputPerRun: payloads.inputBytes / st.Runs, ResultPerRun: payloads.resultBytes / st.Runs}
	if local > 0 {
		st.Payloads.LocalActivityResult = payloads.localResultBytes / local
	}
	st.BytesByEventType = map[string]float64{}
	for t, b := range byType {
		st.BytesByEventType[t] = round3(float64(b) / float64(st.Payments))
	}
	return st, nil
}

type history struct {
	events int
	shape  string
	// steps is shape with the run's search-attribute upserts in their places (U).
	steps string
	// taskFailures are the causes of the run's failed workflow tasks.
	taskFailures []string
	bytes        int
	byType       map[string]int
	// The sizes of the run's input, its local activities' results (summed) and its result.
	inputBytes, localResultBytes, resultBytes int
}

// localActivityMarker is the marker the Go SDK records for each local activity result.
const localActivityMarker = "LocalActivity"

// localActivityResultKey is the marker detail the Go SDK keeps a local activity's result under
// (beside "data", the marker's own record, which an empty local activity has too).
const localActivityResultKey = "result"

func readHistory(ctx context.Context, c client.Client, id, runID string) (history, error) {
	h := history{byType: map[string]int{}}
	var shape, steps strings.Builder
	it := c.GetWorkflowHistory(ctx, id, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return h, fmt.Errorf("history of %s/%s: %w", id, runID, err)
		}
		h.events++
		size := proto.Size(ev)
		h.bytes += size
		h.byType[strings.TrimPrefix(ev.GetEventType().String(), "EVENT_TYPE_")] += size
		switch ev.GetEventType() {
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
			shape.WriteByte('R')
			steps.WriteByte('R')
		case enumspb.EVENT_TYPE_MARKER_RECORDED:
			if m := ev.GetMarkerRecordedEventAttributes(); m.GetMarkerName() == localActivityMarker {
				shape.WriteByte('L')
				steps.WriteByte('L')
				h.localResultBytes += proto.Size(m.GetDetails()[localActivityResultKey])
			}
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
			h.inputBytes += proto.Size(ev.GetWorkflowExecutionStartedEventAttributes().GetInput())
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
			h.resultBytes += proto.Size(ev.GetWorkflowExecutionCompletedEventAttributes().GetResult())
		case enumspb.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
			steps.WriteByte('U')
		case enumspb.EVENT_TYPE_WORKFLOW_TASK_FAILED:
			h.taskFailures = append(h.taskFailures, ev.GetWorkflowTaskFailedEventAttributes().GetCause().String())
		}
	}
	h.shape, h.steps = shape.String(), steps.String()
	return h, nil
}

// percentile is the nearest-rank percentile of sorted values.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	return sorted[min(max(rank, 0), len(sorted)-1)]
}

func ms(d time.Duration) float64 { return math.Round(float64(d)/float64(time.Millisecond)*100) / 100 }

func nproc() int { return runtime.NumCPU() }

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

// serverCounters are the Temporal server's counters serverRequests reads, each under the name
// it is reported by and the labels that name a row.
var serverCounters = []struct{ metric, key, label1, label2 string }{
	{"service_requests", "", "service_name", "operation"},                 // gRPC requests served
	{"persistence_requests", "persistence ", "service_name", "operation"}, // calls to its store
	{"visibility_persistence_requests", "visibility ", "", "operation"},   // to its visibility store
	{"task_requests", "task ", "service_name", "operation"},               // history's queue tasks run
	{"poll_success", "poll_success ", "", "task_type"},                    // polls given a task
	{"poll_success_sync", "poll_success_sync ", "", "task_type"},          // ... handed over without storing it
	{"poll_timeouts", "poll_timeouts ", "", "task_type"},                  // polls that got nothing
}

// serverRequests reads a Temporal server's request counters from its /metrics (serverCounters):
// "frontend StartWorkflowExecution", "persistence history UpdateWorkflowExecution", ... Between
// two readings they say what work a run asked of the server, where CPU alone says only how much.
func serverRequests(url string) (map[string]float64, error) {
	body, err := scrape(&http.Client{Timeout: 5 * time.Second}, url)
	if err != nil {
		return nil, fmt.Errorf("read the Temporal server's metrics: %w", err)
	}
	out := map[string]float64{}
	for line := range strings.Lines(body) {
		name, rest, ok := strings.Cut(line, "{")
		if !ok {
			continue
		}
		labels, value, ok := strings.Cut(rest, "} ")
		if !ok {
			continue
		}
		for _, c := range serverCounters {
			if name != c.metric {
				continue
			}
			v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
			if err != nil {
				break
			}
			l := promLabels(labels)
			key := c.key + l[c.label2]
			if c.label1 != "" {
				key = c.key + l[c.label1] + " " + l[c.label2]
			}
			out[key] += v
		}
	}
	return out, nil
}

// promLabels parses `a="x",b="y"`; Temporal's label values hold no quotes or commas.
func promLabels(s string) map[string]string {
	out := map[string]string{}
	for kv := range strings.SplitSeq(s, ",") {
		k, v, ok := strings.Cut(kv, "=")
		if ok {
			out[k] = strings.Trim(v, `"`)
		}
	}
	return out
}

// requestsPerPayment is the requests between two readings of serverRequests, per payment,
// leaving out those under one a payment in a thousand (health checks, namespace lookups).
func requestsPerPayment(before, after map[string]float64, payments int) map[string]float64 {
	out := map[string]float64{}
	for k, v := range after {
		per := (v - before[k]) / float64(payments)
		if per >= 0.001 {
			out[k] = round3(per)
		}
	}
	return out
}
