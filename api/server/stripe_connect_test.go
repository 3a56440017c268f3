package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	ipayment "paysplit/internal/payment"
	"paysplit/internal/stripeevent"
	stackpkg "paysplit/testenv/stack"
	"paysplit/workflows/payment"
)

// connectedAccounts answers Stripe's GET /v1/accounts/<id> for the accounts a test names, with
// their transfers capability as the test sets it (stripe-mock answers every account active);
// other requests go to stripe-mock.
type connectedAccounts struct {
	mu        sync.Mutex
	transfers map[string]string
}

func newConnectedAccounts(s *stack) *connectedAccounts {
	a := &connectedAccounts{transfers: map[string]string{}}
	s.stripe.Inject = a.inject
	s.t.Cleanup(func() { s.stripe.Inject = nil })
	return a
}

func (a *connectedAccounts) set(account, transfers string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.transfers[account] = transfers
}

func (a *connectedAccounts) inject(r *http.Request, _ url.Values) (int, string) {
	account, ok := strings.CutPrefix(r.URL.Path, "/v1/accounts/")
	if !ok || r.Method != http.MethodGet {
		return 0, ""
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	status, ok := a.transfers[account]
	if !ok {
		return 0, ""
	}
	return http.StatusOK, fmt.Sprintf(`{"id":%q,"object":"account","type":"express","charges_enabled":false,"payouts_enabled":false,`+
		`"capabilities":{"transfers":%q,"card_payments":%q}}`, account, status, status)
}

// uniqueAccount is a connected account ID no other test's payees use (Seed's share acct_vendor1).
func uniqueAccount(prefix string) string {
	return fmt.Sprintf("acct_%s%d", prefix, time.Now().UnixNano())
}

// uniqueName is a client (and so payment and event) name of this run alone: the test binary's
// Temporal and database outlive a run (-count).
func uniqueName(prefix string) string {
	return fmt.Sprintf("%sr%d", prefix, time.Now().UnixNano()%1e9)
}

// connect delivers a Connect event signed with the Connect endpoint's secret.
func (s *stack) connect(body []byte) (int, map[string]any) {
	s.t.Helper()
	return s.StripeConnectWebhook(stripeevent.Sign(body, stackpkg.ConnectWebhookSecret, time.Now()))
}

// heldAt seeds client with its vendor paid at account, captures a payment for each pi and waits
// until each is held; it returns their workflow IDs.
func (s *stack) heldAt(client, account string, pis ...string) []string {
	s.t.Helper()
	s.seed(client)
	code, body := s.do(http.MethodPut, "/api/v1/admin/payees/"+client+"-vendor", map[string]any{"client_id": client, "kind": "vendor", "stripe_account": account}, adminKey)
	require.Equal(s.t, http.StatusOK, code, body)
	var ids []string
	for _, pi := range pis {
		code, body = s.webhook(stripeevent.Sign(capture(client, pi).Body(), webhookSecret, time.Now()))
		require.Equal(s.t, http.StatusOK, code, body)
		ids = append(ids, payment.WorkflowID("stripe", pi))
	}
	for _, id := range ids {
		rec := s.AwaitStatus(id, 30*time.Second, ipayment.StatusHeld)
		require.Equal(s.t, ipayment.LegHeld, rec.Leg("vendor").State, rec.Reason)
		awaitRunWaits(s.t, s.tc, id) // its ask after the hold answered before the caller changes the account
	}
	return ids
}

// transfersTo lists the amounts of the transfers Stripe made to account, by workflow.
func (s *stack) transfersTo(account string) map[string][]int64 {
	out := map[string][]int64{}
	for _, tr := range s.stripe.Transfers() {
		if tr.Destination == account {
			out[tr.Metadata["workflow_id"]] = append(out[tr.Metadata["workflow_id"]], tr.Amount)
		}
	}
	return out
}

// releases are the audit entries of releases of a payment by actor.
func (s *stack) releases(id, actor string) []map[string]any {
	s.t.Helper()
	q := url.Values{"action": {"payment.release"}, "target": {"payment:" + id}, "actor": {actor}}
	code, body := s.do(http.MethodGet, "/api/v1/admin/audit?"+q.Encode(), nil, adminKey)
	require.Equal(s.t, http.StatusOK, code, body)
	var out []map[string]any
	for _, e := range body["entries"].([]any) {
		out = append(out, e.(map[string]any))
	}
	return out
}

// savedAt is when the payment's run last saved it.
func (s *stack) savedAt(id string) time.Time {
	s.t.Helper()
	var at time.Time
	require.NoError(s.t, s.Pool.QueryRow(context.Background(), `SELECT updated_at FROM payments WHERE workflow_id = $1`, id).Scan(&at))
	return at
}

// savedSince waits until the payment's run saved it after before (it took a signal sent since)
// and returns the payment as stored then.
func (s *stack) savedSince(id string, before time.Time, what string) ipayment.Record {
	s.t.Helper()
	require.EventuallyWithT(s.t, func(c *assert.CollectT) {
		assert.True(c, s.savedAt(id).After(before), "the run has not saved the payment since the %s", what)
	}, 30*time.Second, 100*time.Millisecond)
	rec, err := s.Store.GetPayment(context.Background(), id)
	require.NoError(s.t, err)
	return rec
}

// connectAtOnce delivers the Connect event bodies at the same time and returns the answers, each
// 200, in the bodies' order.
func (s *stack) connectAtOnce(bodies ...[]byte) []map[string]any {
	s.t.Helper()
	answers := make([]map[string]any, len(bodies))
	var wg sync.WaitGroup
	for j, body := range bodies {
		wg.Go(func() {
			code, out := s.connect(body)
			assert.Equal(s.t, http.StatusOK, code, out)
			answers[j] = out
		})
	}
	wg.Wait()
	return answers
}

func strs(v any) []string {
	var out []string
	list, _ := v.([]any)
	for _, x := range list {
		out = append(out, x.(string))
	}
	return out
}

// TestConnectEventReleasesHeldPayouts: a vendor's payouts are held while its connected account
// cannot receive transfers; when Stripe's Connect endpoint says it can (account.updated with the
// transfers capability active, or capability.updated of transfers to active), every payment held
// for it is released as an admin's release would, audited with the event, and paid once. The
// same event delivered again (at once, and after), and the other kind of event about the same
// change, release nothing more. Events about another capability or status, and payments held at
// another account, are left alone.
func TestConnectEventReleasesHeldPayouts(t *testing.T) {
	tests := []struct {
		name, actor  string
		event, other func(id, account string) []byte
	}{
		{"capability.updated", "stripe:capability.updated",
			func(id, account string) []byte {
				return stripeevent.CapabilityUpdated{EventID: id, Account: account, Capability: "transfers", Status: "active", Created: time.Now()}.Body()
			},
			func(id, account string) []byte {
				return stripeevent.AccountUpdated{EventID: id, Account: account, Transfers: "active", Created: time.Now()}.Body()
			}},
		{"account.updated", "stripe:account.updated",
			func(id, account string) []byte {
				return stripeevent.AccountUpdated{EventID: id, Account: account, Transfers: "active", Created: time.Now()}.Body()
			},
			func(id, account string) []byte {
				return stripeevent.CapabilityUpdated{EventID: id, Account: account, Capability: "transfers", Status: "active", Created: time.Now()}.Body()
			}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStack(t, payment.Settings{SettleWindow: 0})
			accounts := newConnectedAccounts(s)
			account, elsewhere := uniqueAccount("onb"), uniqueAccount("other")
			accounts.set(account, "inactive")
			accounts.set(elsewhere, "pending")
			client := uniqueName(fmt.Sprintf("connrel%d", i))
			ids := s.heldAt(client, account, "pi_"+client+"a", "pi_"+client+"b")
			other := s.heldAt(client+"x", elsewhere, "pi_"+client+"x")[0]
			slices.Sort(ids)

			// Not a change that lets the account receive transfers: ignored, nothing released.
			for _, body := range [][]byte{
				stripeevent.CapabilityUpdated{EventID: "evt_cap_card_" + client, Account: account, Capability: "card_payments", Status: "active", Created: time.Now()}.Body(),
				stripeevent.CapabilityUpdated{EventID: "evt_cap_pending_" + client, Account: account, Capability: "transfers", Status: "pending", Created: time.Now()}.Body(),
				stripeevent.AccountUpdated{EventID: "evt_acct_inactive_" + client, Account: account, Transfers: "inactive", Created: time.Now()}.Body(),
				stripeevent.AccountUpdated{EventID: "evt_acct_nocaps_" + client, Account: account, Created: time.Now()}.Body(),
				[]byte(`{"id":"evt_payout_` + client + `","object":"event","account":"` + account + `","api_version":"2023-10-16","created":1,"type":"payout.paid","data":{"object":{"id":"po_1","object":"payout"}}}`),
			} {
				code, out := s.connect(body)
				require.Equal(t, http.StatusOK, code, out)
				require.Equal(t, "ignored", out["status"], out)
			}
			for _, id := range append([]string{other}, ids...) {
				require.Empty(t, s.releases(id, tt.actor), "an ignored event released %s", id)
			}

			// The account can receive now: the event, delivered twice at once with the other
			// kind of event about the same change, releases each payment once.
			accounts.set(account, "active")
			eventID := "evt_" + strings.ReplaceAll(tt.name, ".", "_") + "_" + client
			bodies := [][]byte{tt.event(eventID, account), tt.event(eventID, account), tt.other("evt_other_"+client, account)}
			answers := s.connectAtOnce(bodies...)
			var released []string
			for _, out := range answers {
				require.Contains(t, []any{"released", "nothing_released"}, out["status"], out)
				require.Equal(t, account, out["account"], out)
				released = append(released, strs(out["released"])...)
			}
			slices.Sort(released)
			require.Equal(t, ids, released, "each held payment released once by the three deliveries: %v", answers)

			for _, id := range ids {
				rec := s.AwaitStatus(id, 30*time.Second, ipayment.StatusPaid)
				require.Equal(t, ipayment.LegTransferred, rec.Leg("vendor").State)
			}
			sent := s.transfersTo(account)
			for _, id := range ids {
				require.Equal(t, []int64{9545}, sent[id], "%s: the vendor paid once, its share", id)
				var entries []map[string]any
				for _, actor := range []string{"stripe:capability.updated", "stripe:account.updated"} {
					entries = append(entries, s.releases(id, actor)...)
				}
				require.Len(t, entries, 1, "%s: one release, audited", id)
				after := entries[0]["after"].(map[string]any)
				require.Equal(t, account, after["account"], entries[0])
				require.Equal(t, "vendor", after["party"], entries[0])
				require.Contains(t, []any{eventID, "evt_other_" + client}, after["event_id"], entries[0])
				require.Equal(t, "held", entries[0]["before"].(map[string]any)["status"], entries[0])
				// Sent with the decision it was made on (the hold, code path 22), which its audit
				// entry records as an admin's release's does.
				require.Equal(t, []int{1}, s.decisionsSent(id), "%s: the release carries the hold's decision", id)
				require.EqualValues(t, 1, after["decision"], entries[0])
				requireSavedAtRecorded(t, after)
			}

			// Delivered again once the payments are paid: nothing is held there any more.
			code, out := s.connect(tt.event(eventID, account))
			require.Equal(t, http.StatusOK, code, out)
			require.Equal(t, "nothing_released", out["status"], out)
			require.Equal(t, sent, s.transfersTo(account))

			// The payment held at the other account stays held, never sent a release.
			rec, err := s.Store.GetPayment(context.Background(), other)
			require.NoError(t, err)
			require.Equal(t, ipayment.StatusHeld, rec.Status, rec.Reason)
			require.Empty(t, s.releases(other, tt.actor))
			require.Empty(t, s.transfersTo(elsewhere))
			s.requireBooksBalanced()
		})
	}
}

// TestConnectReleaseThatCannotPayIsHeldAgain: a Connect event releases a leg held for a payee
// paid at its account, but the payment's run checks the payee again before it sends anything, so
// a release that cannot pay pays nothing: the account Stripe still says cannot receive (an event
// older than the account's state, delivered late). The leg is held again and the event delivered
// again does not release it again; once the account can receive, a later event pays it once. A
// leg held because its payee, paid at the account, is another client's is not released at all:
// no event about the account cures that, and each would release it only to be held again.
func TestConnectReleaseThatCannotPayIsHeldAgain(t *testing.T) {
	tests := []struct {
		name   string
		reason string
		// hold makes a payment held whose vendor is paid at account, with the account's state
		// set; fix, when there is one, removes the cause.
		hold func(s *stack, accounts *connectedAccounts, client, account string) string
		fix  func(s *stack, accounts *connectedAccounts, client, account string)
	}{
		{"account still cannot receive", "cannot receive transfers",
			func(s *stack, accounts *connectedAccounts, client, account string) string {
				accounts.set(account, "inactive")
				return s.heldAt(client, account, "pi_"+client)[0]
			},
			func(s *stack, accounts *connectedAccounts, client, account string) {
				accounts.set(account, "active")
			}},
		{"payee registered to another client", "registered to another client",
			func(s *stack, accounts *connectedAccounts, client, account string) string {
				// The owner's vendor is paid at account, which can receive; the client's capture
				// names the owner's vendor as its own.
				accounts.set(account, "active")
				s.seed(client + "own")
				code, body := s.do(http.MethodPut, "/api/v1/admin/payees/"+client+"own-vendor", map[string]any{"client_id": client + "own", "kind": "vendor", "stripe_account": account}, adminKey)
				require.Equal(s.t, http.StatusOK, code, body)
				s.seed(client)
				c := capture(client, "pi_"+client)
				c.Metadata["vendor_id"] = client + "own-vendor"
				code, body = s.webhook(stripeevent.Sign(c.Body(), webhookSecret, time.Now()))
				require.Equal(s.t, http.StatusOK, code, body)
				id := payment.WorkflowID("stripe", "pi_"+client)
				s.AwaitStatus(id, 30*time.Second, ipayment.StatusHeld)
				return id
			},
			// Never fixed: the payee is in the owner's books and cannot move (payee_in_books).
			nil},
	}
	// notReleased: a leg held because its payee is another client's is left to an admin: no event
	// about the account cures it, and Stripe sends account.updated for any change of the account.
	notReleased := map[string]bool{"payee registered to another client": true}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStack(t, payment.Settings{SettleWindow: 0})
			accounts := newConnectedAccounts(s)
			account := uniqueAccount("again")
			client := uniqueName(fmt.Sprintf("connagain%d", i))
			id := tt.hold(s, accounts, client, account)
			held, err := s.Store.GetPayment(context.Background(), id)
			require.NoError(t, err)
			require.Contains(t, held.Leg("vendor").Reason, tt.reason)
			before := s.savedAt(id)

			ev := stripeevent.AccountUpdated{EventID: "evt_late_" + client, Account: account, Transfers: "active", Created: time.Now()}.Body()
			code, out := s.connect(ev)
			require.Equal(t, http.StatusOK, code, out)
			if notReleased[tt.name] {
				require.Equal(t, "nothing_released", out["status"], out)
				require.Empty(t, s.releases(id, "stripe:account.updated"))
				require.Equal(t, before, s.savedAt(id), "no signal: the run did not save it again")
				require.Empty(t, s.transfersTo(account))
				return
			}
			require.Equal(t, []string{id}, strs(out["released"]), out)
			require.Len(t, s.releases(id, "stripe:account.updated"), 1)

			// The run takes the release, checks the payee and saves the payment held again.
			rec := s.savedSince(id, before, "release")
			require.Equal(t, ipayment.StatusHeld, rec.Status, rec.Reason)
			require.Equal(t, ipayment.LegHeld, rec.Leg("vendor").State)
			require.Contains(t, rec.Leg("vendor").Reason, tt.reason)
			require.Empty(t, s.transfersTo(account), "a release that cannot pay sent nothing")

			// The same event again: held again since, but this event released it already.
			code, out = s.connect(ev)
			require.Equal(t, http.StatusOK, code, out)
			require.Empty(t, strs(out["released"]), out)
			require.Equal(t, []any{map[string]any{"workflow_id": id, "reason": "released_before"}}, out["skipped"], out)
			require.Len(t, s.releases(id, "stripe:account.updated"), 1)

			// The cause gone, Stripe's next event about the account pays the leg, once.
			if tt.fix == nil {
				return
			}
			tt.fix(s, accounts, client, account)
			code, out = s.connect(stripeevent.CapabilityUpdated{EventID: "evt_now_" + client, Account: account, Capability: "transfers", Status: "active", Created: time.Now()}.Body())
			require.Equal(t, http.StatusOK, code, out)
			require.Equal(t, []string{id}, strs(out["released"]), out)
			rec = s.AwaitStatus(id, 30*time.Second, ipayment.StatusPaid)
			require.Equal(t, map[string][]int64{id: {9545}}, s.transfersTo(account))
			s.requireBooksBalanced()
		})
	}
}

// TestConnectWebhookRejectsBadInput: the Connect endpoint takes only events signed with its own
// secret (not the platform endpoint's), fresh, and naming one connected account.
func TestConnectWebhookRejectsBadInput(t *testing.T) {
	s := newStack(t, payment.Settings{})
	body := stripeevent.CapabilityUpdated{EventID: "evt_bad", Account: "acct_bad1", Capability: "transfers", Status: "active", Created: time.Now()}.Body()
	signed := func(b []byte) stripeevent.Delivery {
		return stripeevent.Sign(b, stackpkg.ConnectWebhookSecret, time.Now())
	}
	tests := []struct {
		name   string
		d      stripeevent.Delivery
		status int
		code   string
	}{
		{"the platform endpoint's secret", stripeevent.Sign(body, webhookSecret, time.Now()), 400, "invalid_signature"},
		{"too old", stripeevent.Sign(body, stackpkg.ConnectWebhookSecret, time.Now().Add(-6*time.Minute)), 400, "invalid_signature"},
		{"no signature", stripeevent.Delivery{Body: body}, 400, "invalid_signature"},
		{"tampered body", stripeevent.Delivery{Body: append([]byte(" "), body...), Signature: signed(body).Signature}, 400, "invalid_signature"},
		{"signed, not JSON", signed([]byte(`{"id":`)), 400, "invalid_event"},
		{"two accounts", signed([]byte(`{"id":"evt_two","object":"event","account":"acct_one1","api_version":"2023-10-16","created":1,"type":"capability.updated",` +
			`"data":{"object":{"id":"transfers","object":"capability","account":"acct_two2","status":"active"}}}`)), 400, "invalid_event"},
		{"event ID not Stripe's", signed([]byte(`{"id":"evt_\u0000","object":"event","account":"acct_one1","api_version":"2023-10-16","created":1,"type":"capability.updated",` +
			`"data":{"object":{"id":"transfers","object":"capability","account":"acct_one1","status":"active"}}}`)), 400, "invalid_event"},
		{"no account", signed([]byte(`{"id":"evt_none","object":"event","api_version":"2023-10-16","created":1,"type":"account.updated",` +
			`"data":{"object":{"object":"account","capabilities":{"transfers":"active"}}}}`)), 400, "invalid_event"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out := s.StripeConnectWebhook(tt.d)
			require.Equal(t, tt.status, code, out)
			require.Equal(t, tt.code, out["error"].(map[string]any)["code"], out)
			require.NotEmpty(t, out["error"].(map[string]any)["message"])
		})
	}
	// A platform event at the Connect endpoint is not taken as a Connect one, nor the reverse.
	code, out := s.StripeConnectWebhook(signed(capture("acme", "pi_conn_wrong").Body()))
	require.Equal(t, http.StatusOK, code, out)
	require.Equal(t, "ignored", out["status"], out)
	code, out = s.webhook(stripeevent.Sign(body, stackpkg.ConnectWebhookSecret, time.Now()))
	require.Equal(t, http.StatusBadRequest, code, out)
	require.Equal(t, "invalid_signature", out["error"].(map[string]any)["code"], out)
}

// TestConnectEventWhileTemporalIsAway: a Connect event whose releases Temporal does not take is
// answered 503, with no audit entry (nothing was released), so Stripe delivers it again; its
// retry, Temporal back, releases each held payment, paid once.
func TestConnectEventWhileTemporalIsAway(t *testing.T) {
	st := stackpkg.New(t, stackpkg.Options{Settings: payment.Settings{SettleWindow: 0}, CuttableTemporal: true})
	s := &stack{Stack: st, t: t, api: st.API, tc: st.Temporal, ledger: st.Ledger, stripe: st.Stripe, paypal: st.PayPal}
	accounts := newConnectedAccounts(s)
	account := uniqueAccount("away")
	accounts.set(account, "inactive")
	client := uniqueName("connaway")
	ids := s.heldAt(client, account, "pi_"+client+"1", "pi_"+client+"2")
	slices.Sort(ids)
	accounts.set(account, "active")

	st.TemporalLine.Cut()
	ev := stripeevent.CapabilityUpdated{EventID: "evt_" + client, Account: account, Capability: "transfers", Status: "active", Created: time.Now()}.Body()
	code, out := s.connect(ev)
	require.Equal(t, http.StatusServiceUnavailable, code, "Stripe must deliver again: %v", out)
	require.Equal(t, "temporal_unavailable", out["error"].(map[string]any)["code"], out)
	for _, id := range ids {
		require.Empty(t, s.releases(id, "stripe:capability.updated"), "a release Temporal did not take is not audited")
		rec, err := s.Store.GetPayment(context.Background(), id)
		require.NoError(t, err)
		require.Equal(t, ipayment.StatusHeld, rec.Status)
	}

	st.TemporalLine.Restore()
	code, out = s.connect(ev)
	require.Equal(t, http.StatusOK, code, out)
	require.Equal(t, ids, strs(out["released"]), out)
	for _, id := range ids {
		s.AwaitStatus(id, 30*time.Second, ipayment.StatusPaid)
		require.Len(t, s.releases(id, "stripe:capability.updated"), 1)
	}
	sent := s.transfersTo(account)
	require.Len(t, sent, len(ids))
	for _, id := range ids {
		require.Equal(t, []int64{9545}, sent[id], id)
	}
}

// A server without STRIPE_CONNECT_WEBHOOK_SECRET (production until the Connect endpoint is set
// up) answers every delivery not_configured: one signed with the empty secret, which anyone can
// make, releases nothing.
func TestConnectWebhookNotConfigured(t *testing.T) {
	a := newAPI(t, nil)
	body := stripeevent.CapabilityUpdated{EventID: "evt_unset", Account: "acct_unset1", Capability: "transfers", Status: "active", Created: time.Now()}.Body()
	for _, d := range []stripeevent.Delivery{stripeevent.Sign(body, "", time.Now()), stripeevent.Sign(body, stackpkg.ConnectWebhookSecret, time.Now())} {
		res, out := a.send(req{method: http.MethodPost, path: "/webhooks/stripe-connect", body: json.RawMessage(d.Body),
			header: map[string]string{"Stripe-Signature": d.Signature}})
		require.Equal(t, http.StatusBadRequest, res.StatusCode, string(out))
		require.Contains(t, string(out), `"not_configured"`)
		require.Contains(t, string(out), "STRIPE_CONNECT_WEBHOOK_SECRET")
	}
}

// retries are the audit entries of retries of a payment's movements due by actor.
func (s *stack) retries(id, actor string) []map[string]any {
	s.t.Helper()
	q := url.Values{"action": {"payment.retry"}, "target": {"payment:" + id}, "actor": {actor}}
	code, body := s.do(http.MethodGet, "/api/v1/admin/audit?"+q.Encode(), nil, adminKey)
	require.Equal(s.t, http.StatusOK, code, body)
	var out []map[string]any
	for _, e := range body["entries"].([]any) {
		out = append(out, e.(map[string]any))
	}
	return out
}

// heldTopUpAt makes a payment paid under the tax rule with its vendor paid at first; the vendor
// then moves to account, which cannot receive transfers yet, and the correction's top-up to the
// vendor (120) is held for it: the payment is held for that top-up alone, no leg held. It returns
// its workflow ID. (The accounts differ as a vendor's do when it replaced a closed one: the
// activities remember for a minute an account that could receive.)
func (s *stack) heldTopUpAt(accounts *connectedAccounts, client, first, account string) string {
	s.t.Helper()
	accounts.set(first, "active")
	accounts.set(account, "inactive")
	s.seed(client)
	vendorAt := func(acct string) {
		code, body := s.do(http.MethodPut, "/api/v1/admin/payees/"+client+"-vendor", map[string]any{"client_id": client, "kind": "vendor", "stripe_account": acct}, adminKey)
		require.Equal(s.t, http.StatusOK, code, body)
	}
	vendorAt(first)
	code, body := s.do(http.MethodPost, "/api/v1/admin/clients/"+client+"/split-rules", map[string]any{"platform_bps": 1000, "affiliate_bps": 500, "commission_on_tax": true}, adminKey)
	require.Equal(s.t, http.StatusCreated, code, body)
	code, body = s.webhook(stripeevent.Sign(capture(client, "pi_"+client).Body(), webhookSecret, time.Now()))
	require.Equal(s.t, http.StatusOK, code, body)
	id := payment.WorkflowID("stripe", "pi_"+client)
	s.AwaitStatus(id, 30*time.Second, ipayment.StatusPaid)

	vendorAt(account)
	code, body = s.do(http.MethodPost, "/api/v1/admin/payments/"+id+"/correct", map[string]any{"rule_version": 1}, adminKey)
	require.Equal(s.t, http.StatusAccepted, code, body)
	rec := s.AwaitStatus(id, 30*time.Second, ipayment.StatusHeld)
	vendor := rec.Leg("vendor")
	require.Equal(s.t, ipayment.LegTransferred, vendor.State, "the leg is not held: its top-up is")
	require.Len(s.t, vendor.Dues, 1, rec.Reason)
	require.True(s.t, vendor.Dues[0].Held, rec.Reason)
	require.EqualValues(s.t, 120, vendor.Dues[0].Amount)
	require.Contains(s.t, rec.Reason, "cannot receive transfers")
	awaitRunWaits(s.t, s.tc, id) // its ask after the hold answered before the caller changes the account
	return id
}

// TestConnectEventRetriesHeldTopUps: a payment held only because a top-up to its vendor is held
// (the vendor's connected account could not receive when the correction came) is sent the admin's
// retry when Stripe says the account can receive transfers again, audited with the event, and the
// top-up is paid once: the same event delivered twice at once with the other kind of event about
// the same change retries it once, and delivered again after retries nothing more.
func TestConnectEventRetriesHeldTopUps(t *testing.T) {
	s := newStack(t, payment.Settings{SettleWindow: 0})
	accounts := newConnectedAccounts(s)
	first, account := uniqueAccount("closed"), uniqueAccount("topup")
	client := uniqueName("conntopup")
	id := s.heldTopUpAt(accounts, client, first, account)
	require.Equal(t, map[string][]int64{id: {9425}}, s.transfersTo(first))
	require.Empty(t, s.transfersTo(account))

	accounts.set(account, "active")
	eventID := "evt_topup_" + client
	bodies := [][]byte{
		stripeevent.CapabilityUpdated{EventID: eventID, Account: account, Capability: "transfers", Status: "active", Created: time.Now()}.Body(),
		stripeevent.CapabilityUpdated{EventID: eventID, Account: account, Capability: "transfers", Status: "active", Created: time.Now()}.Body(),
		stripeevent.AccountUpdated{EventID: "evt_topup_other_" + client, Account: account, Transfers: "active", Created: time.Now()}.Body(),
	}
	answers := s.connectAtOnce(bodies...)
	rec := s.AwaitStatus(id, 30*time.Second, ipayment.StatusPaid)
	var retried []string
	for _, out := range answers {
		require.Contains(t, []any{"released", "nothing_released"}, out["status"], out)
		require.Empty(t, out["released"], out)
		retried = append(retried, strs(out["retried"])...)
	}
	require.Equal(t, []string{id}, retried, "the payment held for its top-up retried once by the three deliveries: %v", answers)
	require.Empty(t, rec.Leg("vendor").Dues)
	require.Equal(t, map[string][]int64{id: {120}}, s.transfersTo(account), "the top-up paid once, where the vendor is paid now")
	require.Equal(t, map[string][]int64{id: {9425}}, s.transfersTo(first))
	var entries []map[string]any
	for _, actor := range []string{"stripe:capability.updated", "stripe:account.updated"} {
		entries = append(entries, s.retries(id, actor)...)
		require.Empty(t, s.releases(id, actor), "no leg was held: nothing to release")
	}
	require.Len(t, entries, 1, "one retry, audited")
	after := entries[0]["after"].(map[string]any)
	require.Equal(t, "dues", after["retry"], entries[0])
	require.Equal(t, account, after["account"], entries[0])
	require.Contains(t, []any{eventID, "evt_topup_other_" + client}, after["event_id"], entries[0])
	require.Equal(t, "held", entries[0]["before"].(map[string]any)["status"], entries[0])
	requireSavedAtRecorded(t, after)

	// Delivered again once the payment is paid: nothing is held there any more.
	code, out := s.connect(bodies[0])
	require.Equal(t, http.StatusOK, code, out)
	require.Equal(t, "nothing_released", out["status"], out)
	require.Equal(t, map[string][]int64{id: {120}}, s.transfersTo(account))
	require.EqualValues(t, 0, s.paymentBalances(id)["vendor_payable:"+client+"-vendor"], "the books owe the vendor nothing")
	s.requireBooksBalanced()
}

// heldLegAndTopUp makes a payment held with its vendor's leg held (paid at legAt, which cannot
// receive yet) and a failed refund's give-back to its affiliate held (the affiliate paid at
// another account first, then moved to topUpAt, which cannot receive yet); it returns the
// payment's workflow ID and the held top-up.
func (s *stack) heldLegAndTopUp(accounts *connectedAccounts, client, legAt, topUpAt string) (string, ipayment.Due) {
	t := s.t
	t.Helper()
	before := uniqueAccount("affold")
	accounts.set(legAt, "inactive")
	accounts.set(topUpAt, "inactive")
	accounts.set(before, "active")
	s.seed(client)
	payee := func(kind, id, acct string) {
		code, body := s.do(http.MethodPut, "/api/v1/admin/payees/"+id, map[string]any{"client_id": client, "kind": kind, "stripe_account": acct}, adminKey)
		require.Equal(t, http.StatusOK, code, body)
	}
	payee("vendor", client+"-vendor", legAt)
	payee("affiliate", client+"-aff", before)
	pi := "pi_" + client
	code, body := s.webhook(stripeevent.Sign(capture(client, pi).Body(), webhookSecret, time.Now()))
	require.Equal(t, http.StatusOK, code, body)
	id := payment.WorkflowID("stripe", pi)
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		rec, err := s.Store.GetPayment(context.Background(), id)
		if assert.NoError(c, err) {
			assert.Equal(c, ipayment.LegHeld, rec.Leg("vendor").State)
			assert.Equal(c, ipayment.LegTransferred, rec.Leg("affiliate").State)
		}
	}, 30*time.Second, 100*time.Millisecond)

	// The affiliate moves; a refund, then its failure, gives the affiliate back its share of it: a
	// top-up held at its account now. The vendor's held leg is given its share back as owed, not
	// topped up (it was never sent anything).
	payee("affiliate", client+"-aff", topUpAt)
	refunded := time.Now().Add(-time.Minute)
	code, body = s.webhook(stripeevent.Sign(stripeevent.Refund{EventID: "evt_" + pi + "_re", PaymentIntent: pi, Charge: "ch_" + pi, Currency: "usd",
		Amount: 11000, AmountRefunded: 1100, Created: refunded}.Body(), webhookSecret, time.Now()))
	require.Equal(t, http.StatusOK, code, body)
	code, body = s.webhook(stripeevent.Sign(stripeevent.RefundUpdate{EventID: "evt_" + pi + "_rf", Type: "refund.failed", Refund: "re_" + client, PaymentIntent: pi,
		Charge: "ch_" + pi, Currency: "usd", Status: "failed", Amount: 1100, Created: time.Now(), Made: refunded}.Body(), webhookSecret, time.Now()))
	require.Equal(t, http.StatusOK, code, body)
	var due ipayment.Due
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		rec, err := s.Store.GetPayment(context.Background(), id)
		if !assert.NoError(c, err) {
			return
		}
		assert.Equal(c, ipayment.StatusHeld, rec.Status)
		assert.Equal(c, ipayment.LegHeld, rec.Leg("vendor").State)
		assert.Empty(c, rec.Leg("vendor").Dues)
		if dues := rec.Leg("affiliate").Dues; assert.Len(c, dues, 1) && assert.True(c, dues[0].Held) {
			due = dues[0]
		}
		assert.Zero(c, rec.Refunded)
	}, 30*time.Second, 100*time.Millisecond)
	require.Positive(t, due.Amount)
	require.Empty(t, s.transfersTo(legAt))
	require.Empty(t, s.transfersTo(topUpAt))
	awaitRunWaits(t, s.tc, id) // its asks after the holds answered before the caller changes an account
	return id, due
}

// TestConnectHeldLegAndHeldTopUpSendOneSignalEach: a payment with both a leg held and a top-up
// held, for payees paid at the same account (its vendor's payout held while the account could not
// receive; a failed refund's give-back to its affiliate, which moved to that account, held too).
// The admin API refuses a retry while a leg is held, so an event about the account sends the
// release alone: the vendor is paid its share once and the top-up stays held, the payment held for
// it alone. The next event about the account (or the first delivered again) sends the retry, once
// for all its deliveries, which pays the top-up once; nothing sends anything more after.
func TestConnectHeldLegAndHeldTopUpSendOneSignalEach(t *testing.T) {
	s := newStack(t, payment.Settings{SettleWindow: 0})
	accounts := newConnectedAccounts(s)
	account := uniqueAccount("both")
	client := uniqueName("connboth")
	id, due := s.heldLegAndTopUp(accounts, client, account, account)

	// The account can receive: the event releases the vendor's leg and sends no retry.
	accounts.set(account, "active")
	first := stripeevent.CapabilityUpdated{EventID: "evt_both1_" + client, Account: account, Capability: "transfers", Status: "active", Created: time.Now()}.Body()
	code, out := s.connect(first)
	require.Equal(t, http.StatusOK, code, out)
	require.Equal(t, []string{id}, strs(out["released"]), out)
	require.Empty(t, strs(out["retried"]), out)
	var rec ipayment.Record
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		r, err := s.Store.GetPayment(context.Background(), id)
		if assert.NoError(c, err) {
			rec = r
			assert.Equal(c, ipayment.LegTransferred, r.Leg("vendor").State)
			assert.Equal(c, ipayment.StatusHeld, r.Status, "held for the top-up alone")
		}
	}, 30*time.Second, 100*time.Millisecond)
	require.Len(t, rec.Leg("affiliate").Dues, 1, "the release sent the leg, not the top-up")
	require.Equal(t, map[string][]int64{id: {9545}}, s.transfersTo(account), "the vendor paid its share once")
	require.Len(t, s.releases(id, "stripe:capability.updated"), 1)
	require.Empty(t, s.retries(id, "stripe:capability.updated"))

	// Stripe's next event about the account (or this one delivered again: it released the leg,
	// and has not sent the retry) sends the retry: the top-up paid once.
	next := stripeevent.AccountUpdated{EventID: "evt_both2_" + client, Account: account, Transfers: "active", Created: time.Now()}.Body()
	bodies := [][]byte{next, next, first}
	answers := s.connectAtOnce(bodies...)
	var retried []string
	for _, out := range answers {
		require.Empty(t, strs(out["released"]), out)
		retried = append(retried, strs(out["retried"])...)
	}
	require.Equal(t, []string{id}, retried, "one retry from the three deliveries: %v", answers)
	rec = s.AwaitStatus(id, 30*time.Second, ipayment.StatusPaid)
	require.Empty(t, rec.Leg("affiliate").Dues)
	require.Equal(t, map[string][]int64{id: {9545, due.Amount}}, s.transfersTo(account), "the vendor's share and the affiliate's top-up, each once")
	require.Len(t, append(s.retries(id, "stripe:account.updated"), s.retries(id, "stripe:capability.updated")...), 1)
	require.Len(t, append(s.releases(id, "stripe:account.updated"), s.releases(id, "stripe:capability.updated")...), 1)
	for _, body := range [][]byte{first, next} {
		code, out = s.connect(body)
		require.Equal(t, http.StatusOK, code, out)
		require.Equal(t, "nothing_released", out["status"], out)
	}
	require.Equal(t, map[string][]int64{id: {9545, due.Amount}}, s.transfersTo(account))
	balances := s.paymentBalances(id)
	require.EqualValues(t, 0, balances["vendor_payable:"+client+"-vendor"], balances)
	require.EqualValues(t, 0, balances["affiliate_payable:"+client+"-aff"], balances)
	s.requireBooksBalanced()
}

// TestConnectRetryThatCannotPayIsHeldAgain: an event delivered late (the account Stripe says
// cannot receive again by the time the run checks it) retries the held top-up, which the run
// checks and holds again, sending nothing; the event delivered again does not retry it again,
// and once the account can receive, a later event pays it once.
func TestConnectRetryThatCannotPayIsHeldAgain(t *testing.T) {
	s := newStack(t, payment.Settings{SettleWindow: 0})
	accounts := newConnectedAccounts(s)
	first, account := uniqueAccount("closedl"), uniqueAccount("late")
	client := uniqueName("connlate")
	id := s.heldTopUpAt(accounts, client, first, account)
	before := s.savedAt(id)

	late := stripeevent.AccountUpdated{EventID: "evt_late_" + client, Account: account, Transfers: "active", Created: time.Now()}.Body()
	code, out := s.connect(late)
	require.Equal(t, http.StatusOK, code, out)
	require.Equal(t, []string{id}, strs(out["retried"]), out)
	require.Len(t, s.retries(id, "stripe:account.updated"), 1)
	rec := s.savedSince(id, before, "retry")
	require.Equal(t, ipayment.StatusHeld, rec.Status, rec.Reason)
	require.Len(t, rec.Leg("vendor").Dues, 1)
	require.True(t, rec.Leg("vendor").Dues[0].Held, "held again: the account still cannot receive")
	require.Empty(t, s.transfersTo(account), "a retry that cannot pay sent nothing")

	code, out = s.connect(late)
	require.Equal(t, http.StatusOK, code, out)
	require.Empty(t, strs(out["retried"]), out)
	require.Equal(t, []any{map[string]any{"workflow_id": id, "reason": "retried_before"}}, out["skipped"], out)
	require.Len(t, s.retries(id, "stripe:account.updated"), 1)

	accounts.set(account, "active")
	code, out = s.connect(stripeevent.CapabilityUpdated{EventID: "evt_now_" + client, Account: account, Capability: "transfers", Status: "active", Created: time.Now()}.Body())
	require.Equal(t, http.StatusOK, code, out)
	require.Equal(t, []string{id}, strs(out["retried"]), out)
	s.AwaitStatus(id, 30*time.Second, ipayment.StatusPaid)
	require.Equal(t, map[string][]int64{id: {120}}, s.transfersTo(account))
	s.requireBooksBalanced()
}

// TestConnectHeldTopUpWaitsForTheHeldLegElsewhere: a payment whose top-up is held at one account
// and whose leg is held at another is not sent a retry by an event about the top-up's account (the
// admin API refuses a retry while a leg is held: skipped invalid_state, nothing sent). The leg's
// account's event releases the leg; the top-up's account's next event then retries the top-up,
// and each payee is paid once.
func TestConnectHeldTopUpWaitsForTheHeldLegElsewhere(t *testing.T) {
	s := newStack(t, payment.Settings{SettleWindow: 0})
	accounts := newConnectedAccounts(s)
	legAt, topUpAt := uniqueAccount("legat"), uniqueAccount("topat")
	client := uniqueName("connapart")
	id, due := s.heldLegAndTopUp(accounts, client, legAt, topUpAt)

	accounts.set(topUpAt, "active")
	code, out := s.connect(stripeevent.AccountUpdated{EventID: "evt_top1_" + client, Account: topUpAt, Transfers: "active", Created: time.Now()}.Body())
	require.Equal(t, http.StatusOK, code, out)
	require.Equal(t, "nothing_released", out["status"], out)
	require.Equal(t, []any{map[string]any{"workflow_id": id, "reason": "invalid_state"}}, out["skipped"], out)
	require.Empty(t, s.retries(id, "stripe:account.updated"))

	accounts.set(legAt, "active")
	code, out = s.connect(stripeevent.AccountUpdated{EventID: "evt_leg_" + client, Account: legAt, Transfers: "active", Created: time.Now()}.Body())
	require.Equal(t, http.StatusOK, code, out)
	require.Equal(t, []string{id}, strs(out["released"]), out)
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		r, err := s.Store.GetPayment(context.Background(), id)
		if assert.NoError(c, err) {
			assert.Equal(c, ipayment.LegTransferred, r.Leg("vendor").State)
			assert.Equal(c, ipayment.StatusHeld, r.Status, "held for the top-up alone")
		}
	}, 30*time.Second, 100*time.Millisecond)
	require.Equal(t, map[string][]int64{id: {9545}}, s.transfersTo(legAt))
	require.Empty(t, s.transfersTo(topUpAt))

	code, out = s.connect(stripeevent.CapabilityUpdated{EventID: "evt_top2_" + client, Account: topUpAt, Capability: "transfers", Status: "active", Created: time.Now()}.Body())
	require.Equal(t, http.StatusOK, code, out)
	require.Equal(t, []string{id}, strs(out["retried"]), out)
	s.AwaitStatus(id, 30*time.Second, ipayment.StatusPaid)
	require.Equal(t, map[string][]int64{id: {due.Amount}}, s.transfersTo(topUpAt))
	require.Equal(t, map[string][]int64{id: {9545}}, s.transfersTo(legAt))
	s.requireBooksBalanced()
}

// requireSavedAtRecorded: a Connect event's decision records the save of the payment it was made
// on as an admin's does (saved_at), beside the key of its once-per-save check, which names the
// same save ("stripe-connect/<save>").
//
// It failed (saved_at absent: the entry named its save in its idempotency_key only).
func requireSavedAtRecorded(t *testing.T, after map[string]any) {
	t.Helper()
	key, _ := after["idempotency_key"].(string)
	require.True(t, strings.HasPrefix(key, "stripe-connect/"), "the entry's idempotency key: %v", after)
	require.Equal(t, strings.TrimPrefix(key, "stripe-connect/"), after["saved_at"], "the save the decision was made on: %v", after)
}
