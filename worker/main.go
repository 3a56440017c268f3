// Command worker runs the Temporal workers: the payment workflow and its activities. Next to
// them it serves /metrics, /healthz and /readyz on WORKER_HTTP_ADDR.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"paysplit/activities"
	"paysplit/internal/app"
	"paysplit/internal/config"
	"paysplit/internal/kpi/ga4"
	"paysplit/internal/kpi/kpisrc"
	"paysplit/internal/ledger"
	"paysplit/internal/store"
	"paysplit/telemetry"
	"paysplit/workflows/integrity"
	"paysplit/workflows/kpisync"
	"paysplit/workflows/payment"
	"paysplit/workflows/reconcile"
)

// backlogInterval is how often the worker publishes its task queue's backlog: the scale-out
// signal, read by the autoscaler about once a minute.
const backlogInterval = 15 * time.Second

func main() {
	cfg := app.MustConfig()
	if len(os.Args) > 1 && os.Args[1] == "healthcheck" {
		// The container image has no shell: its health check runs the program itself.
		if err := telemetry.Probe(context.Background(), cfg.WorkerHTTPAddr); err != nil {
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
		if ctx.Err() != nil {
			// Asked to stop while still starting: nothing was running yet, so this is a clean stop.
			logger.Info("worker stopped during start", "cause", err.Error())
			return
		}
		logger.Error("worker stopped", "error", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, cfg config.Config, logger *slog.Logger) error {
	tel, err := telemetry.New(ctx, telemetry.Options{Service: "paysplit-worker", OTLPEndpoint: cfg.OTLPEndpoint, Logger: logger})
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
	c, err := client.DialContext(ctx, opts)
	if err != nil {
		return fmt.Errorf("dial temporal %s: %w", cfg.TemporalAddress, err)
	}
	defer c.Close()

	stopOps, err := telemetry.Serve("worker http", cfg.WorkerHTTPAddr, telemetry.OpsHandler(tel.Registry, logger, pool, c), logger)
	if err != nil {
		return err
	}
	defer stopOps()
	stopProfiles, err := telemetry.ServeProfiles(cfg.PprofAddr, logger)
	if err != nil {
		return err
	}
	defer stopProfiles()
	go tel.WatchBacklog(ctx, c, cfg.TemporalNamespace, cfg.TaskQueue, backlogInterval)

	worker.SetStickyWorkflowCacheSize(cfg.WorkerStickyCache)
	w := worker.New(c, cfg.TaskQueue, workerOptions(cfg))
	payment.Register(w)
	acts := &activities.Activities{
		Store:   store.New(pool),
		Ledger:  ledger.New(pool),
		Stripe:  activities.NewStripeClient(cfg.StripeAPIKey, cfg.StripeAPIBase, nil),
		Metrics: tel.Metrics,
		Runs:    activities.TemporalRuns{Client: c, SavedQuery: payment.QuerySaved},
	}
	if cfg.PayPalClientID != "" {
		if acts.PayPal, err = activities.NewPayPalClient(cfg.PayPalClientID, cfg.PayPalSecret, cfg.PayPalAPIBase, nil); err != nil {
			return err
		}
	}
	w.RegisterActivity(acts)
	reconcile.Register(w)
	w.RegisterActivity(&activities.Reconciler{Store: acts.Store, Stripe: acts.Stripe, PayPal: acts.PayPal})
	if err := reconcile.EnsureSchedule(ctx, c, cfg.TaskQueue); err != nil {
		return fmt.Errorf("reconciliation schedule: %w", err)
	}
	integrity.Register(w)
	integrityActs := activities.NewIntegrity(pool, activities.AlertChannels{
		WebhookURL: cfg.AlertWebhookURL, WebhookSecret: cfg.AlertWebhookSecret, SMTPAddr: cfg.SMTPAddr,
		SMTPUsername: cfg.SMTPUsername, SMTPPassword: cfg.SMTPPassword, EmailFrom: cfg.AlertEmailFrom, EmailTo: cfg.AlertEmailTo,
		TemporalUIURL: cfg.TemporalUIURL, TemporalNamespace: cfg.TemporalNamespace,
	})
	// kpi_sync_stale holds a client without its own sync period to two of the deployment's.
	integrityActs.Monitors.KPISyncEvery = cfg.KPISyncEvery
	w.RegisterActivity(integrityActs)
	if err := integrity.EnsureSchedules(ctx, c, integrity.ScheduleConfig{
		TaskQueue: cfg.TaskQueue, VerifyCron: cfg.IntegrityVerifyCron, MonitorEvery: cfg.MonitorEvery,
	}); err != nil {
		return fmt.Errorf("integrity schedules: %w", err)
	}
	// Monitors are also evaluated when the books move, debounced, not only on their schedule;
	// with MONITOR_EVAL_EVERY=0 they are evaluated in the daily round only, and the schedule the
	// watcher triggers does not exist.
	if cfg.MonitorEvery > 0 {
		go integrity.WatchLedgerEvents(ctx, pool, c, ledgerEventDebounce, logger)
	}
	kpisync.Register(w)
	w.RegisterActivity(&activities.KPI{Store: acts.Store, Sources: &kpisrc.Factory{
		Store: acts.Store, Stripe: acts.Stripe, PayPal: acts.PayPal, GA4: ga4.Options{Endpoint: cfg.GA4APIEndpoint, CredentialsDir: cfg.GA4CredentialsDir},
	}})
	if err := telemetry.RegisterKPISyncLag(tel.Registry, acts.Store, telemetry.KPISyncLagOptions{SyncEvery: cfg.KPISyncEvery, Logger: logger}); err != nil {
		return err
	}
	kpiSchedules := &kpisync.Scheduler{Client: c, TaskQueue: cfg.TaskQueue, Every: cfg.KPISyncEvery, HotDays: cfg.KPIRetentionDays, Settings: acts.Store}
	if err := kpiSchedules.EnsureAll(ctx, acts.Store, kpisync.RetentionOptions{Days: cfg.KPIRetentionDays}); err != nil {
		return fmt.Errorf("kpi schedules: %w", err)
	}
	if err := startReports(ctx, w, c, cfg, acts.Store, acts.Stripe, acts.PayPal, logger); err != nil {
		return err
	}
	logger.Info("worker polling", "task_queue", cfg.TaskQueue, "temporal", cfg.TemporalAddress,
		"namespace", cfg.TemporalNamespace, "build_id", cfg.WorkerBuildID)
	// On SIGTERM the worker stops polling at once; in-flight activities get WorkerStopTimeout to
	// finish and report, then their contexts are cancelled. Whatever did not finish is retried
	// by another worker with the same idempotency keys.
	stopCh := make(chan any)
	go func() {
		<-ctx.Done()
		logger.Info("worker stopping: no new tasks, waiting for in-flight activities", "grace", cfg.WorkerStopTimeout.String())
		close(stopCh)
	}()
	if cfg.WorkerBuildID != "" && cfg.WorkerPromote {
		go promoteBuild(ctx, c, cfg.TemporalDeploymentName, cfg.WorkerBuildID, logger)
	}
	if err := w.Run(stopCh); err != nil {
		return err
	}
	logger.Info("worker stopped")
	return nil
}

// workerOptions sets the stop grace period and, when a build ID is given, worker versioning:
// workflows move to a new build on their next task (AutoUpgrade), which is safe because every
// change to the workflow's commands is behind workflow.GetVersion and replay-tested.
// ledgerEventDebounce bounds monitor evaluations triggered by ledger activity to one per window.
const ledgerEventDebounce = 30 * time.Second

func workerOptions(cfg config.Config) worker.Options {
	o := worker.Options{
		WorkerStopTimeout: cfg.WorkerStopTimeout,
		// Bounded: a payment's steps are local activities inside its workflow task, so every
		// task taken holds database connections and CPU until it finishes. Taking a thousand
		// at once (the SDK default) under a burst only makes them all time out together.
		MaxConcurrentWorkflowTaskExecutionSize:  cfg.WorkerMaxConcurrent,
		MaxConcurrentLocalActivityExecutionSize: cfg.WorkerMaxConcurrent,
		MaxConcurrentActivityExecutionSize:      cfg.WorkerMaxConcurrent,
		// A payment is one workflow task: polling decides throughput, and autoscaled pollers
		// follow the backlog instead of sitting at two.
		WorkflowTaskPollerBehavior: worker.NewPollerBehaviorAutoscaling(worker.PollerBehaviorAutoscalingOptions{}),
	}
	if cfg.WorkerBuildID != "" {
		o.DeploymentOptions = worker.DeploymentOptions{
			UseVersioning:             true,
			Version:                   worker.WorkerDeploymentVersion{DeploymentName: cfg.TemporalDeploymentName, BuildID: cfg.WorkerBuildID},
			DefaultVersioningBehavior: workflow.VersioningBehaviorAutoUpgrade,
		}
	}
	return o
}

func shutdownTelemetry(tel *telemetry.Telemetry, logger *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := tel.Shutdown(ctx); err != nil {
		logger.Warn("telemetry shutdown", "error", err)
	}
}
