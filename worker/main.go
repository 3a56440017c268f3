// Command worker runs the Temporal workers: the payment workflow and its activities.
package main

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"

	"paysplit/activities"
	"paysplit/internal/app"
	"paysplit/internal/config"
	"paysplit/internal/ledger"
	"paysplit/internal/store"
	"paysplit/workflows/payment"
)

func main() {
	cfg := app.MustConfig()
	logger := app.Logger()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, logger); err != nil {
		logger.Error("worker stopped", "error", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, cfg config.Config, logger *slog.Logger) error {
	pool, err := app.Database(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer pool.Close()
	c, err := client.DialContext(ctx, client.Options{
		HostPort: cfg.TemporalAddress, Namespace: cfg.TemporalNamespace, Logger: tlog.NewStructuredLogger(logger),
	})
	if err != nil {
		return err
	}
	defer c.Close()
	w := worker.New(c, cfg.TaskQueue, worker.Options{})
	payment.Register(w)
	w.RegisterActivity(&activities.Activities{
		Store:  store.New(pool),
		Ledger: ledger.New(pool),
		Stripe: activities.NewStripeClient(cfg.StripeAPIKey, cfg.StripeAPIBase, nil),
	})
	logger.Info("worker polling", "task_queue", cfg.TaskQueue, "temporal", cfg.TemporalAddress)
	// Stop polling on SIGTERM; in-flight activities get the SDK's stop timeout to finish.
	stopCh := make(chan any)
	go func() { <-ctx.Done(); close(stopCh) }()
	return w.Run(stopCh)
}
