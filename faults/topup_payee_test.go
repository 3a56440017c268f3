package faults

import (
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	ipayment "paysplit/internal/payment"
	"paysplit/testenv/stack"
	"paysplit/workflows/payment"
)

// closedAccount is a vendor's Stripe account closed after its payout: Stripe refuses every
// transfer to it. It notes where each correction top-up was sent, and counts the refusals.
type closedAccount struct {
	account string
	mu      sync.Mutex
	topUps  []string // the destination of each correction top-up asked for, in order
	refused int
}

func (c *closedAccount) inject(r *http.Request, form url.Values) (int, string) {
	if r.URL.Path != "/v1/transfers" || r.Method != http.MethodPost {
		return 0, ""
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if strings.Contains(r.Header.Get("Idempotency-Key"), "/correction/") {
		c.topUps = append(c.topUps, form.Get("destination"))
	}
	if form.Get("destination") != c.account {
		return 0, ""
	}
	c.refused++
	return http.StatusBadRequest, `{"error":{"type":"invalid_request_error","code":"account_invalid","message":"The destination account is closed."}}`
}

func (c *closedAccount) sent() (topUps []string, refused int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.topUps...), c.refused
}

func putPayee(t *testing.T, s *stack.Stack, id string, body map[string]any) {
	t.Helper()
	code, out := s.Do(http.MethodPut, "/api/v1/admin/payees/"+id, body, stack.AdminKey)
	require.Contains(t, []int{http.StatusOK, http.StatusCreated}, code, out)
}

// correctToV2 publishes rule v2 (5 % instead of 10 %: the vendor is owed 485 more on an
// 11000-cent order) and asks for the payment to be corrected to it.
func correctToV2(t *testing.T, s *stack.Stack, clientID, id string) {
	t.Helper()
	code, out := s.Do(http.MethodPost, "/api/v1/admin/clients/"+clientID+"/split-rules", map[string]any{"platform_bps": 500, "affiliate_bps": 500}, stack.AdminKey)
	require.Equal(t, http.StatusCreated, code, out)
	code, out = s.Do(http.MethodPost, "/api/v1/admin/payments/"+id+"/correct", map[string]any{"rule_version": 2}, stack.AdminKey)
	require.Equal(t, http.StatusAccepted, code, out)
}

// awaitStored waits until the payment's stored record meets done (a step the run saved), and
// returns it.
func awaitStored(t *testing.T, s *stack.Stack, id string, done func(ipayment.Record) bool) ipayment.Record {
	t.Helper()
	var rec ipayment.Record
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		r, err := s.Store.GetPayment(t.Context(), id)
		if !assert.NoError(c, err) {
			return
		}
		rec = r
		assert.True(c, done(r), "payment %s is %s (%s), rule v%d, %d due retries", id, r.Status, r.Reason, r.RuleVersion, r.DueRetries)
	}, 60*time.Second, 100*time.Millisecond)
	return rec
}

// paidThenAccountClosed pays a payment of a new client, then closes its vendor's Stripe
// account (acct_vendor1): Stripe refuses transfers to it from then on.
func paidThenAccountClosed(t *testing.T, client string) (s *stack.Stack, id string, events int, closed *closedAccount) {
	t.Helper()
	s = stack.New(t, stack.Options{Settings: open})
	s.Seed(client)
	pi := "pi_" + client + "1"
	id = payment.WorkflowID("stripe", pi)
	events = deliver(t, s, stack.Capture(client, pi).Body(), 1)
	s.AwaitStatus(id, 30*time.Second, ipayment.StatusPaid)
	closed = &closedAccount{account: "acct_vendor1"}
	s.Stripe.Inject = closed.inject
	return s, id, events, closed
}

// TestTopUpAfterPayeeAccountChangedGoesToTheCurrentAccount: a vendor's Stripe account is closed
// after its payout and the admin registers its new one. A correction then owes the vendor a
// top-up: a new payout, which goes where the payee is paid now (checked, as a first payout and a
// release are), not to the account it had at capture, which refuses it (before code path 13 it
// stayed due there, and every retry went there again).
func TestTopUpAfterPayeeAccountChangedGoesToTheCurrentAccount(t *testing.T) {
	s, id, events, closed := paidThenAccountClosed(t, "topacct")
	putPayee(t, s, "topacct-vendor", map[string]any{"client_id": "topacct", "kind": "vendor", "stripe_account": "acct_vendor2"})
	correctToV2(t, s, "topacct", id)
	rec := awaitStored(t, s, id, func(r ipayment.Record) bool {
		return r.RuleVersion == 2 && r.Status != ipayment.StatusPayingOut
	})

	topUps, refused := closed.sent()
	t.Logf("status %s (%s); correction top-ups sent to %v; vendor dues %+v", rec.Status, rec.Reason, topUps, rec.Leg("vendor").Dues)
	require.Equal(t, ipayment.StatusPaid, rec.Status, "the top-up is still owed: %s", rec.Reason)
	require.Equal(t, []string{"acct_vendor2"}, topUps, "the top-up went to the account the admin registered, once")
	require.Zero(t, refused)
	vendor := rec.Leg("vendor")
	require.Empty(t, vendor.Dues)
	require.Len(t, vendor.TopUps, 1)
	require.EqualValues(t, 485, vendor.TopUps[0].Amount)
	require.Equal(t, "acct_vendor2", vendor.Destination)
	s.Stripe.Inject = nil
	finish(t, s, events, 1, 0)
}

// TestRefusedTopUpRetriedAfterTheAccountWasReplacedGoesToTheNewAccount: the correction comes
// while the vendor's closed account is still the registered one, so its top-up is refused there
// and stays due; the admin registers the new account and retries, the README's remedy for a
// movement due. The retry's new key goes to the new account (before code path 13 it went to the
// closed one again, refused for good: the vendor's money stuck).
func TestRefusedTopUpRetriedAfterTheAccountWasReplacedGoesToTheNewAccount(t *testing.T) {
	s, id, events, closed := paidThenAccountClosed(t, "toprt")
	correctToV2(t, s, "toprt", id)
	due := s.AwaitStatus(id, 30*time.Second, ipayment.StatusPayoutFailed)
	require.Len(t, due.Leg("vendor").Dues, 1, due.Reason)
	require.True(t, due.Leg("vendor").Dues[0].Refused, "refused at the closed account")

	putPayee(t, s, "toprt-vendor", map[string]any{"client_id": "toprt", "kind": "vendor", "stripe_account": "acct_vendor2"})
	code, out := s.Do(http.MethodPost, "/api/v1/admin/payments/"+id+"/retry", nil, stack.AdminKey)
	require.Equal(t, http.StatusAccepted, code, out)
	rec := awaitStored(t, s, id, func(r ipayment.Record) bool { return r.DueRetries == 1 })

	topUps, refused := closed.sent()
	t.Logf("status %s (%s); correction top-ups sent to %v; vendor dues %+v", rec.Status, rec.Reason, topUps, rec.Leg("vendor").Dues)
	require.Equal(t, ipayment.StatusPaid, rec.Status, "the top-up is still owed after the retry: %s", rec.Reason)
	require.Equal(t, []string{"acct_vendor1", "acct_vendor2"}, topUps, "refused at the closed account, then sent to the new one")
	require.Equal(t, 1, refused)
	vendor := rec.Leg("vendor")
	require.Empty(t, vendor.Dues)
	require.Len(t, vendor.TopUps, 1)
	require.EqualValues(t, 485, vendor.TopUps[0].Amount)
	var keys []string
	for _, tr := range s.Stripe.Transfers() {
		if tr.Metadata["workflow_id"] == id && tr.Metadata["party"] == "vendor" {
			keys = append(keys, tr.IdempotencyKey+" -> "+tr.Destination)
		}
	}
	require.Equal(t, []string{id + "/transfer/vendor-toprt-vendor/0 -> acct_vendor1", id + "/correction/v2.a1/vendor-toprt-vendor -> acct_vendor2"}, keys)
	s.Stripe.Inject = nil
	finish(t, s, events, 1, refused)
}
