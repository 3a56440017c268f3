// Command api serves the webhooks, the admin API and the dashboard.
package main

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"

	"paysplit/api/server"
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
		logger.Error("api stopped", "error", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, cfg config.Config, logger *slog.Logger) error {
	pool, err := app.Database(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer pool.Close()
	// Lazy: the API starts even while Temporal is down, and answers webhooks 503 until it is back.
	tc, err := client.NewLazyClient(client.Options{
		HostPort: cfg.TemporalAddress, Namespace: cfg.TemporalNamespace, Logger: tlog.NewStructuredLogger(logger),
	})
	if err != nil {
		return err
	}
	defer tc.Close()
	srv := server.New(server.Deps{
		Pool: pool, Store: store.New(pool), Ledger: ledger.New(pool), Temporal: tc, TaskQueue: cfg.TaskQueue,
		AdminAPIKey: cfg.AdminAPIKey, StripeWebhookSecret: cfg.StripeWebhookSecret, TemporalUIURL: cfg.TemporalUIURL,
		Namespace: cfg.TemporalNamespace, Logger: logger,
		Settings: payment.Settings{EnrichWait: cfg.EnrichWait, SettleWindow: cfg.SettleWindow, DecisionTimeout: cfg.DecisionTimeout},
	})
	errc := make(chan error, 1)
	go func() {
		logger.Info("api listening", "addr", cfg.APIAddr)
		errc <- srv.Start(cfg.APIAddr)
	}()
	select {
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	return srv.Shutdown(shutdown)
}
