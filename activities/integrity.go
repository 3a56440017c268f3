package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"paysplit/internal/alert"
	"paysplit/internal/ledger"
	"paysplit/internal/mailer"
	"paysplit/internal/monitor"
)

// Integrity holds the dependencies of the ledger integrity workflow's activities: chain
// verification, monitor evaluation and alert delivery. Its method names are distinct from
// Activities' so one worker can register both.
type Integrity struct {
	Ledger   *ledger.Ledger
	Monitors *monitor.Store
	// Webhook and Email are the alert channels; nil means not configured.
	Webhook *alert.Webhook
	Email   alert.EmailSender
	// TemporalUIURL (TEMPORAL_UI_URL) and TemporalNamespace make the Temporal UI link of an
	// alert about one payment, as the admin API's; an empty TemporalUIURL sends no link.
	TemporalUIURL, TemporalNamespace string
	// Now is the evaluation clock; nil means time.Now.
	Now func() time.Time
}

func (a *Integrity) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

// VerifyLedgerChainInput is empty: the whole chain is verified.
type VerifyLedgerChainInput struct{}

// VerifyLedgerChainOutput is the verification; its head hash, kept in the workflow's history,
// is an anchor outside the database.
type VerifyLedgerChainOutput struct {
	Verification ledger.Verification
	VerifiedAt   time.Time
}

// verifyHeartbeatEvery is how often VerifyLedgerChain heartbeats while it reads the journal,
// well within the workflow's heartbeat timeout (2 minutes); the SDK sends at most one a
// throttle interval anyway.
const verifyHeartbeatEvery = 20 * time.Second

// VerifyLedgerChain walks the journal's hash chain. A broken chain is a result, not an error.
// It heartbeats while it reads (the ledger's walk has no steps to report between), so a worker
// that dies during a long verification is noticed at the heartbeat timeout, and an attempt the
// workflow no longer waits for has its context cancelled and stops reading.
func (a *Integrity) VerifyLedgerChain(ctx context.Context, _ VerifyLedgerChainInput) (VerifyLedgerChainOutput, error) {
	if activity.IsActivity(ctx) {
		activity.RecordHeartbeat(ctx)
		done := make(chan struct{})
		defer close(done)
		go func() {
			tick := time.NewTicker(verifyHeartbeatEvery)
			defer tick.Stop()
			for {
				select {
				case <-done:
					return
				case <-ctx.Done():
					return
				case <-tick.C:
					activity.RecordHeartbeat(ctx)
				}
			}
		}()
	}
	v, err := a.Ledger.Verify(ctx)
	if err != nil {
		return VerifyLedgerChainOutput{}, err
	}
	if !v.OK {
		activity.GetLogger(ctx).Error("ledger chain broken", "EntryID", v.Break.EntryID, "Reason", v.Break.Reason)
	}
	return VerifyLedgerChainOutput{Verification: v, VerifiedAt: a.now()}, nil
}

// RecordChainVerificationInput is a verification to feed the system's ledger_chain monitor.
type RecordChainVerificationInput struct {
	Verification ledger.Verification
	VerifiedAt   time.Time
}

// RecordChainVerification evaluates the ledger_chain monitor on a verification: a break opens
// (or keeps) its alert, an intact chain resolves it. Idempotent for a retry: the same verdict
// applied twice neither opens a second incident nor queues a second message.
func (a *Integrity) RecordChainVerification(ctx context.Context, in RecordChainVerificationInput) (monitor.Outcome, error) {
	m, err := a.Monitors.System(ctx, monitor.KindLedgerChain)
	if err != nil {
		return monitor.Outcome{}, err
	}
	v := in.Verification
	check := &monitor.ChainCheck{OK: v.OK, Entries: v.Entries}
	if v.Break != nil {
		check.BrokenEntryID, check.Reason = v.Break.EntryID, v.Break.Reason
	}
	at := in.VerifiedAt
	if at.IsZero() {
		at = a.now()
	}
	r := monitor.Evaluate(m, monitor.Observation{Chain: check}, at)
	return a.Monitors.Apply(ctx, m.ID, r, at)
}

// EvaluateMonitorsInput is empty: every live admin monitor is evaluated.
type EvaluateMonitorsInput struct{}

// EvaluateMonitorsOutput counts what the evaluation found and did.
type EvaluateMonitorsOutput struct {
	Evaluated   int
	Firing      int
	Unavailable int
	Opened      int
	Resolved    int
	// Failed names the monitors that could not be observed; the others were still evaluated.
	Failed []string
}

// EvaluateMonitors observes and judges every admin monitor at one moment and records the
// verdicts. One monitor's failure is recorded on it and does not stop the others; only a store
// that cannot be read at all fails the activity (and Temporal retries it).
func (a *Integrity) EvaluateMonitors(ctx context.Context, _ EvaluateMonitorsInput) (EvaluateMonitorsOutput, error) {
	ms, err := a.Monitors.List(ctx)
	if err != nil {
		return EvaluateMonitorsOutput{}, err
	}
	now := a.now()
	var out EvaluateMonitorsOutput
	for _, m := range ms {
		if m.System {
			continue // fed by their own checks (chain verification)
		}
		obs, err := a.Monitors.Observe(ctx, m, now)
		if err != nil {
			if ctx.Err() != nil {
				return out, ctx.Err()
			}
			out.Failed = append(out.Failed, fmt.Sprintf("%d (%s): %v", m.ID, m.Name, err))
			if rerr := a.Monitors.RecordError(ctx, m.ID, err.Error(), now); rerr != nil {
				return out, rerr
			}
			continue
		}
		r := monitor.Evaluate(m, obs, now)
		o, err := a.Monitors.Apply(ctx, m.ID, r, now)
		if err != nil {
			return out, err
		}
		out.Evaluated++
		switch r.Status {
		case monitor.StatusFiring:
			out.Firing++
		case monitor.StatusUnavailable:
			out.Unavailable++
		}
		switch o.Action {
		case monitor.ActionOpen:
			out.Opened++
		case monitor.ActionResolve:
			out.Resolved++
		}
	}
	return out, nil
}

// DeliverAlertsInput bounds one delivery round.
type DeliverAlertsInput struct {
	// Limit is how many queued messages a round sends to a channel, oldest first; 0 means 100.
	// Messages with nothing to send this round (each channel they wait for refused them or is
	// down) do not count: looked at and passed over, they do not keep newer ones from a channel
	// that is up.
	Limit int
}

// DeliverAlertsOutput counts one delivery round.
type DeliverAlertsOutput struct {
	Delivered int
	// Failed counts the messages not delivered this round, GaveUp those of them no channel is left
	// to try and one refused for good: they are not tried again (see refusedForGood).
	Failed int
	GaveUp int
	// Errors are the first few delivery errors, for the workflow's history and logs.
	Errors []string
}

// maxDeliveryAge is how long a queued message is tried before it is left for an operator (it
// stays in alert_notifications with its last error). By age, not by attempts: every round spends
// attempts, and a receiver down for an hour and a quarter used to lose every message queued.
// The admin API and its metric count a message older than this as expired.
const maxDeliveryAge = monitor.MaxDeliveryAge

// ErrTypeAlertRefused marks a delivery round whose only failures were messages a channel refused
// for good (refusedForGood): they are not sent there again, so the round is not retried.
const ErrTypeAlertRefused = "AlertRefused"

// refusedForGood: the channel refused this one message for good, not the channel itself: the
// SMTP server answered 5xx to its end of DATA (mailer.ErrMessageRefused: too large, its content
// filter), or the webhook a 4xx other than 408, 429, 401 and 403 (alert.ErrPermanent: a revoked URL's 404
// or 410, a payload it will not take). Sent again, it is refused again: the refusal is recorded
// on the message (monitor.Store.Refuse) and no round sends it to that channel again, while the
// messages after it are still sent there.
func refusedForGood(err error) bool {
	return errors.Is(err, mailer.ErrMessageRefused) || errors.Is(err, alert.ErrPermanent)
}

// DeliverAlerts sends queued notifications to every configured channel. A channel that took a
// message is recorded at once, so a retry only resends to the channels that failed, and so is a
// channel that refused it for good, which is not sent it again. A message no channel is left to
// try is delivered, or given up when one refused it. The activity fails when a message could not
// be delivered, so Temporal retries with backoff; when every failure was a message refused for
// good, without a retry (ErrTypeAlertRefused).
func (a *Integrity) DeliverAlerts(ctx context.Context, in DeliverAlertsInput) (DeliverAlertsOutput, error) {
	limit := in.Limit
	if limit <= 0 {
		limit = 100
	}
	unlock, ok, err := a.Monitors.LockDelivery(ctx)
	if err != nil {
		return DeliverAlertsOutput{}, err
	}
	if !ok {
		// Another round is sending; what it leaves is for the next round.
		activity.GetLogger(ctx).Info("alert delivery: another round is delivering")
		return DeliverAlertsOutput{}, nil
	}
	defer unlock()
	var out DeliverAlertsOutput
	// A channel that failed once is not tried again this round: a receiver that hangs costs one
	// timeout per round, not one per queued message.
	down := map[monitor.Channel]error{}
	refusedOnly := true // every failure so far is a message refused for good
	// Pages through the queue until limit messages were sent somewhere. Counting the messages
	// looked at instead, more than a batch waiting only for a channel that is down (the webhook
	// refused them, email asks to try later) filled every round, and the alerts after them
	// never reached the webhook that would take them until email came back or 48 hours passed.
	since := a.now().Add(-maxDeliveryAge)
	seen, sent := 0, 0
	for after := int64(0); sent < limit; {
		page, err := a.Monitors.Pending(ctx, limit, since, after)
		if err != nil {
			return out, err
		}
		for _, n := range page {
			if sent == limit {
				break
			}
			after = n.ID
			seen++
			called, done, err := a.attempt(ctx, n, down, &out)
			if err != nil {
				return out, err
			}
			if called {
				sent++
			}
			refusedOnly = refusedOnly && done
		}
		if len(page) < limit {
			break
		}
	}
	if out.Failed > 0 {
		msg := fmt.Sprintf("%d of %d alert message(s) not delivered: %s", out.Failed, seen, out.Errors[0])
		if refusedOnly {
			return out, temporal.NewNonRetryableApplicationError(msg, ErrTypeAlertRefused, nil)
		}
		return out, errors.New(msg)
	}
	return out, nil
}

// attempt sends n to the channels left to try and records the outcome in the outbox and in out.
// called says a channel was sent n this round; done that no channel is left to try (each took
// n or refused it for good).
func (a *Integrity) attempt(ctx context.Context, n monitor.Notification, down map[monitor.Channel]error, out *DeliverAlertsOutput) (called, done bool, err error) {
	var failure string
	errs, called := a.deliver(ctx, n, down)
	done = true
	for _, err := range errs {
		done = done && refusedForGood(err)
	}
	if err := errors.Join(errs...); err != nil {
		// An SMTP refusal quotes the recipient, and the mail library lists the refused ones:
		// the reason is kept (alert_notifications, history, log), the people are not.
		failure = redactAddresses(err.Error())
	}
	if err := a.Monitors.Finish(ctx, n.ID, done, failure, a.now()); err != nil {
		return called, done, err
	}
	if failure == "" && !anyRefused(n) {
		out.Delivered++
		return called, done, nil
	}
	if done {
		out.GaveUp++
	}
	if failure == "" {
		return called, done, nil // given up on by a channel in an earlier round, taken by the other in this one
	}
	out.Failed++
	if len(out.Errors) < 5 {
		out.Errors = append(out.Errors, failure)
	}
	if !done {
		activity.GetLogger(ctx).Warn("alert delivery failed", "NotificationID", n.ID, "Error", failure)
	}
	return called, done, nil
}

// anyRefused says whether a channel refused n for good in an earlier round.
func anyRefused(n monitor.Notification) bool {
	for _, r := range n.Refused {
		if r {
			return true
		}
	}
	return false
}

// deliver sends n to each configured channel that has not taken it yet, has not refused it for
// good and is not down. A channel that fails is down for the rest of the round, unless it refused
// n alone (refusedForGood): a message the SMTP server refuses for good, first in the queue, held
// back every later alert email for the 48 hours it was tried. Such a refusal is recorded and
// logged at error level: the channel gave up on n, which nobody sees otherwise. called says a
// channel was sent n.
func (a *Integrity) deliver(ctx context.Context, n monitor.Notification, down map[monitor.Channel]error) (errs []error, called bool) {
	msg := alert.Message{
		DeliveryID: n.ID, AlertID: n.AlertID, MonitorID: n.MonitorID, MonitorName: n.MonitorName, Kind: string(n.Kind),
		Event: string(n.Event), Summary: n.Summary, Subjects: n.Subjects, PeriodStart: n.PeriodStart,
		FiredAt: n.FiredAt, ResolvedAt: n.ResolvedAt, Payment: n.Payment.Linked(a.TemporalUIURL, a.TemporalNamespace),
	}
	send := func(ch monitor.Channel, configured bool, fn func() error) {
		if !configured || n.Sent[ch] || n.Refused[ch] {
			return
		}
		if err := down[ch]; err != nil {
			errs = append(errs, fmt.Errorf("%s: not tried after an earlier failure this round: %w", ch, err))
			return
		}
		called = true
		if err := fn(); err != nil {
			if !refusedForGood(err) {
				down[ch] = err
				errs = append(errs, fmt.Errorf("%s: %w", ch, err))
				return
			}
			err = fmt.Errorf("%s: %w", ch, err)
			reason := redactAddresses(err.Error())
			activity.GetLogger(ctx).Error("alert channel refused the message for good: it is not sent there again",
				"NotificationID", n.ID, "Channel", ch, "Reason", reason)
			if rerr := a.Monitors.Refuse(ctx, n.ID, ch, reason, a.now()); rerr != nil {
				errs = append(errs, rerr) // not recorded: tried again next round
			}
			errs = append(errs, err)
			return
		}
		if err := a.Monitors.MarkSent(ctx, n.ID, ch, a.now()); err != nil {
			errs = append(errs, err)
		}
	}
	send(monitor.ChannelWebhook, a.Webhook != nil, func() error { return a.Webhook.Send(ctx, msg) })
	send(monitor.ChannelEmail, a.Email != nil, func() error { return a.Email.SendEmail(ctx, msg) })
	if len(errs) == 0 && a.Webhook == nil && a.Email == nil {
		activity.GetLogger(ctx).Info("alert (no channel configured)", "Monitor", n.MonitorName, "Event", n.Event, "Summary", n.Summary)
		called = true // logged is its delivery: it counts against the round's limit
	}
	return errs, called
}

// AlertChannels are the alert settings (internal/config); an empty address leaves its channel off.
type AlertChannels struct {
	WebhookURL, WebhookSecret                       string
	SMTPAddr, SMTPUsername, SMTPPassword, EmailFrom string
	EmailTo                                         []string
	// TemporalUIURL and TemporalNamespace link an alert about one payment to its workflow
	// (Integrity's fields of the same names).
	TemporalUIURL, TemporalNamespace string
}

// NewIntegrity builds the integrity activities on pool with the configured alert channels.
func NewIntegrity(pool *pgxpool.Pool, ch AlertChannels) *Integrity {
	l := ledger.New(pool)
	a := &Integrity{Ledger: l, Monitors: monitor.NewStore(pool, l), TemporalUIURL: ch.TemporalUIURL, TemporalNamespace: ch.TemporalNamespace}
	if ch.WebhookURL != "" {
		a.Webhook = &alert.Webhook{URL: ch.WebhookURL, Secret: ch.WebhookSecret}
	}
	if ch.SMTPAddr != "" && len(ch.EmailTo) > 0 {
		a.Email = &alert.SMTP{Addr: ch.SMTPAddr, From: ch.EmailFrom, To: ch.EmailTo, Username: ch.SMTPUsername, Password: ch.SMTPPassword}
	}
	return a
}
