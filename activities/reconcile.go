package activities

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/plutov/paypal/v4"
	"github.com/stripe/stripe-go/v76"
	stripeclient "github.com/stripe/stripe-go/v76/client"
	"go.temporal.io/sdk/activity"

	"paysplit/internal/money"
	"paysplit/internal/payment"
	"paysplit/internal/recon"
	"paysplit/internal/store"
)

// Reconciler compares the ledger's payouts with each provider's.
type Reconciler struct {
	Store  *store.Store
	Stripe *stripeclient.API
	PayPal *paypal.Client
}

// ReconcileInput is one provider and one window of time.
type ReconcileInput struct {
	Provider   string
	From, To   time.Time
	WorkflowID string
}

// ReconcileOutput is the result, also stored for the admin API.
type ReconcileOutput struct {
	RunID   int64
	Checked int
	Drifts  []recon.Drift
}

// Reconcile checks every payment with ledger entries or provider payouts in the window: all of
// its payouts, on both sides, whenever they happened, so a refund reversal today is compared
// with the transfer of last month. It records drift and changes no money.
func (r *Reconciler) Reconcile(ctx context.Context, in ReconcileInput) (ReconcileOutput, error) {
	refs, err := r.Store.LedgerReferences(ctx, "payment-"+in.Provider+"-", in.From, in.To)
	if err != nil {
		return ReconcileOutput{}, err
	}
	var provider map[recon.Key]int64
	recs := map[string]payment.Record{} // the payments stored for refs, read once
	switch in.Provider {
	case ProviderStripe:
		provider, refs, err = r.stripePayouts(ctx, in, refs, recs)
	case ProviderPayPal:
		provider, err = r.paypalPayouts(ctx, refs, recs)
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
	if err := r.compareFees(ctx, in.Provider, refs, recs, ledgerSide, provider); err != nil {
		return ReconcileOutput{}, err
	}
	drifts := recon.Compare(ledgerSide, provider)
	id, err := r.Store.SaveReconciliation(ctx, store.ReconciliationRun{
		Provider: in.Provider, WindowStart: in.From, WindowEnd: in.To, WorkflowID: in.WorkflowID, Checked: len(refs), Drifts: drifts,
	})
	if err != nil {
		return ReconcileOutput{}, err
	}
	return ReconcileOutput{RunID: id, Checked: len(refs), Drifts: drifts}, nil
}

// stripePayouts lists the window's transfers (to find payouts the ledger may not know), then
// every transfer of each payment by its transfer group, and nets the reversals. The payments it
// reads go into recs.
func (r *Reconciler) stripePayouts(ctx context.Context, in ReconcileInput, refs []string, recs map[string]payment.Record) (map[recon.Key]int64, []string, error) {
	known := map[string]bool{}
	for _, ref := range refs {
		known[ref] = true
	}
	out := map[recon.Key]int64{}
	add := func(tr *stripe.Transfer) {
		wf, payee := tr.Metadata["workflow_id"], tr.Metadata["payee_id"]
		if wf == "" || payee == "" {
			return // not one of ours
		}
		out[recon.Key{Payment: wf, PayeeID: payee, Currency: string(tr.Currency)}] += tr.Amount - tr.AmountReversed
	}
	window := &stripe.TransferListParams{CreatedRange: &stripe.RangeQueryParams{
		GreaterThanOrEqual: in.From.Unix(), LesserThan: in.To.Unix(),
	}}
	window.Context = ctx
	var unknown []*stripe.Transfer
	it := r.Stripe.Transfers.List(window)
	for it.Next() {
		tr := it.Transfer()
		if wf := tr.Metadata["workflow_id"]; wf != "" && !known[wf] {
			known[wf] = true
			refs = append(refs, wf)
			unknown = append(unknown, tr)
		}
		activity.RecordHeartbeat(ctx, tr.ID)
	}
	if err := it.Err(); err != nil {
		return nil, nil, classifyStripe("list transfers", err)
	}
	for _, ref := range refs {
		rec, err := r.Store.GetPayment(ctx, ref)
		if errors.Is(err, store.ErrNotFound) {
			continue // a payout the platform has no payment for: its window transfers stand alone
		}
		if err != nil {
			return nil, nil, err
		}
		recs[ref] = rec
		params := &stripe.TransferListParams{TransferGroup: stripe.String(rec.Order.OrderID)}
		params.Context = ctx
		it := r.Stripe.Transfers.List(params)
		for it.Next() {
			if tr := it.Transfer(); tr.Metadata["workflow_id"] == ref {
				add(tr)
			}
		}
		if err := it.Err(); err != nil {
			return nil, nil, classifyStripe("list transfers of "+ref, err)
		}
		activity.RecordHeartbeat(ctx, ref)
	}
	for _, tr := range unknown {
		if _, stored := recs[tr.Metadata["workflow_id"]]; !stored { // read above: no payment for it
			add(tr)
		}
	}
	return out, refs, nil
}

// compareFees adds each payment's processing fee to both sides: the books' (net of any returned)
// and the provider's: Stripe's on the charge's balance transaction, PayPal's on the capture less
// what the refunds the payment recorded gave back. A fee the provider cannot state in the
// payment's currency is left out on both sides, as the payment left it out of the books; a fee
// that was not known when the payment was split shows as the provider's alone.
func (r *Reconciler) compareFees(ctx context.Context, provider string, refs []string, recs map[string]payment.Record, ledgerSide, providerSide map[recon.Key]int64) error {
	var feeOf func(payment.Record) (int64, string, error)
	switch {
	case provider == ProviderStripe && r.Stripe != nil:
		feeOf = func(rec payment.Record) (int64, string, error) {
			return stripeRail{r.Stripe}.chargeFee(ctx, rec.ChargeID, rec.Currency, rec.Gross)
		}
	case provider == ProviderPayPal && r.PayPal != nil:
		feeOf = func(rec payment.Record) (int64, string, error) {
			return paypalRail{r.PayPal}.netFee(ctx, rec.ChargeID, rec.FeeReturns, rec.Currency, rec.Gross)
		}
	default:
		return nil
	}
	booked, err := r.Store.LedgerFees(ctx, provider, refs)
	if err != nil {
		return err
	}
	for _, ref := range refs {
		rec, ok := recs[ref]
		if !ok || rec.ChargeID == "" || !rec.Split() {
			continue
		}
		key := recon.Key{Payment: ref, PayeeID: recon.ProcessingFee, Currency: string(rec.Currency)}
		fee, why, err := feeOf(rec)
		if err != nil {
			return err
		}
		activity.RecordHeartbeat(ctx, ref)
		if why != "" {
			continue
		}
		providerSide[key] = fee
		if b, ok := booked[key]; ok {
			ledgerSide[key] = b
		}
	}
	return nil
}

// paypalPayouts asks PayPal about each payout item the payments recorded. PayPal has no list of
// payouts by metadata, so a payout the platform never recorded cannot be found from here. The
// payments it reads go into recs.
func (r *Reconciler) paypalPayouts(ctx context.Context, refs []string, recs map[string]payment.Record) (map[recon.Key]int64, error) {
	out := map[recon.Key]int64{}
	if r.PayPal == nil {
		return out, nil
	}
	for _, ref := range refs {
		rec, err := r.Store.GetPayment(ctx, ref)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		recs[ref] = rec
		for _, l := range rec.Legs {
			if l.TransferID == "" || l.Party == "platform" {
				continue
			}
			item, err := r.PayPal.GetPayoutItem(ctx, l.TransferID)
			var pe *paypal.ErrorResponse
			if errors.As(err, &pe) && pe.Response != nil && pe.Response.StatusCode == http.StatusNotFound {
				continue // PayPal does not know the item: the ledger's payout shows as missing
			}
			if err != nil {
				return nil, classifyPayPal("get payout item "+l.TransferID, err)
			}
			if item.TransactionStatus != "SUCCESS" || item.PayoutItem == nil || item.PayoutItem.Amount == nil {
				continue
			}
			amount, err := money.ParseAmount(item.PayoutItem.Amount.Value, money.Currency(strings.ToLower(item.PayoutItem.Amount.Currency)))
			if err != nil {
				return nil, fmt.Errorf("payout item %s amount: %w", l.TransferID, err)
			}
			out[recon.Key{Payment: ref, PayeeID: l.PayeeID, Currency: string(rec.Currency)}] += amount
		}
		activity.RecordHeartbeat(ctx, ref)
	}
	return out, nil
}
