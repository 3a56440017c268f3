package main

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	ipayment "paysplit/internal/payment"
	"paysplit/workflows/payment"
)

// TestRollingDeployKeepsTheCurrentVersionServed replays a rolling deploy with worker versioning
// (ECS, minimum healthy 100 %): build v1 runs; the v2 tasks start and are healthy; the v1 tasks
// get SIGTERM and stop; the deploy job's set-current-version comes later, if at all. Each build
// makes itself current once it polls, so a payment captured after v1 stopped is paid at once
// (before, it waited for a worker of v1, which no longer existed), and an old task started late
// leaves the newer build current.
func TestRollingDeployKeepsTheCurrentVersionServed(t *testing.T) {
	queue := "payments-rolling-deploy"
	deployment := "paysplit-rolling-deploy"
	setup := setupProgram(t, queue, "rollco")
	api, bin := setup.api, setup.bin
	env := func(build string) map[string]string {
		return setup.env(map[string]string{"WORKER_BUILD_ID": build, "TEMPORAL_DEPLOYMENT_NAME": deployment})
	}
	h := api.tc.WorkerDeploymentClient().GetHandle(deployment)
	awaitCurrent := func(build string) {
		t.Helper()
		require.EventuallyWithT(t, func(c *assert.CollectT) {
			d, err := h.Describe(context.Background(), client.WorkerDeploymentDescribeOptions{})
			if assert.NoError(c, err) && assert.NotNil(c, d.Info.RoutingConfig.CurrentVersion) {
				assert.Equal(c, build, d.Info.RoutingConfig.CurrentVersion.BuildID)
			}
		}, 60*time.Second, 200*time.Millisecond, "build %s current", build)
	}
	pay := func(pi string) {
		t.Helper()
		api.webhook(t, capture("rollco", pi).Body())
		require.Equal(t, ipayment.StatusPaid, api.result(t, payment.WorkflowID("stripe", pi)).Status)
	}

	// The first versioned build makes itself current, nobody else does.
	v1 := startWorker(t, bin, env("v1"))
	awaitCurrent("v1")
	pay("pi_roll_before")

	// The deploy: v2 starts, then v1 stops; nothing else happens.
	v2 := startWorker(t, bin, env("v2"))
	defer v2.stop(t)
	awaitCurrent("v2")
	v1.stop(t)
	pay("pi_roll_during")

	// An old task started late does not take the work back.
	late := startWorker(t, bin, env("v1"))
	late.waitLog(t, "worker build not made current: a newer build is, or the routing was set after it first polled")
	late.stop(t)
	awaitCurrent("v2")
}
