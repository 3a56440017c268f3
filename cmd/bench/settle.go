package main

import (
	"context"
	"time"
)

// A run's work does not end with its last visible result: the Temporal server records the
// closes of the last workflows in visibility after they completed, and the day is "done" once its
// payments are final in Postgres, before their runs even closed. Measured back to back, that
// tail would fall into the next run's CPU window. Each run is followed by a wait until the
// server is idle again, and what the processes spent in it is charged to the run that caused it
// (measured: 0.5 s and 0.01 ms a payment, but the bench no longer has to assume so).
const (
	// quietShare is the Temporal server's CPU, as a share of one core over quietWindow, under
	// which it counts as idle (an idle dev server spends about 1 %).
	quietShare  = 0.1
	quietWindow = 500 * time.Millisecond
	// quietMax bounds the wait; a server that stays busy that long is reported as such.
	quietMax = 60 * time.Second
)

// runTail is the work that followed a run until the Temporal server was idle.
type runTail struct {
	Seconds float64 `json:"seconds"`
	// Quiet is false when the server was still busy after quietMax.
	Quiet bool `json:"quiet"`
	// CPUMsPerPayment is what each measured process spent in the tail, per payment.
	CPUMsPerPayment map[string]float64 `json:"cpu_ms_per_payment"`
}

// awaitQuiet waits until the Temporal server's CPU over the last quietWindow is under quietShare
// of a core, and returns what every measured process spent until then, per payment. Without a
// server process to watch (a stack the bench did not start) there is nothing to wait for.
func awaitQuiet(ctx context.Context, pids map[string]int, database string, payments int) (runTail, error) {
	start := time.Now()
	s0 := snapshotCPU(pids, database)
	pid := pids[procTemporal]
	quiet := pid <= 0
	prev, err := procCPU(pid)
	if err != nil {
		quiet = true
	}
	prevAt := time.Now()
	for !quiet && time.Since(start) < quietMax {
		if err := sleepUntil(ctx, prevAt.Add(quietWindow)); err != nil {
			return runTail{}, err
		}
		cpu, err := procCPU(pid)
		if err != nil {
			break
		}
		now := time.Now()
		quiet = isQuiet(cpu-prev, now.Sub(prevAt))
		prev, prevAt = cpu, now
	}
	use := cpuUse(s0, snapshotCPU(pids, database))
	t := runTail{Seconds: round3(time.Since(start).Seconds()), Quiet: quiet, CPUMsPerPayment: map[string]float64{}}
	for name, s := range use {
		if s > 0 {
			t.CPUMsPerPayment[name] = round3(s * 1000 / float64(payments))
		}
	}
	return t, nil
}

// isQuiet says whether cpu spent over an interval is under quietShare of one core.
func isQuiet(cpu, over time.Duration) bool {
	return over > 0 && cpu.Seconds() < quietShare*over.Seconds()
}

// withTail adds a tail's CPU per payment to a run's; a run without a measured tail (nil) is
// counted as it is.
func withTail(run map[string]float64, t *runTail) map[string]float64 {
	out := map[string]float64{}
	for name, v := range run {
		out[name] += v
	}
	if t != nil {
		for name, v := range t.CPUMsPerPayment {
			out[name] += v
		}
	}
	return out
}
