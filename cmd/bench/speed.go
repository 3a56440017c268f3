package main

import (
	"testing"

	"paysplit/internal/split"
)

// splitComputeNs times split.Compute on the order of split.BenchmarkCompute, before the stack
// starts: the machine's own speed. These machines differ several times over from one day to the
// next, so seconds and latencies compare only between runs whose speed is alike; the ratios
// compare anyway.
func splitComputeNs() float64 {
	o := split.Order{Currency: "usd", Gross: 10310, Subtotal: 10000, Discount: 1000, Tax: 810, Shipping: 500,
		VendorID: "vendor-1", AffiliateID: "aff-1"}
	r := split.Rule{Version: 3, PlatformBps: 1000, AffiliateBps: 250, MinPlatformFee: 30, MaxPlatformFee: 5000}
	res := testing.Benchmark(func(b *testing.B) {
		for b.Loop() {
			if _, err := split.Compute(o, r); err != nil {
				b.Fatal(err)
			}
		}
	})
	if res.N == 0 {
		return 0
	}
	return round3(float64(res.T.Nanoseconds()) / float64(res.N))
}
