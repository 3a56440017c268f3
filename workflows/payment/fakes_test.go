package payment

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"paysplit/activities"
	"paysplit/internal/ledger"
	"paysplit/internal/payment"
	"paysplit/internal/split"
)

// world is an in-memory Stripe, ledger and store behind the activity mocks. It keeps the same
// promises the real ones do (idempotency keys, balanced entries) so the tests can check them.
type world struct {
	t  *testing.T
	mu sync.Mutex

	rules     map[int]split.Rule                                   // by version; version 3 is in force at capture
	holds     map[string]string                                    // payee -> hold reason
	dests     map[string]string                                    // payee -> where it is paid now, when not acct_<payee>
	paidAt    map[string][]string                                  // payee -> every destination ResolvePayee gave it
	closed    map[string]bool                                      // destinations that refuse transfers (a closed account)
	requests  []activities.TransferInput                           // every Transfer call, in order (those that failed too)
	failNext  map[string][]error                                   // party -> errors for the next transfer calls
	failBack  map[string][]error                                   // party -> errors for the next reversal calls
	transfers map[string]activities.TransferInput                  // idempotency key -> request
	reversals map[string]activities.ReverseTransferInput           // idempotency key -> request
	entries   map[string]ledger.Entry                              // idempotency key -> entry
	saved     []payment.Record                                     // every SavePayment
	stored    *payment.Record                                      // what LoadPayment returns
	enrich    func(activities.EnrichInput) activities.EnrichOutput // overrides the metadata parse
	fee       int64                                                // the fee Stripe's charge holds, when the event says none
	confirmed []activities.ConfirmTransferInput                    // every ConfirmTransfer
	confirmAs error                                                // what the provider says of the movement named, when set
	calls     map[string]int
	splitAt   []time.Time          // the CapturedAt of every ComputeSplit, Prepare's too: the rule's time
	onSave    func(payment.Record) // called as each SavePayment starts with what it saves, when set
	down      map[string]bool      // database steps that fail as with Postgres down, by step name
	downCalls map[string]int       // database steps whose next calls so fail, how many, by step name

	// payeeErrs makes a payee's check fail with the error (payee -> error): the provider refused
	// to say (an account that revoked the platform's access), or the rail is not configured.
	payeeErrs map[string]error

	// holdOnRefusal makes a payee's check hold it (payee -> reason) from its first refused
	// transfer on: Stripe restricted the account between the check and the transfer.
	holdOnRefusal map[string]string

	// onTransfer is called as each Transfer starts with its request, when set.
	onTransfer func(activities.TransferInput)
}

func newWorld(t *testing.T) *world {
	return &world{
		t:         t,
		rules:     map[int]split.Rule{3: {ClientID: "acme", Version: 3, PlatformBps: 1000, AffiliateBps: 500}},
		holds:     map[string]string{},
		dests:     map[string]string{},
		paidAt:    map[string][]string{},
		closed:    map[string]bool{},
		failNext:  map[string][]error{},
		failBack:  map[string][]error{},
		transfers: map[string]activities.TransferInput{},
		reversals: map[string]activities.ReverseTransferInput{},
		entries:   map[string]ledger.Entry{},
		calls:     map[string]int{},
		down:      map[string]bool{},
		downCalls: map[string]int{},
	}
}

// setDown makes a database step fail, or work again, as it does while Postgres is down.
func (w *world) setDown(step string, down bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.down[step] = down
}

// unreachable is what a database step answers while Postgres is down (setDown): an error of no
// business type, which the step's retry policy retries.
func (w *world) unreachable(step string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.down[step] && w.downCalls[step] == 0 {
		return nil
	}
	w.downCalls[step] = max(0, w.downCalls[step]-1)
	w.calls["down:"+step]++
	return fmt.Errorf("%s: dial tcp 127.0.0.1:5432: connect: connection refused", step)
}

func (w *world) install(env *testsuite.TestWorkflowEnvironment) {
	env.RegisterActivity(act)
	env.OnActivity(act.LoadPayment, mock.Anything, mock.Anything).Return(counted(w, "step:load", w.LoadPayment))
	env.OnActivity(act.Prepare, mock.Anything, mock.Anything).Return(counted(w, "step:prepare", w.Prepare))
	env.OnActivity(act.SavePayment, mock.Anything, mock.Anything).Return(w.SavePayment)
	env.OnActivity(act.Enrich, mock.Anything, mock.Anything).Return(counted(w, "step:enrich", w.Enrich))
	env.OnActivity(act.ComputeSplit, mock.Anything, mock.Anything).Return(counted(w, "step:split", w.ComputeSplit))
	env.OnActivity(act.ResolvePayee, mock.Anything, mock.Anything).Return(w.ResolvePayee)
	env.OnActivity(act.Transfer, mock.Anything, mock.Anything).Return(w.Transfer)
	env.OnActivity(act.ReverseTransfer, mock.Anything, mock.Anything).Return(w.ReverseTransfer)
	env.OnActivity(act.ConfirmTransfer, mock.Anything, mock.Anything).Return(w.ConfirmTransfer)
	env.OnActivity(act.PostEntry, mock.Anything, mock.Anything).Return(w.PostEntry)
	env.OnActivity(act.PostEntries, mock.Anything, mock.Anything).Return(w.PostEntries)
	env.OnActivity(act.SaveAndBook, mock.Anything, mock.Anything).Return(w.SaveAndBook)
}

// counted counts the workflow's calls of a step (calls["step:<name>"]); the world's own calls of
// the function, as Prepare's, are not counted.
func counted[I, O any](w *world, name string, f func(context.Context, I) (O, error)) func(context.Context, I) (O, error) {
	return func(ctx context.Context, in I) (O, error) {
		w.mu.Lock()
		w.calls[name]++
		w.mu.Unlock()
		return f(ctx, in)
	}
}

func (w *world) LoadPayment(_ context.Context, _ activities.LoadPaymentInput) (activities.LoadPaymentOutput, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stored == nil {
		return activities.LoadPaymentOutput{}, nil
	}
	return activities.LoadPaymentOutput{Found: true, Record: *w.stored}, nil
}

// Prepare answers as the real step does, from this world's LoadPayment, Enrich and ComputeSplit.
func (w *world) Prepare(ctx context.Context, in activities.PrepareInput) (activities.PrepareOutput, error) {
	if err := w.unreachable(stepPrepare); err != nil {
		return activities.PrepareOutput{}, err
	}
	loaded, err := w.LoadPayment(ctx, activities.LoadPaymentInput{WorkflowID: in.WorkflowID})
	if err != nil || loaded.Found || in.Capture == nil {
		return activities.PrepareOutput{LoadPaymentOutput: loaded}, err
	}
	enriched, err := w.Enrich(ctx, *in.Capture)
	if err != nil {
		return activities.PrepareOutput{}, err
	}
	out := activities.PrepareOutput{Enriched: &enriched}
	if enriched.Problem != "" || len(enriched.Missing) > 0 {
		return out, nil
	}
	capturedAt := in.CapturedAt
	if !enriched.CapturedAt.IsZero() {
		capturedAt = enriched.CapturedAt
	}
	s, err := w.ComputeSplit(ctx, activities.ComputeSplitInput{Order: enriched.Order, Gross: in.Capture.Gross, Currency: in.Capture.Currency, CapturedAt: capturedAt})
	var app *temporal.ApplicationError
	if errors.As(err, &app) && app.NonRetryable() {
		out.SplitProblem = app.Message()
	} else if err != nil {
		return activities.PrepareOutput{}, err
	} else {
		out.Split = &s
	}
	return out, nil
}

func (w *world) SavePayment(_ context.Context, in activities.SavePaymentInput) error {
	if err := w.unreachable(stepSavePayment); err != nil {
		return err
	}
	if w.onSave != nil {
		w.onSave(in.Record)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.calls["save"]++
	// Local activities in the test environment get the workflow's own values, not decoded
	// copies: keep a snapshot, or later changes to the legs would rewrite what was "saved".
	b, err := json.Marshal(in.Record)
	if err != nil {
		return err
	}
	var snapshot payment.Record
	if err := json.Unmarshal(b, &snapshot); err != nil {
		return err
	}
	w.saved = append(w.saved, snapshot)
	return nil
}

func (w *world) Enrich(ctx context.Context, in activities.EnrichInput) (activities.EnrichOutput, error) {
	if w.enrich != nil {
		return w.enrich(in), nil
	}
	fee := in.Fee
	if fee == 0 {
		fee = w.fee
	}
	return activities.EnrichOutput{Fee: fee, Order: payment.Order{
		ClientID: in.Metadata["client_id"], OrderID: in.Metadata["order_id"], VendorID: in.Metadata["vendor_id"],
		AffiliateID: in.Metadata["affiliate_id"], Platform: "shopify",
		Subtotal: 10000, Tax: 800, Shipping: 500, Discount: 300,
	}}, nil
}

func (w *world) ComputeSplit(_ context.Context, in activities.ComputeSplitInput) (split.Split, error) {
	w.mu.Lock()
	w.splitAt = append(w.splitAt, in.CapturedAt)
	w.mu.Unlock()
	version := in.RuleVersion
	if version == 0 {
		version = 3
	}
	rule, ok := w.rules[version]
	if !ok {
		return split.Split{}, temporal.NewNonRetryableApplicationError("no such rule", activities.ErrTypeNoSplitRule, nil)
	}
	o := split.Order{
		Currency: in.Currency, Gross: in.Gross, Subtotal: in.Order.Subtotal, Tax: in.Order.Tax, Shipping: in.Order.Shipping,
		Discount: in.Order.Discount, VendorID: in.Order.VendorID, AffiliateID: in.Order.AffiliateID,
	}
	for _, l := range in.Order.Lines {
		o.Lines = append(o.Lines, split.Line{VendorID: l.VendorID, Subtotal: l.Subtotal, Tax: l.Tax, Discount: l.Discount})
	}
	return split.Compute(o, rule)
}

func (w *world) ResolvePayee(_ context.Context, in activities.ResolvePayeeInput) (activities.ResolvePayeeOutput, error) {
	if err := w.unreachable(stepResolvePayee); err != nil { // it reads the payee from Postgres
		return activities.ResolvePayeeOutput{}, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.calls["payee:"+in.PayeeID]++
	if in.Fresh {
		w.calls["payee-fresh:"+in.PayeeID]++
	}
	if err := w.payeeErrs[in.PayeeID]; err != nil {
		return activities.ResolvePayeeOutput{}, err
	}
	if reason := w.holds[in.PayeeID]; reason != "" {
		return activities.ResolvePayeeOutput{HoldReason: reason}, nil
	}
	dest := w.dests[in.PayeeID]
	if dest == "" {
		dest = "acct_" + in.PayeeID
	}
	if !slices.Contains(w.paidAt[in.PayeeID], dest) {
		w.paidAt[in.PayeeID] = append(w.paidAt[in.PayeeID], dest)
	}
	return activities.ResolvePayeeOutput{Destination: dest}, nil
}

func (w *world) Transfer(ctx context.Context, in activities.TransferInput) (activities.TransferOutput, error) {
	if err := unsent(ctx); err != nil {
		return activities.TransferOutput{}, err
	}
	if w.onTransfer != nil {
		w.onTransfer(in)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.calls["transfer"]++
	w.requests = append(w.requests, in)
	party := in.Metadata["party"]
	_, made := w.transfers[in.IdempotencyKey]
	answerLost, err := nextFailure(w.failNext, party, made)
	if err != nil {
		if reason := w.holdOnRefusal[in.Metadata["payee_id"]]; reason != "" {
			w.holds[in.Metadata["payee_id"]] = reason
		}
		return activities.TransferOutput{}, err
	}
	if prev, ok := w.transfers[in.IdempotencyKey]; ok {
		require.Equal(w.t, prev.Amount, in.Amount, "idempotency key %s reused for a different amount", in.IdempotencyKey)
		require.Equal(w.t, prev.Destination, in.Destination, "idempotency key %s reused for another destination", in.IdempotencyKey)
	} else if w.closed[in.Destination] {
		return activities.TransferOutput{}, rejected("The destination account " + in.Destination + " is closed.")
	}
	w.transfers[in.IdempotencyKey] = in
	if answerLost != nil {
		return activities.TransferOutput{}, answerLost
	}
	return activities.TransferOutput{TransferID: "tr_" + in.IdempotencyKey}, nil
}

// ConfirmTransfer answers as a provider does for a movement an admin named: the transfer made
// under the key is tr_<key>; any other, or one never made, is not the transfer.
func (w *world) ConfirmTransfer(_ context.Context, in activities.ConfirmTransferInput) (activities.TransferOutput, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.confirmed = append(w.confirmed, in)
	key := in.Transfer.IdempotencyKey
	if w.confirmAs != nil {
		return activities.TransferOutput{}, w.confirmAs
	}
	if _, made := w.transfers[key]; !made || in.Ref != "tr_"+key {
		return activities.TransferOutput{}, temporal.NewNonRetryableApplicationError("no transfer "+in.Ref+" under "+key, activities.ErrTypeNotThisMovement, nil)
	}
	return activities.TransferOutput{TransferID: in.Ref}, nil
}

// nextFailure takes the next error injected for party's calls: err fails the call; answerLost is
// set when the provider does what was asked and its answer is lost. Like Stripe, a key whose
// movement was made is answered with it: a refusal comes only for one never made.
func nextFailure(fail map[string][]error, party string, made bool) (answerLost, err error) {
	errs := fail[party]
	if len(errs) == 0 {
		return nil, nil
	}
	fail[party] = errs[1:]
	var lost madeButLost
	var refusal *temporal.ApplicationError
	switch {
	case errors.As(errs[0], &lost):
		return lost.err, nil
	case made && errors.As(errs[0], &refusal) && refusal.NonRetryable():
		return nil, nil
	}
	return nil, errs[0]
}

// unsent is the error of a provider call whose context was done before it started: the real
// client sends nothing then (net/http refuses a request on a done context), so the world moves no
// money and takes none of the injected failures. It matters in the SDK's test environment, which
// starts a local activity's retry with a deadline of its first scheduling on the workflow clock
// plus its ScheduleToCloseTimeout, compared with the wall clock: with a start time in the past
// (SetStartTime) a provider call's retries start already expired, the SDK answers each with
// "deadline exceeded (type: StartToClose)" at once and runs the fake detached, at a moment of the
// scheduler's choosing, while the run goes on. A fake that then moved money and took the next
// injected failure did so at a point no test fixed: under CPU load after later calls, so a
// failure meant for a payout's retry went to a top-up an hour of the run's time later.
func unsent(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("not sent: %w", err)
	}
	return nil
}

// madeButLost is a transfer the provider made whose answer never came back (failNext).
type madeButLost struct{ err error }

func (m madeButLost) Error() string { return "made, answer lost: " + m.err.Error() }

func (w *world) ReverseTransfer(ctx context.Context, in activities.ReverseTransferInput) (activities.ReverseTransferOutput, error) {
	if err := unsent(ctx); err != nil {
		return activities.ReverseTransferOutput{}, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	prev, made := w.reversals[in.IdempotencyKey]
	answerLost, err := nextFailure(w.failBack, in.Metadata["party"], made)
	if err != nil {
		return activities.ReverseTransferOutput{}, err
	}
	if made {
		require.Equal(w.t, prev.Amount, in.Amount, "idempotency key %s reused for a different amount", in.IdempotencyKey)
		w.reversals[in.IdempotencyKey] = in // the last request, as Asked shows
		if answerLost != nil {
			return activities.ReverseTransferOutput{}, answerLost
		}
		return activities.ReverseTransferOutput{ReversalID: "trr_" + in.IdempotencyKey}, nil
	}
	// Like Stripe, a transfer gives back at most what it has left.
	if tr, ok := w.transfers[strings.TrimPrefix(in.TransferID, "tr_")]; ok {
		left := tr.Amount
		for _, rv := range w.reversals {
			if rv.TransferID == in.TransferID {
				left -= rv.Amount
			}
		}
		if in.Amount > left {
			return activities.ReverseTransferOutput{}, rejected(fmt.Sprintf("reversal of %d exceeds the %d transfer %s has left", in.Amount, left, in.TransferID))
		}
	}
	w.reversals[in.IdempotencyKey] = in
	if answerLost != nil {
		return activities.ReverseTransferOutput{}, answerLost
	}
	return activities.ReverseTransferOutput{ReversalID: "trr_" + in.IdempotencyKey}, nil
}

func (w *world) PostEntry(_ context.Context, e ledger.Entry) (activities.PostEntryOutput, error) {
	if err := w.unreachable(stepPostEntry); err != nil {
		return activities.PostEntryOutput{}, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.calls["post-entry"]++
	return w.post(e)
}

func (w *world) post(e ledger.Entry) (activities.PostEntryOutput, error) {
	var sum int64
	for _, p := range e.Postings {
		sum += p.Amount
	}
	require.Zero(w.t, sum, "entry %s does not balance", e.IdempotencyKey)
	if prev, ok := w.entries[e.IdempotencyKey]; ok {
		// As the ledger answers a key it has: the entry made under it. A key sent again for
		// other postings would leave the books without the second movement.
		require.ElementsMatch(w.t, prev.Postings, e.Postings, "ledger key %s reused for other postings", e.IdempotencyKey)
		return activities.PostEntryOutput{EntryID: prev.ID, Created: false}, nil
	}
	e.ID = int64(len(w.entries) + 1)
	w.entries[e.IdempotencyKey] = e
	return activities.PostEntryOutput{EntryID: e.ID, Created: true}, nil
}

func (w *world) PostEntries(_ context.Context, book []activities.Booking) (activities.PostEntriesOutput, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.calls["post-entries"]++
	var out activities.PostEntriesOutput
	for _, b := range book {
		o, err := w.post(b.Entry)
		if err != nil {
			return activities.PostEntriesOutput{}, err
		}
		out.EntryIDs = append(out.EntryIDs, o.EntryID)
	}
	return out, nil
}

// SaveAndBook books and saves as the real activity does: the saved record carries the entry IDs.
func (w *world) SaveAndBook(ctx context.Context, in activities.SaveAndBookInput) (activities.PostEntriesOutput, error) {
	if err := w.unreachable(stepSaveAndBook); err != nil {
		return activities.PostEntriesOutput{}, err
	}
	w.mu.Lock()
	w.calls["save-and-book"]++
	w.mu.Unlock()
	out, err := w.PostEntries(ctx, in.Book)
	if err != nil {
		return out, err
	}
	rec := in.Record
	rec.Legs = slices.Clone(rec.Legs) // the workflow's own value: do not write into it
	for i, b := range in.Book {
		require.True(w.t, b.For == "" || rec.SetEntryID(b.For, out.EntryIDs[i]), "booking for %q", b.For)
	}
	return out, w.SavePayment(ctx, activities.SavePaymentInput{Record: rec})
}

// balance sums an account over every entry.
func (w *world) balance(account string) int64 {
	var b int64
	for _, e := range w.entries {
		for _, p := range e.Postings {
			if p.Account == account {
				b += p.Amount
			}
		}
	}
	return b
}

// sentToPayee is what a payee received net of reversals at every destination it was given.
func (w *world) sentToPayee(payee string) int64 {
	dests := w.paidAt[payee]
	if !slices.Contains(dests, "acct_"+payee) {
		dests = append(slices.Clone(dests), "acct_"+payee)
	}
	var n int64
	for _, d := range dests {
		n += w.sent(d)
	}
	return n
}

// sent is what each party received net of reversals, by destination.
func (w *world) sent(dest string) int64 {
	var n int64
	ids := map[string]string{}
	for key, tr := range w.transfers {
		if tr.Destination == dest {
			n += tr.Amount
			ids["tr_"+key] = dest
		}
	}
	for _, rv := range w.reversals {
		if ids[rv.TransferID] == dest {
			n -= rv.Amount
		}
	}
	return n
}

func rejected(msg string) error {
	return temporal.NewNonRetryableApplicationError(msg, activities.ErrTypeRejected, nil)
}

func captureEvent(id string, amount int64) Event {
	return Event{
		ID: id, Kind: EventCapture, ChargeID: "ch_1", Amount: amount, Currency: "usd",
		Metadata:   map[string]string{"client_id": "acme", "order_id": "o-1", "vendor_id": "v1", "affiliate_id": "a1"},
		OccurredAt: time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC),
	}
}

func refundEvent(id string, cumulative int64) Event {
	return Event{ID: id, Kind: EventRefund, ChargeID: "ch_1", AmountRefunded: cumulative}
}

func testInput() Input {
	return Input{Provider: "stripe", PaymentID: "pi_1", CodePath: CurrentCodePath, Settings: Settings{
		EnrichWait: 10 * time.Minute, EnrichPoll: time.Minute, CaptureWait: time.Hour, SettleWindow: time.Hour,
		DecisionTimeout: 24 * time.Hour, StripeAttempts: 3, StripeRetryInterval: time.Second,
	}}
}

func signalAt(env *testsuite.TestWorkflowEnvironment, after time.Duration, name string, v any) {
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(name, v) }, after)
}

func result(t *testing.T, env *testsuite.TestWorkflowEnvironment) payment.Record {
	t.Helper()
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var rec payment.Record
	require.NoError(t, env.GetWorkflowResult(&rec))
	return rec
}

func legOf(t *testing.T, rec payment.Record, p split.Party) payment.Leg {
	t.Helper()
	l := rec.Leg(p)
	require.NotNil(t, l, "no %s leg", p)
	return *l
}
