package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"paysplit/internal/store"
	"paysplit/testenv"
)

// BenchmarkAcceptEvent is what a webhook acknowledgement costs the database with WEBHOOK_ACK=inbox:
// one insert of the reduced event (leased to the API that took it), committed, from 32 concurrent
// requests as the API serves them in the benchmark day's burst: each in its own statement
// ("alone") or through the API's InboxWriter ("writer": what waited together is committed
// together). Run with
//
//	CI=true go test -run '^$' -bench BenchmarkAcceptEvent -benchtime 8000x ./internal/store/
func BenchmarkAcceptEvent(b *testing.B) {
	pool, _ := testenv.Postgres(b)
	s := store.New(pool)
	w := s.NewInboxWriter(2, 128, 0)
	b.Cleanup(w.Close)
	for _, c := range []struct {
		name   string
		accept func(context.Context, store.InboxEvent, time.Duration) (int64, bool, error)
	}{{"alone", s.AcceptEvent}, {"writer", w.Accept}} {
		b.Run(c.name, func(b *testing.B) { benchmarkAccept(b, c.accept) })
	}
}

func benchmarkAccept(b *testing.B, accept func(context.Context, store.InboxEvent, time.Duration) (int64, bool, error)) {
	event := json.RawMessage(`{"ID":"evt","Kind":"capture","Amount":11000,"Currency":"usd","Metadata":{"client_id":"shop","order_id":"1001","vendor_id":"v","subtotal":"10000","tax":"800","shipping":"500","discount":"300"}}`)
	run := time.Now().UnixNano()
	var n atomic.Int64
	b.SetParallelism(16)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			id := fmt.Sprintf("evt_bench_%d_%d", run, n.Add(1))
			if _, first, err := accept(context.Background(), store.InboxEvent{Provider: "stripe", EventID: id, PaymentID: id,
				TaskQueue: "bench", Event: event}, 30*time.Second); err != nil || !first {
				b.Errorf("accept %s: first=%v err=%v", id, first, err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
