package activities

import (
	"math"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
)

func TestRedactAddresses(t *testing.T) {
	tests := []struct{ in, want string }{
		{"550 5.1.1 <owner@shop.example>: Recipient address rejected", "550 5.1.1 <<address>>: Recipient address rejected"},
		{"mailer: send report-acme-2026-W07-1@paysplit.reports via smtp:25: dial tcp: refused",
			"mailer: send <address> via smtp:25: dial tcp: refused"},
		{"no address here", "no address here"},
	}
	for _, tc := range tests {
		if got := redactAddresses(tc.in); got != tc.want {
			t.Errorf("redactAddresses(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestLastChance: a source still down gets the report with a note on the attempt the retry policy
// allows last, or from the time the workflow gives (an hour before the run's end), or, in runs
// from before it gave one, once the step is within lastChanceWindow of its schedule-to-close
// deadline (the run could have started up to 14 hours before the step).
func TestLastChance(t *testing.T) {
	scheduled := time.Date(2026, 6, 15, 6, 20, 0, 0, time.UTC)
	forever := &temporal.RetryPolicy{MaximumAttempts: math.MaxInt32}
	at23h := scheduled.Add(23 * time.Hour)
	tests := []struct {
		name         string
		lastChanceAt time.Time // GenerateReportInput.LastChanceAt
		info         activity.Info
		at           time.Duration // after scheduled
		want         bool
	}{
		{"first attempt of the run's 24 h", time.Time{}, activity.Info{Attempt: 1, RetryPolicy: forever, ScheduledTime: scheduled, ScheduleToCloseTimeout: 24 * time.Hour}, 0, false},
		{"8 h 59 in", time.Time{}, activity.Info{Attempt: 40, RetryPolicy: forever, ScheduledTime: scheduled, ScheduleToCloseTimeout: 24 * time.Hour}, 9*time.Hour - time.Minute, false},
		{"9 h in: 15 h left", time.Time{}, activity.Info{Attempt: 41, RetryPolicy: forever, ScheduledTime: scheduled, ScheduleToCloseTimeout: 24 * time.Hour}, 9 * time.Hour, true},
		{"last attempt allowed", time.Time{}, activity.Info{Attempt: 8, RetryPolicy: &temporal.RetryPolicy{MaximumAttempts: 8}, ScheduledTime: scheduled, ScheduleToCloseTimeout: 24 * time.Hour}, time.Hour, true},
		{"attempts left", time.Time{}, activity.Info{Attempt: 7, RetryPolicy: &temporal.RetryPolicy{MaximumAttempts: 8}, ScheduledTime: scheduled, ScheduleToCloseTimeout: 24 * time.Hour}, time.Hour, false},
		{"step of 15 h, first half", time.Time{}, activity.Info{Attempt: 1, RetryPolicy: forever, ScheduledTime: scheduled, ScheduleToCloseTimeout: 15 * time.Hour}, 7 * time.Hour, false},
		{"short step, first half", time.Time{}, activity.Info{Attempt: 1, ScheduledTime: scheduled, ScheduleToCloseTimeout: 10 * time.Minute}, 4 * time.Minute, false},
		{"short step, second half", time.Time{}, activity.Info{Attempt: 3, ScheduledTime: scheduled, ScheduleToCloseTimeout: 10 * time.Minute}, 5 * time.Minute, true},
		{"no deadline, unlimited attempts", time.Time{}, activity.Info{Attempt: 100, ScheduledTime: scheduled}, 48 * time.Hour, false},
		{"given: 9 h in", at23h, activity.Info{Attempt: 41, RetryPolicy: forever, ScheduledTime: scheduled, ScheduleToCloseTimeout: 24 * time.Hour}, 9 * time.Hour, false},
		{"given: a minute before", at23h, activity.Info{Attempt: 200, RetryPolicy: forever, ScheduledTime: scheduled, ScheduleToCloseTimeout: 24 * time.Hour}, 23*time.Hour - time.Minute, false},
		{"given: from then on", at23h, activity.Info{Attempt: 201, RetryPolicy: forever, ScheduledTime: scheduled, ScheduleToCloseTimeout: 24 * time.Hour}, 23 * time.Hour, true},
		{"given: already past when the step starts", scheduled.Add(-time.Hour), activity.Info{Attempt: 1, RetryPolicy: forever, ScheduledTime: scheduled, ScheduleToCloseTimeout: 5 * 24 * time.Hour}, 0, true},
		{"given: long step, not yet", at23h, activity.Info{Attempt: 30, RetryPolicy: forever, ScheduledTime: scheduled, ScheduleToCloseTimeout: 6 * 24 * time.Hour}, 20 * time.Hour, false},
		{"given: last attempt allowed", at23h, activity.Info{Attempt: 8, RetryPolicy: &temporal.RetryPolicy{MaximumAttempts: 8}, ScheduledTime: scheduled, ScheduleToCloseTimeout: 24 * time.Hour}, time.Hour, true},
	}
	for _, tc := range tests {
		in := GenerateReportInput{LastChanceAt: tc.lastChanceAt}
		if got := in.LastChance(tc.info, scheduled.Add(tc.at)); got != tc.want {
			t.Errorf("%s: LastChance = %v, want %v", tc.name, got, tc.want)
		}
	}
}
