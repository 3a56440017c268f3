package ledger_test

import (
	"context"
	"runtime"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"paysplit/internal/ledger"
	"paysplit/testenv"
)

// Posting benchmarks against the real Postgres of testenv: entries/s is what one payment's
// capture entry (three postings, through the hash chain's lock) costs end to end, allocations
// are the Go side's share. Run them with
//
//	CI=true go test -run '^$' -bench 'BenchmarkPost' -benchtime 2000x ./internal/ledger/

// BenchmarkPost appends single entries one after the other.
func BenchmarkPost(b *testing.B) {
	pool, _ := testenv.Postgres(b)
	l := ledger.New(pool)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := l.Post(ctx, sale(unique("bench-post"), "bench", "v-bench", 10310, 1031)); err != nil {
			b.Fatal(err)
		}
	}
	reportEntriesPerSecond(b)
}

// BenchmarkPostParallel appends single entries from 4 writers per core, each with its own
// connection, as the worker's concurrent activities do. The chain lock serialises the appends,
// so this shows how much of one append is spent outside it.
func BenchmarkPostParallel(b *testing.B) {
	const writersPerCore = 4
	_, url := testenv.Postgres(b)
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		b.Fatal(err)
	}
	cfg.MaxConns = int32(writersPerCore * runtime.GOMAXPROCS(0))
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(pool.Close)
	l := ledger.New(pool)
	b.SetParallelism(writersPerCore)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, _, err := l.Post(context.Background(), sale(unique("bench-par"), "bench", "v-bench", 10310, 1031)); err != nil {
				b.Error(err)
				return
			}
		}
	})
	reportEntriesPerSecond(b)
}

// BenchmarkPostBatch appends what a payment books with its save, a capture and two transfers,
// as one batch (one transaction, one round trip) after the other; an op is one batch.
func BenchmarkPostBatch(b *testing.B) {
	pool, _ := testenv.Postgres(b)
	l := ledger.New(pool)
	ctx := context.Background()
	b.ReportAllocs()
	entries := 0
	for b.Loop() {
		batch := paymentBatch(unique("bench-batch"))
		if _, err := l.PostBatch(ctx, batch); err != nil {
			b.Fatal(err)
		}
		entries += len(batch)
	}
	if s := b.Elapsed().Seconds(); s > 0 {
		b.ReportMetric(float64(entries)/s, "entries/s")
	}
}

func reportEntriesPerSecond(b *testing.B) {
	if s := b.Elapsed().Seconds(); s > 0 {
		b.ReportMetric(float64(b.N)/s, "entries/s")
	}
}
