// Package payment holds the state of one captured payment as the payment workflow builds it:
// the order it belongs to, its split into legs, and what has happened to each leg. The workflow
// keeps it in memory, activities persist it, and the admin API reads it back.
package payment

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"paysplit/internal/ledger"
	"paysplit/internal/money"
	"paysplit/internal/split"
)

// WorkflowID is the business key of a payment's workflow: duplicate deliveries collapse on it,
// and the payment's journal entries carry it as their reference.
func WorkflowID(provider, paymentID string) string {
	return "payment-" + provider + "-" + paymentID
}

// Status is where a payment is in its life; it is also the PaymentStatus search attribute.
type Status string

const (
	StatusAwaitingCapture   Status = "awaiting_capture"
	StatusAwaitingMetadata  Status = "awaiting_metadata"
	StatusNeedsAttention    Status = "needs_attention"
	StatusPayingOut         Status = "paying_out"
	StatusPayoutFailed      Status = "payout_failed"
	StatusHeld              Status = "held"
	StatusPaid              Status = "paid"
	StatusPartiallyRefunded Status = "partially_refunded"
	StatusRefunded          Status = "refunded"
	StatusDisputed          Status = "disputed"
	StatusCompensated       Status = "compensated"
	StatusCancelled         Status = "cancelled"
)

// Statuses are every Status, in the order of a payment's life: what a filter by status may name.
var Statuses = []Status{
	StatusAwaitingCapture, StatusAwaitingMetadata, StatusNeedsAttention, StatusPayingOut, StatusPayoutFailed, StatusHeld,
	StatusPaid, StatusPartiallyRefunded, StatusRefunded, StatusDisputed, StatusCompensated, StatusCancelled,
}

// LegState is what happened to one party's share.
type LegState string

const (
	LegPending LegState = "pending"
	// LegTransferring marks a transfer whose outcome is not known yet; compensation re-asks Stripe
	// with the same idempotency key to learn whether it happened.
	LegTransferring LegState = "transferring"
	LegTransferred  LegState = "transferred"
	LegHeld         LegState = "held"
	LegFailed       LegState = "failed"
	LegReversed     LegState = "reversed"
	LegCancelled    LegState = "cancelled"
	// LegRetained is the platform's own share: it stays in the platform balance, nothing moves.
	LegRetained LegState = "retained"
	// LegNothingDue is a payee leg with nothing left to send (zero share, or refunded before payout).
	LegNothingDue LegState = "nothing_due"
)

// Order is the metadata a store plugin attaches to a payment. No customer data: only what splits
// and reports need.
type Order struct {
	ClientID    string `json:"client_id"`
	OrderID     string `json:"order_id"`
	VendorID    string `json:"vendor_id"`
	AffiliateID string `json:"affiliate_id,omitempty"`
	Platform    string `json:"platform"`
	Subtotal    int64  `json:"subtotal"`
	Tax         int64  `json:"tax"`
	Shipping    int64  `json:"shipping"`
	Discount    int64  `json:"discount"`
	// Extras is what the customer paid that is neither a vendor's sale, its tax, nor shipping:
	// a Shopify tip, duties and additional fees, WooCommerce's fee lines with their tax. It is in
	// the total and never commissioned (split.Order.Extras). Omitted when zero: a record or a
	// workflow's history from before it decodes as it was, its extras then counted in Shipping.
	// Encoded in "shipping" as well (MarshalJSON), as the orders table stores it.
	Extras int64 `json:"extras,omitempty"`
	// Currency is set on orders from storefronts; a payment's own currency is on the Record.
	Currency money.Currency `json:"currency,omitempty"`
	// Lines split the order by vendor when it has lines from several; empty means one vendor,
	// VendorID, for the whole order.
	Lines []OrderLine `json:"lines,omitempty"`
}

// orderFields is Order without its methods: its JSON as the fields say.
type orderFields Order

// MarshalJSON encodes the extras in "shipping" too, and apart in "extras". The release before
// extras knows only shipping, and it decodes the orders in workflow histories and stored records
// (payments.state) whenever its worker runs a payment of this release's: a rolling deploy without
// worker versioning, a rollback. It then reads the order whole, its extras in shipping as it
// stored them itself, and its split finds the order adding up to the capture; with the extras
// left out it found the order short by them and parked the payment. The orders table keeps
// shipping the same way (store.storedShipping).
func (o Order) MarshalJSON() ([]byte, error) {
	if o.Extras != 0 && (o.Extras < 0 || o.Shipping < 0) {
		// UnmarshalJSON refuses it: written into a workflow's history or a stored record, the
		// payment could never be read again. Refused here, where the write fails instead.
		return nil, fmt.Errorf("order %s: extras %d with shipping %d cannot be encoded in shipping", o.OrderID, o.Extras, o.Shipping)
	}
	w := orderFields(o)
	var err error
	if w.Shipping, err = money.AddInt(o.Shipping, o.Extras); err != nil {
		return nil, fmt.Errorf("order %s shipping and extras: %w", o.OrderID, err)
	}
	return json.Marshal(w)
}

// UnmarshalJSON takes the extras out of the shipping they were encoded in (MarshalJSON). An order
// encoded without extras (before them, or by the previous release again, which drops the key it
// does not know) reads as it was: everything in shipping, its total whole.
func (o *Order) UnmarshalJSON(b []byte) error {
	var w orderFields
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	if w.Extras != 0 && (w.Extras < 0 || w.Extras > w.Shipping) {
		// No release encodes such an order: its shipping would be below zero.
		return fmt.Errorf("order %s: extras %d are not within the shipping %d they are encoded in", w.OrderID, w.Extras, w.Shipping)
	}
	w.Shipping -= w.Extras
	*o = Order(w)
	return nil
}

// Total is what the order asks to be paid (split.Total: subtotal - discount + tax + shipping +
// extras, as the split checks it against the capture); ok is false for one that adds up to
// nothing valid.
func (o Order) Total() (total int64, ok bool) {
	if o.Discount > o.Subtotal || o.Tax < 0 || o.Shipping < 0 || o.Extras < 0 {
		return 0, false
	}
	sum, err := split.Total(o.Subtotal, o.Discount, o.Tax, o.Shipping, o.Extras)
	return sum, err == nil
}

// SplitOrder is the order as the split takes it, for a capture of gross in cur: every amount the
// order has, so none is left out of the total or put where a rule commissions it.
func (o Order) SplitOrder(cur money.Currency, gross int64) split.Order {
	so := split.Order{
		Currency: cur, Gross: gross, Subtotal: o.Subtotal, Tax: o.Tax, Shipping: o.Shipping, Discount: o.Discount,
		Extras: o.Extras, VendorID: o.VendorID, AffiliateID: o.AffiliateID,
	}
	for _, l := range o.Lines {
		so.Lines = append(so.Lines, split.Line{VendorID: l.VendorID, Subtotal: l.Subtotal, Tax: l.Tax, Discount: l.Discount})
	}
	return so
}

// Vendors are the vendors the order sells from, each once, in the order of its lines.
func (o Order) Vendors() []string {
	if len(o.Lines) == 0 {
		if o.VendorID == "" {
			return nil
		}
		return []string{o.VendorID}
	}
	var out []string
	for _, l := range o.Lines {
		if !slices.Contains(out, l.VendorID) {
			out = append(out, l.VendorID)
		}
	}
	return out
}

// OrderLine is one vendor's part of an order (its lines summed). Tax is the line tax; the
// order's shipping and extras are shared between vendors by the split.
type OrderLine struct {
	VendorID string `json:"vendor_id"`
	Subtotal int64  `json:"subtotal"`
	Tax      int64  `json:"tax"`
	Discount int64  `json:"discount"`
}

// Leg is one party's share and its money movements, all in the payment's currency.
type Leg struct {
	Party       split.Party `json:"party"`
	PayeeID     string      `json:"payee_id"`
	Destination string      `json:"destination,omitempty"` // Stripe connected account
	Amount      int64       `json:"amount"`                // share from the split
	Refunded    int64       `json:"refunded"`              // share of refunds and lost disputes
	Transferred int64       `json:"transferred"`           // sent to the payee
	Reversed    int64       `json:"reversed"`              // taken back from the payee
	TransferID  string      `json:"transfer_id,omitempty"`
	// TransferKey is the idempotency key of the transfer in flight or done, and TransferAmount the
	// amount it was first sent with: a retry under the same key sends that again.
	TransferKey    string `json:"transfer_key,omitempty"`
	TransferAmount int64  `json:"transfer_amount,omitempty"`
	// SentAt is when TransferKey was first sent (code path 6 on): PayPal keeps a sender_batch_id
	// for 30 days only, so a key in doubt older than that is not sent again.
	SentAt          time.Time `json:"sent_at,omitzero"`
	TransferEntryID int64     `json:"transfer_entry_id,omitempty"`
	Attempt         int       `json:"attempt"`
	State           LegState  `json:"state"`
	Reason          string    `json:"reason,omitempty"`
	// TopUps are the transfers a correction added to the first (TransferID), each its own at the
	// provider: a reversal beyond what the first has left is taken from them. Transferred and
	// Reversed include them.
	TopUps []TopUp `json:"top_ups,omitempty"`
	// Dues are money movements the provider did not make (refused, or no answer after every
	// attempt): top-ups the payee is owed, reversals the payee owes back. The books say so, the
	// payment is payout_failed, and an admin's retry sends them again.
	Dues []Due `json:"dues,omitempty"`
}

// DueKind is which way a due movement goes.
type DueKind string

const (
	// DueTopUp sends the payee more: a correction's extra share, a failed refund's.
	DueTopUp DueKind = "top_up"
	// DueReversal takes back from one of the payee's transfers: a refund's share, a
	// compensation, a correction's excess.
	DueReversal DueKind = "reversal"
)

// Due is a top-up or reversal that was sent and not made. Its keys are the cause's
// (<cause>/<party>-<payee>), and <cause>.a<n>/<party>-<payee> for the n-th new attempt after a
// refusal; an attempt whose outcome is unknown is asked again under its own key with its own
// amount, so it can never be made twice.
type Due struct {
	Kind DueKind `json:"kind"`
	// Cause is the key prefix of the movement's cause: <payment>/correction/v<n>,
	// <payment>/refund-failed/<refund>, <payment>/refund/<n> (.t<n> for a top-up's part), ...
	Cause string `json:"cause"`
	// What names the cause for people (correction, refund re_1 failed); top-ups only.
	What   string `json:"what,omitempty"`
	Amount int64  `json:"amount"`
	// Attempt numbers the key last sent (0: the cause's own).
	Attempt int `json:"attempt"`
	// Refused says the provider answered no, so the next attempt takes a new key; otherwise the
	// outcome is unknown and the next attempt repeats the key and the amount.
	Refused bool              `json:"refused"`
	Reason  string            `json:"reason"`
	Meta    map[string]string `json:"meta,omitempty"`
	// TransferID is the transfer a reversal takes back from (the leg's first, or a top-up).
	TransferID string `json:"transfer_id,omitempty"`
	// SentAt is when the current key was first sent (code path 6 on): PayPal keeps a
	// sender_batch_id for 30 days only, so a key in doubt older than that is not sent again.
	SentAt time.Time `json:"sent_at,omitzero"`
	// Destination is where a top-up's current key was sent (code path 13 on): a key in doubt is
	// asked again there, never at an account the payee has moved to since. Empty on dues recorded
	// before: their key went to the leg's Destination of the time.
	Destination string `json:"destination,omitempty"`
	// Held says the top-up's current key was never sent (code path 13 on): the payee's check said
	// hold (not registered, registered to another client, an account that cannot receive) or could
	// not be made. It is not made, so it counts as Refused (the retry sends what is then owed), but
	// the retry keeps its key, which no provider has seen, and checks the payee again.
	Held bool `json:"held,omitempty"`
}

// ResolvableInDoubt reports whether the due is a top-up whose outcome is unknown, which an admin
// who looked it up at the provider may resolve (a reversal in doubt is Stripe's, and a retry finds
// it by the key in its metadata).
func (d Due) ResolvableInDoubt() bool { return d.Kind == DueTopUp && !d.Refused }

// Key is the idempotency key of the due's current attempt for leg l.
func (d Due) Key(l Leg) string { return d.Prefix() + "/" + l.Name() }

// Prefix is the key prefix of the due's current attempt.
func (d Due) Prefix() string {
	if d.Attempt == 0 {
		return d.Cause
	}
	return fmt.Sprintf("%s.a%d", d.Cause, d.Attempt)
}

// Shortfall is what the leg's payee is owed beyond what it holds: its share after refunds less
// what was sent and not taken back; negative when the payee holds more than its share. Movements
// due with their outcome unknown count as made: their retry repeats key and amount, so they are
// made exactly once, and a refund meanwhile must not ask for them a second time. Refused ones do
// not count; their retry sends what is then still owed.
func (l Leg) Shortfall() int64 { return l.Remaining() - l.Holding() }

// Holding is what the leg's payee holds of the payment's money: sent and not taken back, with
// the movements in doubt counted as made (see Shortfall).
func (l Leg) Holding() int64 {
	held := l.Transferred - l.Reversed
	for _, d := range l.Dues {
		switch {
		case d.Refused:
		case d.Kind == DueTopUp:
			held += d.Amount
		case d.Kind == DueReversal:
			held -= d.Amount
		}
	}
	return held
}

// TransferLeft is what one of the leg's transfers (the first, or a top-up) still holds, less
// the reversals due from it with their outcome unknown (they will be made), and the top-up's
// index in TopUps (-1 for the first).
func (l Leg) TransferLeft(transferID string) (left int64, topUp int) {
	left, topUp = l.FirstTransferLeft(), -1
	for n, t := range l.TopUps {
		if t.TransferID == transferID {
			left, topUp = t.Amount-t.Reversed, n
		}
	}
	for _, d := range l.Dues {
		if d.Kind == DueReversal && !d.Refused && d.TransferID == transferID {
			left -= d.Amount
		}
	}
	return left, topUp
}

// FeeReturnsStanding are the refunds whose fee return still stands: FeeReturns less those undone
// when their refund failed (FeeReturnsUndone).
func (r Record) FeeReturnsStanding() []string {
	return slices.DeleteFunc(slices.Clone(r.FeeReturns), func(id string) bool { return slices.Contains(r.FeeReturnsUndone, id) })
}

// HasDues reports whether any leg has a top-up or reversal the provider did not make.
func (r Record) HasDues() bool {
	return slices.ContainsFunc(r.Legs, func(l Leg) bool { return len(l.Dues) > 0 })
}

// TopUp is one transfer a correction added to a leg, and what was taken back from it.
type TopUp struct {
	TransferID string `json:"transfer_id"`
	Amount     int64  `json:"amount"`
	Reversed   int64  `json:"reversed"`
}

// FirstTransferLeft is what the leg's first transfer (TransferID) still holds: what was sent and
// not taken back, less what its top-ups still hold.
func (l Leg) FirstTransferLeft() int64 {
	left := l.Transferred - l.Reversed
	for _, t := range l.TopUps {
		left -= t.Amount - t.Reversed
	}
	return left
}

// NeverSent reports whether the leg settled with nothing to send and was never sent anything: a
// share it is given later is paid as a payout is (the payee checked first), not topped up.
func (l Leg) NeverSent() bool { return l.State == LegNothingDue && l.TransferID == "" }

// Name identifies the leg within its payment in idempotency keys: a multi-vendor order has
// several vendor legs, so the party alone is not enough.
func (l Leg) Name() string { return string(l.Party) + "-" + l.PayeeID }

// CurrentTransferKey is the idempotency key of the leg's current transfer attempt in the payment of
// workflowID: <workflow>/transfer/<party>-<payee>/<attempt>.
func (l Leg) CurrentTransferKey(workflowID string) string {
	return fmt.Sprintf("%s/transfer/%s/%d", workflowID, l.Name(), l.Attempt)
}

// InDoubt reports whether the leg's current key was sent and its outcome never learnt: a refusal
// would have moved the leg to a new attempt, and so a new key. A leg held since (its payee could
// not receive when the retry came) stays in doubt. Only a retry under the same key, or an admin
// who looked the movement up at the provider, can end the doubt without paying twice.
func (l Leg) InDoubt(workflowID string) bool {
	switch l.State {
	case LegFailed, LegTransferring, LegHeld:
	default:
		return false
	}
	return l.TransferAmount > 0 && l.TransferKey == l.CurrentTransferKey(workflowID)
}

// Remaining is what the leg is still owed by the split after refunds.
func (l Leg) Remaining() int64 { return l.Amount - l.Refunded }

// Record is the whole state of one payment.
type Record struct {
	WorkflowID     string         `json:"workflow_id"`
	Provider       string         `json:"provider"`
	PaymentID      string         `json:"payment_id"`
	ChargeID       string         `json:"charge_id,omitempty"`
	Currency       money.Currency `json:"currency"`
	Gross          int64          `json:"gross"`
	Order          Order          `json:"order"`
	CommissionBase int64          `json:"commission_base"`
	RuleVersion    int            `json:"rule_version"`
	// PayoutUnit is the smallest amount the payees can be paid in, from the split (100 for PayPal
	// in HUF and TWD); 0 means any. Refunds keep the payees' parts in it (code path 7 on).
	PayoutUnit int64 `json:"payout_unit,omitempty"`
	// CorrectedTo lists the rule versions admins corrected the payment to, in order.
	CorrectedTo []int  `json:"corrected_to,omitempty"`
	Status      Status `json:"status"`
	Reason      string `json:"reason,omitempty"`
	Refunded    int64  `json:"refunded"`
	// DisputesLost is the part of Refunded that lost disputes (and PayPal reversals) took; the
	// rest is refunds, which providers state cumulatively.
	DisputesLost int64 `json:"disputes_lost,omitempty"`
	// DisputeLossBeyondRefunds is what lost disputes took beyond what the payment still had (a
	// dispute on a charge already refunded): the provider takes the disputed amount all the same,
	// so it is booked as the platform's loss (dispute_losses:<provider>), not in Refunded, as the
	// payees' shares went back with the refund (code path 13).
	DisputeLossBeyondRefunds int64 `json:"dispute_loss_beyond_refunds,omitempty"`
	Disputed                 bool  `json:"disputed"`
	// Compensated is why the payment's payouts were undone (compensation), empty if they were
	// not: it stays compensated whatever follows, unless refunded in full.
	Compensated  string   `json:"compensated,omitempty"`
	LostDisputes []string `json:"lost_disputes,omitempty"`
	// Reversals are PayPal's reversals (chargebacks) applied as lost disputes, with what each
	// took, so that one whose dispute the seller wins is given back once (code path 26).
	Reversals []Reversal `json:"reversals,omitempty"`
	// WonDisputes are the PayPal disputes resolved in the seller's favour (code path 26), with
	// when: a reversal made before, told after, had its funds returned by the win.
	WonDisputes []DisputeWon `json:"won_disputes,omitempty"`
	// BuyerWonDisputes are the PayPal disputes resolved in the buyer's favour or accepted by the
	// seller (code path 26), and not won on appeal since: a claim's funds are taken once it is so
	// decided, its reversal told after it closed.
	BuyerWonDisputes []string `json:"buyer_won_disputes,omitempty"`
	// ClosedDisputes are the disputes closed either way: a late "created" of one is old news.
	ClosedDisputes []string `json:"closed_disputes,omitempty"`
	// OpenDisputes are the disputes opened and not closed yet (code path 16): a payment can have
	// several, and it stays Disputed until the last is closed.
	OpenDisputes   []string `json:"open_disputes,omitempty"`
	AppliedRefunds []string `json:"applied_refunds,omitempty"`
	// RefundFigures are the provider's cumulative refunded figures as its events told them, each
	// as of its event's time (RefundsStanding reads them).
	RefundFigures []RefundFigure `json:"refund_figures,omitempty"`
	// FailedRefunds are the refunds the provider could not make (the money came back to the
	// platform), each undone once.
	FailedRefunds []FailedRefund `json:"failed_refunds,omitempty"`
	// DueRetries counts the admin retries of movements due taken: the next one's event ID is
	// due-retry-<DueRetries+1>, so a request sent twice is taken once.
	DueRetries     int   `json:"due_retries,omitempty"`
	CaptureEntryID int64 `json:"capture_entry_id,omitempty"`
	// Fee is the processing fee the provider kept from the gross, in the payment's currency, as
	// far as it is known (0 when the provider did not say it, or said it in another currency).
	// The platform bears it: it is booked as the platform's expense, not taken from the legs.
	Fee        int64 `json:"fee,omitempty"`
	FeeEntryID int64 `json:"fee_entry_id,omitempty"`
	// FeeReturned is what the provider gave back of the fee with refunds (PayPal returns part of
	// it), booked once per refund in FeeReturns, never more than Fee.
	FeeReturned int64    `json:"fee_returned,omitempty"`
	FeeReturns  []string `json:"fee_returns,omitempty"`
	// FeeReturnsUndone are the refunds among FeeReturns that failed afterwards: the fee they gave
	// back was taken again (code path 5).
	FeeReturnsUndone []string `json:"fee_returns_undone,omitempty"`
	// DisputeFees is what disputes cost in the provider's fees (Stripe's dispute fee, less any
	// returned), booked once per balance transaction in DisputeFeeIDs.
	DisputeFees   int64     `json:"dispute_fees,omitempty"`
	DisputeFeeIDs []string  `json:"dispute_fee_ids,omitempty"`
	Legs          []Leg     `json:"legs"`
	CapturedAt    time.Time `json:"captured_at"`
	// CodePath is the payment workflow code path of the run that first saved the record (0: saved
	// before runs stamped it). A Stripe payment's amounts are in the units that path counted in:
	// Stripe's own before path 10 (ISK, UGX and MGA differ from ISO 4217), so a later run of the
	// payment (a refund's, a dispute's) knows how to read them.
	CodePath int `json:"code_path,omitempty"`
	// Decision numbers the decisions the payment's run has asked admins for (code path 22): it
	// moves on as the run saves a new one (a leg held, a payout refused for good, a park, a late
	// capture awaited). An admin's retry, cancel or release carries the number it was made on
	// (the API reads it here), and the run takes it only while it still asks that decision; 0
	// before the first.
	Decision int `json:"decision,omitempty"`
}

// FailedRefund is a refund the provider told failed (or was canceled) after it was made: made
// at Made (zero when not told), failed at At.
type FailedRefund struct {
	ID     string    `json:"id"`
	Amount int64     `json:"amount"`
	Made   time.Time `json:"made,omitzero"`
	At     time.Time `json:"at"`
}

// RefundFigure is a provider's cumulative refunded amount as of At: refunds made by then, less
// those that had failed by then.
type RefundFigure struct {
	At       time.Time `json:"at"`
	Refunded int64     `json:"refunded"`
	// Event is the provider's event that told it (code path 25): two events telling one figure in
	// one second tell two refunds with a failure between them (RefundsStandingBySecond). Empty
	// before, when figures alike were kept once.
	Event string `json:"event,omitempty"`
	// Added is what the event's refund added to the figure: the figure less the one it moved from,
	// which Stripe's charge.refunded tells in previous_attributes.amount_refunded (code path 26).
	// 0 when the event did not say (or runs before kept none): refunds only add, so a figure's
	// own refund is never 0.
	Added int64 `json:"added,omitempty"`
}

// RefundsStanding is what is refunded now as the figures tell it, whatever order they and the
// failures were told in: what was ever refunded by the latest figure's time (the most any figure
// shows with the refunds failed by its time added back), less the failed refunds made by then. A
// failed refund made after every figure is in none of them: it is left out until a figure from
// after it comes, which counts it made and failed alike.
//
// Runs before code path 25 read it so; RefundsStandingBySecond is how later ones do.
func (r Record) RefundsStanding() int64 {
	return r.refundsStanding(func(fig RefundFigure, f FailedRefund) bool { return !f.At.After(fig.At) })
}

// RefundsStandingBySecond is RefundsStanding that does not take a refund failed in the second it
// was made as left out of a figure of that second: the figure is most likely the refund's own
// (Stripe's charge.refunded as it was made, events in whole seconds), which counts it, as the
// failure came after. Taken as left out, the failure undid nothing: the payees stayed debited for
// a refund the customer never got. Such a figure too small to hold the refund was told after the
// failure (another refund made in that second), and leaves it out. So does a figure that another
// event told alike in that second, the failure the only one of that second: refunds only add to a
// figure, so a failure came between the two, and the later one leaves it out (a refund failed at
// once and made again, a merchant's retry; taken as the refund's own, the retry was undone with
// the failure, the customer refunded and the payees not debited).
//
// Never below nothing: every refund told failed was made, so what was made is at least their sum;
// figures that cannot say which failures they left out (two failed in their second) took them
// all as counted, and the failures out of too little made it negative.
func (r Record) RefundsStandingBySecond() int64 {
	return max(0, r.refundsStanding(r.bySecond))
}

// bySecond is RefundsStandingBySecond's leftOut.
func (r Record) bySecond(fig RefundFigure, f FailedRefund) bool {
	if f.At.Equal(fig.At) && f.Made.Equal(fig.At) {
		return fig.Refunded < f.Amount || (r.toldTwice(fig) && r.onlyFailureAt(f))
	}
	return !f.At.After(fig.At)
}

// RefundsStandingByMoves is RefundsStandingBySecond that takes as made at least what the figures
// say their refunds added (RefundFigure.Added; code path 26), the figures themselves read without
// its guess (surelyLeftOut). Whole seconds cannot order a figure
// and a failure of one second: a refund of 100 made and failed, then one of 500 made, leaves the
// figures 100 and 500 and the failure of 100, as a refund of 100 and then one of 400 made before
// the failure does, and RefundsStandingBySecond takes the failure as counted in both (400 stands,
// where in the first 500 does). What each figure moved from tells them apart: 100 and 500 both
// from 0 are 600 made, 100 from 0 and 500 from 100 are 500. Every figure's refund is one of its own
// (Stripe tells each refund in a charge.refunded of its own, and one event is kept once), so
// their sum is never more than was made; figures that do not say what they added count nothing
// here, and with none of them this is RefundsStandingBySecond exactly.
func (r Record) RefundsStandingByMoves() int64 {
	added := r.refundsAdded()
	if added == 0 {
		return r.RefundsStandingBySecond()
	}
	return max(0, r.refundsStandingFrom(added, r.surelyLeftOut))
}

// surelyLeftOut is bySecond without its guess: a failure in a figure's second of a refund made
// before that second is taken as counted in the figure, not left out, unless the figure moved
// from less than the refund (RefundFigure.Added, or the figure itself when it does not say) and
// did not add what it did: a refund made before and not failed yet is in what the figure moved
// from, so that one failed before the figure's refund, unless it is the figure's own. Each figure then shows at most what was made (a figure plus the
// failures surely before it is what was made by then, and one of a refund made after it adds
// that refund), so the most any shows and what the figures added are both never more than was
// made, and the larger is taken. Taken as left out, such a failure that came after the figure
// made it more than was made: a refund of 400 made, then in one later second one of 200 made and
// the 400 failed, read 1000 made where 600 were. Taken as counted when the figure could not
// hold it (the 400 failed, then the 200 made, from 0), it read 400 made where 600 were, nothing
// standing of the 200 the customer got, whenever the 400's figure did not say what it added.
func (r Record) surelyLeftOut(fig RefundFigure, f FailedRefund) bool {
	if f.At.Equal(fig.At) {
		if f.Made.Equal(fig.At) {
			return r.bySecond(fig, f)
		}
		// Not the figure's own refund, made at the end of the second before its charge.refunded
		// was (its figure moved from less than it, and counts it): that adds what it added.
		return fig.Refunded-fig.Added < f.Amount && fig.Added != f.Amount
	}
	return f.At.Before(fig.At)
}

// refundsAdded is the sum of what the figures say their refunds added, each event's once.
func (r Record) refundsAdded() int64 {
	var sum int64
	seen := map[string]bool{}
	for _, fig := range r.RefundFigures {
		if fig.Added <= 0 || seen[fig.Event] {
			continue
		}
		seen[fig.Event] = true
		sum += fig.Added
	}
	return sum
}

// toldTwice reports whether two of the provider's events told fig's figure in its second. A
// figure kept without its event (by a run before code path 25) may be either: it counts none.
func (r Record) toldTwice(fig RefundFigure) bool {
	first := ""
	for _, g := range r.RefundFigures {
		if g.Event == "" || !g.At.Equal(fig.At) || g.Refunded != fig.Refunded {
			continue
		}
		if first != "" && g.Event != first {
			return true
		}
		first = g.Event
	}
	return false
}

// onlyFailureAt reports whether f is the only refund told failed in its second.
func (r Record) onlyFailureAt(f FailedRefund) bool {
	for _, g := range r.FailedRefunds {
		if g.ID != f.ID && g.At.Equal(f.At) {
			return false
		}
	}
	return true
}

// refundsStanding is RefundsStanding with leftOut saying whether a figure leaves a failed refund
// out (it failed by the figure's time).
func (r Record) refundsStanding(leftOut func(RefundFigure, FailedRefund) bool) int64 {
	return r.refundsStandingFrom(0, leftOut)
}

// refundsStandingFrom is refundsStanding that takes at least made as made by the latest figure.
func (r Record) refundsStandingFrom(made int64, leftOut func(RefundFigure, FailedRefund) bool) int64 {
	var latest time.Time
	for _, fig := range r.RefundFigures {
		failed := int64(0)
		for _, f := range r.FailedRefunds {
			if leftOut(fig, f) {
				failed += f.Amount
			}
		}
		made = max(made, fig.Refunded+failed)
		if fig.At.After(latest) {
			latest = fig.At
		}
	}
	for _, f := range r.FailedRefunds {
		if !f.Made.After(latest) {
			made -= f.Amount
		}
	}
	return made
}

// RefundsFailed is the sum of the refunds that had failed by then.
func (r Record) RefundsFailed(by time.Time) int64 {
	var sum int64
	for _, f := range r.FailedRefunds {
		if !f.At.After(by) {
			sum += f.Amount
		}
	}
	return sum
}

// CaptureEntry and FeeEntry name the capture's and its processing fee's journal entries in
// SetEntryID; a leg's transfer entry is named by the leg's Name.
const (
	CaptureEntry = "capture"
	FeeEntry     = "fee"
)

// SetEntryID records the ID of the journal entry that booked what names: the capture
// (CaptureEntry) or a leg's transfer (the leg's Name). It reports whether what named anything.
func (r *Record) SetEntryID(what string, id int64) bool {
	switch what {
	case CaptureEntry:
		r.CaptureEntryID = id
		return true
	case FeeEntry:
		r.FeeEntryID = id
		return true
	}
	for i := range r.Legs {
		if r.Legs[i].Name() == what {
			r.Legs[i].TransferEntryID = id
			return true
		}
	}
	return false
}

// Split reports whether the payment has been split into legs yet.
func (r *Record) Split() bool { return len(r.Legs) > 0 }

// Leg returns the leg of a party, or nil.
func (r *Record) Leg(p split.Party) *Leg {
	for i := range r.Legs {
		if r.Legs[i].Party == p {
			return &r.Legs[i]
		}
	}
	return nil
}

// Reversal is a PayPal reversal (PAYMENT.CAPTURE.REVERSED) applied as a lost dispute: Took is what
// it took from the payment's legs and Beyond what it took beyond what the payment had left (booked
// as the platform's loss), as of when it came. Dispute is the PayPal dispute it is taken to be
// for (PayPal's reversal names none): the one dispute open or decided for the buyer when it came
// (one cancelled, or won, or closed without an outcome moved no money of its own), or, none being,
// the first dispute told after it; only that dispute's win gives it back. Unattributed says
// several disputes could have been its own: no win gives it back, and no admin command does (a
// correction is refused on a refunded payment): the warning logged is the operator's to settle by
// hand. Reinstated says it was given back.
type Reversal struct {
	ID           string `json:"id"`
	Took         int64  `json:"took"`
	Beyond       int64  `json:"beyond,omitempty"`
	Dispute      string `json:"dispute,omitempty"`
	Unattributed bool   `json:"unattributed,omitempty"`
	Reinstated   bool   `json:"reinstated,omitempty"`
}

// DisputeWon is a PayPal dispute resolved in the seller's favour, At when PayPal resolved it
// (zero when it did not say).
type DisputeWon struct {
	ID string    `json:"id"`
	At time.Time `json:"at,omitzero"`
}

// UnmarshalJSON reads a win as stored now, or as a bare dispute ID: code path 26 kept the wins so
// (117af68) before it kept their time, and a record saved then must load, its wins undated.
func (w *DisputeWon) UnmarshalJSON(b []byte) error {
	var id string
	if err := json.Unmarshal(b, &id); err == nil {
		*w = DisputeWon{ID: id}
		return nil
	}
	type plain DisputeWon // without this method
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return fmt.Errorf("won dispute: %w", err)
	}
	*w = DisputeWon(p)
	return nil
}

// Account is the ledger account of the leg's party: what its payee is owed, or the platform's
// revenue.
func (l Leg) Account() string {
	switch l.Party {
	case split.PartyVendor:
		return ledger.VendorPayable(l.PayeeID)
	case split.PartyAffiliate:
		return ledger.AffiliatePayable(l.PayeeID)
	}
	return ledger.PlatformRevenue
}
