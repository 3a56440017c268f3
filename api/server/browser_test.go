package server_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"paysplit/internal/payment"
	"paysplit/internal/split"
	"paysplit/internal/store"
	"paysplit/internal/stripeevent"
	"paysplit/testenv"
	wfpayment "paysplit/workflows/payment"
)

// chromiumPath finds the browser: $CHROME_PATH or a Chromium on PATH (Debian's package is
// `chromium`). Locally a missing browser skips the browser tests; under CI=true it fails them.
func chromiumPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("CHROME_PATH"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("Chromium is required when CI=true: apt-get install -y chromium (or set CHROME_PATH)")
	}
	t.Skip("no Chromium on PATH, skipping the browser test (set CI=true to fail instead)")
	return ""
}

// browser is a headless Chromium tab that records uncaught exceptions and console errors.
type browser struct {
	t    *testing.T
	ctx  context.Context
	mu   sync.Mutex
	errs []string
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	return newBrowserWith(t)
}

// newBrowserWith is newBrowser with more Chromium options.
func newBrowserWith(t *testing.T, more ...chromedp.ExecAllocatorOption) *browser {
	t.Helper()
	path := chromiumPath(t)
	dir, err := os.MkdirTemp("", "paysplit-chromium-")
	require.NoError(t, err)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.UserDataDir(dir),
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-component-update", true),
		chromedp.WindowSize(1280, 1800),
	)
	opts = append(opts, more...)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancelCtx()
		cancelAlloc()
		_ = os.RemoveAll(dir) // Chromium's helpers may still be writing; a leftover temp dir is harmless
	})
	// The first action starts the browser; it must not run under a timeout (that would end it).
	require.NoError(t, chromedp.Do(ctx), "start Chromium at %s", path)
	b := &browser{t: t, ctx: ctx}
	go func() {
		for m, err := range chromedp.Console(ctx) {
			if err != nil {
				return
			}
			// Failed requests are expected (a 401 before login, the 403s this test provokes);
			// anything else at error level is a bug in the page, e.g. a CSP violation.
			if m.IsException() || (m.Type == chromedp.ConsoleError && !strings.Contains(m.Text, "Failed to load resource")) {
				b.mu.Lock()
				b.errs = append(b.errs, m.String())
				b.mu.Unlock()
			}
		}
	}()
	return b
}

// do runs actions with a time limit.
func (b *browser) do(actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.dumpPage()
		require.NoError(b.t, err)
	}
}

// dumpPage logs what the page shows, for a wait that failed: which sections are shown, the
// notice, what the page loaded, the attention list's rows, the requests it answered (with
// their timings) and the errors it logged.
func (b *browser) dumpPage() {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	state, err := chromedp.Run(ctx, chromedp.Evaluate[string](`JSON.stringify({
		now: performance.now(),
		url: location.href,
		login: !document.getElementById('login').hidden,
		app: !document.getElementById('app').hidden,
		loginError: document.getElementById('login-error').textContent,
		notice: document.getElementById('notice').textContent,
		loaded: document.body.dataset.loaded || null,
		picked: document.getElementById('client-picker').value,
		clientName: document.getElementById('client-name').textContent,
		attention: [...document.querySelectorAll('#attention-table tbody tr')].map(r => r.dataset.payment + ': ' + r.innerText),
		requests: performance.getEntriesByType('resource').filter(e => e.name.includes('/api/'))
			.map(e => Math.round(e.startTime) + '+' + Math.round(e.duration) + 'ms ' + e.name.replace(location.origin, '')),
	}, null, 1)`))
	b.t.Logf("the page at the failure: %s (%v)", state, err)
	b.mu.Lock()
	b.t.Logf("its errors: %q", b.errs)
	b.mu.Unlock()
}

// eval evaluates a JavaScript expression (awaiting a promise) and decodes its value.
func eval[T any](b *browser, expr string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	require.NoError(b.t, err, expr)
	return v
}

// waitFor polls a JavaScript predicate until it is true.
func (b *browser) waitFor(predicate string) {
	b.t.Helper()
	b.do(chromedp.Steps(func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := chromedp.Poll[chromedp.Void](predicate, chromedp.WithPollingTimeout(20*time.Second))(ctx, t)
		if err != nil {
			return chromedp.Void{}, fmt.Errorf("waiting for %s: %w", predicate, err)
		}
		return chromedp.Void{}, nil
	}))
}

// screenshot saves the page as a test artifact in $ARTIFACTS_DIR or testdata/artifacts/
// (gitignored).
func (b *browser) screenshot(name string) {
	b.t.Helper()
	dir := os.Getenv("ARTIFACTS_DIR")
	if dir == "" {
		dir = filepath.Join("testdata", "artifacts")
	}
	require.NoError(b.t, os.MkdirAll(dir, 0o755))
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	require.NoError(b.t, err)
	require.Greater(b.t, len(png), 10_000, "a rendered page, not a blank one")
	path := filepath.Join(dir, name)
	require.NoError(b.t, os.WriteFile(path, png, 0o644))
	b.t.Logf("screenshot: %s", path)
}

func (b *browser) noPageErrors() {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	require.Empty(b.t, b.errs, "the page logged errors")
}

// login types the key into the login form, as a person would.
func (b *browser) login(url, key string) {
	b.t.Helper()
	b.do(
		chromedp.Navigate(url),
		chromedp.WaitVisible(chromedp.ID("login-form")),
		chromedp.SendKeys(chromedp.ID("key"), key),
		chromedp.Click(chromedp.CSS(`#login-form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.ID("app")),
	)
}

// waitLoaded waits until the page has loaded client's figures (any range).
func (b *browser) waitLoaded(client string) {
	b.t.Helper()
	b.waitFor(fmt.Sprintf(`(document.body.dataset.loaded || '').startsWith(%q)`, client+"/"))
}

type chartData struct {
	Labels []string           `json:"labels"`
	Sets   map[string][]int64 `json:"sets"`
}

const readChart = `(() => {
	const c = Chart.getChart(%q);
	if (!c || c.canvas.width === 0) return null;
	return {labels: c.data.labels, sets: Object.fromEntries(c.data.datasets.map(d => [d.label, d.data]))};
})()`

// expectedRevenue sums records per capture day the way the dashboard's revenue chart shows them.
func expectedRevenue(days []string, recs []payment.Record) map[string][]int64 {
	out := map[string][]int64{}
	for _, k := range []string{"Gross", "Commission", "Vendor payouts", "Affiliate payouts", "Refunds", "Not split yet"} {
		out[k] = make([]int64, len(days))
	}
	for _, r := range recs {
		for i, d := range days {
			if r.CapturedAt.UTC().Format(time.DateOnly) != d {
				continue
			}
			out["Gross"][i] += r.Gross
			out["Refunds"][i] += r.Refunded
			if len(r.Legs) == 0 {
				out["Not split yet"][i] += r.Gross - r.Refunded
			}
			for _, l := range r.Legs {
				name := map[split.Party]string{split.PartyPlatform: "Commission", split.PartyVendor: "Vendor payouts", split.PartyAffiliate: "Affiliate payouts"}[l.Party]
				out[name][i] += l.Amount - l.Refunded
			}
		}
	}
	return out
}

func dayRange(today time.Time, n int) []string {
	var out []string
	for i := n - 1; i >= 0; i-- {
		out = append(out, today.AddDate(0, 0, -i).Format(time.DateOnly))
	}
	return out
}

// TestDashboardClientInBrowser logs in as a client through the login form, checks that the charts
// and tiles show exactly its numbers for 7 days, 30 days and a custom range, that nothing of
// another client appears or can be fetched, and that "refresh now" degrades gracefully.
func TestDashboardClientInBrowser(t *testing.T) {
	a := newAPI(t, nil)
	b := newBrowser(t)
	ctx := t.Context()
	alpha, bravo := a.newClient("alpha"), a.newClient("bravo")
	code, body := a.json(req{method: http.MethodPut, path: "/api/v1/admin/clients/" + alpha + "/settings", key: adminKey,
		body: map[string]any{"default_period": "7d", "accent_color": "#7c3aed"}})
	require.Equal(t, http.StatusOK, code, body)

	today := store.DayOf(time.Now())
	at := func(daysAgo int) time.Time { return today.AddDate(0, 0, -daysAgo).Add(10 * time.Hour) }
	alphaRecs := []payment.Record{
		paidRecord(alpha, alpha+"-1", at(1), 10000, 0, payment.StatusPaid),
		paidRecord(alpha, alpha+"-2", at(1), 20000, 2000, payment.StatusPartiallyRefunded),
		paidRecord(alpha, alpha+"-3", at(3), 5000, 0, payment.StatusHeld),
		paidRecord(alpha, alpha+"-4", at(10), 7000, 0, payment.StatusPaid),
	}
	for _, r := range append(alphaRecs, paidRecord(bravo, bravo+"-1", at(1), 99900, 0, payment.StatusPaid)) {
		require.NoError(t, a.store.SavePayment(ctx, r))
	}
	alphaVisitors := map[int]int64{}
	for d := range 7 {
		alphaVisitors[d] = int64(100 + 10*d)
		require.NoError(t, a.store.UpsertKPIDay(ctx, store.KPIDay{ClientID: alpha, Day: today.AddDate(0, 0, -d), Visitors: alphaVisitors[d],
			NewVisitors: int64(10 + d), Sessions: 200, BounceRateBps: 4000, Revenue: 1000, Currency: "usd"}))
		require.NoError(t, a.store.UpsertKPIDay(ctx, store.KPIDay{ClientID: bravo, Day: today.AddDate(0, 0, -d), Visitors: 5555, Sessions: 1, Currency: "usd"}))
	}
	alphaVisitors[10] = 999
	require.NoError(t, a.store.UpsertKPIDay(ctx, store.KPIDay{ClientID: alpha, Day: today.AddDate(0, 0, -10), Visitors: 999, Currency: "usd"}))
	_, key := a.newKey(store.RoleClient, alpha)

	b.login(a.url+"/", key)
	checkPeriod := func(days []string) {
		t.Helper()
		b.waitFor(fmt.Sprintf(`document.body.dataset.loaded === %q`, alpha+"/"+days[0]+"/"+days[len(days)-1]))
		revenue := eval[*chartData](b, fmt.Sprintf(readChart, "revenue-chart"))
		require.NotNil(t, revenue, "the revenue chart rendered")
		require.Equal(t, days, revenue.Labels)
		require.Equal(t, expectedRevenue(days, alphaRecs), revenue.Sets)
		visitors := eval[*nullableChart](b, fmt.Sprintf(readChart, "visitors-chart"))
		require.NotNil(t, visitors, "the visitors chart rendered")
		require.Equal(t, days, visitors.Labels)
		// Days without analytics are gaps (null), not zero visitors.
		want := make([]*int64, len(days))
		for i, d := range days {
			day, err := time.Parse(time.DateOnly, d)
			require.NoError(t, err)
			if v, ok := alphaVisitors[int(today.Sub(day).Hours()/24)]; ok {
				want[i] = &v
			}
		}
		require.Equal(t, want, visitors.Sets["Visitors"])
	}

	// The client's default period is 7 days.
	days7 := dayRange(today, 7)
	checkPeriod(days7)
	tiles := eval[map[string]string](b, `Object.fromEntries([...document.querySelectorAll('.tile .value')].map(e => [e.id, e.textContent]))`)
	require.Equal(t, "910", tiles["tile-visitors"], "100+110+…+160")
	require.Equal(t, "USD 350.00", tiles["tile-gross"])
	require.Equal(t, "USD 20.00", tiles["tile-refunds"])
	require.Equal(t, "40.00%", tiles["tile-bounce-rate"])
	require.Equal(t, "Alpha Shop", strings.TrimPrefix(eval[string](b, `document.getElementById('client-name').textContent`), "· "))
	payouts := eval[int](b, `document.querySelectorAll('#payouts-table tbody tr').length`)
	require.Equal(t, 6, payouts, "3 payments in 7 days × vendor and affiliate")
	require.True(t, eval[bool](b, `document.getElementById('attention').hidden`), "clients get no admin section")
	require.True(t, eval[bool](b, `document.getElementById('picker-label').hidden`), "clients get no client picker")
	require.False(t, eval[bool](b, `document.getElementById('reports-empty').hidden`), "no reports yet, and it says so")
	b.screenshot("dashboard-client.png")

	// 30 days brings in the payment and the visitors of 10 days ago.
	b.do(chromedp.Click(chromedp.CSS(`[data-period="30d"]`)))
	checkPeriod(dayRange(today, 30))
	// A custom range.
	from, to := today.AddDate(0, 0, -3).Format(time.DateOnly), today.AddDate(0, 0, -1).Format(time.DateOnly)
	b.do(chromedp.Click(chromedp.CSS(`[data-period="custom"]`)), chromedp.WaitVisible(chromedp.ID("custom-range")))
	_ = eval[bool](b, fmt.Sprintf(`(() => { document.getElementById('from').value = %q; document.getElementById('to').value = %q; return true; })()`, from, to))
	b.do(chromedp.Click(chromedp.CSS(`#custom-range button[type=submit]`)))
	checkPeriod([]string{from, today.AddDate(0, 0, -2).Format(time.DateOnly), to})

	// Nothing of the other client is on the page, and the session cannot fetch it.
	page := strings.ToLower(eval[string](b, `document.body.innerText`))
	require.NotContains(t, page, "bravo")
	require.NotContains(t, page, "999.00")
	require.NotContains(t, page, "5,555")
	type answer struct {
		Status int    `json:"status"`
		Body   string `json:"body"`
	}
	for _, path := range []string{"/api/v1/revenue", "/api/v1/kpis", "/api/v1/payouts", "/api/v1/client", "/api/v1/reports"} {
		got := eval[answer](b, fmt.Sprintf(`fetch(%q).then(async r => ({status: r.status, body: await r.text()}))`, path+"?client_id="+bravo))
		require.Equal(t, http.StatusForbidden, got.Status, path)
		require.NotContains(t, strings.ToLower(got.Body), "bravo")
	}
	got := eval[answer](b, `fetch('/api/v1/admin/clients').then(async r => ({status: r.status, body: await r.text()}))`)
	require.Equal(t, http.StatusForbidden, got.Status)
	require.NotContains(t, strings.ToLower(got.Body), "bravo")
	got = eval[answer](b, `fetch('/api/v1/kpis/refresh', {method: 'POST'}).then(async r => ({status: r.status, body: await r.text()}))`)
	require.Equal(t, http.StatusForbidden, got.Status, "a state change without the CSRF token: %s", got.Body)
	require.Contains(t, got.Body, "csrf_failed")

	// "Refresh now" says that the on-demand sync is not there yet instead of failing.
	b.do(chromedp.Click(chromedp.ID("refresh")))
	b.waitFor(`document.getElementById('notice').textContent !== ''`)
	notice := eval[string](b, `document.getElementById('notice').textContent`)
	require.Contains(t, notice, "not available yet")
	require.Equal(t, "", eval[string](b, `document.getElementById('notice').className`), "shown as information, not as an error")

	// Logging out ends the session: the page asks for a key again and the cookie no longer works.
	b.do(chromedp.Click(chromedp.ID("logout")), chromedp.WaitVisible(chromedp.ID("login-form")))
	got = eval[answer](b, `fetch('/api/v1/me').then(async r => ({status: r.status, body: await r.text()}))`)
	require.Equal(t, http.StatusUnauthorized, got.Status)
	b.noPageErrors()
}

// TestDashboardAdminReleasesHeldPayout: an admin picks the client, sees its held payout and
// releases it with the button; the payment's workflow pays the vendor.
func TestDashboardAdminReleasesHeldPayout(t *testing.T) {
	s := newStack(t, wfpayment.Settings{SettleWindow: 0})
	b := newBrowser(t)
	client := uniqueID("dashhold")
	s.seed(client)
	code, body := s.do(http.MethodPut, "/api/v1/admin/payees/"+client+"-vendor", map[string]any{"client_id": client, "kind": "vendor"}, adminKey)
	require.Equal(t, http.StatusOK, code, body)
	pi := "pi_" + strings.ReplaceAll(client, "-", "")
	code, body = s.webhook(stripeevent.Sign(capture(client, pi).Body(), webhookSecret, time.Now()))
	require.Equal(t, http.StatusOK, code, body)
	id := wfpayment.WorkflowID("stripe", pi)
	s.AwaitStatus(id, 30*time.Second, payment.StatusHeld)
	// The payment reads held as soon as the vendor's leg is; the run then pays the affiliate,
	// saves the hold and asks the vendor once more (code path 20). Given its account before that
	// ask is answered, the run pays the vendor itself: no release for the admin to click.
	awaitRunWaits(t, s.tc, id)
	code, body = s.do(http.MethodPut, "/api/v1/admin/payees/"+client+"-vendor", map[string]any{"client_id": client, "kind": "vendor", "stripe_account": "acct_dash1"}, adminKey)
	require.Equal(t, http.StatusOK, code, body)

	// A reconciliation has run, so the admin's "Books" card has something to show.
	code, body = s.do(http.MethodPost, "/api/v1/admin/reconciliation/run", map[string]any{"date": time.Now().UTC().Format(time.DateOnly)}, adminKey)
	require.Equal(t, http.StatusOK, code, body)

	b.login(s.api.URL+"/", adminKey)
	require.False(t, eval[bool](b, `document.getElementById('picker-label').hidden`), "admins pick the client")
	// The picker's options arrive with the client list; choosing one before it is there would
	// silently keep the first client.
	b.waitFor(fmt.Sprintf(`document.querySelector('#client-picker option[value=%q]') !== null`, client))
	require.True(t, eval[bool](b, fmt.Sprintf(`(() => { const p = document.getElementById('client-picker'); p.value = %q; p.dispatchEvent(new Event('change')); return p.value === %q; })()`, client, client)), "the client is picked")
	button := fmt.Sprintf(`#attention-table tr[data-payment=%q] button[data-action="release"]`, id)
	b.do(chromedp.WaitVisible(chromedp.CSS(button)))
	b.waitFor(`!document.getElementById('books').hidden && document.querySelectorAll('#recon-table tbody tr').length > 0`)
	assert.Contains(t, eval[string](b, `document.getElementById('inbox-status').textContent`), "Webhooks: ", "the Books card says whether webhooks reach Temporal")
	b.screenshot("dashboard-admin.png")
	b.do(chromedp.Click(chromedp.CSS(button)))
	b.waitFor(fmt.Sprintf(`document.querySelector(%q).textContent === 'Released'`, button))

	s.requireReleasedTo(t, id, "acct_dash1")

	// The decision is in the audit log: who, what, and the payment's status before it.
	code, body = s.do(http.MethodGet, "/api/v1/admin/audit?target=payment:"+id, nil, adminKey)
	require.Equal(t, http.StatusOK, code, body)
	entries := body["entries"].([]any)
	require.Len(t, entries, 1)
	entry := entries[0].(map[string]any)
	require.Equal(t, "payment.release", entry["action"])
	require.Equal(t, "admin:bootstrap", entry["actor"])
	require.Equal(t, "held", entry["before"].(map[string]any)["status"])
	b.noPageErrors()
}

// TestDashboardAdminResolvesTransferInDoubt: a vendor transfer's answers were lost, so the
// payment waits with the leg in doubt; the dashboard shows the key to look up, and the admin
// names the transfer found at Stripe. The workflow checks it and books it: nothing is sent again.
func TestDashboardAdminResolvesTransferInDoubt(t *testing.T) {
	s := newStack(t, wfpayment.Settings{SettleWindow: 0, StripeAttempts: 2, StripeRetryInterval: 10 * time.Millisecond})
	b := newBrowser(t)
	client := uniqueID("dashdoubt")
	id := s.stripeTransferInDoubt(client, "pi_"+strings.ReplaceAll(client, "-", ""))
	var made []testenv.StripeTransfer
	for _, tr := range s.stripe.Transfers() {
		if tr.Metadata["workflow_id"] == id {
			made = append(made, tr)
		}
	}
	require.Len(t, made, 1, "Stripe made the vendor's transfer; its answers were lost")

	b.login(s.api.URL+"/", adminKey)
	b.waitFor(fmt.Sprintf(`document.querySelector('#client-picker option[value=%q]') !== null`, client))
	require.True(t, eval[bool](b, fmt.Sprintf(`(() => { const p = document.getElementById('client-picker'); p.value = %q; p.dispatchEvent(new Event('change')); return p.value === %q; })()`, client, client)), "the client is picked")
	form := fmt.Sprintf(`#attention-table tr[data-payment=%q] .resolve[data-party="vendor"]`, id)
	b.do(chromedp.WaitVisible(chromedp.CSS(form + " input")))
	require.Contains(t, eval[string](b, fmt.Sprintf(`document.querySelector(%q).textContent`, form)), id+"/transfer/vendor-", "the key to look up")
	b.do(chromedp.SendKeys(chromedp.CSS(form+" input"), made[0].ID), chromedp.Click(chromedp.CSS(form+` button[data-action="resolve-made"]`)))
	b.waitFor(fmt.Sprintf(`document.querySelector(%q).textContent === 'Sent'`, form+` button[data-action="resolve-made"]`))

	rec := s.result(id)
	require.Equal(t, payment.StatusPaid, rec.Status, rec.Reason)
	require.Equal(t, made[0].ID, rec.Leg(split.PartyVendor).TransferID)
	vendorTransfers := 0
	for _, tr := range s.stripe.Transfers() {
		if tr.Metadata["workflow_id"] == id && tr.Metadata["party"] == "vendor" {
			vendorTransfers++
		}
	}
	require.Equal(t, 1, vendorTransfers, "booked, not sent again")
	code, body := s.do(http.MethodGet, "/api/v1/admin/audit?action=payment.resolve&target=payment:"+id, nil, adminKey)
	require.Equal(t, http.StatusOK, code, body)
	require.Len(t, body["entries"], 1)
	b.noPageErrors()
}

// requireReleasedTo waits for the released payment id to be paid and checks that its vendor's
// transfer went to the Stripe account acct.
func (s *stack) requireReleasedTo(t *testing.T, id, acct string) {
	t.Helper()
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		_, view := s.do(http.MethodGet, "/api/v1/admin/payments/"+id, nil, adminKey)
		assert.Equal(c, "paid", view["status"])
	}, 30*time.Second, 100*time.Millisecond)
	var vendorPaid bool
	for _, c := range s.stripe.Calls(http.MethodPost, "/v1/transfers") {
		vendorPaid = vendorPaid || c.Form.Get("destination") == acct
	}
	require.True(t, vendorPaid, "the release reached Stripe")
}
