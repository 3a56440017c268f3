package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// The limit run: the same Temporal server running empty workflows that schedule the same
// activities as one payment (same kinds, same order), started with the same count and
// concurrency. What the payment run reaches as a share of it is how much our own code costs.
const (
	limitWorkflowName = "BenchLimitWorkflow"
	limitActivityName = "BenchNoop"
)

// limitWorkflow runs shape: 'R' is a regular activity, 'L' a local one; both do nothing.
func limitWorkflow(ctx workflow.Context, shape string) error {
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 30 * time.Second})
	lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{StartToCloseTimeout: 30 * time.Second})
	for _, k := range shape {
		var err error
		if k == 'L' {
			err = workflow.ExecuteLocalActivity(lctx, noop).Get(ctx, nil)
		} else {
			err = workflow.ExecuteActivity(actx, limitActivityName).Get(ctx, nil)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func noop(context.Context) error { return nil }

// limitResult is what the limit run measured.
type limitResult struct {
	Workflows int     `json:"workflows"`
	Seconds   float64 `json:"seconds"`
	PerSecond float64 `json:"workflows_per_s"`
	// Per limit workflow, on average over the mix of shapes.
	Regular float64 `json:"activities"`
	Local   float64 `json:"local_activities"`
	// CPUMsPerWorkflow is CPU per limit workflow: "temporal" (the server) and "bench" (the
	// in-process limit worker and its starters).
	CPUMsPerWorkflow map[string]float64 `json:"cpu_ms_per_workflow,omitempty"`
	// HistoryBytesPerWorkflow is the encoded size of a limit workflow's history (a sample's
	// mean), beside the payments' history.bytes_per_payment.
	HistoryBytesPerWorkflow float64 `json:"history_bytes_per_workflow"`
}

// runLimit starts n empty workflows from `concurrency` goroutines on an in-process worker with
// default options (as the worker program has), and waits until all of them completed.
// Workflow i runs shapes[i mod len], so the mix is that of the sampled payments. Completion is
// read from visibility every 200 ms.
func runLimit(ctx context.Context, c client.Client, run string, shapes []string, n, concurrency int, pollers string, maxConcurrent int) (limitResult, error) {
	res := limitResult{Workflows: n}
	for i := range n {
		res.Regular += float64(strings.Count(shapes[i%len(shapes)], "R")) / float64(n)
		res.Local += float64(strings.Count(shapes[i%len(shapes)], "L")) / float64(n)
	}
	res.Regular, res.Local = round3(res.Regular), round3(res.Local)
	queue := "bench-limit-" + run
	w := worker.New(c, queue, limitWorkerOptions(pollers, maxConcurrent))
	w.RegisterWorkflowWithOptions(limitWorkflow, workflow.RegisterOptions{Name: limitWorkflowName})
	w.RegisterActivityWithOptions(noop, activity.RegisterOptions{Name: limitActivityName})
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
				i := int(next.Add(1))
				if i > n || ctx.Err() != nil {
					return
				}
				_, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
					ID: fmt.Sprintf("bench-limit-%s-%d", run, i), TaskQueue: queue,
				}, limitWorkflowName, shapes[(i-1)%len(shapes)])
				if err != nil {
					once.Do(func() { startErr = err; cancel() })
					return
				}
			}
		}()
	}
	bar := newProgress("limit", n, start)
	err := awaitLimit(ctx, c, queue, n, bar)
	end := time.Now()
	bar.finish()
	wg.Wait()
	if startErr != nil {
		return res, fmt.Errorf("start limit workflow: %w", startErr)
	}
	if err != nil {
		return res, err
	}
	res.Seconds = end.Sub(start).Seconds()
	res.PerSecond = float64(n) / res.Seconds
	sample := min(n, 20)
	for i := 1; i <= sample; i++ {
		h, err := readHistory(ctx, c, fmt.Sprintf("bench-limit-%s-%d", run, i), "")
		if err != nil {
			return res, err
		}
		res.HistoryBytesPerWorkflow += float64(h.bytes) / float64(sample)
	}
	res.HistoryBytesPerWorkflow = round3(res.HistoryBytesPerWorkflow)
	return res, nil
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

func awaitLimit(ctx context.Context, c client.Client, queue string, n int, bar *progress) error {
	count := func(query string) (int64, error) {
		r, err := c.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Query: query})
		return r.GetCount(), err
	}
	for {
		done, err := count(fmt.Sprintf("TaskQueue = '%s' AND ExecutionStatus = 'Completed'", queue))
		if err != nil {
			return fmt.Errorf("count limit workflows: %w", err)
		}
		bar.set(int(done))
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
