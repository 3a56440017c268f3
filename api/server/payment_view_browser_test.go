package server_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"paysplit/api/server"
	"paysplit/internal/ledger"
	"paysplit/internal/money"
	"paysplit/internal/monitor"
	"paysplit/internal/payment"
	"paysplit/internal/store"
	wfpayment "paysplit/workflows/payment"
)

// paymentViewOpen waits until the dashboard's payment view shows workflowID's payment (or the
// API's reason it could not) and returns nothing: the view's parts are read by the caller.
func (b *browser) paymentViewOpen(workflowID string) {
	b.t.Helper()
	b.waitFor(fmt.Sprintf(`(() => { const v = document.getElementById('payment-view');
		return v && !v.hidden && v.dataset.payment === %q && v.dataset.state !== 'loading'; })()`, workflowID))
}

// paymentField is the text of a field of the payment view's summary (data-field).
func (b *browser) paymentField(name string) string {
	b.t.Helper()
	return eval[string](b, fmt.Sprintf(`(document.querySelector('#payment-view [data-field=%q]') || {textContent: '(none)'}).textContent`, name))
}

// tableRows returns the rows of a table's body, each as its cells' texts by column header.
func (b *browser) tableRows(selector string) []map[string]string {
	b.t.Helper()
	return eval[[]map[string]string](b, fmt.Sprintf(`(() => {
		const t = document.querySelector(%q);
		if (!t) return [];
		const heads = [...t.tHead.rows[0].cells].map(c => c.textContent);
		return [...t.tBodies[0].rows].map(r => Object.fromEntries([...r.cells].map((c, i) => [heads[i], c.textContent])));
	})()`, selector))
}

// TestDashboardPaymentViewShowsThePayment: an admin opens a deep link to one payment
// (/#payment=<workflow id>, as an alert's link) and the dashboard shows it: status, order
// amounts, legs and ledger entries with the currency's own digits (¥12,345 is JPY 12,345, 12.345
// dinars KWD 12.345), the Temporal UI link, the decisions its status takes, with the focus on
// the view's heading; a reload keeps the view, and a reason with markup is shown as text. Before,
// the dashboard had no view of one payment: the link showed the admin API's raw JSON.
func TestDashboardPaymentViewShowsThePayment(t *testing.T) {
	for _, tc := range []struct {
		currency                                 money.Currency
		gross, vendor, affiliate, platform, base string
	}{
		{"jpy", "JPY 12,345", "JPY 10,494", "JPY 617", "JPY 1,234", "JPY 12,345"},
		{"kwd", "KWD 12.345", "KWD 10.494", "KWD 0.617", "KWD 1.234", "KWD 12.345"},
	} {
		t.Run(string(tc.currency), func(t *testing.T) {
			a := newAPI(t, nil)
			b := newBrowser(t)
			c := a.newClient("payview" + string(tc.currency))
			rec := paidRecord(c, c+"-pi", time.Now().Add(-2*time.Hour), 12345, 0, payment.StatusHeld)
			rec.Currency = tc.currency
			rec.CommissionBase = 12345
			rec.Legs[1].Reason = `payee cannot receive <img src=x id=injected>`
			require.NoError(t, a.store.SavePayment(t.Context(), rec))
			_, _, err := ledger.New(a.pool).Post(t.Context(), ledger.Entry{IdempotencyKey: uniqueID("payview"), Currency: tc.currency,
				Reference: rec.WorkflowID, Description: "capture", Postings: []ledger.Posting{
					{Account: ledger.ProviderBalance("stripe"), Amount: 12345}, {Account: ledger.VendorPayable(c + "-vendor"), Amount: -12345}}})
			require.NoError(t, err)

			b.login(a.url+"/#payment="+rec.WorkflowID, adminKey)
			b.paymentViewOpen(rec.WorkflowID)
			check := func() {
				t.Helper()
				require.Equal(t, "payment-heading", eval[string](b, `document.activeElement.id`), "the focus moves to the view")
				require.Contains(t, eval[string](b, `document.getElementById('payment-heading').textContent`), rec.WorkflowID)
				require.True(t, eval[bool](b, `document.getElementById('overview').hidden`), "the view replaces the overview")
				require.Equal(t, "held", b.paymentField("status"))
				require.Equal(t, tc.gross, b.paymentField("gross"))
				require.Equal(t, tc.gross, b.paymentField("subtotal"))
				require.Equal(t, tc.base, b.paymentField("commission_base"))
				require.Equal(t, c, b.paymentField("client_id"))
				require.Equal(t, rec.Order.OrderID, b.paymentField("order_id"))
				legs := b.tableRows("#payment-legs")
				require.Len(t, legs, 3, "%v", legs)
				byParty := map[string]map[string]string{}
				for _, l := range legs {
					byParty[l["Party"]] = l
				}
				require.Equal(t, tc.vendor, byParty["vendor"]["Amount"], "%v", legs)
				require.Equal(t, tc.platform, byParty["platform"]["Amount"], "%v", legs)
				require.Equal(t, tc.affiliate, byParty["affiliate"]["Amount"], "%v", legs)
				require.Equal(t, tc.affiliate, byParty["affiliate"]["Transferred"], "%v", legs)
				require.Equal(t, "tr_aff_"+c+"-pi", byParty["affiliate"]["Transfer"], "%v", legs)
				require.Contains(t, byParty["vendor"]["State"], "held", "%v", legs)
				require.Contains(t, byParty["vendor"]["State"], "<img src=x id=injected>", "a reason is text")
				require.False(t, eval[bool](b, `document.getElementById('injected') !== null`), "no element made of a reason")
				entries := b.tableRows("#payment-ledger")
				require.Len(t, entries, 2, "one row per posting: %v", entries)
				amounts := map[string]string{}
				for _, e := range entries {
					amounts[e["Account"]] = e["Amount"]
					require.Equal(t, "capture", e["Description"])
				}
				neg := strings.Replace(tc.gross, " ", " -", 1)
				require.Equal(t, map[string]string{ledger.ProviderBalance("stripe"): tc.gross, ledger.VendorPayable(c + "-vendor"): neg}, amounts)
				temporal := eval[string](b, `document.querySelector('#payment-view a[data-link="temporal"]').href`)
				require.Equal(t, "http://127.0.0.1:8233/namespaces/default/workflows/"+rec.WorkflowID, temporal)
				actions := eval[[]string](b, `[...document.querySelectorAll('#payment-actions button[data-action]')].map(e => e.dataset.action)`)
				require.Equal(t, []string{"release", "cancel"}, actions, "a held payment is released or cancelled")
			}
			check()
			require.Empty(t, b.axe(), "the payment view")
			b.screenshot("dashboard-payment-" + string(tc.currency) + ".png")

			// A reload (or the link from an email, opened later) shows the same payment.
			b.do(chromedp.Reload())
			b.paymentViewOpen(rec.WorkflowID)
			check()
			b.noPageErrors()
		})
	}
}

// TestDashboardPaymentViewDecides: an admin opens a held payment's view and releases it there
// with the same request (and CSRF token) as the attention table's button; the workflow pays the
// vendor. The view's other decision, cancel, sent after the payment was paid, is refused by the
// API, and the refusal is said with its reason while the button stays for another try; "Read
// again" shows the paid payment, which takes no decision.
func TestDashboardPaymentViewDecides(t *testing.T) {
	s := newStack(t, wfpayment.Settings{SettleWindow: 0})
	b := newBrowser(t)
	client := uniqueID("viewhold")
	id := s.heldPayment(client, "pi_"+strings.ReplaceAll(client, "-", ""), "vendor")
	code, body := s.do(http.MethodPut, "/api/v1/admin/payees/"+client+"-vendor", map[string]any{"client_id": client, "kind": "vendor", "stripe_account": "acct_view1"}, adminKey)
	require.Equal(t, http.StatusOK, code, body)

	b.login(s.api.URL+"/#payment="+id, adminKey)
	b.paymentViewOpen(id)
	require.Equal(t, "held", b.paymentField("status"))
	release := `#payment-actions button[data-action="release"]`
	b.do(chromedp.Click(chromedp.CSS(release)))
	b.waitFor(fmt.Sprintf(`document.querySelector(%q).textContent === 'Released'`, release))
	s.requireReleasedTo(t, id, "acct_view1")

	cancel := `#payment-actions button[data-action="cancel"]`
	b.do(chromedp.Click(chromedp.CSS(cancel)))
	b.do(chromedp.Click(chromedp.CSS(`#payment-actions button[data-confirm="cancel"]`))) // a cancel is confirmed
	b.waitFor(`document.getElementById('notice').textContent.startsWith('Could not cancel')`)
	require.Contains(t, eval[string](b, `document.getElementById('notice').textContent`), "cannot cancel a payment in status paid",
		"the API's reason")
	b.waitFor(fmt.Sprintf(`!document.querySelector(%q).disabled`, cancel))

	b.do(chromedp.Click(chromedp.ID("payment-reload")))
	b.waitFor(`(document.querySelector('#payment-view [data-field="status"]') || {}).textContent === 'paid'`)
	require.Empty(t, eval[[]string](b, `[...document.querySelectorAll('#payment-actions button[data-action]')].map(e => e.dataset.action)`),
		"a paid payment takes no decision")
	code, body = s.do(http.MethodGet, "/api/v1/admin/audit?target=payment:"+id, nil, adminKey)
	require.Equal(t, http.StatusOK, code, body)
	require.Len(t, body["entries"], 1, "the release audited, the refused cancel not: %v", body)
	require.Equal(t, "payment.release", body["entries"].([]any)[0].(map[string]any)["action"])
	b.noPageErrors()
}

// TestDashboardPaymentViewSaysWhyItCannot: a deep link to a payment that does not exist shows the
// API's reason in the view (an alert), and the way back returns to the dashboard with the focus
// on its heading; a client's credential opening an admin's link gets the API's refusal, and no
// figure of the payment.
func TestDashboardPaymentViewSaysWhyItCannot(t *testing.T) {
	a := newAPI(t, nil)
	c := a.newClient("payviewno")
	rec := paidRecord(c, c+"-pi", time.Now().Add(-2*time.Hour), 12345, 0, payment.StatusHeld)
	require.NoError(t, a.store.SavePayment(t.Context(), rec))
	_, key := a.newKey(store.RoleClient, c)

	t.Run("no such payment", func(t *testing.T) {
		b := newBrowser(t)
		missing := "payment-stripe-" + c + "-nowhere"
		b.login(a.url+"/#payment="+missing, adminKey)
		b.paymentViewOpen(missing)
		msg := eval[string](b, `document.getElementById('payment-error').textContent`)
		require.Contains(t, msg, missing, "names the payment")
		require.Contains(t, msg, "not found", "the API's reason")
		require.Equal(t, "alert", eval[string](b, `document.getElementById('payment-error').getAttribute('role')`))
		require.Empty(t, b.tableRows("#payment-legs"))
		require.Empty(t, b.axe(), "the payment view with an error")
		b.do(chromedp.Click(chromedp.ID("payment-back")))
		b.waitFor(`document.getElementById('payment-view').hidden && !document.getElementById('overview').hidden`)
		require.Equal(t, "title", eval[string](b, `document.activeElement.id`), "the focus returns to the dashboard")
		require.NotContains(t, eval[string](b, `location.hash`), "payment=")
		b.noPageErrors()
	})
	t.Run("a client credential", func(t *testing.T) {
		b := newBrowser(t)
		b.login(a.url+"/#payment="+rec.WorkflowID, key)
		b.paymentViewOpen(rec.WorkflowID)
		require.Contains(t, eval[string](b, `document.getElementById('payment-error').textContent`), "needs an admin credential")
		require.Empty(t, b.tableRows("#payment-legs"))
		require.NotContains(t, eval[string](b, `document.getElementById('payment-view').textContent`), "123.45", "no figure of the payment")
		require.Empty(t, eval[[]string](b, `[...document.querySelectorAll('#payment-actions button')].map(e => e.textContent)`))
		b.noPageErrors()
	})
}

// TestDashboardLinksPaymentsToTheirView: a one-off event, a firing alert and the attention
// table's row of one payment link to the dashboard's view of it (the Temporal UI link stays);
// following the attention table's link opens the view. Before, the events and alerts linked the
// admin API's JSON and the attention table the Temporal UI only.
func TestDashboardLinksPaymentsToTheirView(t *testing.T) {
	a := newAPI(t, nil)
	b := newBrowser(t)
	c := a.newClient("payviewlink")
	rec := paidRecord(c, c+"-pi", time.Now().Add(-2*time.Hour), 12345, 0, payment.StatusHeld)
	require.NoError(t, a.store.SavePayment(t.Context(), rec))
	a.raiseTakenBack(rec.WorkflowID, "payout item PI-7 taken back", time.Now().Add(-time.Minute))
	mid, held := a.newMonitor("payviewheld")
	_, err := held.Apply(t.Context(), mid, monitor.Result{Status: monitor.StatusFiring, Summary: "held too long", Value: 1,
		Subjects: []string{rec.WorkflowID}}, time.Now())
	require.NoError(t, err)

	b.login(a.url+"/", adminKey)
	b.pickClient(c)
	view := a.url + "/#payment=" + rec.WorkflowID
	temporal := "http://127.0.0.1:8233/namespaces/default/workflows/" + rec.WorkflowID
	for _, list := range []string{"#events-list li", "#alerts-list li", "#attention-table tbody tr"} {
		b.waitFor(fmt.Sprintf(`[...document.querySelectorAll(%q)].some(e => e.textContent.includes(%s))`, list, jsString(rec.WorkflowID)))
		hrefs := eval[[]string](b, fmt.Sprintf(`[...document.querySelectorAll(%q)].filter(e => e.textContent.includes(%s))
			.flatMap(e => [...e.querySelectorAll('a')].map(a => a.href))`, list, jsString(rec.WorkflowID)))
		require.Contains(t, hrefs, view, "%s links the payment's view", list)
		require.Contains(t, hrefs, temporal, "%s keeps the Temporal UI link", list)
	}
	require.Empty(t, b.axe(), "the page with links to payment views")
	b.do(chromedp.Click(chromedp.CSS(fmt.Sprintf(`#attention-table tr[data-payment=%q] a[data-link="payment"]`, rec.WorkflowID))))
	b.paymentViewOpen(rec.WorkflowID)
	require.Equal(t, "payment-heading", eval[string](b, `document.activeElement.id`))
	require.Equal(t, "USD 123.45", b.paymentField("gross"), "the payment's gross")
	b.noPageErrors()
}

// TestDashboardPaymentViewWithoutTemporalUI: where the deployment has no Temporal UI (production
// without TEMPORAL_UI_URL, workflow_url ""), the payment view and the attention table give no
// Temporal UI link, and no link without an address (href="" is this page itself). Before, the
// view's "Workflow in the Temporal UI" linked the dashboard.
func TestDashboardPaymentViewWithoutTemporalUI(t *testing.T) {
	a := newAPI(t, func(d *server.Deps) { d.TemporalUIURL = "" })
	b := newBrowser(t)
	c := a.newClient("payviewnoui")
	rec := paidRecord(c, c+"-pi", time.Now().Add(-2*time.Hour), 12345, 0, payment.StatusHeld)
	require.NoError(t, a.store.SavePayment(t.Context(), rec))

	b.login(a.url+"/", adminKey)
	b.pickClient(c)
	row := fmt.Sprintf(`#attention-table tr[data-payment=%q] a`, rec.WorkflowID)
	b.waitFor(fmt.Sprintf(`document.querySelector(%q) !== null`, row))
	require.Equal(t, []string{a.url + "/#payment=" + rec.WorkflowID},
		eval[[]string](b, fmt.Sprintf(`[...document.querySelectorAll(%q)].map(a => a.getAttribute('href') === null ? '(no href)' : a.href)`, row)),
		"the attention table links the payment's view only")

	b.do(chromedp.Click(chromedp.CSS(row)))
	b.paymentViewOpen(rec.WorkflowID)
	require.Equal(t, "held", b.paymentField("status"))
	require.Equal(t, []string{a.url + "/api/v1/admin/payments/" + rec.WorkflowID},
		eval[[]string](b, `[...document.querySelectorAll('#payment-links a')].map(a => a.getAttribute('href') ? a.href : '(href "' + a.getAttribute('href') + '")')`),
		"the view links the API's JSON only")
	require.NotContains(t, eval[string](b, `document.getElementById('payment-links').textContent`), "Temporal")
	require.Empty(t, b.axe(), "the payment view without a Temporal UI")
	b.noPageErrors()
}

// recordRequests makes the page record every request it sends from now on (method and path, as
// the browser resolves it: dot segments removed) in window.__requests.
func (b *browser) recordRequests() {
	b.t.Helper()
	require.True(b.t, eval[bool](b, `(() => {
		window.__requests = [];
		if (!window.__recording) {
			const f = window.fetch;
			window.fetch = (u, o) => {
				window.__requests.push({method: (o && o.method) || 'GET', path: new URL(u, location.href).pathname});
				return f(u, o);
			};
			window.__recording = true;
		}
		return true;
	})()`))
}

type sentRequest struct {
	Method string `json:"method"`
	Path   string `json:"path"`
}

func (b *browser) requests() []sentRequest {
	b.t.Helper()
	return eval[[]sentRequest](b, `window.__requests`)
}

// posts are the requests recorded that change something.
func (b *browser) posts() []sentRequest {
	b.t.Helper()
	var out []sentRequest
	for _, r := range b.requests() {
		if r.Method != http.MethodGet {
			out = append(out, r)
		}
	}
	return out
}

// TestDashboardPaymentViewFragmentReadsOnlyThePayment: the fragment is anyone's to write (a link
// in an email, on another site), so what it names is only ever a payment's workflow ID: the view
// reads GET /api/v1/admin/payments/<that ID, one path segment> and nothing else, never "." or ".."
// (which the browser resolves to another endpoint), and opening it sends no decision. Before,
// #payment=. read /api/v1/admin/payments/ and #payment=.. read /api/v1/admin/.
func TestDashboardPaymentViewFragmentReadsOnlyThePayment(t *testing.T) {
	a := newAPI(t, nil)
	b := newBrowser(t)
	c := a.newClient("payviewfrag")
	rec := paidRecord(c, c+"-pi", time.Now().Add(-2*time.Hour), 12345, 0, payment.StatusHeld)
	require.NoError(t, a.store.SavePayment(t.Context(), rec))

	b.login(a.url+"/", adminKey)
	b.pickClient(c) // the overview's reads are done: what is recorded from here is the view's
	for _, frag := range []string{
		"../clients", "x%2F..%2F", "..%2Fclients", "..%2F..%2Fapi-keys", "x/../../api-keys", ".", "..", "%2E", "%2e%2E", "./", "%",
		rec.WorkflowID + "/cancel", rec.WorkflowID + "%2Fcancel", rec.WorkflowID + "%2F..%2F..%2Fapi-keys", rec.WorkflowID + "?x=1",
		rec.WorkflowID + "&action=cancel", rec.WorkflowID,
	} {
		b.recordRequests()
		id := eval[string](b, fmt.Sprintf(`(() => {
				document.getElementById('payment-view').dataset.payment = '(before)';
				location.hash = '#payment=' + %s;
				try { return decodeURIComponent(%s); } catch (_) { return %s; }
			})()`, jsString(frag), jsString(frag), jsString(frag)))
		b.paymentViewOpen(id)
		for _, r := range b.requests() {
			require.Equal(t, http.MethodGet, r.Method, "%s sends only reads: %v", frag, b.requests())
			seg, ok := strings.CutPrefix(r.Path, "/api/v1/admin/payments/")
			require.True(t, ok && seg != "" && !strings.Contains(seg, "/") && seg != "." && seg != "..",
				"%s reads a payment, not %s", frag, r.Path)
		}
		if id == "." || id == ".." {
			require.Empty(t, b.requests(), "%s names no payment: nothing is read", frag)
			require.Contains(t, eval[string](b, `document.getElementById('payment-error').textContent`), "not a payment")
		}
		if id == rec.WorkflowID {
			require.Equal(t, "held", b.paymentField("status"))
		}
		require.Empty(t, b.posts(), frag)
	}
	b.noPageErrors()
}

// TestDashboardPaymentViewCancelAsksFirst: cancelling a payment cannot be undone, and the
// dashboard has no dialogs: the view's Cancel sends nothing by itself. One click (or Enter, or a
// double click) turns it into "Keep payment" and "Confirm cancel", the focus on Keep (the
// choice that changes nothing); Keep puts Cancel back with the focus on it, and only Confirm
// cancel sends the POST. Before, one click cancelled the payment.
func TestDashboardPaymentViewCancelAsksFirst(t *testing.T) {
	a := newAPI(t, nil)
	b := newBrowser(t)
	c := a.newClient("payviewcancel")
	rec := paidRecord(c, c+"-pi", time.Now().Add(-2*time.Hour), 12345, 0, payment.StatusHeld)
	require.NoError(t, a.store.SavePayment(t.Context(), rec))

	b.login(a.url+"/#payment="+rec.WorkflowID, adminKey)
	b.paymentViewOpen(rec.WorkflowID)
	b.recordRequests()
	cancel := `#payment-actions button[data-action="cancel"]`
	confirm := `#payment-actions button[data-confirm="cancel"]`
	keep := `#payment-actions button[data-keep]`
	asking := fmt.Sprintf(`document.querySelector(%q) !== null && document.querySelector(%q) !== null`, confirm, keep)
	notAsking := fmt.Sprintf(`document.querySelector(%q) !== null && document.querySelector(%q) === null`, cancel, confirm)

	// One click: nothing is sent; the payment is asked about, the focus on Keep.
	b.do(chromedp.Click(chromedp.CSS(cancel)))
	b.waitFor(asking)
	b.do(chromedp.Sleep(700 * time.Millisecond))
	require.Empty(t, b.posts(), "one click on Cancel sends nothing")
	require.Equal(t, "keep", eval[string](b, `document.activeElement.dataset.keep`), "the focus is on Keep")
	require.Contains(t, eval[string](b, fmt.Sprintf(`document.querySelector(%q).getAttribute('aria-label')`, confirm)), rec.WorkflowID,
		"Confirm names the payment")
	require.Empty(t, b.axe(), "the view asking to confirm a cancel")
	b.screenshot("dashboard-payment-cancel-confirm.png")

	// Keep: Cancel is back, with the focus.
	b.do(chromedp.Click(chromedp.CSS(keep)))
	b.waitFor(notAsking)
	require.Equal(t, "cancel", eval[string](b, `document.activeElement.dataset.action`), "the focus returns to Cancel")

	// Enter twice on Cancel (a key held down): asked, then kept; nothing sent.
	b.do(chromedp.Focus(chromedp.CSS(cancel)), chromedp.KeyEvent("\r"), chromedp.KeyEvent("\r"))
	b.do(chromedp.Sleep(700 * time.Millisecond))
	require.Empty(t, b.posts(), "Enter twice sends nothing")

	// A double click on Cancel: its second click does not confirm.
	b.do(chromedp.Focus(chromedp.CSS("#payment-heading")))
	b.waitFor(notAsking)
	b.do(chromedp.DoubleClick(chromedp.CSS(cancel)))
	b.do(chromedp.Sleep(700 * time.Millisecond))
	require.Empty(t, b.posts(), "a double click on Cancel sends nothing")
	// Wherever its second click lands: on Confirm cancel too (the pointer on Cancel's far end).
	b.waitFor(notAsking + ` || (` + asking + `)`)
	if eval[bool](b, notAsking) {
		b.do(chromedp.Click(chromedp.CSS(cancel)))
		b.waitFor(asking)
	}
	require.True(t, eval[bool](b, fmt.Sprintf(`document.querySelector(%q).dispatchEvent(new MouseEvent('click', {bubbles: true, cancelable: true, detail: 2}))`, confirm)))
	b.do(chromedp.Sleep(700 * time.Millisecond))
	require.Empty(t, b.posts(), "the second click of a double click does not confirm")

	// Confirm cancel sends it (no Temporal here: the API cannot take it, and says so).
	b.waitFor(asking)
	b.do(chromedp.Click(chromedp.CSS(confirm)))
	b.waitFor(`document.getElementById('notice').textContent.includes('cancel')`)
	require.Equal(t, []sentRequest{{Method: http.MethodPost, Path: "/api/v1/admin/payments/" + rec.WorkflowID + "/cancel"}}, b.posts())
	b.noPageErrors()
}

// TestDashboardPaymentDecisionsAreTheAPIs ties the decisions the dashboard offers (the payment
// view's buttons, the attention table's one) to the rules the API decides by (admin.go: allowed,
// decideDues, decisionRefused), which the page repeats: for payments in each status, held or
// failed legs, top-ups and reversals due, each decision the view offers is one the API takes,
// and each the API takes by its status rules is offered. Without Temporal here, a decision the
// rules take is answered 503 temporal_unavailable; one they refuse, 409 invalid_state or in_doubt.
func TestDashboardPaymentDecisionsAreTheAPIs(t *testing.T) {
	a := newAPI(t, nil)
	b := newBrowser(t)
	c := a.newClient("payviewrules")
	at := time.Now().Add(-2 * time.Hour)
	var recs []payment.Record
	mk := func(name string, status payment.Status, mod func(r *payment.Record)) {
		r := paidRecord(c, c+"-"+name, at, 12345, 0, status)
		r.CodePath = wfpayment.CurrentCodePath
		if mod != nil {
			mod(&r)
		}
		require.NoError(t, a.store.SavePayment(t.Context(), r))
		recs = append(recs, r)
	}
	paidVendor := func(r *payment.Record) {
		v := &r.Legs[1]
		v.State, v.Reason, v.Transferred, v.TransferID = payment.LegTransferred, "", v.Amount, "tr_v_"+r.PaymentID
	}
	topUp := func(held bool) []payment.Due {
		return []payment.Due{{Kind: payment.DueTopUp, Cause: "correction/v2", What: "correction", Amount: 100, Held: held, Reason: "payee cannot receive"}}
	}
	mk("held", payment.StatusHeld, nil)
	mk("failed", payment.StatusPayoutFailed, nil)
	mk("parked", payment.StatusNeedsAttention, func(r *payment.Record) { paidVendor(r); r.Reason = "no split rule" })
	mk("heldtopup", payment.StatusHeld, func(r *payment.Record) { paidVendor(r); r.Legs[1].Dues = topUp(true) })
	mk("failedtopup", payment.StatusPayoutFailed, func(r *payment.Record) { paidVendor(r); r.Legs[1].Dues = topUp(false) })
	mk("reversal", payment.StatusPayoutFailed, func(r *payment.Record) {
		paidVendor(r)
		r.Legs[1].Dues = []payment.Due{{Kind: payment.DueReversal, Cause: "refund/1", Amount: 100, Refused: true, TransferID: "tr_v", Reason: "insufficient funds"}}
	})
	mk("heldanddue", payment.StatusHeld, func(r *payment.Record) { r.Legs[2].Dues = topUp(false) })
	mk("failedanddue", payment.StatusPayoutFailed, func(r *payment.Record) { r.Legs[2].Dues = topUp(true) })
	mk("compdue", payment.StatusPayoutFailed, func(r *payment.Record) { r.Compensated = "cancelled by an admin"; r.Legs[2].Dues = topUp(false) })
	mk("awaitorder", payment.StatusAwaitingMetadata, func(r *payment.Record) { r.Legs = nil })
	for _, st := range payment.Statuses {
		switch st {
		case payment.StatusHeld, payment.StatusPayoutFailed, payment.StatusNeedsAttention, payment.StatusAwaitingMetadata:
			continue
		}
		mk(string(st), st, paidVendor)
	}

	for _, kind := range []string{"vendor", "aff"} { // a release of a held leg pays a registered payee
		code, body := a.json(req{method: http.MethodPut, path: "/api/v1/admin/payees/" + c + "-" + kind, key: adminKey,
			body: map[string]any{"client_id": c, "kind": strings.Replace(kind, "aff", "affiliate", 1), "stripe_account": "acct_" + kind}})
		require.Equal(t, http.StatusCreated, code, body)
	}

	b.login(a.url+"/", adminKey)
	b.pickClient(c)
	b.waitFor(`document.querySelectorAll('#attention-table tbody tr').length > 0`)
	table := eval[map[string]string](b, `Object.fromEntries([...document.querySelectorAll('#attention-table tbody tr')]
		.map(r => [r.dataset.payment, (r.querySelector('button[data-action]') || {dataset: {}}).dataset.action || '']))`)

	for _, r := range recs {
		taken := []string{}
		for _, action := range []string{"retry", "release", "cancel"} {
			code, body := a.json(req{method: http.MethodPost, path: "/api/v1/admin/payments/" + r.WorkflowID + "/" + action, key: adminKey})
			apiErr, _ := body["error"].(map[string]any)
			switch {
			case code == http.StatusServiceUnavailable:
				taken = append(taken, action)
			case code == http.StatusConflict && (apiErr["code"] == "invalid_state" || apiErr["code"] == "in_doubt"):
			default:
				t.Fatalf("%s %s: an answer this test does not classify: %d %v", r.PaymentID, action, code, body)
			}
		}
		eval[string](b, `location.hash = '#payment=' + encodeURIComponent(`+jsString(r.WorkflowID)+`)`)
		b.paymentViewOpen(r.WorkflowID)
		require.Equal(t, string(r.Status), b.paymentField("status"))
		offered := eval[[]string](b, `[...document.querySelectorAll('#payment-actions button[data-action]')].map(e => e.dataset.action)`)
		assert.ElementsMatch(t, taken, offered, "%s (%s): the view offers what the API takes", r.PaymentID, r.Status)
		if action, listed := table[r.WorkflowID]; listed {
			assert.Contains(t, taken, action, "%s (%s): the attention table's button is one the API takes", r.PaymentID, r.Status)
		}
	}
	b.noPageErrors()
}
