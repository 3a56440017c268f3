package activities

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/plutov/paypal/v4"
	"github.com/stripe/stripe-go/v76"
	stripeclient "github.com/stripe/stripe-go/v76/client"
	"go.temporal.io/sdk/activity"
	"golang.org/x/sync/errgroup"

	"paysplit/internal/money"
	"paysplit/internal/payment"
	"paysplit/internal/paypalauth"
	"paysplit/internal/paypalsearch"
	"paysplit/internal/recon"
	"paysplit/internal/store"
)

// Reconciler compares the ledger's payouts with each provider's.
type Reconciler struct {
	Store  *store.Store
	Stripe *stripeclient.API
	PayPal *paypal.Client
	// Parallel is how many payments are asked about at the provider at once (default
	// reconcileParallel).
	Parallel int
}

// reconcileParallel: one payment after another, a day of 5,000 payments at two provider calls
// each and a few hundred milliseconds a call took longer than the activity's 30 minutes, and
// every retry started again from the first. Eight at a time stays far under the providers' rate
// limits (Stripe: 100 reads a second).
const reconcileParallel = 8

// eachRef runs fn for every ref, Parallel at a time, and stops at the first error. fn runs
// concurrently: what it writes must be guarded (mu).
func (r *Reconciler) eachRef(ctx context.Context, refs []string, fn func(ctx context.Context, ref string) error) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(cmp.Or(r.Parallel, reconcileParallel))
	for _, ref := range refs {
		g.Go(func() error {
			if err := fn(gctx, ref); err != nil {
				return err
			}
			activity.RecordHeartbeat(ctx, ref)
			return nil
		})
	}
	return g.Wait()
}

// ReconcileInput is one provider and one window of time.
type ReconcileInput struct {
	Provider   string
	From, To   time.Time
	WorkflowID string
}

// ReconcileOutput is the result; the run and all its drifts are stored for the admin API
// (GET /api/v1/admin/reconciliation).
type ReconcileOutput struct {
	RunID   int64
	Checked int
	// DriftCount is how many drifts the run found; Drifts is the first DriftSample of them. All
	// of them in history broke the run on the days it matters most: Temporal refuses a result
	// over 2 MB (about 12,600 drifts, a day the webhooks were down), and the provider after it
	// was not reconciled at all.
	DriftCount int
	Drifts     []recon.Drift
}

// DriftSample is how many drifts a ReconcileOutput carries.
const DriftSample = 20

// Reconcile checks every payment with ledger entries or provider payouts in the window: all of
// its payouts, on both sides, whenever they happened, so a refund reversal today is compared
// with the transfer of last month, and what the payment itself amounts to (captured, refunded,
// the fee). It also looks for the window's captures of client orders that the platform never
// heard of. It records drift and changes no money.
func (r *Reconciler) Reconcile(ctx context.Context, in ReconcileInput) (ReconcileOutput, error) {
	refs, err := r.Store.LedgerReferences(ctx, payment.WorkflowID(in.Provider, ""), in.From, in.To)
	if err != nil {
		return ReconcileOutput{}, err
	}
	var provider map[recon.Key]int64
	recs := map[string]payment.Record{} // the payments stored for refs, read once
	returned := paypalReturns{}         // PayPal's credits returning a capture's reversed funds
	switch in.Provider {
	case ProviderStripe:
		provider, refs, err = r.stripePayouts(ctx, in, refs, recs)
		if err == nil {
			err = r.stripeUnknownCaptures(ctx, in, recs, provider)
		}
	case ProviderPayPal:
		provider, err = r.paypalPayouts(ctx, refs, recs)
		if err == nil && r.PayPal != nil {
			err = r.paypalUnknownCaptures(ctx, in, recs, provider, returned)
		}
	default:
		return ReconcileOutput{}, fmt.Errorf("reconcile: unknown provider %q", in.Provider)
	}
	if err != nil {
		return ReconcileOutput{}, err
	}
	ledgerSide, err := r.Store.LedgerPayouts(ctx, refs)
	if err != nil {
		return ReconcileOutput{}, err
	}
	if err := r.comparePayments(ctx, in.Provider, refs, recs, ledgerSide, provider, returned); err != nil {
		return ReconcileOutput{}, err
	}
	drifts := recon.Compare(ledgerSide, provider)
	id, err := r.Store.SaveReconciliation(ctx, store.ReconciliationRun{
		Provider: in.Provider, WindowStart: in.From, WindowEnd: in.To, WorkflowID: in.WorkflowID, Checked: len(refs), Drifts: drifts,
	})
	if err != nil {
		return ReconcileOutput{}, err
	}
	return ReconcileOutput{RunID: id, Checked: len(refs), DriftCount: len(drifts), Drifts: drifts[:min(len(drifts), DriftSample)]}, nil
}

// stripePayouts lists the window's transfers (to find payouts the ledger may not know), then
// every transfer of each payment by its transfer group, and nets the reversals. The payments it
// reads go into recs.
func (r *Reconciler) stripePayouts(ctx context.Context, in ReconcileInput, refs []string, recs map[string]payment.Record) (map[recon.Key]int64, []string, error) {
	known := map[string]bool{} // the payments with entries in the window
	for _, ref := range refs {
		known[ref] = true
	}
	listed := map[string]bool{} // the others the window's transfers name
	out := map[recon.Key]int64{}
	add := func(tr *stripe.Transfer) {
		wf, payee := tr.Metadata["workflow_id"], tr.Metadata["payee_id"]
		if wf == "" || payee == "" {
			return // not one of ours
		}
		out[recon.Key{Payment: wf, PayeeID: payee, Currency: string(tr.Currency)}] += stripeAmount(tr.Amount-tr.AmountReversed, tr.Currency)
	}
	window := &stripe.TransferListParams{CreatedRange: &stripe.RangeQueryParams{
		GreaterThanOrEqual: in.From.Unix(), LesserThan: in.To.Unix(),
	}}
	window.Context = ctx
	// Every window transfer of a payment the books had no entries for in the window: all of them
	// count when the platform has no payment for it (only its first did, so of a vendor's and an
	// affiliate's payout one was never reported).
	var unknown []*stripe.Transfer
	it := r.Stripe.Transfers.List(window)
	for it.Next() {
		tr := it.Transfer()
		if wf := tr.Metadata["workflow_id"]; wf != "" && !known[wf] {
			if !listed[wf] {
				listed[wf] = true
				refs = append(refs, wf)
			}
			unknown = append(unknown, tr)
		}
		activity.RecordHeartbeat(ctx, tr.ID)
	}
	if err := it.Err(); err != nil {
		return nil, nil, classifyStripe("list transfers", err)
	}
	var mu sync.Mutex
	err := r.eachRef(ctx, refs, func(ctx context.Context, ref string) error {
		rec, err := r.Store.GetPayment(ctx, ref)
		if errors.Is(err, store.ErrNotFound) {
			return nil // a payout the platform has no payment for: its window transfers stand alone
		}
		if err != nil {
			return err
		}
		params := &stripe.TransferListParams{TransferGroup: stripe.String(rec.Order.OrderID)}
		params.Context = ctx
		var mine []*stripe.Transfer
		it := r.Stripe.Transfers.List(params)
		for it.Next() {
			if tr := it.Transfer(); tr.Metadata["workflow_id"] == ref {
				mine = append(mine, tr)
			}
		}
		if err := it.Err(); err != nil {
			return classifyStripe("list transfers of "+ref, err)
		}
		mu.Lock()
		defer mu.Unlock()
		recs[ref] = rec
		for _, tr := range mine {
			add(tr)
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	for _, tr := range unknown {
		if _, stored := recs[tr.Metadata["workflow_id"]]; !stored { // read above: no payment for it
			add(tr)
		}
	}
	return out, refs, nil
}

// paypalStated is what PayPal's capture says of a payment: the amount captured, the fee less what
// the refunds the payment recorded gave back, and the amount refunded where its status tells it:
// none while COMPLETED (unless the books took a reversal, which may leave it so), all once
// REFUNDED or REVERSED (less, when REVERSED, what PayPal credited back of the reversals the books
// gave back: returned), and while PARTIALLY_REFUNDED what the refunds its checkout order lists
// add up to (so a partial refund whose webhook never came shows). Nothing when PayPal will not
// show the capture or states it in another currency.
func paypalStated(ctx context.Context, rail paypalRail, rec payment.Record, returned paypalReturns) (map[string]int64, error) {
	c, _, err := rail.capture(ctx, rec.ChargeID)
	if c == nil || c.Amount == nil || !strings.EqualFold(c.Amount.Currency, string(rec.Currency)) {
		return nil, err
	}
	captured, err := money.ParseAmount(c.Amount.Value, rec.Currency)
	if err != nil {
		return nil, nil // unreadable: nothing PayPal states can be weighed
	}
	out := map[string]int64{recon.Captured: captured}
	switch {
	case c.Status == "REVERSED":
		// All of it was taken, less what PayPal returned of a chargeback the books gave back
		// (won, or cancelled by the buyer): the capture may stay REVERSED after it.
		out[recon.Refunded] = captured - returned.of(rec)
	case c.Status == "REFUNDED":
		out[recon.Refunded] = captured // all of it went back, refunded or taken (the books count both)
	case c.Status == "COMPLETED" && len(rec.LostDisputes) == 0:
		out[recon.Refunded] = 0
	case c.Status == "PARTIALLY_REFUNDED" && len(rec.LostDisputes) == 0:
		refunded, why, err := rail.refundedOf(ctx, c, rec.Currency)
		if err != nil {
			return nil, err
		}
		if why == "" {
			out[recon.Refunded] = refunded
		}
	}
	fee, why, err := rail.feeLessReturns(ctx, c, rec.FeeReturnsStanding(), rec.Currency, rec.Gross)
	if err != nil {
		return nil, err
	}
	if why == "" {
		out[recon.ProcessingFee] = fee
	}
	return out, nil
}

// paypalUnknownCaptures searches the window's transactions, and the look-back's (Transaction
// Search), and adds to the provider side, as captured, each payment received for a client's order (its custom_id names the
// client) that the platform has no payment for: its webhook never came. PayPal lists a
// transaction up to three hours after it happened, so the latest of a window may be found only
// by a later run (the next day's, through its look-back); a run never reports one that is not there.
func (r *Reconciler) paypalUnknownCaptures(ctx context.Context, in ReconcileInput, recs map[string]payment.Record, provider map[recon.Key]int64, returned paypalReturns) error {
	end := in.To.Add(-time.Second) // PayPal's end_date is inclusive
	listed := r.listedCaptures(recs, provider)
	for start := in.From.Add(-UnknownCaptureLookback); start.Before(end); start = start.Add(paypalsearch.MaxSpan) {
		stop := start.Add(paypalsearch.MaxSpan)
		if stop.After(end) {
			stop = end
		}
		err := paypalsearch.Each(ctx, r.PayPal, "", start, stop, func(t paypal.SearchTransactionInfo) error {
			activity.RecordHeartbeat(ctx, t.TransactionID) // the SDK sends at most one per interval
			returned.add(t)
			if !paypalsearch.IsPayment(t) || paypalsearch.ClientOf(t.CustomField) == "" {
				return nil
			}
			wf := payment.WorkflowID(ProviderPayPal, t.TransactionID)
			amount, cur, err := paypalsearch.Amount(t)
			if err != nil { // not ours to judge if it cannot be read; the rest of the day still is
				slog.Warn("reconcile: a PayPal transaction's amount is unreadable", "transaction", t.TransactionID, "error", err)
				return nil
			}
			return listed.add(ctx, wf, cur, amount)
		})
		if err != nil {
			return unsearched(ProviderPayPal, readRefused("search transactions", err))
		}
	}
	return listed.flush(ctx)
}

// paypalReturns are the credits Transaction Search lists that return a capture's reversed funds,
// and the holds for its disputes (T1110) that a hold's cancellation only gives back, by
// transaction ID and event code (a search cut in halves lists the cut twice), under the capture
// they name (paypal_reference_id).
type paypalReturns map[string]map[string]paypalReturn

type paypalReturn struct {
	code     string
	currency money.Currency
	amount   int64 // a hold's or a chargeback's negative
	at       time.Time
}

const (
	// paypalHold is PayPal's hold of a capture's funds for a dispute (a debit), paypalHoldCancelled
	// the cancellation of that hold (a credit): they return the hold, not a reversal, so a
	// cancellation counts as a return only beyond the holds listed on the capture (a lost
	// dispute's trail is T1110, T1111, then the reversal).
	paypalHold          = "T1110"
	paypalHoldCancelled = "T1111"
)

// paypalTakeCodes are PayPal's debits taking a capture's funds for a dispute: T1106, payment
// reversal, and T1201, chargeback. One listed after the returns, beyond what the books count
// lost, takes them again (a second chargeback after one won, its webhook lost).
var paypalTakeCodes = map[string]bool{"T1106": true, "T1201": true}

// paypalDebit says whether a listed transaction of code is kept as a debit (a hold, a take) or a credit.
func paypalDebit(code string) bool { return code == paypalHold || paypalTakeCodes[code] }

// paypalReturnCodes are the T-codes of PayPal's credits that give a seller back what a dispute
// took: T1202, chargeback reversal, T1208, chargeback cancellation, and T1111, cancellation of
// the hold for dispute resolution, net of its holds (developer.paypal.com/docs/reports/reference/tcodes).
// A chargeback won or cancelled by the buyer changes no capture event (REST has none for a
// reversal undone) and PayPal may leave the capture REVERSED: such a credit is the only trace of
// the funds returned.
var paypalReturnCodes = map[string]bool{"T1202": true, "T1208": true, paypalHoldCancelled: true}

// add keeps t when it is a completed credit of paypalReturnCodes, or a completed hold, naming a
// capture.
func (p paypalReturns) add(t paypal.SearchTransactionInfo) {
	if !(paypalReturnCodes[t.TransactionEventCode] || paypalDebit(t.TransactionEventCode)) || t.PayPalReferenceID == "" || t.TransactionStatus != "S" {
		return
	}
	amount, cur, err := paypalsearch.Amount(t)
	if err != nil || amount == 0 || (amount < 0) != paypalDebit(t.TransactionEventCode) {
		return // unreadable, or a debit of a credit's code (a hold's credit): nothing that can be weighed
	}
	if p[t.PayPalReferenceID] == nil {
		p[t.PayPalReferenceID] = map[string]paypalReturn{}
	}
	p[t.PayPalReferenceID][t.TransactionID+"/"+t.TransactionEventCode] = paypalReturn{t.TransactionEventCode, cur, amount, time.Time(t.TransactionInitiationDate)}
}

// of is what PayPal returned of the payment's capture, in its currency, up to what the books gave
// back of its reversals (a dispute won or cancelled by the buyer returns its reversal's whole
// amount, Took and Beyond). Only a return the books also made is weighed: a credit of these codes
// on a capture whose chargeback the books still count lost (a hold released before the
// chargeback itself) is left out, as before, and a reversal the books gave back that PayPal did
// not return still shows as all refunded at PayPal. A hold's cancellation returns what it
// released beyond the capture's holds only: one that released a hold before PayPal took the
// chargeback returns nothing, whatever the books say. And a chargeback or reversal PayPal lists
// after the last return, beyond the reversals the books count lost, took it again (a second
// chargeback whose webhook never came).
func (p paypalReturns) of(rec payment.Record) int64 {
	var back, kept int64
	for _, rev := range rec.Reversals {
		if rev.Reinstated {
			back += rev.Took + rev.Beyond
		} else {
			kept += rev.Took + rev.Beyond
		}
	}
	var mine []paypalReturn
	for _, c := range p[rec.ChargeID] {
		if strings.EqualFold(string(c.currency), string(rec.Currency)) {
			mine = append(mine, c)
		}
	}
	var credited, released int64
	for _, c := range mine {
		switch {
		case c.code == paypalHold || c.code == paypalHoldCancelled:
			released += c.amount
		case paypalReturnCodes[c.code]:
			credited += c.amount
		}
	}
	released = max(released, 0)
	var last time.Time // of the returns counted: a hold's cancellation only when it returned more than holds
	for _, c := range mine {
		counted := paypalReturnCodes[c.code] && (c.code != paypalHoldCancelled || released > 0)
		if counted && c.at.After(last) {
			last = c.at
		}
	}
	var retaken int64
	for _, c := range mine {
		if paypalTakeCodes[c.code] && !last.IsZero() && c.at.After(last) {
			retaken -= c.amount
		}
	}
	retaken = max(retaken-kept, 0) // a take the books also count lost is theirs, not a return undone
	return min(max(credited+released-retaken, 0), back)
}

// UnknownCaptureLookback is how far before its day a run searches the provider's payments for
// ones the platform never heard of. Providers list a payment by when it was made, and one can
// become a payment days later: a Stripe bank debit's PaymentIntent succeeds days after it was
// created (ACH about 4 business days, SEPA up to 14 days), a PayPal eCheck capture completes
// days after it was made pending, and PayPal lists a transaction up to three hours late. The
// run of the made day (at 02:00 the next) cannot count those yet, and the runs of the days they
// completed searched only their own day: such a payment whose webhook never came was never
// reported. With the look-back, every run reports each one still unknown that was made in the
// 14 days before its day; reported again by the next runs until its payment exists.
const UnknownCaptureLookback = 14 * 24 * time.Hour

// stripeUnknownCaptures lists the window's PaymentIntents (and the look-back's) and adds to the
// provider side, as captured, each succeeded one of a client's order (its metadata names the client) that the
// platform has no payment for: its webhook never arrived, so nobody was paid from it. A payment
// that exists but has no entries yet (waiting for its order, parked) is known, not drift.
func (r *Reconciler) stripeUnknownCaptures(ctx context.Context, in ReconcileInput, recs map[string]payment.Record, provider map[recon.Key]int64) error {
	params := &stripe.PaymentIntentListParams{CreatedRange: &stripe.RangeQueryParams{
		GreaterThanOrEqual: in.From.Add(-UnknownCaptureLookback).Unix(), LesserThan: in.To.Unix(),
	}}
	params.Context = ctx
	it := r.Stripe.PaymentIntents.List(params)
	listed := r.listedCaptures(recs, provider)
	for it.Next() {
		pi := it.PaymentIntent()
		activity.RecordHeartbeat(ctx, pi.ID)
		if pi.Status != stripe.PaymentIntentStatusSucceeded || pi.Metadata["client_id"] == "" {
			continue
		}
		wf := payment.WorkflowID(ProviderStripe, pi.ID)
		if err := listed.add(ctx, wf, money.Currency(pi.Currency), stripeAmount(pi.AmountReceived, pi.Currency)); err != nil {
			return err
		}
	}
	if err := it.Err(); err != nil {
		return unsearched(ProviderStripe, classifyStripe("list payment intents", err))
	}
	return listed.flush(ctx)
}

// capturesAsked is how many listed captures the store is asked about at once.
const capturesAsked = 500

// listedCaptures gathers the captures a provider lists and adds to the provider side, as
// captured, those the platform has no payment for at all. A payment read for the run (recs) or
// stored without entries yet (waiting for its order, parked) is known, not drift. The store is
// asked a batch at a time: with the look-back a run lists two weeks of payments, nearly all
// known, and a read each was thousands of round trips a run.
type listedCaptures struct {
	store    *store.Store
	recs     map[string]payment.Record
	provider map[recon.Key]int64
	seen     map[string]bool // listed already (a PayPal search cut in halves lists the cut twice)
	batch    []listedCapture
}

type listedCapture struct {
	workflowID string
	currency   money.Currency
	amount     int64
}

func (r *Reconciler) listedCaptures(recs map[string]payment.Record, provider map[recon.Key]int64) *listedCaptures {
	return &listedCaptures{store: r.Store, recs: recs, provider: provider, seen: map[string]bool{}}
}

// add takes a capture the provider listed; flush must follow the last.
func (l *listedCaptures) add(ctx context.Context, wf string, cur money.Currency, amount int64) error {
	if _, read := l.recs[wf]; read || l.seen[wf] {
		return nil
	}
	l.seen[wf] = true
	l.batch = append(l.batch, listedCapture{wf, cur, amount})
	if len(l.batch) < capturesAsked {
		return nil
	}
	return l.flush(ctx)
}

// flush asks the store about the captures gathered since the last flush.
func (l *listedCaptures) flush(ctx context.Context) error {
	if len(l.batch) == 0 {
		return nil
	}
	ids := make([]string, len(l.batch))
	for i, c := range l.batch {
		ids[i] = c.workflowID
	}
	missing, err := l.store.PaymentsMissing(ctx, ids)
	if err != nil {
		return err
	}
	for _, c := range l.batch {
		if missing[c.workflowID] {
			l.provider[recon.Key{Payment: c.workflowID, PayeeID: recon.Captured, Currency: string(c.currency)}] = c.amount
		}
	}
	l.batch = l.batch[:0]
	return nil
}

// unsearched lets the rest of a reconciliation go on when the provider refuses for good to list
// payments (an API key or app without the permission): the payments the books know are still
// compared, and the log says what was not searched. What a retry may cure stays an error.
func unsearched(provider string, err error) error {
	why, err := refusal(err)
	if why != "" {
		slog.Warn("reconcile: payments the books do not know were not searched for", "provider", provider, "why", why)
	}
	return err
}

// comparePayments adds what each payment itself amounts to on both sides, under pseudo-payees:
// the processing fee (the books' net of any returned), the amount captured and the amount
// refunded (recon.Captured, recon.Refunded), the books' as their entries booked them, the
// provider's as it states them: Stripe on the charge (one call, its balance transaction
// expanded), PayPal on the capture (its fee less what the refunds the payment recorded gave
// back). What the provider cannot state (a fee in another currency, an unknown charge) is left
// out on both sides; what it states and the books lack shows as the provider's alone.
func (r *Reconciler) comparePayments(ctx context.Context, provider string, refs []string, recs map[string]payment.Record, ledgerSide, providerSide map[recon.Key]int64, returned paypalReturns) error {
	var stated func(context.Context, payment.Record) (map[string]int64, error)
	switch {
	case provider == ProviderStripe && r.Stripe != nil:
		stated = func(ctx context.Context, rec payment.Record) (map[string]int64, error) {
			return stripeStated(ctx, stripeRail{api: r.Stripe}, rec)
		}
	case provider == ProviderPayPal && r.PayPal != nil:
		stated = func(ctx context.Context, rec payment.Record) (map[string]int64, error) {
			return paypalStated(ctx, paypalRail{c: r.PayPal}, rec, returned)
		}
	default:
		return nil
	}
	booked, err := r.Store.LedgerPaymentAmounts(ctx, provider, refs)
	if err != nil {
		return err
	}
	var mu sync.Mutex
	return r.eachRef(ctx, refs, func(ctx context.Context, ref string) error {
		rec, ok := recs[ref] // recs is only read here
		if !ok || rec.ChargeID == "" || !rec.Split() {
			return nil
		}
		amounts, err := stated(ctx, rec)
		if err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		for payee, amount := range amounts {
			key := recon.Key{Payment: ref, PayeeID: payee, Currency: string(rec.Currency)}
			providerSide[key] = amount
			if b, ok := booked[key]; ok {
				ledgerSide[key] = b
			}
		}
		return nil
	})
}

// stripeStated is what Stripe's charge says of a payment: its fee, the amount captured and, unless
// the charge was disputed (the books count a lost dispute with the refunds, Stripe does not), the
// amount refunded; nothing when Stripe will not show the charge, shows it as another
// PaymentIntent's (a stand-in such as stripe-mock, which keeps no charges, answers any ID with
// its fixture), or states it in another currency.
func stripeStated(ctx context.Context, rail stripeRail, rec payment.Record) (map[string]int64, error) {
	ch, why, err := rail.charge(ctx, rec.ChargeID)
	if ch == nil || why != "" || ch.PaymentIntent == nil || ch.PaymentIntent.ID != rec.PaymentID ||
		!strings.EqualFold(string(ch.Currency), string(rec.Currency)) {
		return nil, err
	}
	out := map[string]int64{recon.Captured: stripeAmount(ch.AmountCaptured, ch.Currency)}
	if fee, why := balanceFee(ch, rec.Currency, rec.Gross, false); why == "" {
		out[recon.ProcessingFee] = fee
	}
	if !ch.Disputed && len(rec.LostDisputes) == 0 {
		// A partial capture's release is no refund, where the capture made one. A captured charge
		// of no amount_captured did not state it.
		captured := &ch.AmountCaptured
		if ch.Captured && ch.AmountCaptured == 0 {
			captured = nil
		}
		refunded, _ := StripeRefunded(stripeCaptureVersion(ch), ch.Amount, captured, ch.AmountRefunded)
		out[recon.Refunded] = stripeAmount(refunded, ch.Currency)
	}
	return out, nil
}

// stripeAmount is an amount Stripe states in ISO minor units, as the books keep it
// (money.FromStripe). One that does not convert whole is left as Stripe stated it: it then shows
// as a drift for an admin, where dropping it would hide it.
func stripeAmount(amount int64, cur stripe.Currency) int64 {
	v, err := money.FromStripe(amount, money.Currency(cur))
	if err != nil {
		return amount
	}
	return v
}

// paypalPayouts asks PayPal about each payout item the payments recorded. PayPal has no list of
// payouts by metadata, so a payout the platform never recorded cannot be found from here. The
// payments it reads go into recs.
func (r *Reconciler) paypalPayouts(ctx context.Context, refs []string, recs map[string]payment.Record) (map[recon.Key]int64, error) {
	out := map[recon.Key]int64{}
	if r.PayPal == nil {
		return out, nil
	}
	var mu sync.Mutex
	err := r.eachRef(ctx, refs, func(ctx context.Context, ref string) error {
		rec, err := r.Store.GetPayment(ctx, ref)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		paid := map[recon.Key]int64{}
		for _, l := range rec.Legs {
			if l.TransferID == "" || l.Party == "platform" {
				continue
			}
			// The first payout and each a correction added: the books count them all.
			items := []string{l.TransferID}
			for _, t := range l.TopUps {
				items = append(items, t.TransferID)
			}
			for _, id := range items {
				amount, found, err := r.paidPayPalItem(ctx, id)
				if err != nil {
					return err
				}
				if found { // an item PayPal does not know adds nothing: alone, the payout is missing
					paid[recon.Key{Payment: ref, PayeeID: l.PayeeID, Currency: string(rec.Currency)}] += amount
				}
			}
		}
		mu.Lock()
		defer mu.Unlock()
		recs[ref] = rec
		for k, v := range paid {
			out[k] += v
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// paidPayPalItem is what a payout item paid: its amount once PayPal says SUCCESS, else 0. found
// is false for an item PayPal does not know, which the caller leaves out, so a payout the books
// made and PayPal never heard of shows as missing_at_provider, as a Stripe transfer that is not
// there does (counted as 0 found, it showed as an amount that differs).
func (r *Reconciler) paidPayPalItem(ctx context.Context, id string) (amount int64, found bool, err error) {
	if id == "" {
		return 0, false, nil
	}
	var item *paypal.PayoutItemResponse
	err = paypalauth.Do(ctx, r.PayPal, func(bool) (err error) {
		item, err = r.PayPal.GetPayoutItem(ctx, id)
		return err
	})
	var pe *paypal.ErrorResponse
	if errors.As(err, &pe) && pe.Response != nil && pe.Response.StatusCode == http.StatusNotFound {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, readRefused("get payout item "+id, err)
	}
	if item.TransactionStatus != "SUCCESS" || item.PayoutItem == nil || item.PayoutItem.Amount == nil {
		return 0, true, nil
	}
	amount, err = money.ParseAmount(item.PayoutItem.Amount.Value, money.Currency(strings.ToLower(item.PayoutItem.Amount.Currency)))
	if err != nil {
		return 0, true, fmt.Errorf("payout item %s amount: %w", id, err)
	}
	return amount, true, nil
}

// stripeCaptureVersion is the API version whose behaviour a charge's capture had, as far as
// StripeRefunded needs it: whether a partial capture released its rest as a refund was decided
// by the version of the capture's request (a store plugin's, the account's default), not by
// stripe.APIVersion, the one the charge is read in here. Its balance transaction tells: before
// basil it is of the amount authorized (the release a transaction of its own), from basil of the
// amount captured. A transaction in another currency (converted to the balance's) or of neither
// amount tells nothing, and the library's version stands.
func stripeCaptureVersion(ch *stripe.Charge) string {
	bt := ch.BalanceTransaction
	if bt == nil || !strings.EqualFold(string(bt.Currency), string(ch.Currency)) || ch.AmountCaptured >= ch.Amount {
		return stripe.APIVersion
	}
	switch bt.Amount {
	case ch.Amount:
		return "" // before any version: the release was a refund
	case ch.AmountCaptured:
		return StripeBasilVersion
	}
	return stripe.APIVersion
}
