package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/protobuf/proto"

	"paysplit/workflows/searchattr"
)

// The limit run: a Temporal server like the day's (the same binary and flags, fresh as the day's
// was when the day began; see env.freshTemporal) running empty workflows that schedule the same
// activities as the day's payments (same kinds, same order, as many runs per payment: a refund
// after its payment's run closed starts a run of its own), for as many payments and at the same
// concurrency. What the payment run reaches as a share of it is how much our own code costs.
const (
	limitWorkflowName     = "BenchLimitWorkflow"
	limitDataWorkflowName = "BenchLimitDataWorkflow"
	limitActivityName     = "BenchNoop"
)

// limitWorkflow runs shape: 'R' is a regular activity, 'L' a local one; both do nothing. 'U'
// (what-if runs only: a payment's history is never read as one) upserts the search attributes a
// payment sets after its split, to measure what that one visibility update costs the server.
func limitWorkflow(ctx workflow.Context, shape string) error {
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 30 * time.Second})
	lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{StartToCloseTimeout: 30 * time.Second})
	for _, k := range shape {
		var err error
		switch k {
		case 'U':
			err = workflow.UpsertTypedSearchAttributes(ctx,
				searchattr.ClientID.ValueSet("client-07"), searchattr.VendorID.ValueSet("vendor-07-1"),
				searchattr.OrderID.ValueSet("order-123456"), searchattr.AmountMinor.ValueSet(12345),
				searchattr.Currency.ValueSet("USD"), searchattr.PaymentStatus.ValueSet("paid"))
		case 'L':
			err = workflow.ExecuteLocalActivity(lctx, noop).Get(ctx, nil)
		default:
			err = workflow.ExecuteActivity(actx, limitActivityName).Get(ctx, nil)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func noop(context.Context) error { return nil }

// limitData is what a limit run's workflows carry: nothing in the plain limit (the empty
// workflow); in the limit with data, payloads as large as the day's runs carried on average
// (historyStats.Payloads): an input, each local activity's result, a result. The server stores,
// copies and ships those bytes for every payment, and the empty workflow leaves them out.
type limitData struct {
	InputBytes, LocalResultBytes, ResultBytes int
}

func (d limitData) none() bool { return d == limitData{} }

// dataOf is the limit's data for the day's mean payload sizes: each filler is as long as makes
// its payload (with the encoding's metadata, and for the input the shape and sizes that ride
// along) as large as the day's.
func dataOf(p payloadBytes) limitData {
	alone := func(n int) []any { return []any{fillerOf(n)} }
	d := limitData{LocalResultBytes: fillerLen(p.LocalActivityResult, alone), ResultBytes: fillerLen(p.ResultPerRun, alone)}
	d.InputBytes = fillerLen(p.InputPerRun, func(n int) []any { return []any{"LLLLLL", fillerOf(n), d} })
	return d
}

// fillerLen is the longest filler whose payloads (values(n) encoded) are at most target bytes:
// the encoding adds metadata and length prefixes that grow with the filler.
func fillerLen(target int, values func(n int) []any) int {
	size := func(n int) int {
		ps, err := converter.GetDefaultDataConverter().ToPayloads(values(n)...)
		if err != nil {
			return target
		}
		return proto.Size(ps)
	}
	n := max(0, target-size(0))
	for n > 0 && size(n) > target {
		n--
	}
	return n
}

// limitDataWorkflow is limitWorkflow carrying data: input is its payload, each local activity
// returns a payload of d.LocalResultBytes, and it returns one of d.ResultBytes.
func limitDataWorkflow(ctx workflow.Context, shape, input string, d limitData) (string, error) {
	lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{StartToCloseTimeout: 30 * time.Second})
	for _, k := range shape {
		if k != 'L' {
			if err := limitWorkflow(ctx, string(k)); err != nil {
				return "", err
			}
			continue
		}
		var out string
		if err := workflow.ExecuteLocalActivity(lctx, filler, d.LocalResultBytes).Get(ctx, &out); err != nil {
			return "", err
		}
	}
	return fillerOf(d.ResultBytes), nil
}

// filler is the local activity of the limit with data: it returns n bytes and does nothing else.
func filler(_ context.Context, n int) (string, error) { return fillerOf(n), nil }

// fillerOf is n bytes of hex from a fixed seed: text that compresses about as far as the day's
// JSON (gRPC compression is on), where a run of one letter would shrink to nothing on the wire.
func fillerOf(n int) string {
	if n <= 0 {
		return ""
	}
	rng := rand.New(rand.NewPCG(uint64(n), 0xf111))
	b := make([]byte, n)
	const hexDigits = "0123456789abcdef"
	for i := range b {
		b[i] = hexDigits[rng.IntN(16)]
	}
	return string(b)
}

// limitResult is what the limit run measured.
type limitResult struct {
	// Payments is how many payments' worth of runs the limit ran: Workflows in all.
	Payments  int     `json:"payments"`
	Workflows int     `json:"workflows"`
	Seconds   float64 `json:"seconds"`
	// PerSecond is payments' worth per second, what ratio_to_limit divides by.
	PerSecond          float64 `json:"payments_per_s"`
	WorkflowsPerSecond float64 `json:"workflows_per_s"`
	// Per payment, over the mix of sampled payments (the day's history.activities_per_payment
	// and local_activities_per_payment).
	Regular float64 `json:"activities_per_payment"`
	Local   float64 `json:"local_activities_per_payment"`
	// CPUMsPerPayment is CPU per payment's worth of limit workflows: "temporal" (the server) and
	// "bench" (the in-process limit worker and its starters).
	CPUMsPerPayment map[string]float64 `json:"cpu_ms_per_payment,omitempty"`
	// Tail is the work after the last limit workflow was seen completed until the server was
	// idle, counted in the CPU ratio as the day's tail is.
	Tail *runTail `json:"tail,omitempty"`
	// HistoryBytesPerWorkflow is the encoded size of a limit workflow's history (a sample's
	// mean), beside the payments' history.bytes_per_payment.
	HistoryBytesPerWorkflow float64 `json:"history_bytes_per_workflow"`
	// ServerRequestsPerPayment is what the run asked of its server, as the day's
	// server_requests_per_payment.
	ServerRequestsPerPayment map[string]float64 `json:"server_requests_per_payment,omitempty"`
}

// cpuMsPerPayment is the limit run's CPU per payment's worth, every process and its tail.
func (l limitResult) cpuMsPerPayment() float64 {
	return sumValues(withTail(l.CPUMsPerPayment, l.Tail))
}

// limitSummary is one of the limit runs (-limit-runs), the fastest of which is the limit.
type limitSummary struct {
	PerSecond       float64 `json:"payments_per_s"`
	Seconds         float64 `json:"seconds"`
	CPUMsPerPayment float64 `json:"cpu_ms_per_payment"`
}

// limitRun is one limit workflow: its ID and the shape it runs.
type limitRun struct{ id, shape string }

// limitRuns lays out n payments' worth of limit workflows: payment i runs the runs of
// work[i mod len], so the mix is that of the sampled payments.
func limitRuns(run string, work [][]string, n int) []limitRun {
	var out []limitRun
	for i := range n {
		for j, shape := range work[i%len(work)] {
			out = append(out, limitRun{id: fmt.Sprintf("bench-limit-%s-%d-%d", run, i+1, j), shape: shape})
		}
	}
	return out
}

// runLimit starts n payments' worth of empty workflows (limitRuns) from `concurrency`
// goroutines on an in-process worker with default options (as the worker program has), and waits
// until all of them completed. The run ends when the last workflow's code returned, as the day
// ends with its last journal entry, the last step inside a payment's run; the worker counts the
// returns itself, so nothing polls the server meanwhile. Visibility then confirms that every one
// of them completed.
func runLimit(ctx context.Context, c client.Client, run string, work [][]string, data limitData, n, concurrency int, pollers string, maxConcurrent int) (limitResult, error) {
	runs := limitRuns(run, work, n)
	res := limitResult{Payments: n, Workflows: len(runs)}
	for _, r := range runs {
		res.Regular += float64(strings.Count(r.shape, "R")) / float64(n)
		res.Local += float64(strings.Count(r.shape, "L")) / float64(n)
	}
	res.Regular, res.Local = round3(res.Regular), round3(res.Local)
	queue := "bench-limit-" + run
	w := worker.New(c, queue, limitWorkerOptions(pollers, maxConcurrent))
	finished := newReturns(len(runs))
	w.RegisterWorkflowWithOptions(func(ctx workflow.Context, shape string) error {
		err := limitWorkflow(ctx, shape)
		finished.returned(ctx, err)
		return err
	}, workflow.RegisterOptions{Name: limitWorkflowName})
	w.RegisterWorkflowWithOptions(func(ctx workflow.Context, shape, input string, d limitData) (string, error) {
		out, err := limitDataWorkflow(ctx, shape, input, d)
		finished.returned(ctx, err)
		return out, err
	}, workflow.RegisterOptions{Name: limitDataWorkflowName})
	w.RegisterActivityWithOptions(noop, activity.RegisterOptions{Name: limitActivityName})
	startOne := limitStarter(data)
	if err := w.Start(); err != nil {
		return res, fmt.Errorf("limit worker: %w", err)
	}
	defer w.Stop()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	start := time.Now()
	var next atomic.Int64
	var startErr error
	var once sync.Once
	var wg sync.WaitGroup
	for range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(runs) || ctx.Err() != nil {
					return
				}
				_, err := startOne(ctx, c, client.StartWorkflowOptions{ID: runs[i].id, TaskQueue: queue}, runs[i].shape)
				if err != nil {
					once.Do(func() { startErr = err; cancel() })
					return
				}
			}
		}()
	}
	bar := newProgress("limit", len(runs), start)
	end, err := finished.wait(ctx, bar)
	bar.finish()
	if err == nil {
		err = awaitLimit(ctx, c, queue, len(runs))
	}
	wg.Wait()
	if startErr != nil {
		return res, fmt.Errorf("start limit workflow: %w", startErr)
	}
	if err != nil {
		return res, err
	}
	res.Seconds = end.Sub(start).Seconds()
	res.PerSecond = float64(n) / res.Seconds
	res.WorkflowsPerSecond = float64(len(runs)) / res.Seconds
	sample := min(len(runs), 20)
	for _, r := range runs[:sample] {
		h, err := readHistory(ctx, c, r.id, "")
		if err != nil {
			return res, err
		}
		res.HistoryBytesPerWorkflow += float64(h.bytes) / float64(sample)
	}
	res.HistoryBytesPerWorkflow = round3(res.HistoryBytesPerWorkflow)
	return res, nil
}

// limitStarter starts one limit workflow: the empty one, or with data the one that carries it,
// its input built here once, before the clock starts.
func limitStarter(data limitData) func(context.Context, client.Client, client.StartWorkflowOptions, string) (client.WorkflowRun, error) {
	if data.none() {
		return func(ctx context.Context, c client.Client, o client.StartWorkflowOptions, shape string) (client.WorkflowRun, error) {
			return c.ExecuteWorkflow(ctx, o, limitWorkflowName, shape)
		}
	}
	input := fillerOf(data.InputBytes)
	return func(ctx context.Context, c client.Client, o client.StartWorkflowOptions, shape string) (client.WorkflowRun, error) {
		return c.ExecuteWorkflow(ctx, o, limitDataWorkflowName, shape, input, data)
	}
}

// limitWorkerOptions are the worker program's concurrency bounds (maxConcurrent workflow tasks
// and (local) activities at once; 0 leaves the SDK's defaults) and the pollers -limit-pollers
// says it polls with; nothing else differs from the SDK's defaults.
func limitWorkerOptions(pollers string, maxConcurrent int) worker.Options {
	var o worker.Options
	if maxConcurrent > 0 {
		o.MaxConcurrentWorkflowTaskExecutionSize = maxConcurrent
		o.MaxConcurrentLocalActivityExecutionSize = maxConcurrent
		o.MaxConcurrentActivityExecutionSize = maxConcurrent
	}
	switch n, err := strconv.Atoi(pollers); {
	case pollers == "autoscale":
		o.WorkflowTaskPollerBehavior = worker.NewPollerBehaviorAutoscaling(worker.PollerBehaviorAutoscalingOptions{})
		o.ActivityTaskPollerBehavior = worker.NewPollerBehaviorAutoscaling(worker.PollerBehaviorAutoscalingOptions{})
	case err == nil && n > 0:
		o.MaxConcurrentWorkflowTaskPollers, o.MaxConcurrentActivityTaskPollers = n, n
	}
	return o
}

// returns counts the limit workflows whose code returned, each once (a workflow task that fails
// after its code returned runs it again).
type returns struct {
	mu   sync.Mutex
	ids  map[string]bool
	n    int
	last time.Time
	all  chan struct{}
}

func newReturns(n int) *returns {
	return &returns{ids: map[string]bool{}, n: n, all: make(chan struct{})}
}

func (r *returns) add(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ids[id] {
		return
	}
	r.ids[id] = true
	r.last = time.Now()
	if len(r.ids) == r.n {
		close(r.all)
	}
}

// returned counts the workflow of ctx once its code returned without error (not on replay).
func (r *returns) returned(ctx workflow.Context, err error) {
	if err == nil && !workflow.IsReplaying(ctx) {
		r.add(workflow.GetInfo(ctx).WorkflowExecution.ID)
	}
}

func (r *returns) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.ids)
}

// limitStall is how long the limit run may go without a workflow returning before it is given up.
const limitStall = 60 * time.Second

// wait returns when every workflow's code returned, and when the last one did.
func (r *returns) wait(ctx context.Context, bar *progress) (time.Time, error) {
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	seen, since := -1, time.Now()
	for {
		select {
		case <-r.all:
			bar.set(r.n)
			r.mu.Lock()
			defer r.mu.Unlock()
			return r.last, nil
		case now := <-tick.C:
			n := r.count()
			bar.set(n)
			if n != seen {
				seen, since = n, now
			} else if now.Sub(since) > limitStall {
				return time.Time{}, fmt.Errorf("limit run stalled: %d of %d workflows returned, none for %s", n, r.n, limitStall)
			}
		case <-ctx.Done():
			return time.Time{}, errors.Join(errors.New("limit run interrupted"), ctx.Err())
		}
	}
}

// awaitLimit waits until visibility shows all n limit workflows completed, and fails when any
// ended otherwise.
func awaitLimit(ctx context.Context, c client.Client, queue string, n int) error {
	count := func(query string) (int64, error) {
		r, err := c.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Query: query})
		return r.GetCount(), err
	}
	for {
		done, err := count(fmt.Sprintf("TaskQueue = '%s' AND ExecutionStatus = 'Completed'", queue))
		if err != nil {
			return fmt.Errorf("count limit workflows: %w", err)
		}
		if done >= int64(n) {
			return nil
		}
		failed, err := count(fmt.Sprintf("TaskQueue = '%s' AND ExecutionStatus != 'Running' AND ExecutionStatus != 'Completed'", queue))
		if err != nil {
			return fmt.Errorf("count limit workflows: %w", err)
		}
		if failed > 0 {
			return fmt.Errorf("%d limit workflows did not complete", failed)
		}
		select {
		case <-ctx.Done():
			return errors.Join(errors.New("limit run interrupted"), ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}
