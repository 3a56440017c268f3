package config

import (
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"
)

// devAlertWebhookSecret signs alert webhooks in development when ALERT_WEBHOOK_URL is set without
// a secret; production must set its own.
const devAlertWebhookSecret = "paysplit-dev-alert-webhook-secret"

// finishAlerts checks the alert settings together: a channel's address turns it on, and then
// what it needs must be there too.
func (c *Config) finishAlerts(monitorEvery, emailTo string) error {
	c.MonitorEvery, _ = time.ParseDuration(monitorEvery)
	if c.MonitorEvery != 0 && c.MonitorEvery < time.Minute {
		return errors.New("config: MONITOR_EVAL_EVERY is malformed: want 0 (daily only) or at least 1m")
	}
	for _, a := range strings.Split(emailTo, ",") {
		if a = strings.TrimSpace(a); a != "" {
			c.AlertEmailTo = append(c.AlertEmailTo, a)
		}
	}
	if c.AlertWebhookURL != "" && c.AlertWebhookSecret == "" {
		if c.Env == "production" {
			return errors.New("config: ALERT_WEBHOOK_SECRET is required when ALERT_WEBHOOK_URL is set")
		}
		c.AlertWebhookSecret = devAlertWebhookSecret
	}
	if c.SMTPAddr != "" && len(c.AlertEmailTo) == 0 {
		return errors.New("config: ALERT_EMAIL_TO is required when SMTP_ADDR is set")
	}
	// Production has no default sender: a relay that checks senders refuses the development one.
	if c.SMTPAddr != "" && c.AlertEmailFrom == "" {
		return errors.New("config: ALERT_EMAIL_FROM is required when SMTP_ADDR is set")
	}
	if (c.SMTPUsername == "") != (c.SMTPPassword == "") {
		return errors.New("config: SMTP_USERNAME and SMTP_PASSWORD must be set together")
	}
	return nil
}

func validEmail(v string) error {
	if _, err := mail.ParseAddress(v); err != nil {
		return fmt.Errorf("want an email address: %w", err)
	}
	return nil
}

func validEmailList(v string) error {
	for _, a := range strings.Split(v, ",") {
		if err := validEmail(strings.TrimSpace(a)); err != nil {
			return fmt.Errorf("want comma-separated email addresses: %q: %w", strings.TrimSpace(a), err)
		}
	}
	return nil
}

// validCron accepts the five-field cron expressions Temporal Schedules take (minute hour
// day-of-month month day-of-week), or a "@daily"-style shorthand; the server parses the details.
func validCron(v string) error {
	if strings.HasPrefix(v, "@") || len(strings.Fields(v)) == 5 {
		return nil
	}
	return errors.New(`want a cron expression such as "0 3 * * *" (minute hour day month weekday, UTC)`)
}
