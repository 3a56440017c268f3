package testenv

import "go.temporal.io/sdk/worker"

// WorkerOptions are the options of every test's in-process worker (testenv/stack's and the
// packages' own): its workflow-task pollers are the worker program's (worker/main.go
// workerOptions, TestStackWorkerPollsAsTheProgram). The SDK's default pollers (two, each choosing the sticky or the normal queue per poll) all poll
// the sticky queue while its last answer said tasks waited there; when that hint was stale they
// stay in that long poll (a minute) and no one polls the normal queue, where every run's first
// workflow task is: a CI run under load left a payment's first run at WorkflowTaskScheduled for
// its whole 60 s bound. Autoscaled pollers keep one poller on each queue.
// (testenv/stack TestAStaleStickyBacklogHintLeavesNewRunsPolled.)
func WorkerOptions() worker.Options {
	return worker.Options{
		WorkflowTaskPollerBehavior: worker.NewPollerBehaviorAutoscaling(worker.PollerBehaviorAutoscalingOptions{}),
	}
}
