package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"paysplit/internal/ledger"
	"paysplit/internal/money"
	ipayment "paysplit/internal/payment"
	"paysplit/internal/split"
	"paysplit/testenv"
	"paysplit/workflows/payment"
)

// maxListed bounds how many individual problems of one kind are listed; the count says the rest.
const maxListed = 5

// checker collects what is wrong with a run: a fast wrong answer is not a result.
type checker struct {
	failures []string
	counts   map[string]int
	// paypalPayouts are the PayPal payee legs the books say were paid out, by the leg's
	// idempotency key (the payout's sender_batch_id).
	paypalPayouts map[string]paidLeg
}

func (c *checker) fail(kind, format string, args ...any) {
	if c.counts == nil {
		c.counts = map[string]int{}
	}
	c.counts[kind]++
	if c.counts[kind] <= maxListed {
		c.failures = append(c.failures, kind+": "+fmt.Sprintf(format, args...))
	}
}

func (c *checker) summary() []string {
	out := append([]string{}, c.failures...)
	for kind, n := range c.counts {
		if n > maxListed {
			out = append(out, fmt.Sprintf("%s: %d more", kind, n-maxListed))
		}
	}
	return out
}

// checkDeliveries: every webhook was acknowledged with 200, every first delivery of a capture
// started or reached its payment ("accepted"), and every re-delivery was known as one.
func (c *checker) checkDeliveries(d day, got []delivery) map[string]int {
	outcomes := map[string]int{}
	for i, ev := range d.Events {
		g := got[i]
		outcomes[string(ev.Kind)+":"+g.Outcome]++
		switch {
		case g.Status != http.StatusOK:
			c.fail("webhook not acknowledged", "%s of %s: status %d %s", ev.Kind, d.Payments[ev.Payment].WorkflowID, g.Status, g.Err)
		case ev.Kind == kindCapture && g.Outcome != "accepted":
			c.fail("capture not accepted", "%s answered %q", d.Payments[ev.Payment].WorkflowID, g.Outcome)
		case ev.Kind == kindDuplicate && g.Outcome != "duplicate":
			c.fail("re-delivery taken as new", "a re-delivery of %s's %s answered %q", d.Payments[ev.Payment].WorkflowID, d.Events[ev.Parent].Kind, g.Outcome)
		}
	}
	return outcomes
}

// checkBooks compares every payment's stored state, the ledger and the transfers with what the
// day sent. It returns the number of transferred payee legs.
func (c *checker) checkBooks(ctx context.Context, pool *pgxpool.Pool, d day, prefixes []string) (int, error) {
	recs, err := storedPayments(ctx, pool, prefixes)
	if err != nil {
		return 0, err
	}
	accounts, err := paymentAccounts(ctx, pool, prefixes)
	if err != nil {
		return 0, err
	}
	transfers, err := transferEntries(ctx, pool, prefixes)
	if err != nil {
		return 0, err
	}
	transferredLegs := 0
	for _, p := range d.Payments {
		r, ok := recs[p.WorkflowID]
		if !ok {
			c.fail("payment missing", "%s has no stored state", p.WorkflowID)
			continue
		}
		transferredLegs += c.checkPayment(p, r, accounts[p.WorkflowID])
		c.checkTransferEntries(p, r, transfers[p.WorkflowID])
	}

	if len(recs) != len(d.Payments) {
		c.fail("stray payments", "%d payments stored under the run's IDs, the day made %d", len(recs), len(d.Payments))
	}
	var transferEntries int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM journal_entries WHERE reference LIKE ANY($1) AND idempotency_key LIKE '%/transfer/%'`,
		likePrefixes(prefixes)).Scan(&transferEntries); err != nil {
		return 0, fmt.Errorf("count transfer entries: %w", err)
	}
	if transferEntries != transferredLegs {
		c.fail("transfer entries", "%d transfer journal entries for %d transferred payee legs", transferEntries, transferredLegs)
	}
	// The database refuses to commit an entry that does not balance (deferred constraint
	// triggers), so this guards the guard: a migration that dropped them would show here.
	unbalanced, err := ledger.New(pool).Unbalanced(ctx)
	if err != nil {
		return 0, err
	}
	if len(unbalanced) > 0 {
		c.fail("ledger unbalanced", "%d entries do not balance, first %d", len(unbalanced), unbalanced[0])
	}
	return transferredLegs, nil
}

// checkPayment compares one payment's stored state r and the sums its journal entries post to
// each account (accounts) with what the day sent for it (p). It returns the payment's transferred
// payee legs.
func (c *checker) checkPayment(p plannedPayment, r ipayment.Record, accounts map[string]int64) int {
	transferredLegs := 0
	if r.Status != p.WantStatus {
		c.fail("payment not final", "%s is %s (%s), want %s", p.WorkflowID, r.Status, r.Reason, p.WantStatus)
	}
	// A final status does not tell how the run got there: a compensation followed by a refund in
	// full ends refunded, with every leg settled. A bench day has no faults, so a payment that
	// was compensated, is waiting on a movement due or a decision, or has a leg that was not
	// simply paid (or paid and taken back, or left nothing to pay) went wrong.
	if r.Compensated != "" || r.Reason != "" || r.Disputed || r.HasDues() {
		c.fail("payment went wrong", "%s (%s): compensated %q, reason %q, disputed %v, movements due %v", p.WorkflowID, r.Status, r.Compensated, r.Reason, r.Disputed, r.HasDues())
	}
	if r.Gross != p.Gross || r.Refunded != p.Refunded || string(r.Currency) != p.Currency {
		c.fail("payment amounts", "%s: gross %d refunded %d %s, sent %d refunded %d %s", p.WorkflowID, r.Gross, r.Refunded, r.Currency, p.Gross, p.Refunded, p.Currency)
	}
	var legs, refunded, net int64
	parties := map[split.Party]bool{}
	// want is what the payment's entries must post to each account, from its stored state: each
	// party owed its share less its share of refunds and what it was paid (a PayPal payee paid
	// before a refund owes its share of it), the fee and what came back of it the platform's
	// expense, the provider balance checked below from what the day sent.
	want := map[string]int64{}
	for _, l := range r.Legs {
		legs += l.Amount
		refunded += l.Refunded
		parties[l.Party] = true
		want[l.Account()] -= l.Amount - l.Refunded - (l.Transferred - l.Reversed)
		if l.Party == split.PartyPlatform {
			if l.State != ipayment.LegRetained {
				c.fail("leg state", "%s %s is %s", p.WorkflowID, l.Name(), l.State)
			}
			continue
		}
		switch l.State {
		case ipayment.LegTransferred, ipayment.LegReversed, ipayment.LegNothingDue:
		default:
			c.fail("leg state", "%s %s is %s (%s)", p.WorkflowID, l.Name(), l.State, l.Reason)
		}
		if l.TransferEntryID > 0 {
			if dest := payeeDestination(p.Provider, l.PayeeID); l.Destination != dest {
				c.fail("destination", "%s %s was paid to %s, the payee's %s is %s", p.WorkflowID, l.Name(), l.Destination, p.Provider, dest)
			}
		}
		net += l.Transferred - l.Reversed
		if l.TransferEntryID > 0 {
			transferredLegs++
			if p.Provider == providerPayPal {
				if c.paypalPayouts == nil {
					c.paypalPayouts = map[string]paidLeg{}
				}
				c.paypalPayouts[l.TransferKey] = paidLeg{Money: money.Money{Amount: l.Transferred, Currency: r.Currency}, receiver: payeeDestination(providerPayPal, l.PayeeID)}
			}
		}
		if !legSettled(p.Provider, l.Amount, l.Refunded, l.Transferred-l.Reversed) {
			c.fail("leg not settled", "%s %s: transferred %d reversed %d, owed %d refunded %d (%s)", p.WorkflowID, l.Name(), l.Transferred, l.Reversed, l.Amount, l.Refunded, l.State)
		}
	}
	if legs != r.Gross || refunded != r.Refunded {
		c.fail("split does not add up", "%s: legs %d of gross %d, leg refunds %d of %d", p.WorkflowID, legs, r.Gross, refunded, r.Refunded)
	}
	if !parties[split.PartyVendor] || p.Affiliate != parties[split.PartyAffiliate] {
		c.fail("legs", "%s: parties %v, affiliate sent %v", p.WorkflowID, parties, p.Affiliate)
	}
	c.checkShares(p, r)
	if r.Fee != p.Fee || r.FeeReturned != p.FeeReturned {
		c.fail("processing fee", "%s: fee %d, %d returned recorded; the provider said %d, %d", p.WorkflowID, r.Fee, r.FeeReturned, p.Fee, p.FeeReturned)
	}
	providerAccount := ledger.ProviderBalance(p.Provider)
	if want := r.Gross - p.Fee + p.FeeReturned - r.Refunded - r.DisputeLossBeyondRefunds - net; accounts[providerAccount] != want {
		c.fail("provider balance", "%s: books hold %d on provider:%s, want %d", p.WorkflowID, accounts[providerAccount], p.Provider, want)
	}
	want[providerAccount] = accounts[providerAccount] // checked above against what the day sent
	want[ledger.ProcessingFees(p.Provider)] += r.Fee - r.FeeReturned + r.DisputeFees
	want[ledger.DisputeLosses(p.Provider)] += r.DisputeLossBeyondRefunds
	// Every entry balancing and the provider's account right still leave the rest free: a capture
	// crediting the vendor what the platform earned, a transfer debiting another payee.
	for account := range mergedKeys(want, accounts) {
		if accounts[account] != want[account] {
			other := ""
			if account != providerAccount && strings.HasPrefix(account, "provider:") {
				other = " (another provider's)"
			}
			if other != "" {
				c.fail("provider balance", "%s: books hold %d on %s%s, want %d", p.WorkflowID, accounts[account], account, other, want[account])
				continue
			}
			c.fail("books by account", "%s: books hold %d on %s, its stored state says %d", p.WorkflowID, accounts[account], account, want[account])
		}
	}
	return transferredLegs
}

// mergedKeys is the union of the keys of a and b, as a map.
func mergedKeys(a, b map[string]int64) map[string]bool {
	out := map[string]bool{}
	for k := range a {
		out[k] = true
	}
	for k := range b {
		out[k] = true
	}
	return out
}

// payeeDestination is where the bench's seed says a payee is paid on a provider's rail: its
// connected account on Stripe, its receiver on PayPal.
func payeeDestination(provider, payeeID string) string {
	if provider == providerPayPal {
		return alnum(payeeID) + "@payees.example.com"
	}
	return "acct_" + alnum(payeeID)
}

// paidLeg is a PayPal payee leg the books say was paid out: the amount and where to.
type paidLeg struct {
	money.Money
	receiver string
}

// checkTransferEntries matches a payment's transfer journal entries (entries, key by ID) with its
// legs: each transferred payee leg names its own entry (<payment>/transfer/<party>-<payee>), and
// each entry is a leg's. The day's count of transfer entries against transferred legs alone let
// one payment's extra transfer (a payee paid twice and the second taken back) and another's
// transfer booked under some other key cancel out.
func (c *checker) checkTransferEntries(p plannedPayment, r ipayment.Record, entries map[int64]string) {
	named := map[int64]bool{}
	for _, l := range r.Legs {
		if l.Party == split.PartyPlatform {
			continue
		}
		switch want := p.WorkflowID + "/transfer/" + l.Name(); {
		case l.TransferEntryID == 0 && l.Transferred > 0:
			c.fail("transfer entries", "%s %s: transferred %d with no transfer entry", p.WorkflowID, l.Name(), l.Transferred)
		case l.TransferEntryID == 0:
		case entries[l.TransferEntryID] != want:
			c.fail("transfer entries", "%s %s: its transfer entry %d is %q, want %q", p.WorkflowID, l.Name(), l.TransferEntryID, entries[l.TransferEntryID], want)
		default:
			named[l.TransferEntryID] = true
		}
	}
	for id, key := range entries {
		if !named[id] {
			c.fail("transfer entries", "%s: transfer entry %d (%s) is no leg's", p.WorkflowID, id, key)
		}
	}
}

// checkShares compares each leg with what the client's rule gives its party of the order the
// day sent (plannedPayment.Want*, worked out by the bench, not by the split code): the payee, the
// share, and of a refund the leg's part in proportion to its share (rounded either way by one
// minor unit at most). A payee of a payment never refunded must have been paid (a transfer
// entry): the legs adding up to the gross, and each leg settled with its own amount, would both
// hold for a platform that kept everything.
func (c *checker) checkShares(p plannedPayment, r ipayment.Record) {
	type share struct {
		payee  string
		amount int64
	}
	want := map[split.Party]share{split.PartyPlatform: {"", p.WantPlatform}, split.PartyVendor: {p.VendorID, p.WantVendor}}
	if p.Affiliate {
		want[split.PartyAffiliate] = share{p.AffiliateID, p.WantAffiliate}
	}
	if len(r.Legs) != len(want) {
		c.fail("shares", "%s has %d legs, the order %d parties", p.WorkflowID, len(r.Legs), len(want))
	}
	for _, l := range r.Legs {
		w, ok := want[l.Party]
		switch {
		case !ok:
			c.fail("shares", "%s: a %s leg the order has no party for", p.WorkflowID, l.Party)
			continue
		case l.Amount != w.amount:
			c.fail("shares", "%s: the %s gets %d, the rule gives it %d", p.WorkflowID, l.Party, l.Amount, w.amount)
		case l.Party != split.PartyPlatform && l.PayeeID != w.payee:
			c.fail("payee", "%s: the %s leg pays %s, the order names %s", p.WorkflowID, l.Party, l.PayeeID, w.payee)
		}
		if p.Gross > 0 {
			if exact := p.Refunded * w.amount / p.Gross; l.Refunded < exact || l.Refunded > exact+1 {
				c.fail("refund shares", "%s: the %s bears %d of the refund of %d, its share is %d", p.WorkflowID, l.Party, l.Refunded, p.Refunded, exact)
			}
		}
		if l.Party != split.PartyPlatform && p.Refunded == 0 && w.amount > 0 && l.TransferEntryID == 0 {
			c.fail("payee not paid", "%s: the %s leg (%d) has no transfer", p.WorkflowID, l.Party, w.amount)
		}
	}
}

// checkPayPalPayouts compares the payouts the PayPal fake made with the legs the books say were
// paid: each exactly once (a retried or replayed leg reuses its sender_batch_id, which PayPal pays
// once), for the leg's amount, and none the books do not know.
func (c *checker) checkPayPalPayouts(made []testenv.PayPalPayout) {
	seen := map[string]bool{}
	for _, p := range made {
		want, ok := c.paypalPayouts[p.SenderBatchID]
		switch {
		case !ok:
			c.fail("payout not in the books", "PayPal paid %s %s to %s under %s", p.Value, p.Currency, p.Receiver, p.SenderBatchID)
			continue
		case seen[p.SenderBatchID]:
			c.fail("paid twice", "PayPal paid %s twice", p.SenderBatchID)
		}
		seen[p.SenderBatchID] = true
		if !strings.EqualFold(p.Receiver, want.receiver) {
			c.fail("payout receiver", "%s: PayPal paid %s, the payee's receiver is %s", p.SenderBatchID, p.Receiver, want.receiver)
		}
		amount, err := money.ParseAmount(p.Value, want.Currency)
		if err != nil || !strings.EqualFold(p.Currency, string(want.Currency)) || amount != want.Amount {
			c.fail("payout amount", "%s: PayPal paid %s %s, the books %d %s", p.SenderBatchID, p.Value, p.Currency, want.Amount, want.Currency)
		}
	}
	for key := range c.paypalPayouts {
		if !seen[key] {
			c.fail("payout missing", "the books paid %s, PayPal has no payout for it", key)
		}
	}
}

// legSettled tells whether net, what a payee leg received once its payment is final, is right:
// its share less its share of refunds, which Stripe pulls back with transfer reversals. A PayPal
// payout cannot be pulled back: paid before the refund, the payee keeps it all and owes its
// refund share in the books (the provider balance check covers that money); paid after, the
// payout was already the reduced share.
func legSettled(provider string, amount, refunded, net int64) bool {
	if net == amount-refunded {
		return true
	}
	return provider == providerPayPal && refunded > 0 && net == amount
}

// checkWorkflows: no payment run failed or was terminated, and (when the bench configured a
// zero settle window) none is still open.
func (c *checker) checkWorkflows(ctx context.Context, tc client.Client, prefixes []string, expectClosed bool) error {
	var ids []string
	for _, p := range prefixes {
		ids = append(ids, fmt.Sprintf("WorkflowId STARTS_WITH '%s'", p))
	}
	base := fmt.Sprintf("WorkflowType = '%s' AND (%s)", payment.WorkflowName, strings.Join(ids, " OR "))
	count := func(q string) (int64, error) {
		r, err := tc.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Query: base + " AND " + q})
		if err != nil {
			return 0, fmt.Errorf("count payment workflows: %w", err)
		}
		return r.GetCount(), nil
	}
	bad, err := count("ExecutionStatus != 'Running' AND ExecutionStatus != 'Completed'")
	if err != nil {
		return err
	}
	if bad > 0 {
		c.fail("workflow failed", "%d payment runs failed, timed out or were terminated", bad)
	}
	if !expectClosed {
		return nil
	}
	open, err := count("ExecutionStatus = 'Running'")
	if err != nil {
		return err
	}
	if open > 0 {
		c.fail("payment stuck", "%d payment runs still open with no settle window", open)
	}
	return nil
}

func storedPayments(ctx context.Context, pool *pgxpool.Pool, prefixes []string) (map[string]ipayment.Record, error) {
	rows, err := pool.Query(ctx, `SELECT workflow_id, state FROM payments WHERE workflow_id LIKE ANY($1)`, likePrefixes(prefixes))
	if err != nil {
		return nil, fmt.Errorf("read payments: %w", err)
	}
	defer rows.Close()
	out := map[string]ipayment.Record{}
	for rows.Next() {
		var id string
		var state []byte
		if err := rows.Scan(&id, &state); err != nil {
			return nil, err
		}
		var r ipayment.Record
		if err := json.Unmarshal(state, &r); err != nil {
			return nil, fmt.Errorf("decode payment %s: %w", id, err)
		}
		out[id] = r
	}
	return out, rows.Err()
}

// likePrefixes are LIKE patterns matching what starts with any of prefixes.
func likePrefixes(prefixes []string) []string {
	escape := strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`)
	out := make([]string, len(prefixes))
	for i, p := range prefixes {
		out[i] = escape.Replace(p) + "%"
	}
	return out
}

// paymentAccounts sums, per payment (an entry's reference), what the payment's journal entries
// post to each account.
func paymentAccounts(ctx context.Context, pool *pgxpool.Pool, prefixes []string) (map[string]map[string]int64, error) {
	rows, err := pool.Query(ctx, `SELECT e.reference, p.account, sum(p.amount)::bigint FROM journal_entries e JOIN postings p ON p.entry_id = e.id
		WHERE e.reference LIKE ANY($1) GROUP BY e.reference, p.account`, likePrefixes(prefixes))
	if err != nil {
		return nil, fmt.Errorf("read payment accounts: %w", err)
	}
	defer rows.Close()
	out := map[string]map[string]int64{}
	for rows.Next() {
		var ref, account string
		var sum int64
		if err := rows.Scan(&ref, &account, &sum); err != nil {
			return nil, err
		}
		if out[ref] == nil {
			out[ref] = map[string]int64{}
		}
		out[ref][account] = sum
	}
	return out, rows.Err()
}

// transferEntries are the run's transfer journal entries, per payment (reference): key by ID.
func transferEntries(ctx context.Context, pool *pgxpool.Pool, prefixes []string) (map[string]map[int64]string, error) {
	rows, err := pool.Query(ctx, `SELECT reference, id, idempotency_key FROM journal_entries
		WHERE reference LIKE ANY($1) AND idempotency_key LIKE '%/transfer/%'`, likePrefixes(prefixes))
	if err != nil {
		return nil, fmt.Errorf("read transfer entries: %w", err)
	}
	defer rows.Close()
	out := map[string]map[int64]string{}
	for rows.Next() {
		var ref, key string
		var id int64
		if err := rows.Scan(&ref, &id, &key); err != nil {
			return nil, err
		}
		if out[ref] == nil {
			out[ref] = map[int64]string{}
		}
		out[ref][id] = key
	}
	return out, rows.Err()
}
