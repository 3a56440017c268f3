package server_test

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/stretchr/testify/require"

	"paysplit/internal/payment"
	"paysplit/internal/store"
)

// The dashboard as a person with a screen reader or only a keyboard uses it (WCAG 2.2 AA), in
// headless Chromium. axe-core is vendored for these tests only (`make vendor-axe`), never served.

//go:embed testdata/axe/axe.min.js
var axeSource string

// axeViolation is one failed axe rule and the elements it failed on.
type axeViolation struct {
	ID      string   `json:"id"`
	Impact  string   `json:"impact"`
	Help    string   `json:"help"`
	Targets []string `json:"targets"`
}

func (v axeViolation) String() string {
	return fmt.Sprintf("%s (%s): %s at %s", v.ID, v.Impact, v.Help, strings.Join(v.Targets, ", "))
}

// axe runs axe-core's WCAG 2.0–2.2 A and AA rules on the page as shown and returns what fails.
func (b *browser) axe() []axeViolation {
	b.t.Helper()
	// DevTools' evaluation is not bound by the page's Content-Security-Policy.
	if !eval[bool](b, `typeof window.axe === 'object'`) {
		_ = eval[any](b, axeSource+"\n;true")
	}
	raw := eval[string](b, `axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22a', 'wcag22aa']}})
		.then(r => JSON.stringify(r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help, targets: v.nodes.map(n => n.target.join(' '))}))))`)
	var out []axeViolation
	require.NoError(b.t, json.Unmarshal([]byte(raw), &out))
	return out
}

// a11yClient is a client with 30 payments yesterday (60 payout rows, 3 held), one not split yet
// and 7 days of visitors but for the day before yesterday; its key is returned.
func a11yClient(t *testing.T, a *apiEnv, name string) (client, key string) {
	t.Helper()
	c := a.newClient(name)
	_, key = a.newKey(store.RoleClient, c)
	today := store.DayOf(time.Now())
	yesterday := today.AddDate(0, 0, -1).Add(10 * time.Hour)
	for i := range 30 {
		st := payment.StatusPaid
		if i%10 == 0 {
			st = payment.StatusHeld
		}
		require.NoError(t, a.store.SavePayment(t.Context(), paidRecord(c, fmt.Sprintf("%s-%02d", c, i), yesterday.Add(time.Duration(i)*time.Minute), 10000, 0, st)))
	}
	unsplit := paidRecord(c, c+"-unsplit", yesterday.Add(-time.Hour), 4321, 0, payment.StatusAwaitingMetadata)
	unsplit.Legs = nil
	require.NoError(t, a.store.SavePayment(t.Context(), unsplit))
	for d := range 7 {
		if d == 2 {
			continue
		}
		require.NoError(t, a.store.UpsertKPIDay(t.Context(), store.KPIDay{ClientID: c, Day: today.AddDate(0, 0, -d),
			Visitors: int64(1000 + d), NewVisitors: int64(100 + d), Sessions: 10, Currency: "usd"}))
	}
	return c, key
}

// tabTo presses Tab until the element matching selector has the focus, as a keyboard user
// reaches it; it fails when 80 presses do not get there.
func (b *browser) tabTo(selector string) {
	b.t.Helper()
	for range 80 {
		if eval[bool](b, fmt.Sprintf(`document.activeElement === document.querySelector(%q)`, selector)) {
			return
		}
		b.do(chromedp.KeyEvent(kb.Tab))
	}
	b.t.Fatalf("Tab never reached %s", selector)
}

const focused = `(e => e === document.body || e === null ? 'nothing' : e.tagName.toLowerCase() + (e.id ? '#' + e.id : ''))(document.activeElement)`

// TestDashboardChartsHaveTheirFiguresAsText: the charts' figures were in a canvas and its
// hover tooltips only: a screen reader read "Revenue by day" and no number, and a keyboard user
// could not reach a tooltip. Each chart now has a table of the figures it draws, the canvas is
// an image described by it, and the revenue table's total row reads as the tiles do.
func TestDashboardChartsHaveTheirFiguresAsText(t *testing.T) {
	a := newAPI(t, nil)
	b := newBrowser(t)
	c, key := a11yClient(t, a, "charttext")
	code, body := a.json(req{method: "PUT", path: "/api/v1/admin/clients/" + c + "/settings", key: adminKey,
		body: map[string]any{"default_period": "7d", "accent_color": "#2563eb"}})
	require.Equal(t, 200, code, body)
	b.login(a.url+"/", key)
	b.waitLoaded(c)

	// The table a chart's canvas is described by, as rows of cell texts.
	const tableOf = `(() => {
		const canvas = document.getElementById(%q);
		if (canvas.getAttribute('role') !== 'img') return null;
		const t = document.getElementById(canvas.getAttribute('aria-describedby') || '');
		if (!t || t.tagName !== 'TABLE') return null;
		return [...t.rows].map(r => [...r.cells].map(c => c.textContent.trim()));
	})()`
	revenue := eval[[][]string](b, fmt.Sprintf(tableOf, "revenue-chart"))
	require.NotNil(t, revenue, "the revenue chart has a table of its figures")
	today := store.DayOf(time.Now())
	days := dayRange(today, 7)
	require.Len(t, revenue, 1+len(days)+1, "a header, a row a day, the total")
	require.Equal(t, []string{"Day", "Gross", "Commission", "Vendor payouts", "Affiliate payouts", "Refunds", "Lost disputes (in refunds)", "Not split yet"}, revenue[0])
	yesterday := days[len(days)-2]
	// 30 payments of USD 100.00: 10% commission, 85% vendor, 5% affiliate; and USD 43.21 not split.
	require.Equal(t, []string{yesterday, "USD 3,043.21", "USD 300.00", "USD 2,550.00", "USD 150.00", "USD 0.00", "USD 0.00", "USD 43.21"}, revenue[len(days)-1])
	require.Equal(t, []string{days[0], "USD 0.00", "USD 0.00", "USD 0.00", "USD 0.00", "USD 0.00", "USD 0.00", "USD 0.00"}, revenue[1])
	tiles := b.tiles()
	total := revenue[len(revenue)-1]
	require.Equal(t, []string{"Total", tiles["tile-gross"], tiles["tile-commission"], tiles["tile-vendor-payouts"]}, total[:4], "the total reads as the tiles")
	require.Equal(t, tiles["tile-refunds"], total[5])

	visitors := eval[[][]string](b, fmt.Sprintf(tableOf, "visitors-chart"))
	require.NotNil(t, visitors, "the visitors chart has a table of its figures")
	require.Equal(t, []string{"Day", "Visitors", "New visitors"}, visitors[0])
	require.Equal(t, []string{days[len(days)-3], "no data", "no data"}, visitors[len(days)-2], "a day without analytics says so")
	require.Equal(t, []string{days[len(days)-1], "1,000", "100"}, visitors[len(days)])
	b.noPageErrors()
}

// TestDashboardRevenueBarsAddUpToGross: the revenue chart stacks what became of each day's
// gross under its Gross line, but a payment not split yet (waiting for its order's metadata)
// had no bar: yesterday's bars stopped USD 43.21 short of the line and of the Payments tile,
// with nothing to say what the rest was. Lost disputes are in Refunds (the API counts them
// there), so the parts now add up to the gross every day.
func TestDashboardRevenueBarsAddUpToGross(t *testing.T) {
	a := newAPI(t, nil)
	b := newBrowser(t)
	c, key := a11yClient(t, a, "barsadd")
	b.login(a.url+"/", key)
	b.waitLoaded(c)
	chart := eval[*chartData](b, fmt.Sprintf(readChart, "revenue-chart"))
	require.NotNil(t, chart)
	for i, day := range chart.Labels {
		var bars int64
		for label, values := range chart.Sets {
			if label != "Gross" {
				bars += values[i]
			}
		}
		require.Equal(t, chart.Sets["Gross"][i], bars, "%s: the bars add up to the gross", day)
	}
	require.Equal(t, int64(4321), chart.Sets["Not split yet"][len(chart.Labels)-2])
	b.noPageErrors()
}

// TestDashboardWithTheKeyboardOnly: a person with only a keyboard logs in, reaches "Load more"
// and loads the payouts' pages. After the login the focus was on nothing (the form it was in
// was hidden), so the next Tab started from the top of the page and a screen reader said
// nothing of the figures now shown; "Load more" added 25 rows without a word, and on the last
// page the button vanished with the focus in it. Now the login puts the focus on the page's
// heading, each page says how many rows it added, and the focus stays on the button or, when
// it goes, moves to the first row added.
func TestDashboardWithTheKeyboardOnly(t *testing.T) {
	a := newAPI(t, nil)
	b := newBrowser(t)
	c, key := a11yClient(t, a, "keyboard")
	b.do(chromedp.Navigate(a.url+"/"), chromedp.WaitVisible(chromedp.ID("login-form")))
	b.waitFor(`document.activeElement === document.getElementById('key')`)
	b.do(chromedp.KeyEvent("psk_not_a_key"), chromedp.KeyEvent(kb.Enter))
	b.waitFor(`document.getElementById('login-error').textContent !== ''`)
	b.tabTo("#key")
	b.do(chromedp.KeyEvent(key), chromedp.KeyEvent(kb.Enter))
	b.waitLoaded(c)
	require.NotEqual(t, "nothing", eval[string](b, focused), "the focus after logging in")
	require.True(t, eval[bool](b, `document.getElementById('app').contains(document.activeElement) || document.querySelector('header').contains(document.activeElement)`))

	const rows = `document.querySelectorAll('#payouts-table tbody tr').length`
	const said = `document.getElementById('announce').textContent`
	b.tabTo("#payouts-more")
	b.do(chromedp.KeyEvent(kb.Enter))
	b.waitFor(rows + ` === 50`)
	require.Equal(t, "button#payouts-more", eval[string](b, focused), "the focus stays on Load more")
	require.Equal(t, "Loaded 25 more payouts: 50 shown.", eval[string](b, said))
	b.do(chromedp.KeyEvent(kb.Enter))
	b.waitFor(rows + ` === 60`)
	require.True(t, eval[bool](b, `document.getElementById('payouts-more').hidden`))
	require.Equal(t, "tr", eval[string](b, focused), "the focus on the first row added")
	require.Equal(t, 50, eval[int](b, `document.activeElement.sectionRowIndex`))
	require.Equal(t, "Loaded 10 more payouts: all 60 shown.", eval[string](b, said))
	require.True(t, eval[bool](b, `document.getElementById('announce').getAttribute('role') === 'status' && document.getElementById('announce').getClientRects().length > 0`),
		"the announcement is in a live region that is rendered")
	b.noPageErrors()
}

// TestDashboardFieldsHaveLabelsAndTheirErrors: the API key, the custom range's dates and the
// provider ID of a transfer in doubt had no visible label (a placeholder at most, which goes
// once typed into), and their errors were said apart from them: a wrong key or a missing ID
// did not mark the field, and the missing ID was said at the top of the page, far from the
// form, with the focus left on the button.
func TestDashboardFieldsHaveLabelsAndTheirErrors(t *testing.T) {
	a := newAPI(t, nil)
	b := newBrowser(t)
	c := a.newClient("fields")
	r := paidRecord(c, c+"-1", time.Now().Add(-time.Hour), 10000, 0, payment.StatusPayoutFailed)
	r.Legs[1].TransferAmount = r.Legs[1].Amount
	r.Legs[1].TransferKey = r.Legs[1].CurrentTransferKey(r.WorkflowID)
	require.NoError(t, a.store.SavePayment(t.Context(), r))

	const labelled = `(e => e.labels.length > 0 && [...e.labels].every(l => l.getClientRects().length > 0 && l.textContent.trim() !== ''))(document.querySelector(%q))`
	const tied = `(() => {
		const f = document.querySelector(%q);
		const said = (f.getAttribute('aria-describedby') || '').split(' ').map(id => document.getElementById(id)).filter(e => e && e.textContent.trim());
		return f.getAttribute('aria-invalid') === 'true' && said.some(e => e.textContent.includes(%q));
	})()`
	b.do(chromedp.Navigate(a.url+"/"), chromedp.WaitVisible(chromedp.ID("login-form")))
	require.True(t, eval[bool](b, fmt.Sprintf(labelled, "#key")), "the API key field has a visible label")
	b.do(chromedp.SendKeys(chromedp.ID("key"), "psk_wrong"), chromedp.Click(chromedp.CSS(`#login-form button[type=submit]`)))
	b.waitFor(`document.getElementById('login-error').textContent !== ''`)
	require.True(t, eval[bool](b, fmt.Sprintf(tied, "#key", "not valid")), "the wrong key is said on its field")

	b.login(a.url+"/", adminKey)
	b.pickClient(c)
	b.do(chromedp.Click(chromedp.CSS(`[data-period="custom"]`)), chromedp.WaitVisible(chromedp.ID("custom-range")))
	require.True(t, eval[bool](b, fmt.Sprintf(labelled, "#from")), "From has a visible label")
	require.True(t, eval[bool](b, fmt.Sprintf(labelled, "#to")), "To has a visible label")
	form := fmt.Sprintf(`#attention-table tr[data-payment=%q] .resolve[data-party="vendor"]`, r.WorkflowID)
	b.do(chromedp.WaitVisible(chromedp.CSS(form + " input")))
	require.True(t, eval[bool](b, fmt.Sprintf(labelled, form+" input")), "the provider ID has a visible label")
	b.do(chromedp.Click(chromedp.CSS(form + ` button[data-action="resolve-made"]`)))
	b.waitFor(fmt.Sprintf(`document.querySelector(%q).getAttribute('aria-invalid') === 'true'`, form+" input"))
	require.True(t, eval[bool](b, fmt.Sprintf(tied, form+" input", "Name the provider")), "the missing ID is said on its field")
	require.True(t, eval[bool](b, fmt.Sprintf(`document.activeElement === document.querySelector(%q)`, form+" input")), "the focus goes to the field to fill in")
	require.Empty(t, b.axe(), "the resolve form and its error")
	b.noPageErrors()
}

// TestDashboardReflowsOnANarrowScreen: at 320 CSS pixels wide (a phone, or 400% zoom; WCAG
// 1.4.10) the charts' cards kept 420 pixels, so each chart had to be scrolled sideways to read.
// Tables may scroll (they are two-dimensional), within their card.
func TestDashboardReflowsOnANarrowScreen(t *testing.T) {
	a := newAPI(t, nil)
	b := newBrowser(t)
	c, key := a11yClient(t, a, "narrow")
	b.do(chromedp.EmulateViewport(320, 800))
	b.login(a.url+"/", key)
	b.waitLoaded(c)
	wide := eval[[]string](b, `[...document.querySelectorAll('header, main, .card, .tile, .chart')]
		.filter(e => e.getClientRects().length && e.getBoundingClientRect().right > document.documentElement.clientWidth + 0.5)
		.map(e => e.tagName.toLowerCase() + '.' + e.className + ' ' + (e.querySelector('h2') || {textContent: ''}).textContent)`)
	require.Empty(t, wide, "wider than the screen")
	require.LessOrEqual(t, eval[int](b, `document.documentElement.scrollWidth`), eval[int](b, `document.documentElement.clientWidth`), "the page scrolls sideways")
	b.noPageErrors()
}

// TestDashboardLightAccentKeepsContrast: a client's accent colour is its own choice; a light one
// (#fbbf24, amber) put white text on it in the chosen period's button and made "Log out" amber
// on white: 1.7:1 and 2.1:1, under WCAG's 4.5:1. Text on and in the accent is now black or
// white, whichever reads.
func TestDashboardLightAccentKeepsContrast(t *testing.T) {
	a := newAPI(t, nil)
	b := newBrowser(t)
	for _, accent := range []string{"#fbbf24", "#0b1f3a"} {
		c, key := a11yClient(t, a, "accent"+accent[1:])
		code, body := a.json(req{method: "PUT", path: "/api/v1/admin/clients/" + c + "/settings", key: adminKey,
			body: map[string]any{"default_period": "7d", "accent_color": accent}})
		require.Equal(t, 200, code, body)
		b.login(a.url+"/", key)
		b.waitLoaded(c)
		require.Empty(t, b.axe(), "accent %s", accent)
		b.do(chromedp.Click(chromedp.ID("logout")), chromedp.WaitVisible(chromedp.ID("login-form")))
	}
	b.noPageErrors()
}

// TestDashboardStructureForScreenReaders: axe finds nothing on the login, a client's page and an
// admin's; and what axe does not check: the login form is in the page's main landmark (it was
// outside any), every column of a table has a header (the actions' was empty), and the buttons
// of the stuck payouts say which payment they act on (each was "Release" or "Retry" alone).
func TestDashboardStructureForScreenReaders(t *testing.T) {
	a := newAPI(t, nil)
	b := newBrowser(t)
	c, key := a11yClient(t, a, "structure")
	b.do(chromedp.Navigate(a.url+"/"), chromedp.WaitVisible(chromedp.ID("login-form")))
	require.Empty(t, b.axe(), "the login page")
	require.True(t, eval[bool](b, `document.getElementById('login-form').closest('main') !== null`), "the login form is in the main landmark")
	b.login(a.url+"/", key)
	b.waitLoaded(c)
	require.Empty(t, b.axe(), "a client's page")
	b.do(chromedp.Click(chromedp.ID("logout")), chromedp.WaitVisible(chromedp.ID("login-form")))
	b.login(a.url+"/", adminKey)
	b.pickClient(c)
	b.do(chromedp.WaitVisible(chromedp.CSS(`#attention-table tbody tr`)))
	require.Empty(t, b.axe(), "an admin's page")
	require.Empty(t, eval[[]string](b, `[...document.querySelectorAll('th')].filter(th => th.getClientRects().length && !th.textContent.trim()).map(th => th.closest('table').id)`),
		"columns without a header")
	names := eval[[]string](b, `[...document.querySelectorAll('#attention-table button')].map(e => e.getAttribute('aria-label') || e.textContent)`)
	require.Len(t, names, 3)
	for _, n := range names {
		require.Contains(t, n, c+"-", "the button names its payment: %s", n)
	}
	b.noPageErrors()
}

// TestDashboardNoticeIsALiveRegionFromTheStart: the notice above the figures (role=status) was
// hidden while empty and shown in the same step its text was set. A live region that is not
// rendered is not in the accessibility tree, and some screen readers announce a change only in a
// region they already track, so "Refresh started" or an error could pass unsaid. The region is
// now rendered and empty once the page is shown, and a notice is set into that same element.
func TestDashboardNoticeIsALiveRegionFromTheStart(t *testing.T) {
	a := newAPI(t, nil)
	b := newBrowser(t)
	c, key := a11yClient(t, a, "livenotice")
	b.login(a.url+"/", key)
	b.waitLoaded(c)

	type region struct {
		Role, Text string
		Rendered   bool
	}
	const read = `(e => ({role: e.getAttribute('role') || '', text: e.textContent, rendered: !e.hidden && e.getClientRects().length > 0}))(document.getElementById('notice'))`
	require.Equal(t, region{Role: "status", Text: "", Rendered: true}, eval[region](b, read), "the notice's live region is there, empty, before any notice")
	require.Empty(t, b.axe(), "the page with the empty notice region")

	_ = eval[bool](b, `(window.noticeAtLoad = document.getElementById('notice'), true)`)
	b.do(chromedp.Click(chromedp.ID("refresh")))
	b.waitFor(`document.getElementById('notice').textContent !== ''`)
	got := eval[region](b, read)
	require.Contains(t, got.Text, "not available yet")
	require.True(t, got.Rendered)
	require.True(t, eval[bool](b, `document.getElementById('notice') === window.noticeAtLoad`), "the text went into the region already there")
	b.noPageErrors()
}
