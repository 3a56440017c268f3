package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/plutov/paypal/v4"
	stripeclient "github.com/stripe/stripe-go/v76/client"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"paysplit/activities"
	"paysplit/internal/config"
	"paysplit/internal/kpi"
	"paysplit/internal/kpi/ga4"
	"paysplit/internal/kpi/kpisrc"
	"paysplit/internal/mailer"
	"paysplit/internal/objstore"
	ireport "paysplit/internal/report"
	"paysplit/internal/store"
	"paysplit/workflows/report"
)

// startReports registers the weekly report workflows and activities and brings their schedules
// (one per client time zone) in line.
//
// The schedules belong to the whole deployment, not to this replica, so only REPORTS=off (said
// on purpose, for the fleet) deletes them. A worker merely without S3_BUCKET (one replica whose
// task definition lost it, a worker started by hand to debug) registers no report workflow and
// leaves the schedules alone: deleting them there let one misconfigured replica silently stop
// every client's Monday report. What a schedule left that way costs, should no worker with the
// bucket be polling when it fires: the run's workflow tasks fail on the unknown type and the
// server retries them, so a worker with the bucket that starts within the run's 48 hours (the
// rest of a rolling deploy) takes the run over and the week is reported; otherwise the run times
// out after 48 hours. Runs do not pile up: the overlap policy skips a firing while the zone's
// previous run is open, and 48 hours is less than the week between firings (the 72-hour catch-up
// window only concerns firings the Temporal server itself missed). In a fleet with replicas of
// both kinds, a report workflow task that lands on one without the workflow fails and is retried,
// possibly on another: the same as during a rolling deploy that adds a workflow; a report activity
// task that lands there fails as not registered and spends one of its attempts, so such a replica
// left running can fail a client's report (REPORTS=on keeps it from starting). So nothing is paused
// either: a paused schedule would need a worker with the bucket to resume it, and one replica
// without the bucket starting after the others would pause the fleet's schedules all the same.
func startReports(ctx context.Context, w worker.Worker, c client.Client, cfg config.Config, st *store.Store,
	stripe *stripeclient.API, pp *paypal.Client, logger *slog.Logger) error {
	rc := cfg.Reports
	if rc.TurnedOff() {
		// Off for the deployment: a schedule left from when they were on would start a run every
		// Monday that no worker runs. A start with reports on makes them again.
		logger.Warn("weekly reports off for the deployment (REPORTS=off): deleting their schedules")
		if err := report.RemoveSchedules(ctx, c); err != nil {
			return fmt.Errorf("report schedules: %w", err)
		}
		return nil
	}
	if !rc.Enabled() {
		logger.Warn("this worker makes no weekly reports: S3_BUCKET is not set; their schedules are left as they are " +
			"for the workers that have it (set REPORTS=off to turn reports off for the whole deployment)")
		return nil
	}
	files, err := objstore.New(ctx, objstore.Config{
		Endpoint: rc.S3Endpoint, Bucket: rc.S3Bucket, Region: rc.S3Region, AccessKeyID: rc.S3AccessKeyID,
		SecretAccessKey: rc.S3SecretAccessKey, SSE: rc.S3SSE, SSEKMSKeyID: rc.S3SSEKMSKeyID, PresignTTL: rc.PresignTTL,
	})
	if err != nil {
		return err
	}
	// Only a local S3-API server gets its bucket made here; one that is not up yet is retried by
	// the uploads, so the worker still starts.
	if err := files.EnsureBucket(ctx); err != nil {
		logger.Warn("report bucket not ready", "bucket", rc.S3Bucket, "error", err)
	}
	fonts, err := reportFonts(rc, logger)
	if err != nil {
		return err
	}
	sources := &kpisrc.Factory{Store: st, Stripe: stripe, PayPal: pp, GA4: ga4.Options{Endpoint: cfg.GA4APIEndpoint, CredentialsDir: cfg.GA4CredentialsDir}}
	acts := &activities.Reports{
		Fonts: fonts,
		Store: st,
		KPIs: &kpi.Reader{Hot: st, RetentionDays: cfg.KPIRetentionDays, StaleAfter: cfg.KPIStaleAfter, SyncEvery: cfg.KPISyncEvery,
			Cold: sources.Cold},
		Visitors:     sources,
		Files:        files,
		KPISyncEvery: cfg.KPISyncEvery,
	}
	if rc.SMTPAddr != "" {
		acts.Mail = &mailer.SMTP{Addr: rc.SMTPAddr, From: rc.MailFrom, Username: rc.SMTPUsername, Password: rc.SMTPPassword, TLS: rc.SMTPTLS}
	} else {
		logger.Warn("weekly reports are stored but not emailed: REPORT_SMTP_ADDR is not set")
	}
	report.Register(w)
	w.RegisterActivity(acts)
	zones, err := st.ReportTimeZones(ctx)
	if err != nil {
		return err
	}
	if err := report.EnsureSchedules(ctx, c, cfg.TaskQueue, zones); err != nil {
		return fmt.Errorf("report schedules: %w", err)
	}
	logger.Info("weekly reports scheduled", "time_zones", len(zones), "bucket", rc.S3Bucket)
	return nil
}

// reportFonts is REPORT_FONTS: the listed files (any that cannot be used stops the worker: a
// report with boxes for a client's name is worse than a worker that says why it does not start),
// none, or those installed (auto), saying which were found. The fonts are parsed at the first
// report render, not here (ireport.Deferred): that parse allocated about 140 MB, half of what a
// worker allocates in a run, at every start, and most workers render no report before the next.
// So the start only checks what it can without parsing: which files exist, and for a list that
// each is a TrueType file; a listed font damaged past its header fails the renders instead, and
// an installed one that cannot be used is skipped with its warning at the first render.
func reportFonts(rc config.Reports, logger *slog.Logger) (*ireport.Fonts, error) {
	switch rc.Fonts {
	case "none":
		return &ireport.Fonts{}, nil
	case "auto", "":
		paths := ireport.InstalledFontPaths()
		if len(paths) == 0 {
			logger.Warn("no report fallback fonts installed: names in Chinese, Japanese, Arabic, Hebrew, Thai... show as boxes in the PDF (install fonts-noto-core and fonts-droid-fallback, or set REPORT_FONTS)")
		} else {
			logger.Info("report fallback fonts", "fonts", paths)
		}
		return ireport.Deferred(func() (*ireport.Fonts, error) {
			fonts, skipped := ireport.InstalledFonts()
			for _, err := range skipped {
				logger.Warn("report font skipped", "error", err)
			}
			return fonts, nil
		}), nil
	}
	paths := rc.FontPaths()
	if err := ireport.CheckFonts(paths); err != nil {
		return nil, fmt.Errorf("REPORT_FONTS: %w", err)
	}
	logger.Info("report fallback fonts", "fonts", paths)
	return ireport.Deferred(func() (*ireport.Fonts, error) {
		fonts, err := ireport.LoadFonts(paths)
		if err != nil {
			return nil, fmt.Errorf("REPORT_FONTS: %w", err)
		}
		return fonts, nil
	}), nil
}
