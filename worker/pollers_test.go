package main

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"paysplit/internal/config"
	"paysplit/testenv/stack"
)

// TestStackWorkerPollsAsTheProgram: the tests' in-process worker (testenv/stack) polls workflow
// tasks as this program does. With the SDK's default pollers instead, a test's stack could leave
// a new run's first workflow task unpolled for a minute under load, which the program never does
// (stack.WorkerOptions says how).
func TestStackWorkerPollsAsTheProgram(t *testing.T) {
	program := workerOptions(config.Config{WorkerMaxConcurrent: config.DefaultWorkerMaxConcurrent}).WorkflowTaskPollerBehavior
	require.NotNil(t, program)
	require.Equal(t, fmt.Sprintf("%T", program), fmt.Sprintf("%T", stack.WorkerOptions().WorkflowTaskPollerBehavior),
		"the stack's worker polls workflow tasks as the worker program does")
}
