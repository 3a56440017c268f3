// Command api serves the webhooks, the admin API and the dashboard.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"go.temporal.io/sdk/client"

	"paysplit/activities"
	"paysplit/api/server"
	"paysplit/internal/app"
	"paysplit/internal/config"
	"paysplit/internal/ledger"
	"paysplit/internal/paypalhook"
	"paysplit/internal/secrets"
	"paysplit/internal/store"
	"paysplit/telemetry"
	"paysplit/workflows/payment"
)

func main() {
	cfg := app.MustConfig()
	if len(os.Args) > 1 && os.Args[1] == "healthcheck" {
		// The container image has no shell: its health check runs the program itself.
		if err := telemetry.Probe(context.Background(), cfg.APIAddr); err != nil {
			fmt.Fprintln(os.Stderr, "unhealthy:", err)
			os.Exit(1)
		}
		return
	}
	app.TuneGC(cfg)
	logger := app.Logger()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, logger); err != nil {
		if ctx.Err() != nil && !errors.Is(err, errShutdown) {
			// Asked to stop while still starting (waiting for its database, say): nothing was
			// served yet, so this is a clean stop, not a crash for restart policies to count.
			logger.Info("api stopped during start", "cause", err.Error())
			return
		}
		logger.Error("api stopped", "error", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, cfg config.Config, logger *slog.Logger) error {
	tel, err := telemetry.New(ctx, telemetry.Options{Service: "paysplit-api", OTLPEndpoint: cfg.OTLPEndpoint, Logger: logger})
	if err != nil {
		return err
	}
	defer shutdownTelemetry(tel, logger)
	pool, err := app.Database(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer pool.Close()
	opts, err := tel.ClientOptions(cfg)
	if err != nil {
		return err
	}
	// Lazy: the API starts even while Temporal is down; webhooks get 503 (or wait in the inbox with
	// WEBHOOK_ACK=inbox) until it is back.
	tc, err := client.NewLazyClient(opts)
	if err != nil {
		return err
	}
	defer tc.Close()
	box, err := secrets.New(cfg.SecretsKey)
	if err != nil {
		return err
	}
	st := store.New(pool, store.WithSecrets(box))
	kpis := newKPIs(cfg, st, tc)
	// The sync lag is the worker's business, but the API exports it too: its /metrics still
	// answers when every worker is down, which is when the lag matters.
	if err := telemetry.RegisterKPISyncLag(tel.Registry, st, telemetry.KPISyncLagOptions{SyncEvery: cfg.KPISyncEvery, Logger: logger}); err != nil {
		return err
	}
	links, err := reportLinks(ctx, cfg)
	if err != nil {
		return err
	}
	srv := server.New(server.Deps{
		Pool: pool, Store: st, Ledger: ledger.New(pool), Temporal: tc, TaskQueue: cfg.TaskQueue,
		AdminAPIKey: cfg.AdminAPIKey, StripeWebhookSecret: cfg.StripeWebhookSecret, TemporalUIURL: cfg.TemporalUIURL,
		StripeConnectWebhookSecret: cfg.StripeConnectWebhookSecret,
		Namespace:                  cfg.TemporalNamespace, Logger: logger, Registry: tel.Registry,
		RateLimit: float64(cfg.APIRateLimit), RateBurst: 4 * cfg.APIRateLimit, TrustedProxies: cfg.TrustedProxies,
		SecureCookies: cfg.Env == "production",
		Settings: payment.Settings{EnrichWait: cfg.EnrichWait, SettleWindow: cfg.SettleWindow, DecisionTimeout: cfg.DecisionTimeout, DueRetryEvery: cfg.DueRetryEvery,
			HoldRecheckEvery: cfg.HoldRecheckEvery},
		PayPalVerifier: paypalVerifier(cfg),
		KPIs:           kpis.reader, Visitors: kpis.visitors, GA4CredentialsDir: cfg.GA4CredentialsDir, KPIRefresh: kpis.refresh, OnClientChanged: kpis.schedules.EnsureClient,
		ReportLinks: links, ReportsOff: !cfg.Reports.Enabled(),
		WebhookAck: webhookAck(cfg.WebhookAck),
		Relay:      server.RelayOptions{Parallel: cfg.WebhookRelayParallel},
	})
	// Every request is a span; the webhook's span is the parent of the workflow's.
	srv.Use(telemetry.EchoTracing(tel.TracerProvider))
	stopProfiles, err := telemetry.ServeProfiles(cfg.PprofAddr, logger)
	if err != nil {
		return err
	}
	defer stopProfiles()
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
	if err := srv.Shutdown(shutdown); err != nil {
		return fmt.Errorf("%w: %w", errShutdown, err)
	}
	return nil
}

// errShutdown marks a failure to stop serving, which a stop signal does not excuse.
var errShutdown = errors.New("shut down")

func shutdownTelemetry(tel *telemetry.Telemetry, logger *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := tel.Shutdown(ctx); err != nil {
		logger.Warn("telemetry shutdown", "error", err)
	}
}

func webhookAck(mode string) server.WebhookAck {
	if mode == "inbox" {
		return server.AckOnStore
	}
	return server.AckOnTemporal
}

// paypalVerifier picks how PayPal deliveries are checked; nil (no webhook ID) turns PayPal off.
func paypalVerifier(cfg config.Config) server.PayPalVerifier {
	switch {
	case cfg.PayPalWebhookID == "":
		return nil
	case cfg.PayPalWebhookVerify == "api":
		c, err := activities.NewPayPalClient(cfg.PayPalClientID, cfg.PayPalSecret, cfg.PayPalAPIBase, nil)
		if err != nil {
			return nil // config.Load already required the credentials for this mode
		}
		return server.APIPayPalVerifier{Client: c, WebhookID: cfg.PayPalWebhookID}
	}
	return server.OfflinePayPalVerifier{V: &paypalhook.Verifier{WebhookID: cfg.PayPalWebhookID, Env: paypalhook.EnvironmentOf(cfg.PayPalAPIBase)}}
}
