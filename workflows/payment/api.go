// Package payment is the durable payment workflow: capture → enrich → split → Connect transfers →
// ledger, with compensation, refunds and disputes. It is deterministic orchestration only; every
// read and write happens in paysplit/activities.
package payment

import (
	"time"

	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"paysplit/internal/money"
	"paysplit/internal/payment"
	"paysplit/internal/split"
)

// Names other programs use to reach the workflow. Nobody spells them twice.
const (
	WorkflowName = "PaymentWorkflow"
	// SignalEvent carries provider events (capture, refund, dispute) into the workflow.
	SignalEvent = "payment-event"
	// SignalAdmin carries an admin's decision (retry, cancel, release); the Temporal UI can send it.
	SignalAdmin = "admin"
	// QueryState returns the payment.Record as the workflow holds it now.
	QueryState = "state"
	// QuerySaved returns the payment.Record as the run last saved it (null before its first
	// save): what the store held after it, which a run that closed without a result (failed,
	// terminated) still tells, where its state may hold work it never finished.
	QuerySaved = "saved"
)

// WorkflowID is the business key of a payment's workflow (payment.WorkflowID).
func WorkflowID(provider, paymentID string) string { return payment.WorkflowID(provider, paymentID) }

// Settings are the workflow's timing and retry knobs, passed in by whoever starts it.
type Settings struct {
	// EnrichWait bounds the wait for missing order metadata before the payment parks.
	EnrichWait time.Duration
	// EnrichPoll is how often missing metadata is looked for again: the first enrichPollsAtPace
	// times, then (code path 25) twice as long each time, up to maxEnrichPoll.
	EnrichPoll time.Duration
	// CaptureWait bounds how long a run started by a refund or dispute waits for its capture
	// before the payment needs attention.
	CaptureWait time.Duration
	// LateCaptureWait is how much longer such a run, needing attention, still takes its capture
	// (code path 9): a capture event can be sent again for as long as the provider keeps it
	// (Stripe lists events for 30 days), and a closed run could not take it.
	LateCaptureWait time.Duration
	// SettleWindow keeps a paid payment open for late refunds and disputes.
	SettleWindow time.Duration
	// DecisionTimeout bounds the wait for an admin after a payout failed for good; then the
	// earlier transfers are compensated.
	DecisionTimeout time.Duration
	// DueRetryEvery is how often a run in its settle window retries its movements due by itself
	// (code path 5): the first dueRetriesAtPace times since it last had none, then (code path 25)
	// twice as long each time, up to maxDueRetry (or DueRetryEvery when longer); 0 leaves them to
	// admins.
	DueRetryEvery time.Duration
	// HoldRecheckEvery is how long a run with a leg held waits before it asks again whether the
	// payee can receive (code path 19), doubling after each answer that it still cannot, up to
	// maxHoldRecheck; 0 leaves held legs to admins and Stripe's Connect events (from code path 20
	// a held leg is still asked about once, as its hold is saved: codePathAskAfterHold).
	HoldRecheckEvery time.Duration
	// StripeAttempts bounds the retries of one payout call (429, 5xx, network), any provider. From
	// code path 21 it is the bound: before, a call run as a local activity also stopped once
	// PayoutTimeout had passed since its first attempt (payoutAttemptsWindow).
	StripeAttempts int32
	// StripeRetryInterval is the first backoff between those retries.
	StripeRetryInterval time.Duration
	// StepTimeout bounds one database step; PayoutTimeout one payout call, which for PayPal
	// includes watching the payout settle. A worker that dies mid-step is noticed after these.
	StepTimeout   time.Duration
	PayoutTimeout time.Duration
}

func (s Settings) withDefaults() Settings {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&s.EnrichWait, time.Hour)
	def(&s.EnrichPoll, time.Minute)
	def(&s.CaptureWait, 7*24*time.Hour)
	def(&s.LateCaptureWait, 30*24*time.Hour)
	def(&s.DecisionTimeout, 72*time.Hour)
	def(&s.StripeRetryInterval, time.Second)
	def(&s.StepTimeout, 30*time.Second)
	def(&s.PayoutTimeout, 2*time.Minute)
	if s.SettleWindow < 0 {
		s.SettleWindow = 0
	}
	if s.StripeAttempts <= 0 {
		s.StripeAttempts = 10
	}
	return s
}

// Input starts a payment workflow. The payment's data arrives by SignalEvent, so a refund that
// comes before its capture can start the workflow too; a capture that starts it comes in First.
type Input struct {
	Provider  string
	PaymentID string
	Settings  Settings
	// First is the event the run was started with (code path 8 on: a capture, started without a
	// signal, which costs the server a history event and a signal's work a payment). It is taken
	// before any signal.
	First *Event `json:",omitempty"`
	// CodePath is the workflow code path the starter asks for (CurrentCodePath from today's
	// API). The input is recorded in history, so a replay takes the same path without a version
	// marker, which would cost every payment a history event and a visibility update. Runs
	// started without it (older starters, recorded histories) decide with workflow.GetVersion.
	CodePath int
}

// Code paths of the payment workflow, chosen by the starter (Input.CodePath). A starter may ask
// for a path only once every worker knows it: deploy workers before the API.
const (
	// codePathOneTask: database steps and provider calls as local activities, search attributes
	// in one upsert.
	codePathOneTask = 1
	// codePathBookWithSave: the run starts with one step (Prepare: the stored state, and the
	// order and split of a new payment whose capture came with the start), and the capture and
	// transfer entries are booked together with the next save or post (one local activity, one
	// ledger transaction) instead of one step each.
	codePathBookWithSave = 2
	// codePathPartsApart keeps apart what providers keep apart. A provider's cumulative refunded
	// amount (Stripe's amount_refunded, PayPal's total_refunded_amount) counts refunds only, so it
	// is applied on top of what lost disputes took (Record.DisputesLost) rather than as the
	// payment's whole refunded amount, which ignored a refund that came after, or was told after,
	// a lost dispute. And a leg's correction top-ups are transfers of their own: a reversal beyond
	// what the first transfer has left is taken from them (Leg.TopUps), where the whole of it was
	// asked of the first transfer, which the provider refuses.
	codePathPartsApart = 3
	// codePathPayNeverSent pays a correction's share to a leg that was never sent anything (a
	// 0 % affiliate under the first rule) as a payout is (payee checked, holds honoured), where
	// it was topped up with no destination, which the provider refuses.
	codePathPayNeverSent = 4
	// codePathDues keeps a top-up or reversal the provider did not make as due on its leg
	// (Leg.Dues) with the payment payout_failed until an admin's retry (EventRetryDues) sends it,
	// where it was left as a reason on a settled payment; it puts each transfer's and reversal's key
	// in its metadata, so an in-doubt retry looks first for what the key made (providers forget
	// keys).
	codePathDues = 5
	// codePathResolve dates each movement due when its key is first sent (Due.SentAt) and does
	// not send again a PayPal top-up in doubt whose key is older than PayPal keeps it (payPalKeyDays):
	// it stays due until an admin resolves it (EventResolveDue).
	codePathResolve = 6
	// codePathPayableRefunds splits a refund, and a failed refund's give-back, over the legs with
	// the payees' parts in the split's payout unit where the platform's part can even them out
	// (split.AllocateRefundPayable), so what a payee paid in whole units only (PayPal in HUF) is
	// still to be paid, or paid again, stays payable.
	codePathPayableRefunds = 7
	// codePathStartWithCapture: a capture starts its payment's run as Input.First, with a plain
	// start, where it came as the signal of a signal-with-start. Events for a run already open
	// (a capture after its refund, refunds, disputes) still come by signal.
	codePathStartWithCapture = 8
	// codePathLateCapture keeps a run whose refund or dispute came without its capture open for
	// Settings.LateCaptureWait after it needed attention, so a capture that comes late is still
	// split and paid with the early events applied; before, the run closed, the events that came
	// first were known only to its history, and the capture was answered as a duplicate.
	codePathLateCapture = 9
	// codePathISOUnits keeps a Stripe payment's amounts in ISO minor units, as orders, the books
	// and reports are: Stripe counts ISK and UGX in hundredths and MGA in whole ariary
	// (money.FromStripe), and runs before read its amounts as they came. Such runs go on in
	// Stripe's units (the activities' StripeUnits), and events the API now sends in ISO units
	// (Event.ISOUnits) are brought back to them.
	codePathISOUnits = 10
	// codePathClosing: cancelling the workflow (the Temporal UI, the API) while it waits is
	// taken as an admin's cancel where one is taken (parked, held, a payout failed, waiting for a
	// late capture), cancels a payment that was never split (waiting for its capture or its
	// order), and ends a settled one's settle window early; before, a waiting run either ignored
	// it or spun on its cancelled timers. A run of a payment an admin cancelled before its split
	// (a refund's follow-up) ends at once rather than waiting for a capture to pay from. And an
	// event that comes while the run makes its last save is applied before it ends, not dropped.
	codePathClosing = 11
	// codePathRecordUnits: a run of a payment whose record a run before path 10 made (a
	// refund's or a dispute's run after the first closed) counts in that record's units,
	// Stripe's own, as the first run did (Record.CodePath), where it took them for ISO units and
	// applied ISO-unit events to them unconverted (an MGA refund of a tenth refunded it all and
	// took back a tenth of the vendor's share). And a dispute lost on a payment already refunded
	// in full, which has nothing left to take, still closes the dispute's status; before, the
	// payment stayed disputed for good.
	codePathRecordUnits = 12
	// codePathDisputeLoss books what a lost dispute takes beyond what the payment still had (a
	// dispute on a charge refunded before, in full or so far that the disputed amount exceeds
	// what is left) as the platform's loss: the provider takes the disputed amount all the same,
	// and the payees' shares went back with the refund. Before, nothing was booked for it and
	// the books' provider balance stayed above the provider's. And a top-up that is not a leg's
	// first payout (a correction's, a failed refund's, a refused one's next attempt) checks the
	// payee again (ResolvePayee) and goes where it is paid now, a hold keeping it due unsent
	// (Due.Held), where it went to the leg's destination of its first payout; a top-up in doubt is
	// asked again where its key went (Due.Destination).
	codePathDisputeLoss = 13
	// codePathOutageProof keeps a run going through a long database outage: a short step still
	// runs as a local activity, but once its local attempts are spent (the SDK stops them after
	// StepTimeout, their implicit ScheduleToCloseTimeout) it runs again as a regular activity,
	// whose retries, without limit, live on the server and add no history events; so does the
	// payee check (ResolvePayee, which reads Postgres). Before, the step's last error ended the
	// run: a Postgres outage longer than half a minute failed every payment it met, paid or not.
	// And a payment whose only outstanding movements are held
	// top-ups (Due.Held: the payee cannot receive) is held, as one whose leg is held, not
	// payout_failed: the platform waits on the payee, nothing failed.
	codePathOutageProof = 14
	// codePathSignalsAtRest keeps a waiting run's signals and search attributes right. A signal
	// payload that does not decode (an admin typing `"retry"` or `{"Action": 1}` in the Temporal
	// UI) is dropped and the run goes on waiting, where the SDK's Receive in the selector's
	// callback dropped it and then blocked until the next well-formed signal: no timer, event or
	// cancellation was taken meanwhile (a settle window never closed, a refused payout was never
	// compensated). And the search attributes an event taken while the run waits changed (a
	// dispute or refund in the settle window) are written at once, where they waited for the end
	// of the wait: PaymentStatus showed the status before the event for up to a settle window.
	codePathSignalsAtRest = 15
	// codePathAnyOrder takes a refund told after a lost dispute as it would have been taken told
	// before it. Providers do not deliver in order: a charge.refunded of a refund made before the
	// dispute can come after its charge.dispute.closed. The dispute took all the payment had, the
	// refund's part included, so the refund found nothing left and was dropped: the provider's
	// balance in the books stayed above the provider's by the refund, and the refund counted as
	// the dispute's (DisputesLost). Now the part of the dispute the refund had already given back
	// is moved from the disputes lost to the platform's loss beyond refunds, as in order. And
	// events that come after the capture (with the run's start, or while the legs are paid out)
	// are taken once the payout is done, not before it or between legs: a workflow task given again (Temporal refuses to close a run with a signal it
	// has not seen; a worker dies mid-task) has them from its start, while the payouts its first
	// attempt made stand, so taken before a leg they changed what it was sent (a refund in full:
	// nothing, and the transfer the first attempt made stayed with the payee, unknown to the
	// payment and never taken back). So is an event that comes while an admin's release or retry
	// pays a leg: a split payment's run takes an admin command waiting with events first, a
	// parked one an admin's retry (and a cancel after the events). And a
	// payment with several disputes stays disputed until the last open one is closed (before, any
	// close cleared it: shown settled with a dispute open, and a correction moved money).
	codePathAnyOrder = 16
	// codePathPollPastDeadline: a payment waiting for its order whose save took the clock past
	// the wait's deadline (workflow time moves on with each local step) asked for a poll of no
	// time, which is no timer: it waited for the order for ever and never parked. Now it asks
	// once more for the order and, still missing, parks. And an admin's cancel is taken while it
	// waits for its order (it was dropped until the payment parked).
	codePathPollPastDeadline = 17
	// codePathClientBeforeSplit keeps the client a payment not split yet is known by. While it
	// waits for its order or parks for its metadata (an unknown platform, a malformed amount), the
	// record keeps the client, order and vendor its capture names (Enrich's Named: a known client
	// only), so the store files it under that client (the admin's search and stuck payments by
	// client, the client's revenue and report "not split yet"), where one parked for its metadata
	// was no client's; and the run sets ClientId, OrderId and VendorId to them where it does not
	// carry them yet, where a run whose capture came after its start (a refund or dispute first)
	// had none until its split, so `ClientId = 'x'` in the Temporal UI missed it while it waited;
	// one parked for its split (no rule in force), whose record names its order, sets them too.
	codePathClientBeforeSplit = 18
	// codePathHoldRecheck: a run with a leg held asks again by itself whether the payee can
	// receive (Settings.HoldRecheckEvery, backing off to a day) and pays the leg once it can. A
	// held leg waited for an admin's release or a Stripe Connect event: a payee an admin fixed
	// (registered, moved back, given its account or PayPal receiver) stayed held until someone
	// also released each of its payments, a PayPal payee had no event to release it, and a
	// Connect event that came before the hold was saved (or never came: the endpoint not set up,
	// its secret optional) left the payment held although the account could receive.
	codePathHoldRecheck = 19
	// codePathAskAfterHold asks once more whether a held leg's payee (or a held top-up's) can
	// receive as soon as the hold is saved, and takes a release that comes while the run decides
	// another leg's failure as such an ask, not as a retry of that failure. A Stripe Connect event
	// that came between the payee check and the save of the hold found nothing held to release,
	// and the leg waited for the next ask (an hour) or, without asks, for an admin; a release sent
	// for a payment read held a moment before retried another leg's refused payout with nobody's
	// decision.
	codePathAskAfterHold = 20
	// codePathDecisionKept keeps a payment whose payout failed payout_failed while its run waits
	// for an admin's decision on it, whatever event comes meanwhile: a dispute opened made it
	// disputed (closed, paid or partially refunded) with the leg still failed, and the admin API
	// takes a retry or a cancel only from a payout_failed payment, so nobody could decide and the
	// decision's timeout compensated every payee; and a refund that leaves the failed leg nothing
	// to send ends the wait (the leg settles with nothing due), where the payment waited for the
	// timeout and was compensated for want of a decision nobody needed. And a provider call run as a local activity
	// is given time for its StripeAttempts attempts (payoutAttemptsWindow), where the SDK ended
	// its retries once PayoutTimeout had passed since its first attempt. And a payment paid out
	// whose workflow is cancelled while a step runs (its last save waiting out a Postgres outage)
	// stays as it is, as when cancelled in its settle window (closeCancelledPaidOut), where the
	// run ended as cancelled mid-step and compensated: every payee's transfer was taken back.
	// An event the run is applying when it is cancelled is applied whole (its steps on a
	// disconnected context), where the cancelled step cut it half way and, taken, it was never
	// applied (a refund neither booked nor taken back from the payees).
	// And a payee check the provider refuses for good before a payout (an account that revoked
	// the platform's access; a rail not configured) holds the leg, where its error ended the run
	// with the payment paying_out and nobody to release, cancel or compensate it.
	codePathDecisionKept = 21
	// codePathDecisionBasis takes an admin's retry, cancel or release only for the decision it
	// was made on. A decision is a signal, which waits in the run's channel while the run is busy
	// (a payout in flight) and was taken by the next wait for a decision, whatever it was about: a
	// cancel made on a held leg, sent while the run still paid the other legs, compensated the
	// payment at the next leg's refused payout, which nobody had decided on; a second retry made
	// on a refusal retried the next one. Now the run numbers the decisions it asks for
	// (Record.Decision, saved with each: a leg held, a payout refused for good, a park, a late
	// capture awaited), the API puts the number it read into the command (AdminCommand.Decision),
	// and a command made on another decision is dropped, the payment's reason saying so. A command
	// without one (the Temporal UI) is taken as before.
	codePathDecisionBasis = 22
	// codePathCumulativeRefunds splits a refund so that what each leg has given back over all the
	// payment's refunds is its share of everything refunded (split.AllocateRefundCumulative).
	// Each refund was split by what the legs still had, exact for one refund but its rounding
	// adding up over many: thirty refunds of one cent each took all thirty from the vendor and
	// none from the platform's commission, which kept all of it on a sale partly refunded.
	codePathCumulativeRefunds = 23
	// codePathUIDecision takes a retry, cancel or release sent without a number (the Temporal UI's
	// admin signal) only for the decision the run had asked, and had no answer to, when the signal
	// reached it, as if the API had numbered it with the payment as last saved; one that came
	// while the run asked none (paying, or acting on a decision it took) is dropped, the payment's
	// reason saying so. Such a signal waits in the run's channel while the run is busy and was
	// taken by its next wait for a decision, whatever that was about: a cancel sent on a held
	// payment while its run paid the other legs compensated it at the next leg's refused payout.
	// And a command that reaches the run while it waits for no decision (its settle window; an
	// API's retry made on a refusal the run has left meanwhile) is said in the payment's reason
	// to be dropped, where a log line alone said it.
	codePathUIDecision = 24
	// codePathBoundedHistory keeps the history of a run open for long small (Temporal warns at
	// 10,240 events and terminates a run at 51,200, stranding its payment): the automatic retries
	// of movements due in the settle window back off after the first dueRetriesAtPace, doubling up
	// to a day, where they went at PAYMENT_DUE_RETRY_EVERY for as long as the window lasted (every
	// minute, the floor allowed, 11,500 events in the default day; hourly in a 90-day window,
	// 17,000).
	codePathBoundedHistory = 25
	// codePathPayRestoredAtOnce pays, in the settle window, a leg that an event made pending again
	// (a failed refund gave back the share of a leg that was never sent anything) as soon as the
	// event is taken. The window's wait ended only at its timer or a movement due, so such a
	// payment rested paying_out with no step in flight and its payees unpaid until the window
	// closed (a day in production).
	codePathPayRestoredAtOnce = 25 // with codePathBoundedHistory: one unreleased path
	// codePathRefundFailedBySecond does not take a Stripe refund that failed in the second it was
	// made as left out of that second's figure (payment.Record.RefundsStandingBySecond): the figure
	// is the refund's own, told as it was made, and the failure undid nothing, the payees left
	// debited for a refund the customer never got.
	codePathRefundFailedBySecond = 25
	// codePathRefundMoves keeps what each Stripe charge.refunded's refund added to the charge's
	// figure (Event.PreviousRefunded) and reads the figures with it
	// (payment.Record.RefundsStandingByMoves): whole seconds cannot order a failure and the figures
	// of its second, and path 25's guess left the wrong amount refunded in some such seconds (a
	// refund of 100 made and failed, then one of 500 made: 400 taken as standing, where 500 do).
	codePathRefundMoves = 26
	// codePathPayoutFees books what the provider charges for a payout on top of its amount
	// (PayPal's payout_item_fee, which TransferOutput.Fee carries), with the payout, in an entry of
	// its own (<wf>/payout-fee/<party>-<payee>/<attempt>; payoutFeeKey): Dr payout_fees:<provider>,
	// Cr provider:<provider>. Before, the books' provider:paypal stayed above PayPal's balance by
	// every payout's fee.
	codePathPayoutFees = 26
	// codePathChargebackWon gives back a PayPal chargeback the seller wins. PayPal takes a
	// chargeback's funds at once (PAYMENT.CAPTURE.REVERSED, applied as a lost dispute) and returns
	// them when the dispute is resolved in the seller's favour, which only the dispute's
	// CUSTOMER.DISPUTE.RESOLVED (outcome RESOLVED_SELLER_FAVOUR) says: REST has no capture event
	// for a reversal undone. The reversals the dispute's reversal took (Record.Reversals) are
	// undone once each, as a won dispute leaves a Stripe charge: the payees' shares given back to
	// them and a loss booked beyond refunds taken back. Before, the payment stayed refunded and
	// the platform kept the payees' shares.
	codePathChargebackWon = 26
	// codePathBuyerCanceled gives back a PayPal chargeback whose dispute the buyer cancels
	// (CUSTOMER.DISPUTE.RESOLVED, outcome CANCELED_BY_BUYER) as one the seller wins: the claim is
	// withdrawn and PayPal returns the reversal's funds, told only by that outcome (see
	// paypalCanceledByBuyer). Before, the payees stayed reversed and the platform kept their
	// shares. RESOLVED_WITH_PAYOUT and DENIED still keep the reversal, now with a warning.
	codePathBuyerCanceled = 27
	// CancelWaitingForOrderPath is the first code path whose runs take an admin's cancel while
	// they wait for their order (the API refuses it to runs before, which would drop it).
	CancelWaitingForOrderPath = codePathPollPastDeadline
	// CurrentCodePath is the newest code path, the one today's API asks for.
	CurrentCodePath = codePathBuyerCanceled
)

// EventKind is the kind of provider event.
type EventKind string

const (
	EventCapture        EventKind = "capture"
	EventRefund         EventKind = "refund"
	EventDisputeCreated EventKind = "dispute_created"
	EventDisputeClosed  EventKind = "dispute_closed"
	// EventCorrection is an admin's request to re-split a paid payment under another rule
	// version (say, one that no longer takes commission on tax); it travels with provider events
	// so it too can start a follow-up run of a closed payment.
	EventCorrection EventKind = "correction"
	// EventRefundFailed says a refund (RefundID, Amount) failed or was canceled after it was
	// made: the provider took it back from the customer's side and the money is the platform's
	// again, so the refund is undone (Stripe's charge.refund.updated / refund.failed).
	EventRefundFailed EventKind = "refund_failed"
	// EventOrderReady says the payment's order has arrived from its storefront: a payment
	// waiting for order metadata looks again at once.
	EventOrderReady EventKind = "order_ready"
	// EventRetryDues is an admin's retry of the movements due on a payment (Leg.Dues); like
	// a correction it travels with provider events, so it reaches a payment whose run has closed.
	EventRetryDues EventKind = "retry_dues"
	// EventResolveDue is an admin's word on a top-up due in doubt (DueKey), looked up at the
	// provider: made as the movement Ref (checked there before it is booked) or not made (its
	// next attempt takes a new key). An event, like a retry, so it reaches a closed run.
	EventResolveDue EventKind = "resolve_due"
)

// known reports whether this build knows the kind. Events come from the API only, so one this
// build does not know was sent by a newer API during a deploy (see refuseUnknownKind).
func (k EventKind) known() bool {
	switch k {
	case EventCapture, EventRefund, EventDisputeCreated, EventDisputeClosed, EventCorrection,
		EventRefundFailed, EventOrderReady, EventRetryDues, EventResolveDue:
		return true
	}
	return false
}

// Event is a provider event reduced to what the workflow needs (no customer data).
type Event struct {
	ID       string
	Kind     EventKind
	ChargeID string
	// Amount is the captured amount (capture) or the disputed amount (disputes).
	Amount   int64
	Currency money.Currency
	Metadata map[string]string
	// Fee is the processing fee the provider kept from a capture, in its currency, when the
	// event says it (PayPal's seller_receivable_breakdown); 0 leaves it to be looked up. On a
	// refund with a RefundID it is the part of the fee the provider gave back; on a failed one,
	// the part it had given back and takes again.
	Fee int64
	// AmountRefunded is the charge's cumulative refunded amount: refunds are applied as the
	// difference to what was already refunded, so duplicates and reordering are harmless.
	AmountRefunded int64
	// PreviousRefunded is, on a Stripe charge.refunded, the charge's cumulative refunded amount
	// before the event's refund (its data.previous_attributes.amount_refunded), nil when the event
	// did not say: AmountRefunded less it is what the refund added, which orders a failure told in
	// the refund's second (code path 26, payment.Record.RefundsStandingByMoves).
	PreviousRefunded *int64 `json:",omitempty"`
	// RefundID and Amount describe one refund when the provider does not say the cumulative
	// amount; it is applied once per RefundID. EventRefundFailed names the refund that failed
	// and its amount the same way.
	RefundID string
	// RefundMade is when the failed refund of an EventRefundFailed was made (Stripe's refund
	// created), so figures from before it are known not to count it.
	RefundMade    time.Time `json:",omitzero"`
	DisputeID     string
	DisputeStatus string
	// DisputeFees are the fees of a dispute's balance transactions by their ID (Stripe's dispute
	// fee, negative when returned), each booked once.
	DisputeFees map[string]int64 `json:",omitempty"`
	OccurredAt  time.Time
	// IntentCreated is when a Stripe capture's PaymentIntent was made (its created): no balance
	// transaction of its charge is older, so Enrich believes the one it reads only from then on.
	IntentCreated time.Time `json:",omitzero"`
	// RuleVersion belongs to EventCorrection, Actor to it, EventRetryDues and EventResolveDue.
	RuleVersion int
	Actor       string
	// DueKey, Made and Ref belong to EventResolveDue.
	DueKey string `json:",omitempty"`
	Made   bool   `json:",omitempty"`
	Ref    string `json:",omitempty"`
	// ISOUnits says a Stripe event's amounts are in ISO minor units, as the API converts them
	// since code path 10; a Stripe event without it carries Stripe's own (money.FromStripe).
	ISOUnits bool `json:",omitempty"`
}

// AdminAction is what an admin decided about a parked or held payment.
type AdminAction string

const (
	ActionRetry   AdminAction = "retry"
	ActionCancel  AdminAction = "cancel"
	ActionRelease AdminAction = "release"
	// ActionResolve is an admin's word on a leg whose transfer is in doubt (sent, outcome never
	// learnt), after looking it up at the provider: made (Ref names the provider's movement, which
	// the run checks before booking it) or not made (the leg's next attempt takes a new key, and a
	// cancel then sends nothing). It is the way out when the provider cannot be asked by key: PayPal
	// keeps a sender_batch_id for 30 days and has no lookup by it.
	ActionResolve AdminAction = "resolve"
)

// known reports whether this build knows the action.
func (a AdminAction) known() bool {
	switch a {
	case ActionRetry, ActionCancel, ActionRelease, ActionResolve:
		return true
	}
	return false
}

// AdminCommand is the SignalAdmin payload.
type AdminCommand struct {
	Action AdminAction
	// Party limits a release to one leg; empty releases every held leg. A resolve names its leg:
	// the party, and the payee when the party has several legs (a multi-vendor order).
	Party   split.Party
	PayeeID string `json:",omitempty"`
	Actor   string
	// Made and Ref belong to ActionResolve: whether the transfer in doubt was made, and as which
	// movement at the provider (a Stripe transfer, a PayPal payout batch).
	Made bool   `json:",omitempty"`
	Ref  string `json:",omitempty"`
	// Key is the transfer key the resolve is about, as the API checked it was in doubt: a leg
	// that has moved on to another key (a retry's) by the time the run reads the command is not
	// resolved by it. Empty (the Temporal UI): the leg's key in doubt when the run reads it.
	Key string `json:",omitempty"`
	// Decision is the payment's decision (payment.Record.Decision, as the payment was saved) a
	// retry, cancel or release was made on: from code path 22 a run that asks another decision by
	// the time it reads the command drops it (the admin decided on what the payment showed
	// before). 0, not Checked (the Temporal UI): taken by the run's wait for a decision as before;
	// from code path 24 the run gives it the decision it had asked when the command came (intake).
	// A resolve is checked by its Key instead.
	Decision int `json:",omitempty"`
	// Checked says Decision is the number the command was made on also when it is 0 (the API sets
	// it from code path 22): a payment saved before its run asked its first decision (waiting for
	// its order) has decision 0, which alone reads as a command from the Temporal UI, taken by
	// whatever wait for a decision comes next.
	Checked bool `json:",omitempty"`
	// came is what the run was doing when a command sent without a number came (code path 24,
	// noted by intake); cameNoted for the API's, a resolve, and runs before.
	came arrival
}

// checked reports whether the command carries the decision it was made on (Decision, Checked).
func (c AdminCommand) checked() bool { return c.Decision != 0 || c.Checked }

// Register registers the workflow under its name on a worker.
func Register(r worker.WorkflowRegistry) {
	r.RegisterWorkflowWithOptions(Workflow, workflow.RegisterOptions{Name: WorkflowName})
}

// CodePathISOUnits is the first code path whose Stripe runs count in ISO minor units
// (codePathISOUnits): the API compares an order's total with such a run's gross only.
const CodePathISOUnits = codePathISOUnits
