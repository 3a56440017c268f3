package monitor

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"paysplit/internal/money"
)

// Status is the outcome of one evaluation.
type Status string

const (
	StatusOK     Status = "ok"
	StatusFiring Status = "firing"
	// StatusUnavailable means the data the monitor needs does not exist (yet): nothing changes.
	StatusUnavailable Status = "unavailable"
	// StatusError means observing failed; recorded on the monitor, nothing else changes.
	StatusError Status = "error"
)

// BalancePoint is an account's normal-side balance right after one entry.
type BalancePoint struct {
	At      time.Time
	Balance int64
}

// Stalled is a payment waiting for an admin (a held leg, a failed payout) and since when.
type Stalled struct {
	WorkflowID string
	Since      time.Time
}

// ClientSync is when a client's KPIs were last synced, and how often its schedule syncs them.
type ClientSync struct {
	ClientID string
	At       time.Time
	// Period is the client's sync period (its own, else the deployment's; 0: unknown).
	Period time.Duration
	// Offboarded: the client has left and its syncs stopped on purpose; it is never stale.
	Offboarded bool
}

// ReconRun is the latest reconciliation run of one provider and the drift it found.
type ReconRun struct {
	Provider string
	RunID    int64
	At       time.Time
	// Drifts counts the differences found (in the monitor's currency, when it names one).
	Drifts   int64
	Payments []string
}

// ChainCheck is the outcome of a journal chain verification.
type ChainCheck struct {
	OK            bool
	Entries       int64
	BrokenEntryID int64
	Reason        string
}

// Observation is what a monitor's evaluation looks at, gathered by the store at one moment.
type Observation struct {
	// Opening is the normal-side balance at the start of the window (balance_above).
	Opening int64
	// Changes are the normal-side balances after each entry in the window, oldest first.
	Changes []BalancePoint
	// Stalled are the payments waiting for an admin: with a held leg (held_leg_age), or
	// payout_failed (payout_failed_age).
	Stalled []Stalled
	// Recon are the latest reconciliation runs, one per provider (reconciliation_drift).
	Recon []ReconRun
	// Synced are the clients' last KPI syncs (kpi_sync_stale).
	Synced []ClientSync
	// Chain is the last chain verification (ledger_chain).
	Chain *ChainCheck
	// Waiting are the webhook events not yet forwarded to Temporal, oldest first
	// (webhook_inbox_age); WaitingTotal counts them all when Waiting is cut short.
	Waiting      []InboxWait
	WaitingTotal int64
	// Unavailable, when set, says why the data this monitor needs does not exist.
	Unavailable string
}

// Result is one evaluation's verdict.
type Result struct {
	Status  Status `json:"status"`
	Summary string `json:"summary"`
	// Value is the measured quantity: the balance, the number of held payments, ...
	Value int64 `json:"value"`
	// Subjects name what is affected (payment workflow IDs, entry IDs): never personal data.
	Subjects []string `json:"subjects,omitempty"`
}

// maxSubjects bounds an alert's subject list; the summary says how many there were.
const maxSubjects = 50

// Evaluate judges m against obs at now. It is pure: the same inputs give the same result.
func Evaluate(m Monitor, obs Observation, now time.Time) Result {
	if obs.Unavailable != "" {
		return Result{Status: StatusUnavailable, Summary: obs.Unavailable}
	}
	switch m.Kind {
	case KindBalanceAbove:
		return balanceAbove(m, obs)
	case KindHeldLegAge:
		return stalledAge(m, obs, now, "had a leg held")
	case KindPayoutFailedAge:
		return stalledAge(m, obs, now, "been payout_failed (a failed payout, or a top-up or reversal due)")
	case KindLedgerChain:
		return ledgerChain(obs)
	case KindKPISyncStale:
		return kpiSyncStale(m, obs, now)
	case KindReconciliationDrift:
		return reconciliationDrift(m, obs)
	case KindWebhookInboxAge:
		return webhookInboxAge(m, obs, now)
	}
	return Result{Status: StatusError, Summary: fmt.Sprintf("unknown monitor kind %q", m.Kind)}
}

// balanceAbove fires when the balance was above the threshold at the start of the window and
// after every change in it: continuously above for the whole window, not just now.
func balanceAbove(m Monitor, obs Observation) Result {
	p := m.Params
	current := obs.Opening
	above := obs.Opening > p.Threshold
	for _, c := range obs.Changes {
		current = c.Balance
		above = above && c.Balance > p.Threshold
	}
	amount := func(v int64) string { return money.Format(v, p.Currency) }
	if above {
		return Result{Status: StatusFiring, Value: current, Subjects: []string{p.Account}, Summary: fmt.Sprintf(
			"%s has been above %s for more than %s (now %s)", p.Account, amount(p.Threshold), days(p.Days), amount(current))}
	}
	if current > p.Threshold {
		return Result{Status: StatusOK, Value: current, Summary: fmt.Sprintf(
			"%s is above %s (%s) but has not been for %s yet", p.Account, amount(p.Threshold), amount(current), days(p.Days))}
	}
	return Result{Status: StatusOK, Value: current, Summary: fmt.Sprintf(
		"%s is %s, at or below %s", p.Account, amount(current), amount(p.Threshold))}
}

// stalledAge fires when any payment has waited for an admin (what it has: "had a leg held") for
// longer than the window.
func stalledAge(m Monitor, obs Observation, now time.Time, what string) Result {
	cutoff := now.Add(-m.Window())
	var old []Stalled
	for _, h := range obs.Stalled {
		if h.Since.Before(cutoff) {
			old = append(old, h)
		}
	}
	if len(old) == 0 {
		return Result{Status: StatusOK, Summary: fmt.Sprintf("no payment has %s for more than %s (%d now)", what, window(m), len(obs.Stalled))}
	}
	slices.SortFunc(old, func(a, b Stalled) int {
		if c := a.Since.Compare(b.Since); c != 0 {
			return c
		}
		return strings.Compare(a.WorkflowID, b.WorkflowID)
	})
	subjects := make([]string, 0, min(len(old), maxSubjects))
	for _, h := range old[:min(len(old), maxSubjects)] {
		subjects = append(subjects, h.WorkflowID)
	}
	return Result{Status: StatusFiring, Value: int64(len(old)), Subjects: subjects, Summary: fmt.Sprintf(
		"%d payment(s) have %s for more than %s; the oldest, %s, since %s",
		len(old), what, window(m), old[0].WorkflowID, old[0].Since.UTC().Format(time.RFC3339))}
}

// window says a monitor's window for people: days, or hours.
func window(m Monitor) string {
	if m.Params.Hours > 0 {
		return fmt.Sprintf("%d hour(s)", m.Params.Hours)
	}
	return days(m.Params.Days)
}

// reconciliationDrift fires when a provider's latest reconciliation found more differences than
// the threshold (by default: any).
func reconciliationDrift(m Monitor, obs Observation) Result {
	if len(obs.Recon) == 0 {
		return Result{Status: StatusUnavailable, Summary: "no reconciliation run has been recorded yet"}
	}
	var drifting []string
	var total int64
	var subjects []string
	for _, r := range obs.Recon {
		if r.Drifts > m.Params.Threshold {
			drifting = append(drifting, fmt.Sprintf("%s: %d in run %d", r.Provider, r.Drifts, r.RunID))
			total += r.Drifts
			for _, p := range r.Payments {
				if len(subjects) < maxSubjects {
					subjects = append(subjects, p)
				}
			}
		}
	}
	if len(drifting) == 0 {
		return Result{Status: StatusOK, Summary: fmt.Sprintf("latest reconciliation of %d provider(s) within %d difference(s)", len(obs.Recon), m.Params.Threshold)}
	}
	return Result{Status: StatusFiring, Value: total, Subjects: subjects, Summary: fmt.Sprintf(
		"reconciliation drift above %d: %s", m.Params.Threshold, strings.Join(drifting, "; "))}
}

// kpiSyncStale fires when a client's last KPI sync is older than the window, or than two of the
// client's sync periods when that is longer: the dashboard's rule (kpi.SourceStatus.IsStale with
// the monitor's hours for KPI_STALE_AFTER). A client synced once a day is not stale 6 hours after
// its sync, whatever a 6-hour monitor says: its next sync is not due yet.
func kpiSyncStale(m Monitor, obs Observation, now time.Time) Result {
	if len(obs.Synced) == 0 {
		return Result{Status: StatusUnavailable, Summary: "no KPI sync has been recorded yet"}
	}
	var stale []ClientSync
	offboarded := 0
	for _, s := range obs.Synced {
		switch {
		case s.Offboarded:
			offboarded++
		case now.Sub(s.At) > max(m.Window(), 2*s.Period):
			stale = append(stale, s)
		}
	}
	if len(stale) == 0 {
		summary := fmt.Sprintf("KPIs of %d client(s) synced within %d hours (or two of their sync periods when longer)",
			len(obs.Synced)-offboarded, m.Params.Hours)
		if offboarded > 0 {
			summary += fmt.Sprintf("; %d offboarded client(s) no longer synced", offboarded)
		}
		return Result{Status: StatusOK, Summary: summary}
	}
	slices.SortFunc(stale, func(a, b ClientSync) int { return strings.Compare(a.ClientID, b.ClientID) })
	subjects := make([]string, 0, min(len(stale), maxSubjects))
	for _, s := range stale[:min(len(stale), maxSubjects)] {
		subjects = append(subjects, s.ClientID)
	}
	return Result{Status: StatusFiring, Value: int64(len(stale)), Subjects: subjects, Summary: fmt.Sprintf(
		"KPIs of %d client(s) not synced for more than %d hours (or two of their sync periods when longer): %s",
		len(stale), m.Params.Hours, strings.Join(subjects, ", "))}
}

func ledgerChain(obs Observation) Result {
	c := obs.Chain
	if c == nil {
		return Result{Status: StatusUnavailable, Summary: "the journal chain has not been verified yet"}
	}
	if c.OK {
		return Result{Status: StatusOK, Value: c.Entries, Summary: fmt.Sprintf("journal chain intact over %d entries", c.Entries)}
	}
	return Result{Status: StatusFiring, Value: c.BrokenEntryID, Subjects: []string{fmt.Sprintf("journal_entry:%d", c.BrokenEntryID)},
		Summary: fmt.Sprintf("journal chain broken at entry %d: %s", c.BrokenEntryID, c.Reason)}
}

func days(n int) string {
	if n == 1 {
		return "1 day"
	}
	return fmt.Sprintf("%d days", n)
}

// Action is what an evaluation does to the monitor's incident.
type Action string

const (
	ActionNone    Action = "none"    // nothing open and nothing wrong, or no verdict
	ActionOpen    Action = "open"    // starts firing: a new incident
	ActionKeep    Action = "keep"    // still firing: the same incident
	ActionResolve Action = "resolve" // stopped firing: the incident is resolved
)

// Decide is the alert state machine. An unavailable or failed evaluation changes nothing: not
// knowing is not the same as being fine.
func Decide(open bool, s Status) Action {
	switch {
	case s == StatusFiring && open:
		return ActionKeep
	case s == StatusFiring:
		return ActionOpen
	case s == StatusOK && open:
		return ActionResolve
	}
	return ActionNone
}

// Event is what a notification announces.
type Event string

const (
	EventFiring   Event = "firing"
	EventResolved Event = "resolved"
)

// NotificationFor is the message an action calls for and the period it is deduplicated in. An
// incident still firing in a later period is announced again (a reminder); within one period an
// incident is announced at most once firing and once resolved (Store.Apply), and a new incident
// of a monitor that flapped is announced too.
func NotificationFor(a Action, now time.Time, period time.Duration) (Event, time.Time, bool) {
	start := PeriodStart(now, period)
	switch a {
	case ActionOpen, ActionKeep:
		return EventFiring, start, true
	case ActionResolve:
		return EventResolved, start, true
	}
	return "", time.Time{}, false
}

// PeriodStart is the start of the period holding t: periods are aligned to the Unix epoch in UTC,
// so every evaluator computes the same one.
func PeriodStart(t time.Time, period time.Duration) time.Time {
	if period <= 0 {
		period = DefaultPeriod
	}
	return t.UTC().Truncate(period)
}

// InboxWait is one webhook event waiting for the relay: its provider and event ID (no payload).
type InboxWait struct {
	Event      string
	ReceivedAt time.Time
}

// webhookInboxAge fires when events have waited longer than the monitor's minutes: acknowledged
// to the provider and safe in Postgres, but no payment runs for them until Temporal takes them.
func webhookInboxAge(m Monitor, obs Observation, now time.Time) Result {
	cutoff := now.Add(-m.Window())
	var late []string
	for _, w := range obs.Waiting {
		if w.ReceivedAt.Before(cutoff) && len(late) < maxSubjects {
			late = append(late, w.Event)
		}
	}
	if len(late) == 0 {
		return Result{Status: StatusOK, Value: obs.WaitingTotal, Summary: fmt.Sprintf(
			"%d webhook event(s) waiting, none for more than %d minutes", obs.WaitingTotal, m.Params.Minutes)}
	}
	oldest := now.Sub(obs.Waiting[0].ReceivedAt).Round(time.Second)
	return Result{Status: StatusFiring, Value: obs.WaitingTotal, Subjects: late, Summary: fmt.Sprintf(
		"webhook events are not reaching Temporal: %d waiting, the oldest for %s (more than %d minutes): %s",
		obs.WaitingTotal, oldest, m.Params.Minutes, strings.Join(late, ", "))}
}
