package server_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paysplit/internal/ledger"
	"paysplit/internal/monitor"
)

// leftOf measures, in the laid-out text of the element matched by a selector, whether the first
// occurrence of one substring is drawn left of the first occurrence of another (each looked up in
// the element's text nodes; null when either is missing).
const leftOf = `((sel, a, b) => {
	const el = document.querySelector(sel);
	const at = (s) => {
		const walk = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
		for (let n = walk.nextNode(); n; n = walk.nextNode()) {
			const i = n.data.indexOf(s);
			if (i < 0) continue;
			const r = document.createRange();
			r.setStart(n, i);
			r.setEnd(n, i + s.length);
			return r.getBoundingClientRect().left;
		}
		return null;
	};
	const x = at(a), y = at(b);
	return x === null || y === null ? null : x < y;
})(%q, %q, %q)`

// TestDashboardIsolatesClientNames: a client's name went into the heading and the admin's client
// picker as bare text. A Hebrew name beginning with digits, "24 חנות", had its digits drawn
// on the left, after "paysplit ·", where in a right-to-left name they come last; and in the
// picker's "name (id)" an ID beginning with digits ("42-…") was drawn inside the name's
// right-to-left stretch, left of it. A monitor's name in the admin's list of firing alerts had
// the heading's trouble. The heading and the alert now hold the name in a <bdi>, and the option
// its name between FSI and PDI (an option holds text only).
func TestDashboardIsolatesClientNames(t *testing.T) {
	a := newAPI(t, nil)
	b := newBrowser(t)
	const name = "24 חנות"
	id := uniqueID("42")
	code, body := a.json(req{method: http.MethodPut, path: "/api/v1/admin/clients/" + id, key: adminKey,
		body: map[string]any{"name": name, "default_currency": "usd"}})
	require.Equal(t, http.StatusCreated, code, body)
	monitorName := fmt.Sprintf("24 חנות %d", time.Now().UnixNano()%1e6)
	code, body = a.json(req{method: http.MethodPost, path: "/api/v1/admin/monitors", key: adminKey, body: map[string]any{
		"name": monitorName, "kind": "held_leg_age", "days": 1}})
	require.Equal(t, http.StatusCreated, code, body)
	_, err := monitor.NewStore(a.pool, ledger.New(a.pool)).Apply(t.Context(), int64(body["id"].(float64)),
		monitor.Result{Status: monitor.StatusFiring, Summary: "held too long", Value: 1}, time.Now())
	require.NoError(t, err)

	b.login(a.url+"/", adminKey)
	b.pickClient(id)

	// The heading: the name alone in its isolate, and drawn right to left, its digits last.
	require.Equal(t, name, eval[string](b, `(e => e ? e.textContent : '')(document.querySelector('#client-name bdi'))`), "the name is in a <bdi>")
	rendered := eval[*bool](b, fmt.Sprintf(leftOf, "#client-name", "חנות", "24"))
	require.NotNil(t, rendered, "both parts of the name are in the heading")
	require.True(t, *rendered, "the name's digits are drawn at its end, right of its letters")

	// The picker's option: the name isolated, the ID after it.
	option := fmt.Sprintf(`document.querySelector('#client-picker option[value=%q]').textContent`, id)
	require.Equal(t, "\u2068"+name+"\u2069 ("+id+")", eval[string](b, option))
	// A closed select draws its option's text as a line of the page does: laid out in one, the
	// ID is right of the name.
	_ = eval[bool](b, fmt.Sprintf(`(() => { const p = document.createElement('p'); p.id = 'option-probe'; p.textContent = %s; document.body.append(p); return true; })()`, option))
	rendered = eval[*bool](b, fmt.Sprintf(leftOf, "#option-probe", "חנות", id))
	require.NotNil(t, rendered)
	require.True(t, *rendered, "the ID is drawn right of the name, not inside its right-to-left stretch")
	_ = eval[bool](b, `(document.getElementById('option-probe').remove(), true)`)

	// The firing alert: its monitor's name in a <bdi>, drawn right to left.
	b.waitFor(fmt.Sprintf(`[...document.querySelectorAll('#alerts-list li')].some(li => li.textContent.includes(%q))`, monitorName))
	_ = eval[bool](b, fmt.Sprintf(`([...document.querySelectorAll('#alerts-list li')].find(li => li.textContent.includes(%q)).id = 'alert-probe', true)`, monitorName))
	require.Equal(t, monitorName, eval[string](b, `(e => e ? e.textContent : '')(document.querySelector('#alert-probe bdi'))`), "the monitor's name is in a <bdi>")
	rendered = eval[*bool](b, fmt.Sprintf(leftOf, "#alert-probe", "חנות", "24"))
	require.NotNil(t, rendered)
	require.True(t, *rendered, "the monitor name's leading digits are drawn right of its letters")

	require.Empty(t, b.axe(), "the page with a right-to-left name")
	b.noPageErrors()
}
