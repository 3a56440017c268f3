package config

import (
	"errors"
	"fmt"
	"net/mail"
	"regexp"
	"strconv"
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
// day-of-month month day-of-week, UTC), or a shorthand ("@daily", "@every 6h"). Each field is
// checked as Temporal checks it: values in range (names for months and weekdays), ranges that
// do not run backwards, steps above 0; "?" and "L", which Temporal refuses, are refused here.
func validCron(v string) error {
	if strings.HasPrefix(v, "@") {
		switch {
		case v == "@yearly", v == "@annually", v == "@monthly", v == "@weekly", v == "@daily", v == "@midnight", v == "@hourly":
			return nil
		case strings.HasPrefix(v, "@every "):
			if validEvery(strings.TrimSpace(strings.TrimPrefix(v, "@every "))) {
				return nil
			}
		}
		return errors.New(`want a shorthand Temporal takes (@daily, @hourly, @weekly, @monthly, @yearly, @every <duration>[/<offset>])`)
	}
	fields := strings.Fields(v)
	if len(fields) != 5 {
		return errors.New(`want a cron expression such as "0 3 * * *" (minute hour day month weekday, UTC)`)
	}
	for i, f := range fields {
		if err := cronFields[i].check(f); err != nil {
			return fmt.Errorf("cron %s field %q: %w", cronFields[i].name, f, err)
		}
	}
	return nil
}

// validEvery reads "@every"'s interval as Temporal reads it: a Go duration that may count days
// ("1d", "2d12h"), at least a second, and an optional offset after a slash no longer than it
// ("6h/1h").
func validEvery(v string) bool {
	every, offset, hasOffset := strings.Cut(v, "/")
	d, err := temporalDuration(every)
	if err != nil || d < time.Second {
		return false
	}
	if !hasOffset {
		return true
	}
	o, err := temporalDuration(offset)
	return err == nil && o >= 0 && o <= d
}

// dayUnits are the day counts in a duration Temporal reads ("1d", "1.5d").
var dayUnits = regexp.MustCompile(`(\d+(\.\d*)?|\.\d+)d`)

// temporalDuration is time.ParseDuration with Temporal's day unit (24h).
func temporalDuration(v string) (time.Duration, error) {
	var bad error
	v = dayUnits.ReplaceAllStringFunc(v, func(days string) string {
		n, err := strconv.ParseFloat(strings.TrimSuffix(days, "d"), 64)
		if err != nil {
			bad = err
		}
		return strconv.FormatFloat(24*n, 'f', -1, 64) + "h"
	})
	if bad != nil {
		return 0, fmt.Errorf("duration %q: %w", v, bad)
	}
	return time.ParseDuration(v)
}

type cronField struct {
	name     string
	min, max int
	names    []string // names[k] stands for min+k
}

var cronFields = []cronField{
	{name: "minute", max: 59},
	{name: "hour", max: 23},
	{name: "day-of-month", min: 1, max: 31},
	{name: "month", min: 1, max: 12, names: []string{"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}},
	{name: "day-of-week", max: 7, names: []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}},
}

// check reads a field: comma-separated items, each "*", a value or a range a-b, with an
// optional step /n.
func (f cronField) check(field string) error {
	for _, item := range strings.Split(field, ",") {
		span, step, stepped := strings.Cut(item, "/")
		if stepped {
			if n, err := strconv.Atoi(step); err != nil || n < 1 {
				return errors.New("want a step of at least 1")
			}
		}
		if span == "*" {
			continue
		}
		lo, hi, isRange := strings.Cut(span, "-")
		a, err := f.value(lo)
		if err != nil {
			return err
		}
		if isRange {
			b, err := f.value(hi)
			if err != nil {
				return err
			}
			if b < a {
				return errors.New("range runs backwards")
			}
		}
	}
	return nil
}

func (f cronField) value(s string) (int, error) {
	if n, err := strconv.Atoi(s); err == nil {
		if n < f.min || n > f.max {
			return 0, fmt.Errorf("want %d to %d", f.min, f.max)
		}
		return n, nil
	}
	for k, name := range f.names {
		if strings.EqualFold(s, name) {
			return f.min + k, nil
		}
	}
	if len(f.names) > 0 {
		return 0, fmt.Errorf("want %d to %d or %s to %s", f.min, f.max, f.names[0], f.names[len(f.names)-1])
	}
	return 0, fmt.Errorf("want %d to %d", f.min, f.max)
}
