package main

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestHistorySampleMatchesTheDay: the payments readHistories samples are the limit's work mix
// and history_events_per_payment's base, so they have the day's mix: with the default day
// (`make bench`: BENCH_SEED 1, EVENTS 5000, CLIENTS 40, CONCURRENCY 32, PAYPAL_SHARE 0.2) an
// every-k-th pick took 8 refunded payments in 50 where the day has 5.3 %.
func TestHistorySampleMatchesTheDay(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 0x5eed)) // bench.go: rand.NewPCG(cfg.seed, 0x5eed)
	clients := planClients(rng, 40, "1")
	d := planDay(rng, 5000, clients, "1", time.Now(), 32, 0.2)
	share := func(idx []int, pick func(plannedPayment) bool) float64 {
		k := 0
		for _, i := range idx {
			if pick(d.Payments[i]) {
				k++
			}
		}
		return float64(k) / float64(len(idx))
	}
	all := make([]int, len(d.Payments))
	for i := range all {
		all[i] = i
	}
	sample := historySample(d.Payments, 50)
	require.Len(t, sample, 50)
	seen := map[int]bool{}
	for _, i := range sample {
		require.False(t, seen[i], "payment %d sampled twice", i)
		seen[i] = true
	}
	refunded := func(p plannedPayment) bool { return p.Refunded > 0 }
	paypal := func(p plannedPayment) bool { return p.Provider == providerPayPal }
	assert.InDelta(t, share(all, refunded), share(sample, refunded), 0.02, "refunded payments")
	assert.InDelta(t, share(all, paypal), share(sample, paypal), 0.02, "PayPal payments")
	assert.Len(t, historySample(d.Payments[:10], 50), 10, "a day smaller than the sample is read whole")
}
