package stack

import (
	"context"
	"net/http"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"paysplit/internal/ledger"
	ipayment "paysplit/internal/payment"
	"paysplit/internal/split"
)

// Books is what Check found.
type Books struct {
	Workflows      int
	Transfers      int
	Reversals      int
	DoublePayments int   // keys that moved money twice, or payees sent more than their legs say
	MoneyLost      int64 // minor units unaccounted for between provider, payees and the books
}

// Check verifies the invariants every fault scenario ends with:
//   - every acknowledged webhook has exactly one workflow execution;
//   - per payment and payee account, what the provider transferred there net of reversals
//     equals the legs' transferred minus reversed, and a settled leg got what it is owed (its
//     share less its part of refunds); every transfer names its payment;
//   - a split payment's refunds are what Stripe's charge says was refunded (the proxy's count,
//     from the events the test sent), lost disputes apart;
//   - per payment, each leg's account in the books holds what the leg still owes or is owed, and
//     the provider balance what stayed with the provider;
//   - PayPal's side, from the fake's own record (checkPayPalPayouts, checkPayPalLegs): every
//     payout it made matches, one for one by sender_batch_id, a payout the books record for a
//     payee leg, for its amount and to a receiver the payee has had; none paid twice, none
//     missing; a settled leg got its share (all of it when paid before its refund, which it then
//     owes back in the books; less its part when paid after); refunds as the events told them;
//     the provider balance with the fee and fee returned the events stated;
//   - every journal entry balances;
//   - no idempotency key was used for two different amounts.
func (s *Stack) Check() Books {
	t := s.T
	t.Helper()
	ctx := context.Background()
	var b Books
	s.mu.Lock()
	ids := make([]string, 0, len(s.accepted))
	for id := range s.accepted {
		ids = append(ids, id)
	}
	s.mu.Unlock()
	for _, id := range ids {
		assert.Equal(t, 1, s.Runs(id), "workflow executions of %s", id)
		b.Workflows++
	}

	recs := map[string]ipayment.Record{}
	for _, id := range ids {
		if rec, err := s.Store.GetPayment(ctx, id); err == nil {
			recs[id] = rec
		}
	}
	paypal := s.checkPayPalPayouts(ctx, &b, recs)

	sent := map[string]int64{}              // workflow ID -> net transferred at the provider
	sentTo := map[string]map[legKey]int64{} // workflow ID -> payee leg -> net at the provider
	for _, tr := range s.Stripe.Transfers() {
		id := tr.Metadata["workflow_id"]
		if !assert.NotEmpty(t, id, "transfer %s names no payment", tr.ID) {
			b.MoneyLost += tr.Amount - tr.AmountReversed
		}
		leg := legKey{split.Party(tr.Metadata["party"]), tr.Metadata["payee_id"]}
		if accounts := s.accountsOf(ctx, leg.payee); !slices.Contains(accounts, tr.Destination) {
			assert.Failf(t, "paid to the wrong account", "%s: transfer %s of %s's leg went to %s, not an account of the payee's (%v)",
				id, tr.ID, leg.payee, tr.Destination, accounts)
			b.MoneyLost += tr.Amount - tr.AmountReversed
		}
		sent[id] += tr.Amount - tr.AmountReversed
		if sentTo[id] == nil {
			sentTo[id] = map[legKey]int64{}
		}
		sentTo[id][leg] += tr.Amount - tr.AmountReversed
		b.Transfers++
		b.Reversals += len(tr.Reversals)
		if tr.AmountReversed > tr.Amount {
			b.DoublePayments++ // reversed more than was sent
		}
	}
	for _, id := range ids {
		rec, ok := recs[id]
		if !ok {
			continue // acknowledged but not yet stored: the Runs check speaks for it
		}
		var legs int64
		for _, l := range rec.Legs {
			if l.Party != split.PartyPlatform {
				legs += l.Transferred - l.Reversed
				if l.Transferred-l.Reversed > l.Amount {
					b.DoublePayments++
				}
			}
		}
		if rec.Provider == "stripe" && !assert.Equal(t, legs, sent[id], "%s: provider transfers vs legs", id) {
			if d := sent[id] - legs; d > 0 {
				b.DoublePayments++
			} else {
				b.MoneyLost += -d
			}
		}
		if rec.Provider == "stripe" {
			s.checkPayees(&b, rec, sentTo[id])
		}
		if rec.Provider == "paypal" {
			s.checkPayPalLegs(&b, rec, paypal)
		}
		balances := map[string]int64{}
		entries, err := s.Ledger.EntriesByReference(ctx, id)
		require.NoError(t, err)
		for _, e := range entries {
			for _, p := range e.Postings {
				balances[p.Account] += p.Amount
			}
		}
		if rec.Split() {
			s.checkLegAccounts(&b, rec, balances)
		}
		// What stayed in the provider balance is the gross less its fee, refunds, what lost
		// disputes took beyond them and what the payees got. Stripe's fee is the one the proxy answered; PayPal's came in its capture
		// event, and what it gave back of it in its refund events.
		if rec.Split() {
			fee, returned := rec.Fee, rec.FeeReturned
			if rec.Provider == "stripe" {
				fee = s.Stripe.ChargeFee(rec.ChargeID)
			}
			if f, r, ok := s.payPalFees(id); rec.Provider == "paypal" && ok {
				fee, returned = f, r
			}
			want := rec.Gross - fee + returned - s.disputeFeesOf(id) - rec.Refunded - rec.DisputeLossBeyondRefunds - legs
			if got := balances["provider:"+rec.Provider]; !assert.Equal(t, want, got, "%s: provider balance in the books", id) {
				b.MoneyLost += abs(want - got)
			}
		}
	}

	unbalanced, err := s.Ledger.Unbalanced(ctx)
	require.NoError(t, err)
	assert.Empty(t, unbalanced, "journal entries that do not balance")

	amounts := map[string]string{}
	for _, c := range s.Stripe.Calls(http.MethodPost, "") {
		if c.IdempotencyKey == "" {
			continue
		}
		if prev, ok := amounts[c.IdempotencyKey]; ok && prev != c.Form.Get("amount") {
			t.Errorf("idempotency key %s used for amounts %s and %s", c.IdempotencyKey, prev, c.Form.Get("amount"))
			b.DoublePayments++
		}
		amounts[c.IdempotencyKey] = c.Form.Get("amount")
	}
	return b
}

// legKey names a payee leg of a payment, as its transfers' metadata do.
type legKey struct {
	party split.Party
	payee string
}

// payeeHistory is every value a payee's field (stripe_account, paypal_receiver) has had, from the
// audit log of the admin API's changes (an account can change while a leg waits); a value the log
// left out ("(an email address, not recorded)") is not among them.
func (s *Stack) payeeHistory(ctx context.Context, payee, field string) []string {
	rows, err := s.Pool.Query(ctx, `SELECT DISTINCT after->>$2 FROM audit_log
		WHERE target = $1 AND after->>$2 IS NOT NULL AND after->>$2 NOT LIKE '(%'`, "payee:"+payee, field)
	require.NoError(s.T, err)
	values, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(s.T, err)
	return values
}

// accountsOf is every Stripe account the payee has had (payeeHistory), or its account now when
// the log has none.
func (s *Stack) accountsOf(ctx context.Context, payee string) []string {
	accounts := s.payeeHistory(ctx, payee, "stripe_account")
	if len(accounts) == 0 {
		if p, err := s.Store.GetPayee(ctx, payee); err == nil {
			accounts = append(accounts, p.StripeAccount)
		}
	}
	return accounts
}

// checkPayees compares, for one Stripe payment, what Stripe sent each payee leg (net of
// reversals) with what the leg says it was sent, and a settled payee leg with what it is owed;
// and the payment's refunds with what Stripe's charge says was refunded.
func (s *Stack) checkPayees(b *Books, rec ipayment.Record, sent map[legKey]int64) {
	t := s.T
	want := map[legKey]int64{}
	for _, l := range rec.Legs {
		if l.Party == split.PartyPlatform {
			continue
		}
		want[legKey{l.Party, l.PayeeID}] += l.Transferred - l.Reversed
		if settledStatus[rec.Status] && l.State == ipayment.LegTransferred && len(l.Dues) == 0 {
			if owed := l.Amount - l.Refunded; !assert.Equal(t, owed, l.Transferred-l.Reversed, "%s: %s got %d net, is owed %d", rec.WorkflowID, l.Name(), l.Transferred-l.Reversed, owed) {
				b.addDifference(l.Transferred - l.Reversed - owed)
			}
		}
	}
	for leg := range mapsUnion(sent, want) {
		if !assert.Equal(t, want[leg], sent[leg], "%s: Stripe sent the %s leg of %s %d net, the leg says %d", rec.WorkflowID, leg.party, leg.payee, sent[leg], want[leg]) {
			b.addDifference(sent[leg] - want[leg])
		}
	}
	if c, ok := s.Stripe.Charge(rec.ChargeID); ok && rec.Split() {
		if refunds := rec.Refunded - rec.DisputesLost; !assert.Equal(t, c.AmountRefunded, refunds, "%s: refunds booked vs Stripe's charge", rec.WorkflowID) {
			b.MoneyLost += abs(c.AmountRefunded - refunds)
		}
	}
}

// mapsUnion is the keys of a and b.
func mapsUnion[K comparable, V any](a, b map[K]V) map[K]bool {
	out := make(map[K]bool, len(a)+len(b))
	for k := range a {
		out[k] = true
	}
	for k := range b {
		out[k] = true
	}
	return out
}

// checkLegAccounts compares each leg's account in one payment's books with the leg: a payee's
// payable holds what it is still owed (negative) or owes back (positive), the platform's revenue
// its share less its part of refunds; a transfer booked against the wrong account shows here.
func (s *Stack) checkLegAccounts(b *Books, rec ipayment.Record, balances map[string]int64) {
	want := map[string]int64{}
	for _, l := range rec.Legs {
		switch l.Party {
		case split.PartyPlatform:
			want[ledger.PlatformRevenue] -= l.Amount - l.Refunded
		case split.PartyVendor:
			want[ledger.VendorPayable(l.PayeeID)] += (l.Transferred - l.Reversed) - (l.Amount - l.Refunded)
		case split.PartyAffiliate:
			want[ledger.AffiliatePayable(l.PayeeID)] += (l.Transferred - l.Reversed) - (l.Amount - l.Refunded)
		}
	}
	for account, w := range want {
		if got := balances[account]; !assert.Equal(s.T, w, got, "%s: %s in the books", rec.WorkflowID, account) {
			b.MoneyLost += abs(w - got)
		}
	}
}

// settledStatus are the statuses of a payment whose legs have been paid what they are owed.
var settledStatus = map[ipayment.Status]bool{
	ipayment.StatusPaid: true, ipayment.StatusPartiallyRefunded: true, ipayment.StatusRefunded: true,
}

// addDifference counts a payee's net against what it should have: more is a double payment,
// less money lost.
func (b *Books) addDifference(d int64) {
	if d > 0 {
		b.DoublePayments++
	} else {
		b.MoneyLost += -d
	}
}

// disputeFeesOf is what the dispute events acknowledged for a payment said its disputes cost in fees.
func (s *Stack) disputeFeesOf(id string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var sum int64
	for _, fee := range s.disputeFees[id] {
		sum += fee
	}
	return sum
}

func abs(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}
