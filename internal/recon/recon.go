// Package recon compares payouts, and the payments behind them, as the ledger records them with
// what a provider reports. It only reports; fixing money is a person's decision.
package recon

import (
	"regexp"
	"sort"
	"strings"
)

// Pseudo-payees stand in Key.PayeeID for what is compared of the payment itself (no payee ID can
// look like them, as payee IDs have no parentheses).
const (
	// ProcessingFee is the fee the provider kept of the payment: the books' fee, net of fees
	// returned, against the provider's.
	ProcessingFee = "(processing fee)"
	// Captured is the payment's gross: the books' capture entry against what the provider
	// captured. A capture the books never heard of (its webhook lost) shows as extra.
	Captured = "(captured)"
	// Refunded is what was refunded of the payment: the books' refund entries against the
	// provider's amount refunded. A refund whose webhook was lost shows as a difference.
	Refunded = "(refunded)"
)

// Key is one payee's payouts for one payment, or one of the payment's own amounts (a pseudo-payee).
type Key struct {
	Payment  string `json:"payment"` // the payment's workflow ID
	PayeeID  string `json:"payee_id"`
	Currency string `json:"currency"`
}

// Kind of drift.
const (
	MissingAtProvider = "missing_at_provider" // the ledger paid, the provider shows nothing
	ExtraAtProvider   = "extra_at_provider"   // the provider paid, the ledger shows nothing
	AmountDiffers     = "amount_differs"
)

// Drift is one disagreement, amounts net of reversals in minor units.
type Drift struct {
	Key
	Kind           string `json:"kind"`
	LedgerAmount   int64  `json:"ledger_amount"`
	ProviderAmount int64  `json:"provider_amount"`
}

// Compare returns the drift between the two sides, sorted for stable reports. A key present on
// one side with a net of zero and absent on the other is not drift: paid and fully taken back.
func Compare(ledger, provider map[Key]int64) []Drift {
	var out []Drift
	for k, l := range ledger {
		p, ok := provider[k]
		switch {
		case !ok && l != 0:
			out = append(out, Drift{Key: k, Kind: MissingAtProvider, LedgerAmount: l})
		case ok && p != l:
			out = append(out, Drift{Key: k, Kind: AmountDiffers, LedgerAmount: l, ProviderAmount: p})
		}
	}
	for k, p := range provider {
		if _, ok := ledger[k]; !ok && p != 0 {
			out = append(out, Drift{Key: k, Kind: ExtraAtProvider, ProviderAmount: p})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i].Key, out[j].Key
		if a.Payment != b.Payment {
			return a.Payment < b.Payment
		}
		if a.PayeeID != b.PayeeID {
			return a.PayeeID < b.PayeeID
		}
		return a.Currency < b.Currency
	})
	return out
}

// payoutKey matches the idempotency keys of journal entries that book money sent to or taken back
// from a payee: <payment>/transfer/<party>-<payee>, <payment>/refund/<n>/<party>-<payee>,
// <payment>/compensate/<party>-<payee>, <payment>/correction/v<n>/<party>-<payee>, and the
// reversals of a correction's top-up, the cause followed by .t<n> (<payment>/refund/<n>.t1/...).
// After the n-th failed refund a refund's cause is refund/<n>.f<n>; a failed refund's top-ups are
// <payment>/refund-failed/<refund>/<party>-<payee>. A top-up or reversal due sent again after a
// refusal puts .a<n> after its cause (<payment>/correction/v4.a1/..., <payment>/refund/1100.t1.a2/...).
// The refund and correction entries that only move shares between parties end before the leg
// and don't match.
var payoutKey = regexp.MustCompile(`^(.+)/(?:transfer|compensate|` + refundCause + `|correction/v[0-9]+)(?:\.[at][0-9]+)*/(vendor|affiliate)-(.+)$`)

// refundCause is a refund's cause in keys: refund/<cumulative> (.f<n> after the n-th failed
// refund), or refund-failed/<refund> for the undoing of one that failed.
const refundCause = `refund/[0-9]+(?:\.f[0-9]+)?|refund-failed/[^/]+`

// refundEntry matches the key of a payment's own refund entry (<payment>/<refund cause>): the
// provider's money back to the customer, or back from a refund that failed. The entries that move
// a leg's share to or from its payee (<key>/<party>-<payee>) do not match.
var refundEntry = regexp.MustCompile(`/(?:` + refundCause + `)$`)

// RefundEntry reports whether a journal entry key books a payment's refund (or a failed
// refund's undoing) itself, not a payee's share of it.
func RefundEntry(key string) bool { return refundEntry.MatchString(key) }

// PayoutEntry reports whether a journal entry key books a payout movement, and for which payment
// and payee.
func PayoutEntry(key string) (payment, payee string, ok bool) {
	m := payoutKey.FindStringSubmatch(key)
	if m == nil {
		return "", "", false
	}
	return m[1], m[3], true
}

// PayeeFromAccount returns the payee of a payable account ("vendor_payable:v1" → "v1").
func PayeeFromAccount(account string) (string, bool) {
	for _, prefix := range []string{"vendor_payable:", "affiliate_payable:"} {
		if rest, ok := strings.CutPrefix(account, prefix); ok {
			return rest, true
		}
	}
	return "", false
}
