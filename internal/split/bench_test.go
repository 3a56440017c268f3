package split

import "testing"

func BenchmarkCompute(b *testing.B) {
	o := Order{Currency: "usd", Gross: 10310, Subtotal: 10000, Discount: 1000, Tax: 810, Shipping: 500,
		VendorID: "vendor-1", AffiliateID: "aff-1"}
	r := Rule{Version: 3, PlatformBps: 1000, AffiliateBps: 250, MinPlatformFee: 30, MaxPlatformFee: 5000}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Compute(o, r); err != nil {
			b.Fatal(err)
		}
	}
}
