package monitor_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"paysplit/internal/ledger"
	"paysplit/internal/monitor"
)

var now = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

func daysAgo(d float64) time.Time { return now.Add(-time.Duration(d * float64(24*time.Hour))) }

func balanceMonitor(threshold int64, days int) monitor.Monitor {
	return monitor.Monitor{ID: 1, Name: "vendor owed", Kind: monitor.KindBalanceAbove, Params: monitor.Params{
		Account: "vendor_payable:v1", Currency: "usd", Side: monitor.SideCredit, Threshold: threshold, Days: days}}
}

func TestEvaluateBalanceAbove(t *testing.T) {
	tests := []struct {
		name        string
		m           monitor.Monitor
		obs         monitor.Observation
		want        monitor.Status
		wantValue   int64
		wantSummary string
	}{
		{name: "above for the whole window", m: balanceMonitor(10_000, 3),
			obs:  monitor.Observation{Opening: 12_000},
			want: monitor.StatusFiring, wantValue: 12_000, wantSummary: "above 100.00 USD for more than 3 days (now 120.00 USD)"},
		{name: "above throughout, changing", m: balanceMonitor(10_000, 3),
			obs: monitor.Observation{Opening: 12_000, Changes: []monitor.BalancePoint{
				{At: daysAgo(2), Balance: 15_000}, {At: daysAgo(1), Balance: 10_001}}},
			want: monitor.StatusFiring, wantValue: 10_001},
		{name: "dipped to the threshold inside the window", m: balanceMonitor(10_000, 3),
			obs: monitor.Observation{Opening: 12_000, Changes: []monitor.BalancePoint{
				{At: daysAgo(2), Balance: 10_000}, {At: daysAgo(1), Balance: 20_000}}},
			want: monitor.StatusOK, wantValue: 20_000, wantSummary: "has not been for 3 days yet"},
		{name: "crossed only recently", m: balanceMonitor(10_000, 3),
			obs:  monitor.Observation{Opening: 5_000, Changes: []monitor.BalancePoint{{At: daysAgo(1), Balance: 50_000}}},
			want: monitor.StatusOK, wantValue: 50_000},
		{name: "exactly at the threshold", m: balanceMonitor(10_000, 3),
			obs:  monitor.Observation{Opening: 10_000},
			want: monitor.StatusOK, wantValue: 10_000, wantSummary: "at or below 100.00 USD"},
		{name: "no window: above now", m: balanceMonitor(0, 0),
			obs:  monitor.Observation{Opening: 1},
			want: monitor.StatusFiring, wantValue: 1},
		{name: "fell back below by now", m: balanceMonitor(10_000, 3),
			obs:  monitor.Observation{Opening: 12_000, Changes: []monitor.BalancePoint{{At: daysAgo(0.1), Balance: 0}}},
			want: monitor.StatusOK, wantValue: 0},
		{name: "data unavailable", m: balanceMonitor(10_000, 3),
			obs:  monitor.Observation{Unavailable: "ledger down for maintenance"},
			want: monitor.StatusUnavailable, wantSummary: "ledger down"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := monitor.Evaluate(tt.m, tt.obs, now)
			assert.Equal(t, tt.want, got.Status, got.Summary)
			assert.Equal(t, tt.wantValue, got.Value)
			assert.Contains(t, got.Summary, tt.wantSummary)
			if got.Status == monitor.StatusFiring {
				assert.Equal(t, []string{"vendor_payable:v1"}, got.Subjects)
			}
		})
	}
}

func TestEvaluateHeldLegAge(t *testing.T) {
	m := monitor.Monitor{ID: 2, Name: "holds", Kind: monitor.KindHeldLegAge, Params: monitor.Params{Days: 7}}
	tests := []struct {
		name         string
		held         []monitor.Stalled
		want         monitor.Status
		wantSubjects []string
	}{
		{name: "nothing held", want: monitor.StatusOK},
		{name: "held recently", held: []monitor.Stalled{{"payment-stripe-a", daysAgo(6.9)}}, want: monitor.StatusOK},
		{name: "held exactly the window", held: []monitor.Stalled{{"payment-stripe-a", daysAgo(7)}}, want: monitor.StatusOK},
		{name: "held longer, oldest first", held: []monitor.Stalled{
			{"payment-stripe-b", daysAgo(8)}, {"payment-stripe-new", daysAgo(1)}, {"payment-stripe-a", daysAgo(30)}},
			want: monitor.StatusFiring, wantSubjects: []string{"payment-stripe-a", "payment-stripe-b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := monitor.Evaluate(m, monitor.Observation{Stalled: tt.held}, now)
			assert.Equal(t, tt.want, got.Status, got.Summary)
			assert.Equal(t, tt.wantSubjects, got.Subjects)
			assert.EqualValues(t, len(tt.wantSubjects), got.Value)
		})
	}
}

func TestEvaluatePayoutFailedAge(t *testing.T) {
	m := monitor.Monitor{ID: 3, Name: "owed", Kind: monitor.KindPayoutFailedAge, Params: monitor.Params{Hours: 24}}
	hoursAgo := func(h float64) time.Time { return now.Add(-time.Duration(h * float64(time.Hour))) }
	tests := []struct {
		name         string
		failed       []monitor.Stalled
		want         monitor.Status
		wantSubjects []string
		wantSummary  string
	}{
		{name: "none", want: monitor.StatusOK, wantSummary: "no payment has been payout_failed (a failed payout, or a top-up or reversal due) for more than 24 hour(s) (0 now)"},
		{name: "recent", failed: []monitor.Stalled{{"payment-stripe-a", hoursAgo(23)}}, want: monitor.StatusOK, wantSummary: "(1 now)"},
		{name: "older, oldest first", failed: []monitor.Stalled{{"payment-stripe-b", hoursAgo(25)}, {"payment-stripe-a", hoursAgo(72)}},
			want: monitor.StatusFiring, wantSubjects: []string{"payment-stripe-a", "payment-stripe-b"},
			wantSummary: "2 payment(s) have been payout_failed (a failed payout, or a top-up or reversal due) for more than 24 hour(s); the oldest, payment-stripe-a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := monitor.Evaluate(m, monitor.Observation{Stalled: tt.failed}, now)
			assert.Equal(t, tt.want, got.Status, got.Summary)
			assert.Equal(t, tt.wantSubjects, got.Subjects)
			assert.Contains(t, got.Summary, tt.wantSummary)
		})
	}
}

func TestEvaluateOtherKinds(t *testing.T) {
	tests := []struct {
		name        string
		m           monitor.Monitor
		obs         monitor.Observation
		want        monitor.Status
		wantSummary string
	}{
		{name: "reconciliation never ran", m: monitor.Monitor{Kind: monitor.KindReconciliationDrift},
			want: monitor.StatusUnavailable, wantSummary: "no reconciliation run"},
		{name: "reconciliation clean", m: monitor.Monitor{Kind: monitor.KindReconciliationDrift},
			obs:  monitor.Observation{Recon: []monitor.ReconRun{{Provider: "stripe", RunID: 4}, {Provider: "paypal", RunID: 5}}},
			want: monitor.StatusOK, wantSummary: "2 provider(s) within 0"},
		{name: "reconciliation drift above zero", m: monitor.Monitor{Kind: monitor.KindReconciliationDrift},
			obs: monitor.Observation{Recon: []monitor.ReconRun{
				{Provider: "paypal", RunID: 5}, {Provider: "stripe", RunID: 4, Drifts: 2, Payments: []string{"payment-stripe-a", "payment-stripe-b"}}}},
			want: monitor.StatusFiring, wantSummary: "drift above 0: stripe: 2 in run 4"},
		{name: "reconciliation drift within the threshold", m: monitor.Monitor{Kind: monitor.KindReconciliationDrift, Params: monitor.Params{Threshold: 3}},
			obs:  monitor.Observation{Recon: []monitor.ReconRun{{Provider: "stripe", RunID: 4, Drifts: 3}}},
			want: monitor.StatusOK},
		{name: "kpi sync never recorded", m: monitor.Monitor{Kind: monitor.KindKPISyncStale, Params: monitor.Params{Hours: 6}},
			want: monitor.StatusUnavailable, wantSummary: "no KPI sync"},
		{name: "kpi synced recently", m: monitor.Monitor{Kind: monitor.KindKPISyncStale, Params: monitor.Params{Hours: 6}},
			obs:  monitor.Observation{Synced: []monitor.ClientSync{{ClientID: "acme", At: now.Add(-5 * time.Hour)}}},
			want: monitor.StatusOK},
		{name: "kpi stale", m: monitor.Monitor{Kind: monitor.KindKPISyncStale, Params: monitor.Params{Hours: 6}},
			obs: monitor.Observation{Synced: []monitor.ClientSync{
				{ClientID: "zeta", At: now.Add(-7 * time.Hour)}, {ClientID: "acme", At: now.Add(-time.Hour)}, {ClientID: "beta", At: now.Add(-30 * time.Hour)}}},
			want: monitor.StatusFiring, wantSummary: "2 client(s) not synced for more than 6 hours (or two of their sync periods when longer): beta, zeta"},
		{name: "kpi client synced daily, not due yet", m: monitor.Monitor{Kind: monitor.KindKPISyncStale, Params: monitor.Params{Hours: 6}},
			obs:  monitor.Observation{Synced: []monitor.ClientSync{{ClientID: "acme", At: now.Add(-23 * time.Hour), Period: 24 * time.Hour}}},
			want: monitor.StatusOK, wantSummary: "synced within 6 hours (or two of their sync periods when longer)"},
		{name: "kpi client synced daily, two periods missed", m: monitor.Monitor{Kind: monitor.KindKPISyncStale, Params: monitor.Params{Hours: 6}},
			obs: monitor.Observation{Synced: []monitor.ClientSync{
				{ClientID: "daily", At: now.Add(-49 * time.Hour), Period: 24 * time.Hour}, {ClientID: "hourly", At: now.Add(-5 * time.Hour), Period: time.Hour}}},
			want: monitor.StatusFiring, wantSummary: "1 client(s) not synced for more than 6 hours (or two of their sync periods when longer): daily"},
		{name: "inbox empty", m: monitor.Monitor{Kind: monitor.KindWebhookInboxAge, Params: monitor.Params{Minutes: 15}},
			want: monitor.StatusOK, wantSummary: "0 webhook event(s) waiting"},
		{name: "inbox waiting briefly", m: monitor.Monitor{Kind: monitor.KindWebhookInboxAge, Params: monitor.Params{Minutes: 15}},
			obs:  monitor.Observation{WaitingTotal: 1, Waiting: []monitor.InboxWait{{"stripe/evt_1", now.Add(-14 * time.Minute)}}},
			want: monitor.StatusOK, wantSummary: "none for more than 15 minutes"},
		{name: "inbox stuck", m: monitor.Monitor{Kind: monitor.KindWebhookInboxAge, Params: monitor.Params{Minutes: 15}},
			obs: monitor.Observation{WaitingTotal: 3, Waiting: []monitor.InboxWait{
				{"stripe/evt_1", now.Add(-40 * time.Minute)}, {"paypal/WH-2", now.Add(-16 * time.Minute)}, {"stripe/evt_3", now.Add(-time.Minute)}}},
			want: monitor.StatusFiring, wantSummary: "3 waiting, the oldest for 40m0s (more than 15 minutes): stripe/evt_1, paypal/WH-2"},
		{name: "chain never verified", m: monitor.Monitor{Kind: monitor.KindLedgerChain},
			want: monitor.StatusUnavailable},
		{name: "chain intact", m: monitor.Monitor{Kind: monitor.KindLedgerChain},
			obs:  monitor.Observation{Chain: &monitor.ChainCheck{OK: true, Entries: 42}},
			want: monitor.StatusOK, wantSummary: "intact over 42 entries"},
		{name: "chain broken", m: monitor.Monitor{Kind: monitor.KindLedgerChain},
			obs:  monitor.Observation{Chain: &monitor.ChainCheck{BrokenEntryID: 17, Reason: "content_hash mismatch"}},
			want: monitor.StatusFiring, wantSummary: "broken at entry 17: content_hash mismatch"},
		{name: "unknown kind", m: monitor.Monitor{Kind: "tea_leaves"}, want: monitor.StatusError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := monitor.Evaluate(tt.m, tt.obs, now)
			assert.Equal(t, tt.want, got.Status, got.Summary)
			assert.Contains(t, got.Summary, tt.wantSummary)
		})
	}
}

func TestDecide(t *testing.T) {
	tests := []struct {
		open   bool
		status monitor.Status
		want   monitor.Action
	}{
		{false, monitor.StatusFiring, monitor.ActionOpen},
		{true, monitor.StatusFiring, monitor.ActionKeep},
		{true, monitor.StatusOK, monitor.ActionResolve},
		{false, monitor.StatusOK, monitor.ActionNone},
		// Not knowing is not being fine: an open incident stays open.
		{true, monitor.StatusUnavailable, monitor.ActionNone},
		{true, monitor.StatusError, monitor.ActionNone},
		{false, monitor.StatusUnavailable, monitor.ActionNone},
	}
	for _, tt := range tests {
		t.Run(string(tt.status), func(t *testing.T) {
			assert.Equal(t, tt.want, monitor.Decide(tt.open, tt.status), "open=%v", tt.open)
		})
	}
}

func TestNotificationFor(t *testing.T) {
	day := 24 * time.Hour
	midnight := time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name      string
		action    monitor.Action
		at        time.Time
		period    time.Duration
		wantEvent monitor.Event
		wantStart time.Time
		wantDue   bool
	}{
		{name: "opening announces firing", action: monitor.ActionOpen, at: now, period: day, wantEvent: monitor.EventFiring, wantStart: midnight, wantDue: true},
		{name: "still firing: same key within the period", action: monitor.ActionKeep, at: now.Add(11 * time.Hour), period: day, wantEvent: monitor.EventFiring, wantStart: midnight, wantDue: true},
		{name: "still firing next period: a reminder", action: monitor.ActionKeep, at: now.Add(13 * time.Hour), period: day, wantEvent: monitor.EventFiring, wantStart: midnight.Add(day), wantDue: true},
		{name: "resolving", action: monitor.ActionResolve, at: now, period: time.Hour, wantEvent: monitor.EventResolved, wantStart: now, wantDue: true},
		{name: "nothing", action: monitor.ActionNone, at: now, period: day},
		{name: "period in another zone is the same UTC period", action: monitor.ActionOpen,
			at: now.In(time.FixedZone("X", 5*3600)), period: day, wantEvent: monitor.EventFiring, wantStart: midnight, wantDue: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, start, due := monitor.NotificationFor(tt.action, tt.at, tt.period)
			assert.Equal(t, tt.wantDue, due)
			assert.Equal(t, tt.wantEvent, ev)
			assert.True(t, tt.wantStart.Equal(start), "start %s, want %s", start, tt.wantStart)
		})
	}
}

func TestNormalize(t *testing.T) {
	tests := []struct {
		name    string
		m       monitor.Monitor
		wantErr string
		check   func(t *testing.T, m monitor.Monitor)
	}{
		{name: "payable defaults to credit side and daily period",
			m: monitor.Monitor{Name: " owed ", Kind: monitor.KindBalanceAbove, Params: monitor.Params{Account: "vendor_payable:v1", Currency: "USD", Threshold: 100, Days: 3}},
			check: func(t *testing.T, m monitor.Monitor) {
				assert.Equal(t, "owed", m.Name)
				assert.Equal(t, monitor.SideCredit, m.Params.Side)
				assert.EqualValues(t, "usd", m.Params.Currency)
				assert.Equal(t, monitor.DefaultPeriod, m.Period)
			}},
		{name: "provider balance is debit side",
			m:     monitor.Monitor{Name: "float", Kind: monitor.KindBalanceAbove, Params: monitor.Params{Account: "provider:stripe", Currency: "eur"}},
			check: func(t *testing.T, m monitor.Monitor) { assert.Equal(t, monitor.SideDebit, m.Params.Side) }},
		{name: "processing fees, an expense, are debit side",
			m:     monitor.Monitor{Name: "fees", Kind: monitor.KindBalanceAbove, Params: monitor.Params{Account: ledger.ProcessingFees("paypal"), Currency: "usd"}},
			check: func(t *testing.T, m monitor.Monitor) { assert.Equal(t, monitor.SideDebit, m.Params.Side) }},
		{name: "dispute losses, an expense, are debit side",
			m:     monitor.Monitor{Name: "losses", Kind: monitor.KindBalanceAbove, Params: monitor.Params{Account: ledger.DisputeLosses("stripe"), Currency: "usd"}},
			check: func(t *testing.T, m monitor.Monitor) { assert.Equal(t, monitor.SideDebit, m.Params.Side) }},
		{name: "held legs", m: monitor.Monitor{Name: "holds", Kind: monitor.KindHeldLegAge, Params: monitor.Params{Days: 7, ClientID: "acme"}}},
		{name: "kpi", m: monitor.Monitor{Name: "kpi", Kind: monitor.KindKPISyncStale, Params: monitor.Params{Hours: 6}}},
		{name: "payouts failed", m: monitor.Monitor{Name: "owed", Kind: monitor.KindPayoutFailedAge, Params: monitor.Params{Hours: 24, ClientID: "acme"}}},
		{name: "payouts failed without hours", m: monitor.Monitor{Name: "x", Kind: monitor.KindPayoutFailedAge}, wantErr: "hours > 0"},
		{name: "payouts failed in days", m: monitor.Monitor{Name: "x", Kind: monitor.KindPayoutFailedAge, Params: monitor.Params{Hours: 1, Days: 2}}, wantErr: "only hours"},
		{name: "drift", m: monitor.Monitor{Name: "drift", Kind: monitor.KindReconciliationDrift}},
		{name: "inbox", m: monitor.Monitor{Name: "inbox", Kind: monitor.KindWebhookInboxAge, Params: monitor.Params{Minutes: 15}}},
		{name: "inbox without minutes", m: monitor.Monitor{Name: "x", Kind: monitor.KindWebhookInboxAge}, wantErr: "minutes > 0"},
		{name: "inbox with a client", m: monitor.Monitor{Name: "x", Kind: monitor.KindWebhookInboxAge, Params: monitor.Params{Minutes: 5, ClientID: "acme"}}, wantErr: "only minutes"},
		{name: "minutes on another kind", m: monitor.Monitor{Name: "x", Kind: monitor.KindKPISyncStale, Params: monitor.Params{Hours: 1, Minutes: 5}}, wantErr: "does not take minutes"},
		{name: "too many minutes", m: monitor.Monitor{Name: "x", Kind: monitor.KindWebhookInboxAge, Params: monitor.Params{Minutes: 1_000_000}}, wantErr: "minutes"},
		{name: "no name", m: monitor.Monitor{Kind: monitor.KindHeldLegAge}, wantErr: "name"},
		// Names count characters, not UTF-8 bytes: 70 Japanese characters are 210 bytes.
		{name: "japanese name", m: monitor.Monitor{Name: strings.Repeat("監", 200), Kind: monitor.KindKPISyncStale, Params: monitor.Params{Hours: 6}}},
		{name: "name of 201 characters", m: monitor.Monitor{Name: strings.Repeat("監", 201), Kind: monitor.KindKPISyncStale, Params: monitor.Params{Hours: 6}}, wantErr: "name"},
		{name: "name on two lines", m: monitor.Monitor{Name: "kpi\nBcc: x@example.com", Kind: monitor.KindKPISyncStale, Params: monitor.Params{Hours: 6}}, wantErr: "name"},
		{name: "name with U+FFFD (an unpaired surrogate in JSON)", m: monitor.Monitor{Name: "kpi \ufffd", Kind: monitor.KindKPISyncStale, Params: monitor.Params{Hours: 6}}, wantErr: "name"},
		// Names are unique among live monitors: "Café" typed in NFD is the same name as in NFC.
		{name: "NFD name is kept in NFC", m: monitor.Monitor{Name: "Cafe\u0301 payouts", Kind: monitor.KindKPISyncStale, Params: monitor.Params{Hours: 6}},
			check: func(t *testing.T, m monitor.Monitor) { assert.Equal(t, "Caf\u00e9 payouts", m.Name) }},
		{name: "unknown kind", m: monitor.Monitor{Name: "x", Kind: "vibes"}, wantErr: "kind"},
		{name: "system kind", m: monitor.Monitor{Name: "x", Kind: monitor.KindLedgerChain}, wantErr: "system"},
		{name: "balance without account", m: monitor.Monitor{Name: "x", Kind: monitor.KindBalanceAbove, Params: monitor.Params{Currency: "usd"}}, wantErr: "account"},
		{name: "balance with unknown currency", m: monitor.Monitor{Name: "x", Kind: monitor.KindBalanceAbove, Params: monitor.Params{Account: "a", Currency: "xyz"}}, wantErr: "currency"},
		{name: "balance with bad side", m: monitor.Monitor{Name: "x", Kind: monitor.KindBalanceAbove, Params: monitor.Params{Account: "a", Currency: "usd", Side: "up"}}, wantErr: "side"},
		{name: "negative threshold", m: monitor.Monitor{Name: "x", Kind: monitor.KindBalanceAbove, Params: monitor.Params{Account: "a", Currency: "usd", Threshold: -1}}, wantErr: "threshold"},
		{name: "too many days", m: monitor.Monitor{Name: "x", Kind: monitor.KindHeldLegAge, Params: monitor.Params{Days: 10_000}}, wantErr: "days"},
		{name: "held with an account", m: monitor.Monitor{Name: "x", Kind: monitor.KindHeldLegAge, Params: monitor.Params{Account: "a"}}, wantErr: "only days"},
		{name: "kpi without hours", m: monitor.Monitor{Name: "x", Kind: monitor.KindKPISyncStale}, wantErr: "hours"},
		{name: "period too short", m: monitor.Monitor{Name: "x", Kind: monitor.KindHeldLegAge, Period: time.Second}, wantErr: "period"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := monitor.Normalize(tt.m)
			if tt.wantErr != "" {
				require.ErrorIs(t, err, monitor.ErrInvalid)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			if tt.check != nil {
				tt.check(t, got)
			}
		})
	}
}
