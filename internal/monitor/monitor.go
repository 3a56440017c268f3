// Package monitor holds balance and operations monitors: their definitions, the pure function
// that evaluates one against what was observed, the alert state machine that turns evaluations
// into incidents and deduplicated notifications, and their Postgres store. Delivering the
// notifications is internal/alert's job; running evaluations on a schedule is the integrity
// workflow's.
package monitor

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"paysplit/internal/ledger"
	"paysplit/internal/money"
)

// Errors; match with errors.Is.
var (
	// ErrInvalid reports a monitor definition that cannot be evaluated.
	ErrInvalid = errors.New("monitor: invalid")
	// ErrNotFound reports a missing monitor.
	ErrNotFound = errors.New("monitor: not found")
	// ErrSystem reports an attempt to change a monitor the system owns.
	ErrSystem = errors.New("monitor: system monitor")
)

// Kind says what a monitor watches.
type Kind string

const (
	// KindBalanceAbove fires when an account's balance (on its normal side) has stayed above
	// Threshold for more than Days days, judged from the journal's point-in-time balances.
	KindBalanceAbove Kind = "balance_above"
	// KindHeldLegAge fires when a payment has been held for more than Days days: a held leg, or
	// (code path 14) held top-ups all that is due.
	KindHeldLegAge Kind = "held_leg_age"
	// KindPayoutFailedAge fires when a payment has been payout_failed (a failed payout waiting
	// for an admin's decision, or a top-up or reversal due until an admin's retry) for more than
	// Hours hours: money is owed and nobody has acted.
	KindPayoutFailedAge Kind = "payout_failed_age"
	// KindReconciliationDrift fires when a provider's latest reconciliation found more than
	// Threshold differences (default: any). Unavailable until a reconciliation run exists.
	KindReconciliationDrift Kind = "reconciliation_drift"
	// KindKPISyncStale fires when a client's KPIs have not been synced for Hours hours, or for
	// two of the client's sync periods when that is longer (the dashboard's rule). Unavailable
	// until KPI sync records exist.
	KindKPISyncStale Kind = "kpi_sync_stale"
	// KindWebhookInboxAge fires when a verified webhook event has waited in the inbox for more
	// than Minutes minutes: the API's relay cannot hand events to Temporal.
	KindWebhookInboxAge Kind = "webhook_inbox_age"
	// KindLedgerChain is the system's own monitor, fed by journal chain verification.
	KindLedgerChain Kind = "ledger_chain"
	// KindPayoutTakenBack is the system's own monitor (migration 00050) of PayPal payout items
	// taken back after they were paid: not evaluated, it is raised once per item taken back
	// (Store.RaiseEvent) by the PayPal webhook.
	KindPayoutTakenBack Kind = "payout_taken_back"
)

// Kinds admins may create, in the order the API documents them.
var Kinds = []Kind{KindBalanceAbove, KindHeldLegAge, KindPayoutFailedAge, KindReconciliationDrift, KindKPISyncStale, KindWebhookInboxAge}

// PaymentSubjectKinds are the kinds whose alerts' subjects are payments' workflow IDs. The others
// name accounts, clients, webhook events or journal entries: a client's ID may read like a
// workflow ID, so an alert is about a payment only when its kind says its subjects are payments.
var PaymentSubjectKinds = []Kind{KindHeldLegAge, KindPayoutFailedAge, KindReconciliationDrift, KindPayoutTakenBack}

// Side is the direction in which an account's balance normally grows.
type Side string

const (
	// SideDebit accounts (provider balances) grow with debits: the balance as stored.
	SideDebit Side = "debit"
	// SideCredit accounts (payables, revenue) grow with credits: the stored balance negated.
	SideCredit Side = "credit"
)

// NormalSide is the side an account grows on by its name: what the platform owes (payables)
// and earns (revenue) are credit balances; what it holds at providers, what it pays them in
// fees (processing_fees:<provider>) and what lost disputes cost it (dispute_losses:<provider>)
// are debit balances.
func NormalSide(account string) Side {
	for _, prefix := range []string{ledger.VendorPayable(""), ledger.AffiliatePayable(""), "platform:"} {
		if strings.HasPrefix(account, prefix) {
			return SideCredit
		}
	}
	return SideDebit
}

// Normal turns a stored balance (debit positive) into an amount on side s.
func (s Side) Normal(balance int64) int64 {
	if s == SideCredit {
		return -balance
	}
	return balance
}

// Params are a monitor's settings; which ones apply depends on the kind.
type Params struct {
	Account   string         `json:"account,omitempty"`
	Currency  money.Currency `json:"currency,omitempty"`
	Side      Side           `json:"side,omitempty"`
	Threshold int64          `json:"threshold"` // minor units of Currency
	Days      int            `json:"days"`
	Hours     int            `json:"hours"`
	Minutes   int            `json:"minutes,omitempty"`
	ClientID  string         `json:"client_id,omitempty"`
}

// DefaultPeriod is how long a notification deduplicates the next one of the same monitor.
const DefaultPeriod = 24 * time.Hour

// Limits keep definitions meaningful: a year of lookback is more than any window needs.
const (
	maxDays    = 366
	maxHours   = 24 * maxDays
	maxMinutes = 7 * 24 * 60
	minPeriod  = time.Minute
	maxPeriod  = 365 * 24 * time.Hour
	maxNameLen = 200
)

// Monitor is one stored definition with the outcome of its last evaluation.
type Monitor struct {
	ID              int64         `json:"id"`
	Name            string        `json:"name"`
	Kind            Kind          `json:"kind"`
	Params          Params        `json:"params"`
	Period          time.Duration `json:"-"`
	System          bool          `json:"system"`
	CreatedBy       string        `json:"created_by"`
	CreatedAt       time.Time     `json:"created_at"`
	LastStatus      Status        `json:"last_status"`
	LastSummary     string        `json:"last_summary"`
	LastEvaluatedAt *time.Time    `json:"last_evaluated_at"`
}

// Window is how far back a monitor looks.
func (m Monitor) Window() time.Duration {
	return time.Duration(m.Params.Days)*24*time.Hour + time.Duration(m.Params.Hours)*time.Hour +
		time.Duration(m.Params.Minutes)*time.Minute
}

// Normalize checks a definition an admin submitted and fills in defaults: the account's normal
// side, a lower-case currency, the default period. The error wraps ErrInvalid and says which
// field is wrong.
func Normalize(m Monitor) (Monitor, error) {
	// NFC: names are unique among live monitors, and "Café" typed with a combining accent (NFD)
	// is the same name to whoever reads the list or an alert's subject.
	m.Name = norm.NFC.String(strings.TrimSpace(m.Name))
	if !isLine(m.Name) {
		return m, fmt.Errorf("%w: name must be 1-%d characters of text on one line", ErrInvalid, maxNameLen)
	}
	if m.Period == 0 {
		m.Period = DefaultPeriod
	}
	if m.Period < minPeriod || m.Period > maxPeriod {
		return m, fmt.Errorf("%w: period must be between %s and %s", ErrInvalid, minPeriod, maxPeriod)
	}
	p := &m.Params
	if p.Days < 0 || p.Days > maxDays {
		return m, fmt.Errorf("%w: days must be between 0 and %d", ErrInvalid, maxDays)
	}
	if p.Hours < 0 || p.Hours > maxHours {
		return m, fmt.Errorf("%w: hours must be between 0 and %d", ErrInvalid, maxHours)
	}
	if p.Minutes < 0 || p.Minutes > maxMinutes {
		return m, fmt.Errorf("%w: minutes must be between 0 and %d", ErrInvalid, maxMinutes)
	}
	if p.Minutes != 0 && m.Kind != KindWebhookInboxAge {
		return m, fmt.Errorf("%w: %s does not take minutes", ErrInvalid, m.Kind)
	}
	if p.Threshold < 0 {
		return m, fmt.Errorf("%w: threshold must not be negative", ErrInvalid)
	}
	switch m.Kind {
	case KindBalanceAbove:
		if err := checkText("account", p.Account); err != nil {
			return m, err
		}
		if err := normalizeCurrency(p, true); err != nil {
			return m, err
		}
		switch p.Side {
		case "":
			p.Side = NormalSide(p.Account)
		case SideDebit, SideCredit:
		default:
			return m, fmt.Errorf("%w: side %q must be debit or credit", ErrInvalid, p.Side)
		}
		if p.Hours != 0 {
			return m, fmt.Errorf("%w: %s takes days, not hours", ErrInvalid, m.Kind)
		}
	case KindHeldLegAge:
		if p.Account != "" || p.Currency != "" || p.Side != "" || p.Threshold != 0 || p.Hours != 0 {
			return m, fmt.Errorf("%w: %s takes only days and an optional client_id", ErrInvalid, m.Kind)
		}
	case KindPayoutFailedAge:
		if p.Hours <= 0 {
			return m, fmt.Errorf("%w: %s needs hours > 0", ErrInvalid, m.Kind)
		}
		if *p != (Params{Hours: p.Hours, ClientID: p.ClientID}) {
			return m, fmt.Errorf("%w: %s takes only hours and an optional client_id", ErrInvalid, m.Kind)
		}
	case KindReconciliationDrift:
		if err := normalizeCurrency(p, false); err != nil {
			return m, err
		}
	case KindKPISyncStale:
		if p.Hours <= 0 {
			return m, fmt.Errorf("%w: %s needs hours > 0", ErrInvalid, m.Kind)
		}
	case KindWebhookInboxAge:
		if p.Minutes <= 0 {
			return m, fmt.Errorf("%w: %s needs minutes > 0", ErrInvalid, m.Kind)
		}
		if *p != (Params{Minutes: p.Minutes}) {
			return m, fmt.Errorf("%w: %s takes only minutes", ErrInvalid, m.Kind)
		}
	case KindLedgerChain, KindPayoutTakenBack:
		return m, fmt.Errorf("%w: %s is the system's own monitor and cannot be created", ErrInvalid, m.Kind)
	default:
		return m, fmt.Errorf("%w: kind %q must be one of %s", ErrInvalid, m.Kind, kindList())
	}
	if p.ClientID != "" {
		if err := checkText("client_id", p.ClientID); err != nil {
			return m, err
		}
	}
	return m, nil
}

func normalizeCurrency(p *Params, required bool) error {
	if p.Currency == "" && !required {
		return nil
	}
	c, err := money.ParseCurrency(string(p.Currency))
	if err != nil {
		return fmt.Errorf("%w: currency: %w", ErrInvalid, err)
	}
	p.Currency = c
	return nil
}

func checkText(field, v string) error {
	if !isLine(v) {
		return fmt.Errorf("%w: %s must be 1-%d characters of text on one line", ErrInvalid, field, maxNameLen)
	}
	return nil
}

// isLine says whether v is 1 to maxNameLen characters (code points, not UTF-8 bytes) of text on
// one line: no control characters (NUL, line breaks: a name goes into alert subjects) and no
// U+FFFD, which is what a JSON decoder makes of an unpaired surrogate or invalid UTF-8.
func isLine(v string) bool {
	return strings.TrimSpace(v) != "" && utf8.ValidString(v) && utf8.RuneCountInString(v) <= maxNameLen &&
		!strings.ContainsFunc(v, func(r rune) bool { return unicode.IsControl(r) || r == utf8.RuneError })
}

func kindList() string {
	names := make([]string, len(Kinds))
	for i, k := range Kinds {
		names[i] = string(k)
	}
	return strings.Join(names, ", ")
}
