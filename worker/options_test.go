package main

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"paysplit/internal/config"
)

// TestWorkerOptionsTheConfigTakes: every WORKER_MAX_CONCURRENT the configuration takes makes a
// worker; one the SDK cannot run with is refused at load, with the one line naming it, not a
// panic in worker.New after the migrations ran and the schedules were touched.
func TestWorkerOptionsTheConfigTakes(t *testing.T) {
	// A lazy client dials nothing: worker.New checks its options without a server.
	c, err := client.NewLazyClient(client.Options{HostPort: "127.0.0.1:1"})
	require.NoError(t, err)
	t.Cleanup(c.Close)
	for _, v := range []string{"1", "2", "3", "64", "1000"} {
		t.Run(v, func(t *testing.T) {
			cfg, err := config.LoadFrom(func(k string) string {
				if k == "WORKER_MAX_CONCURRENT" {
					return v
				}
				return ""
			})
			if err != nil {
				require.ErrorContains(t, err, "config: WORKER_MAX_CONCURRENT is malformed")
				return
			}
			var panicked any
			func() {
				defer func() { panicked = recover() }()
				w := worker.New(c, "options-test", workerOptions(cfg))
				_ = w
			}()
			require.Nil(t, panicked, "WORKER_MAX_CONCURRENT=%s is taken by the config but the worker cannot start: %v", v, fmt.Sprint(panicked))
		})
	}
}
