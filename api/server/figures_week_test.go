package server_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"paysplit/activities"
	"paysplit/internal/kpi"
	"paysplit/internal/ledger"
	"paysplit/internal/money"
	ipayment "paysplit/internal/payment"
	"paysplit/internal/paypalevent"
	"paysplit/internal/report"
	"paysplit/internal/report/reporttest"
	"paysplit/internal/store"
	"paysplit/internal/stripeevent"
	"paysplit/workflows/payment"
)

// weekFigures are one currency's money as every surface states it.
type weekFigures struct {
	Payments, Gross, Refunds, DisputesLost, Commission, Vendor, Affiliate, Unsplit int64
}

func (f *weekFigures) add(g weekFigures) {
	f.Payments += g.Payments
	f.Gross += g.Gross
	f.Refunds += g.Refunds
	f.DisputesLost += g.DisputesLost
	f.Commission += g.Commission
	f.Vendor += g.Vendor
	f.Affiliate += g.Affiliate
	f.Unsplit += g.Unsplit
}

// num reads a JSON number of an answer as an int64.
func num(v any) int64 {
	f, ok := v.(float64)
	if !ok {
		panic(fmt.Sprintf("not a number: %#v", v))
	}
	return int64(f)
}

// TestWeekFiguresAgreeOnEverySurface: a JPY client with USD on the side has a week of payments
// made through the real stack (webhooks, Temporal, stripe-mock, the PayPal fake, the ledger):
// payments on both sides of the week's local midnights and of a UTC midnight, a partial refund, a
// full refund, lost disputes (one after a partial refund), a payment waiting for its order (not
// split yet), affiliate shares, payments in USD (one by PayPal, made before the week's end and
// completed after it). What each payment is (the admin API's detail, its legs) and what the
// customers got back (the refunds sent) decide what every surface must say for the payments its
// window selects:
//   - the weekly report (report.Data from GenerateReport, payments captured in the client's
//     zone's week), its tiles and its PDF's text;
//   - the client API's revenue over UTC days, per day and in total, and the payouts list of the
//     same days;
//   - the client API's KPIs (storefront revenue: gross less the customers' refunds, lost
//     disputes not among them; commission);
//   - the admin API's payments search, whose from/to instants are the report's week;
//   - the ledger's payables (balances now, the balances list, summed as of now) against the
//     legs still owed;
//   - the dashboard's tiles, revenue table and chart against the revenue API and the KPIs,
//     formatted as the report.
//
// The report's week is cut at the zone's midnight and the API's days at UTC midnight: they are
// compared over the same payments, not the same dates. Tokyo's week starts on a UTC Sunday, Los
// Angeles' on a UTC Monday morning.
func TestWeekFiguresAgreeOnEverySurface(t *testing.T) {
	for _, tc := range []struct{ zone, tag string }{{"Asia/Tokyo", "tokyo"}, {"America/Los_Angeles", "la"}} {
		t.Run(tc.tag, func(t *testing.T) { weekFiguresAgree(t, tc.zone, tc.tag) })
	}
}

func weekFiguresAgree(t *testing.T, zone, tag string) {
	s := newStack(t, payment.Settings{SettleWindow: 0})
	ctx := context.Background()
	c := "figs-" + tag
	pi := func(name string) string { return "pi_" + tag + "_" + name }
	vendor, aff := c+"-vendor", c+"-aff"
	for _, put := range []struct {
		path string
		body map[string]any
	}{
		{"/api/v1/admin/clients/" + c, map[string]any{"name": "東京ショップ", "default_currency": "jpy"}},
		{"/api/v1/admin/payees/" + vendor, map[string]any{"client_id": c, "kind": "vendor", "stripe_account": "acct_vendor1", "paypal_receiver": "vendor@example.com"}},
		{"/api/v1/admin/payees/" + aff, map[string]any{"client_id": c, "kind": "affiliate", "stripe_account": "acct_affiliate1", "paypal_receiver": "affiliate@example.com"}},
	} {
		code, out := s.do(http.MethodPut, put.path, put.body, adminKey)
		require.Contains(t, []int{http.StatusOK, http.StatusCreated}, code, "%s: %v", put.path, out)
	}
	code, out := s.do(http.MethodPost, "/api/v1/admin/clients/"+c+"/split-rules", map[string]any{"platform_bps": 1000, "affiliate_bps": 500}, adminKey)
	require.Equal(t, http.StatusCreated, code, out)
	loc, err := time.LoadLocation(zone)
	require.NoError(t, err)
	_, err = s.Store.PutReportSettings(ctx, store.ReportSettings{ClientID: c, TimeZone: zone, Enabled: true})
	require.NoError(t, err)

	// The last week that ended in the zone an hour ago or more (the PayPal capture completes half
	// an hour after it).
	week := report.LastCompleteWeek(time.Now().Add(-time.Hour), loc)
	start, end := week.Start(loc), week.End(loc)
	utcMon := week.Monday() // the week's Monday, 00:00 UTC

	type pay struct {
		pi       string
		paypal   bool
		at       time.Time
		cur      string
		amount   int64
		unsplit  bool
		inWeek   bool
		describe string
	}
	pays := []pay{
		{pi("before"), false, start.Add(-time.Second), "jpy", 5001, false, false, "Sunday 23:59:59 local, the week before"},
		{pi("first"), false, start, "jpy", 12345, false, true, "Monday 00:00:00 local"},
		{pi("utc_eve"), false, utcMon.AddDate(0, 0, 2).Add(-time.Second), "jpy", 9999, false, true, "Tuesday 23:59:59 UTC, partly refunded"},
		{pi("utc_mid"), false, utcMon.AddDate(0, 0, 2), "jpy", 30001, false, true, "Wednesday 00:00:00 UTC"},
		{pi("refdisp"), false, utcMon.AddDate(0, 0, 2).Add(12 * time.Hour), "jpy", 7000, false, true, "Wednesday, partly refunded, then a dispute of it all lost"},
		{pi("dispute"), false, utcMon.AddDate(0, 0, 3).Add(7 * time.Hour), "jpy", 7777, false, true, "Thursday, a dispute lost"},
		{pi("refund"), false, utcMon.AddDate(0, 0, 4).Add(3 * time.Hour), "jpy", 54321, false, true, "Friday, refunded in full"},
		{pi("waits"), false, utcMon.AddDate(0, 0, 5).Add(14*time.Hour + 59*time.Minute), "jpy", 8888, true, true, "Saturday, its order not there yet"},
		{pi("usd"), false, utcMon.AddDate(0, 0, 3).Add(20 * time.Hour), "usd", 11000, false, true, "Thursday, in USD"},
		{"CAP" + strings.ToUpper(tag) + "PENDING", true, end.Add(-10 * time.Minute), "usd", 11000, false, true, "PayPal, made Sunday 23:50 local, completed in the next week"},
		{pi("last"), false, end.Add(-time.Second), "jpy", 11111, false, true, "Sunday 23:59:59 local, the week's last second"},
		{pi("after"), false, end, "jpy", 6543, false, false, "Monday 00:00:00 local, the next week"},
	}
	wfID := func(p pay) string {
		if p.paypal {
			return payment.WorkflowID("paypal", p.pi)
		}
		return payment.WorkflowID("stripe", p.pi)
	}
	for _, p := range pays {
		require.Equal(t, p.inWeek, !p.at.Before(start) && p.at.Before(end), p.describe)
		if p.paypal {
			// Completed half an hour after it was made (PENDING first): it counts when PayPal
			// made it, as PayPal's own lists count it.
			cp := paypalevent.Capture{EventID: "WH-CAP-" + p.pi, CaptureID: p.pi, Currency: money.USD, Amount: p.amount, Fee: 433,
				Made: p.at, Created: p.at.Add(30 * time.Minute), Metadata: map[string]string{
					"client_id": c, "order_id": "order-" + p.pi, "vendor_id": vendor, "affiliate_id": aff,
					"subtotal": "10000", "tax": "800", "shipping": "500", "discount": "300", "platform": "woocommerce"}}
			code, out := s.PayPalWebhook(cp.Body())
			forwardedAfter(s, "paypal", cp.Body(), code, out)
			require.Equal(t, http.StatusOK, code, out)
			require.Equal(t, ipayment.StatusPaid, s.result(payment.WorkflowID("paypal", p.pi)).Status, p.describe)
			continue
		}
		ev := stripeevent.Capture{EventID: "evt_" + p.pi, PaymentIntent: p.pi, Charge: "ch_" + p.pi, Currency: p.cur, Amount: p.amount, Created: p.at,
			Metadata: map[string]string{"client_id": c, "order_id": "order-" + p.pi, "vendor_id": vendor, "affiliate_id": aff,
				"subtotal": strconv.FormatInt(p.amount-1300, 10), "tax": "1000", "shipping": "500", "discount": "200", "platform": "shopify"}}
		if p.unsplit {
			ev.Metadata = map[string]string{"client_id": c, "order_id": "order-" + p.pi}
		}
		code, out := s.webhook(stripeevent.Sign(ev.Body(), webhookSecret, time.Now()))
		require.Equal(t, http.StatusOK, code, out)
		id := payment.WorkflowID("stripe", p.pi)
		if p.unsplit {
			s.AwaitStatus(id, 30*time.Second, ipayment.StatusAwaitingMetadata)
			continue
		}
		require.Equal(t, ipayment.StatusPaid, s.result(id).Status, p.describe)
	}
	send := func(body []byte) {
		t.Helper()
		code, out := s.webhook(stripeevent.Sign(body, webhookSecret, time.Now()))
		require.Equal(t, http.StatusOK, code, out)
	}
	at := func(pi string) time.Time {
		for _, p := range pays {
			if p.pi == pi {
				return p.at
			}
		}
		panic(pi)
	}
	// A partial refund, a full refund, a dispute lost, a dispute lost after a partial refund.
	// customerRefunds is what Stripe says the customers got back (amount_refunded), lost
	// disputes not among them: what storefront revenue subtracts.
	customerRefunds := map[string]int64{pi("utc_eve"): 3333, pi("refund"): 54321, pi("refdisp"): 2000}
	send(stripeevent.Refund{EventID: "evt_" + tag + "_part_r", PaymentIntent: pi("utc_eve"), Charge: "ch_" + pi("utc_eve"), Currency: "jpy", Amount: 9999, AmountRefunded: 3333,
		Created: at(pi("utc_eve")).Add(time.Hour)}.Body())
	require.Equal(t, ipayment.StatusPartiallyRefunded, s.result(payment.WorkflowID("stripe", pi("utc_eve"))).Status)
	send(stripeevent.Refund{EventID: "evt_" + tag + "_full_r", PaymentIntent: pi("refund"), Charge: "ch_" + pi("refund"), Currency: "jpy", Amount: 54321, AmountRefunded: 54321,
		Created: at(pi("refund")).Add(time.Hour)}.Body())
	require.Equal(t, ipayment.StatusRefunded, s.result(payment.WorkflowID("stripe", pi("refund"))).Status)
	send(stripeevent.Refund{EventID: "evt_" + tag + "_refdisp_r", PaymentIntent: pi("refdisp"), Charge: "ch_" + pi("refdisp"), Currency: "jpy", Amount: 7000, AmountRefunded: 2000,
		Created: at(pi("refdisp")).Add(time.Hour)}.Body())
	require.Equal(t, ipayment.StatusPartiallyRefunded, s.result(payment.WorkflowID("stripe", pi("refdisp"))).Status)
	for _, id := range []string{pi("dispute"), pi("refdisp")} {
		amount := int64(7777)
		if id == pi("refdisp") {
			amount = 7000
		}
		for _, d := range []stripeevent.Dispute{
			{EventID: "evt_" + id + "_c", Type: "charge.dispute.created", Status: "needs_response"},
			{EventID: "evt_" + id + "_l", Type: "charge.dispute.closed", Status: "lost"},
		} {
			d.Dispute, d.PaymentIntent, d.Charge, d.Currency, d.Amount, d.Created = "dp_"+id, id, "ch_"+id, "jpy", amount, at(id).Add(2*time.Hour)
			d.Funds = []stripeevent.DisputeFunds{{ID: "txn_" + id + "_w", Amount: -amount, Fee: 1500}}
			send(d.Body())
			s.result(payment.WorkflowID("stripe", id))
		}
	}

	// What each payment is, from the admin API's detail: its figures, and what its legs still owe
	// each payee (share net of refunds, less what was sent net of reversals).
	truth := map[string]weekFigures{}         // by payment intent
	curOf := map[string]string{}              // by payment intent
	owedLeft := map[string]map[string]int64{} // account -> currency -> still owed
	legsLeft := map[string]map[string]int64{} // payment intent -> account -> still owed
	for _, p := range pays {
		id := wfID(p)
		code, v := s.do(http.MethodGet, "/api/v1/admin/payments/"+id, nil, adminKey)
		require.Equal(t, http.StatusOK, code, v)
		require.Equal(t, p.cur, v["currency"], p.describe)
		require.Equal(t, []any{c, "order-" + p.pi}, []any{v["client_id"], v["order_id"]}, "%s: the payment's client and order", p.describe)
		at, err := time.Parse(time.RFC3339Nano, v["captured_at"].(string))
		require.NoError(t, err)
		require.True(t, at.Equal(p.at), "%s: captured at %s, not %s", p.describe, at, p.at)
		f := weekFigures{Payments: 1, Gross: num(v["gross"]), Refunds: num(v["refunded"]), DisputesLost: num(v["disputes_lost"])}
		legs := v["legs"].([]any)
		if len(legs) == 0 {
			f.Unsplit = f.Gross - f.Refunds
		}
		for _, l := range legs {
			l := l.(map[string]any)
			net := num(l["amount"]) - num(l["refunded"])
			left := net - (num(l["transferred"]) - num(l["reversed"]))
			var account string
			switch l["party"] {
			case "platform":
				f.Commission += net
			case "vendor":
				f.Vendor += net
				account = ledger.VendorPayable(l["payee_id"].(string))
			case "affiliate":
				f.Affiliate += net
				account = ledger.AffiliatePayable(l["payee_id"].(string))
			}
			if account != "" {
				if owedLeft[account] == nil {
					owedLeft[account] = map[string]int64{}
				}
				owedLeft[account][p.cur] += left
				if legsLeft[p.pi] == nil {
					legsLeft[p.pi] = map[string]int64{}
				}
				legsLeft[p.pi][account] += left
			}
		}
		require.Equal(t, customerRefunds[p.pi], f.Refunds-f.DisputesLost, "%s: refunds less lost disputes are the customers' refunds", p.describe)
		require.Equal(t, f.Gross-f.Refunds, f.Commission+f.Vendor+f.Affiliate+f.Unsplit, "%s: gross less refunds is what the parties and 'not split yet' have: %+v", p.describe, f)
		// The platform's share of each payment is what the books credit the platform with.
		require.Equal(t, f.Commission, -s.paymentBalances(id)[ledger.PlatformRevenue], "%s: commission vs platform:revenue", p.describe)
		truth[p.pi], curOf[p.pi] = f, p.cur
	}
	// The week is what the test made it: every kind of payment, with money on each line.
	require.Equal(t, weekFigures{Payments: 1, Gross: 9999, Refunds: 3333}, weekFigures{Payments: 1, Gross: truth[pi("utc_eve")].Gross, Refunds: truth[pi("utc_eve")].Refunds})
	require.EqualValues(t, 7777, truth[pi("dispute")].DisputesLost)
	require.EqualValues(t, 54321, truth[pi("refund")].Refunds)
	require.EqualValues(t, 8888, truth[pi("waits")].Unsplit)
	require.Positive(t, truth[pi("first")].Affiliate)

	// sumOver sums the payments pick selects, per currency.
	sumOver := func(pick func(pay) bool) map[string]weekFigures {
		out := map[string]weekFigures{}
		for _, p := range pays {
			if pick(p) {
				f := out[p.cur]
				f.add(truth[p.pi])
				out[p.cur] = f
			}
		}
		return out
	}
	inWeek := sumOver(func(p pay) bool { return p.inWeek })

	// The admin API's payments search over the week's instants selects the week's payments.
	q := url.Values{"client_id": {c}, "from": {start.Format(time.RFC3339)}, "to": {end.Format(time.RFC3339)}, "limit": {"100"}}
	code, out = s.do(http.MethodGet, "/api/v1/admin/payments?"+q.Encode(), nil, adminKey)
	require.Equal(t, http.StatusOK, code, out)
	listed := map[string]bool{}
	for _, v := range out["payments"].([]any) {
		listed[v.(map[string]any)["payment_id"].(string)] = true
		require.Equal(t, c, v.(map[string]any)["client_id"], "a payment the search by client lists names its client")
	}
	for _, p := range pays {
		require.Equal(t, p.inWeek, listed[p.pi], "admin payments search of the week: %s", p.describe)
	}

	// The weekly report, generated as the schedule's run would (KPIs synced first).
	kpiDays := kpi.Days(utcMon.AddDate(0, 0, -8), store.DayOf(end))
	k := &activities.KPI{Store: s.Store}
	_, err = k.SyncKPISource(ctx, activities.SyncKPISourceInput{ClientID: c, Source: kpi.SourceLedger, Currency: money.JPY,
		From: kpiDays[0], To: kpiDays[len(kpiDays)-1], Today: kpi.DayOf(time.Now())})
	require.NoError(t, err)
	rep := &activities.Reports{Store: s.Store}
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestActivityEnvironment()
	env.RegisterActivity(rep)
	_, err = env.ExecuteActivity(rep.GenerateReport, activities.GenerateReportInput{ClientID: c, Week: week.String(), Force: true})
	require.NoError(t, err)
	delivery, err := s.Store.GetReportDelivery(ctx, c, week.String())
	require.NoError(t, err)
	d := delivery.Data
	reported := map[string]weekFigures{}
	for _, p := range d.Payments {
		reported[string(p.Currency)] = weekFigures{Payments: p.Count, Gross: p.Gross, Refunds: p.Refunded, Commission: p.Platform, Vendor: p.Vendor,
			Affiliate: p.Affiliate, Unsplit: p.Unsplit, DisputesLost: inWeek[string(p.Currency)].DisputesLost}
	}
	require.Equal(t, inWeek, reported, "the report's payments vs the week's payments (admin API detail)")
	main, ok := d.MainPayments()
	require.True(t, ok)
	require.Equal(t, money.JPY, main.Currency)
	tiles := map[string]string{}
	for _, tile := range d.Tiles() {
		tiles[tile.Label] = tile.Value
	}
	require.Equal(t, strconv.FormatInt(inWeek["jpy"].Payments, 10), tiles["Payments captured"])
	require.Equal(t, report.FormatMoney(inWeek["jpy"].Commission, money.JPY), tiles["Commission earned"])
	// The PDF the client reads says the same: the split's table and the other currency.
	pdf, err := report.Render(*d)
	require.NoError(t, err)
	text := reporttest.Text(t, pdf.Bytes)
	jw := inWeek["jpy"]
	for _, line := range []string{
		"Gross " + report.FormatMoney(jw.Gross, money.JPY), "Refunded " + report.FormatMoney(jw.Refunds, money.JPY),
		"Vendors " + report.FormatMoney(jw.Vendor, money.JPY), "Platform (commission) " + report.FormatMoney(jw.Commission, money.JPY),
		"Affiliates " + report.FormatMoney(jw.Affiliate, money.JPY), "Not split yet " + report.FormatMoney(jw.Unsplit, money.JPY),
		"Also captured: " + report.FormatMoney(inWeek["usd"].Gross, money.USD) + " in 2 payments",
	} {
		require.Contains(t, text, line, "the PDF's text")
	}
	// What the report owes the payees is the week's vendor and affiliate shares.
	owed := map[string]weekFigures{}
	for _, po := range d.Payouts {
		f := owed[string(po.Currency)]
		switch po.Party {
		case "vendor":
			f.Vendor += po.Owed
		case "affiliate":
			f.Affiliate += po.Owed
		}
		owed[string(po.Currency)] = f
	}
	for cur, f := range inWeek {
		require.Equal(t, weekFigures{Vendor: f.Vendor, Affiliate: f.Affiliate}, owed[cur], "%s: the report's payouts table vs its split", cur)
	}

	// The week before has the payment of its last second.
	prevWeek := sumOver(func(p pay) bool { return !p.at.Before(week.Prev().Start(loc)) && p.at.Before(start) })
	require.Len(t, d.PreviousPayments, 1)
	require.Equal(t, prevWeek["jpy"], weekFigures{Payments: d.PreviousPayments[0].Count, Gross: d.PreviousPayments[0].Gross, Refunds: d.PreviousPayments[0].Refunded,
		Commission: d.PreviousPayments[0].Platform, Vendor: d.PreviousPayments[0].Vendor, Affiliate: d.PreviousPayments[0].Affiliate, Unsplit: d.PreviousPayments[0].Unsplit})
	// The payment not split yet is named in the notes with its amount, as the split chart shows it.
	require.Contains(t, d.NotesAll(), "1 payment waiting for order details or a decision (JPY), not split yet: "+report.FormatMoney(inWeek["jpy"].Unsplit, money.JPY)+".")
	// What the report says is still owed each payee for the week is what those legs still owe.
	weekLeft := map[string]int64{}
	for _, p := range pays {
		if p.inWeek {
			for account, byCur := range legsLeft[p.pi] {
				weekLeft[account+" "+p.cur] += byCur
			}
		}
	}
	reportLeft := map[string]int64{}
	for _, po := range d.Payouts {
		account := ledger.VendorPayable(po.PayeeID)
		if po.Party == "affiliate" {
			account = ledger.AffiliatePayable(po.PayeeID)
		}
		reportLeft[account+" "+string(po.Currency)] += po.Outstanding() + po.Held + po.Failed
	}
	require.Equal(t, weekLeft, reportLeft, "the report's outstanding, held and failed vs the week's legs still owed")

	// The client API, over UTC days: the days that hold the week's instants, from its start's UTC
	// day to its end's (in Tokyo Sunday to Sunday, in Los Angeles Monday to Monday), hold two
	// payments of the weeks around it too.
	_, key := clientKey(t, s, c)
	from, to := store.DayOf(start), store.DayOf(end)
	inDays := func(from, to time.Time) func(p pay) bool {
		return func(p pay) bool { return !p.at.Before(from) && p.at.Before(to.AddDate(0, 0, 1)) }
	}
	revenue := func(from, to time.Time) (map[string]weekFigures, map[string]map[string]weekFigures, map[string]any) {
		t.Helper()
		code, body := s.do(http.MethodGet, "/api/v1/revenue?from="+from.Format(time.DateOnly)+"&to="+to.Format(time.DateOnly), nil, key)
		require.Equal(t, http.StatusOK, code, body)
		read := func(v map[string]any) weekFigures {
			return weekFigures{num(v["payments"]), num(v["gross"]), num(v["refunds"]), num(v["disputes_lost"]), num(v["commission"]),
				num(v["vendor_payouts"]), num(v["affiliate_payouts"]), num(v["unsplit"])}
		}
		totals, days := map[string]weekFigures{}, map[string]map[string]weekFigures{}
		for _, v := range body["totals"].([]any) {
			totals[v.(map[string]any)["currency"].(string)] = read(v.(map[string]any))
		}
		for _, v := range body["days"].([]any) {
			v := v.(map[string]any)
			day := v["day"].(string)
			if days[day] == nil {
				days[day] = map[string]weekFigures{}
			}
			days[day][v["currency"].(string)] = read(v)
		}
		return totals, days, body
	}
	totals, days, body := revenue(from, to)
	require.Equal(t, "jpy", body["default_currency"])
	require.Equal(t, []any{"jpy", "usd"}, body["currencies"])
	require.Equal(t, map[string]any{"jpy": float64(0), "usd": float64(2)}, body["exponents"])
	require.Equal(t, sumOver(inDays(from, to)), totals, "revenue API totals vs the payments of its UTC days")
	for day, byCur := range days {
		d0, err := time.Parse(time.DateOnly, day)
		require.NoError(t, err)
		want := sumOver(inDays(d0, d0))
		for cur, f := range byCur {
			require.Equal(t, want[cur], f, "revenue API %s %s vs that UTC day's payments", day, cur)
		}
	}
	// The same payments, counted by both: the days' sums less the two outside the zone's week
	// are the report's.
	outside := sumOver(func(p pay) bool { return !p.inWeek && inDays(from, to)(p) })
	require.EqualValues(t, 2, outside["jpy"].Payments)
	for cur, f := range totals {
		f.Payments -= outside[cur].Payments
		f.Gross -= outside[cur].Gross
		f.Refunds -= outside[cur].Refunds
		f.DisputesLost -= outside[cur].DisputesLost
		f.Commission -= outside[cur].Commission
		f.Vendor -= outside[cur].Vendor
		f.Affiliate -= outside[cur].Affiliate
		f.Unsplit -= outside[cur].Unsplit
		require.Equal(t, reported[cur], f, "%s: revenue API days less the payments outside the zone's week vs the report", cur)
	}

	// The payouts list of the same days: its legs' shares are the revenue's payouts.
	listedOwed := map[string]weekFigures{}
	listedLeft := map[string]map[string]int64{} // account -> currency
	cursor := ""
	for {
		path := "/api/v1/payouts?from=" + from.Format(time.DateOnly) + "&to=" + to.Format(time.DateOnly) + "&limit=3"
		if cursor != "" {
			path += "&cursor=" + url.QueryEscape(cursor)
		}
		code, page := s.do(http.MethodGet, path, nil, key)
		require.Equal(t, http.StatusOK, code, page)
		for _, l := range page["payouts"].([]any) {
			l := l.(map[string]any)
			cur := l["currency"].(string)
			f := listedOwed[cur]
			share := num(l["amount"]) - num(l["refunded"])
			account := ledger.VendorPayable(l["payee_id"].(string))
			switch l["party"] {
			case "vendor":
				f.Vendor += share
			case "affiliate":
				f.Affiliate += share
				account = ledger.AffiliatePayable(l["payee_id"].(string))
			}
			listedOwed[cur] = f
			if listedLeft[account] == nil {
				listedLeft[account] = map[string]int64{}
			}
			listedLeft[account][cur] += share - (num(l["transferred"]) - num(l["reversed"]))
		}
		next, _ := page["next_cursor"].(string)
		if next == "" {
			break
		}
		cursor = next
	}
	for cur, f := range totals {
		require.Equal(t, weekFigures{Vendor: f.Vendor, Affiliate: f.Affiliate}, listedOwed[cur], "%s: payouts list vs revenue API payouts", cur)
	}

	// Storefront revenue (KPIs) over the week's UTC days: gross less the customers' refunds, lost
	// disputes not among them; the report's days say the same.
	storefront := func(from, to time.Time) int64 {
		var sum int64
		for _, p := range pays {
			if p.cur == "jpy" && inDays(from, to)(p) {
				sum += p.amount - customerRefunds[p.pi]
			}
		}
		return sum
	}
	weekRevenue := storefront(utcMon, utcMon.AddDate(0, 0, 6))
	code, kb := s.do(http.MethodGet, "/api/v1/kpis?from="+utcMon.Format(time.DateOnly)+"&to="+utcMon.AddDate(0, 0, 6).Format(time.DateOnly), nil, key)
	require.Equal(t, http.StatusOK, code, kb)
	kt := kb["totals"].(map[string]any)
	require.EqualValues(t, 7, kt["revenue_days"])
	require.Equal(t, []any{map[string]any{"currency": "jpy", "amount": float64(weekRevenue)}}, kt["revenue"],
		"KPI storefront revenue vs the week's UTC days' payments")
	require.Equal(t, weekRevenue, report.Sum(d.Days).Revenue, "the report's storefront revenue vs the KPIs")
	for i, kd := range kb["days"].([]any) {
		kd := kd.(map[string]any)
		day, err := time.Parse(time.DateOnly, kd["day"].(string))
		require.NoError(t, err)
		require.Equal(t, true, kd["has_revenue"], kd["day"])
		require.Equal(t, storefront(day, day), num(kd["revenue"]), "KPI revenue of %s", kd["day"])
		_, revDays, _ := revenue(day, day)
		require.Equal(t, revDays[kd["day"].(string)]["jpy"].Commission, num(kd["commission"]), "KPI commission of %s vs the revenue API's", kd["day"])
		require.Equal(t, kd["day"], d.Days[i].Date)
		require.Equal(t, num(kd["revenue"]), d.Days[i].Revenue, "the report's storefront revenue of %s", kd["day"])
	}

	// The ledger: what the books owe each payee is what its legs still owe, by both endpoints.
	code, all := s.do(http.MethodGet, "/api/v1/admin/ledger/balances", nil, adminKey)
	require.Equal(t, http.StatusOK, code, all)
	global := map[string]map[string]int64{}
	for _, b := range all["balances"].([]any) {
		b := b.(map[string]any)
		if owedLeft[b["account"].(string)] != nil {
			if global[b["account"].(string)] == nil {
				global[b["account"].(string)] = map[string]int64{}
			}
			global[b["account"].(string)][b["currency"].(string)] = -num(b["balance"])
		}
	}
	for account, want := range owedLeft {
		code, ab := s.do(http.MethodGet, "/api/v1/admin/ledger/balances/"+account, nil, adminKey)
		require.Equal(t, http.StatusOK, code, ab)
		got := map[string]int64{}
		for _, b := range ab["balances"].([]any) {
			b := b.(map[string]any)
			got[b["currency"].(string)] = -num(b["balance"])
		}
		require.Equal(t, want, got, "%s: the ledger's balance vs the legs still owed", account)
		// Summed from the journal (as_of) rather than kept as postings are appended: the same.
		asOf := time.Now().UTC().Format(time.RFC3339Nano) // past: after every entry of the test
		code, ab = s.do(http.MethodGet, "/api/v1/admin/ledger/balances/"+account+"?as_of="+url.QueryEscape(asOf), nil, adminKey)
		require.Equal(t, http.StatusOK, code, ab)
		summed := map[string]int64{}
		for _, b := range ab["balances"].([]any) {
			b := b.(map[string]any)
			summed[b["currency"].(string)] = -num(b["balance"])
		}
		require.Equal(t, want, summed, "%s: the journal's balance as of now vs the legs still owed", account)
		require.Equal(t, want, global[account], "%s: the balances list vs the legs still owed", account)
		// The payouts list's days hold every payment of the test.
		require.Equal(t, want, listedLeft[account], "%s: the payouts list's legs vs the ledger", account)
	}

	// The dashboard, as the client sees it, over the same UTC days.
	b := newBrowser(t)
	b.login(s.api.URL+"/", key)
	b.waitLoaded(c)
	b.do(chromedp.Click(chromedp.CSS(`[data-period=custom]`)), chromedp.WaitVisible(chromedp.ID("custom-range")))
	require.True(t, eval[bool](b, fmt.Sprintf(`(() => { document.getElementById('from').value = %q; document.getElementById('to').value = %q; return true; })()`,
		from.Format(time.DateOnly), to.Format(time.DateOnly))))
	b.do(chromedp.Click(chromedp.CSS(`#custom-range button[type=submit]`)))
	b.waitFor(fmt.Sprintf(`document.body.dataset.loaded === %q`, c+"/"+from.Format(time.DateOnly)+"/"+to.Format(time.DateOnly)))
	jpy := totals["jpy"]
	shown := b.tiles()
	require.Equal(t, report.FormatMoney(jpy.Gross, money.JPY), shown["tile-gross"])
	require.Equal(t, report.FormatMoney(jpy.Commission, money.JPY), shown["tile-commission"])
	require.Equal(t, report.FormatMoney(jpy.Vendor, money.JPY), shown["tile-vendor-payouts"])
	require.Equal(t, report.FormatMoney(jpy.Refunds, money.JPY), shown["tile-refunds"])
	require.Equal(t, report.FormatMoney(storefront(from, to), money.JPY), shown["tile-revenue"], "Store revenue: refunds only, not lost disputes")
	also := eval[string](b, `document.getElementById('also-captured').hidden ? '' : document.getElementById('also-captured').textContent`)
	require.Contains(t, also, "Also captured: "+report.FormatMoney(totals["usd"].Gross, money.USD)+" in 2 payments")
	foot := eval[[]string](b, `[...document.querySelector('#revenue-table tfoot tr').cells].map(c => c.textContent)`)
	require.Equal(t, []string{"Total", report.FormatMoney(jpy.Gross, money.JPY), report.FormatMoney(jpy.Commission, money.JPY),
		report.FormatMoney(jpy.Vendor, money.JPY), report.FormatMoney(jpy.Affiliate, money.JPY), report.FormatMoney(jpy.Refunds, money.JPY),
		report.FormatMoney(jpy.DisputesLost, money.JPY), report.FormatMoney(jpy.Unsplit, money.JPY)}, foot, "the revenue table's total row")
	chart := eval[*chartData](b, fmt.Sprintf(readChart, "revenue-chart"))
	require.NotNil(t, chart)
	for i, day := range chart.Labels {
		want := days[day]["jpy"]
		require.Equal(t, want.Gross, chart.Sets["Gross"][i], "%s: charted gross", day)
		require.Equal(t, want.Commission, chart.Sets["Commission"][i], "%s: charted commission", day)
		require.Equal(t, want.Unsplit, chart.Sets["Not split yet"][i], "%s: charted not split yet", day)
	}
	b.noPageErrors()
}

// TestPaymentParkedWithoutItsOrderIsItsClients: a payment whose order never came, or whose
// metadata cannot be split (an unknown platform), parks for an admin. The admin's search and stuck
// payouts of its client (the dashboard's attention card for that client) must list it under that
// client, and the client's revenue and weekly report count it as not split yet, with the note
// naming it. Filed under no client, it was in none of them: one parked for its metadata was until
// code path 18, which keeps the client its capture names on the record before the split.
func TestPaymentParkedWithoutItsOrderIsItsClients(t *testing.T) {
	// One look for the order, then the wait's end (a poll longer than the wait): the payment parks
	// a second after its capture. (Runs before code path 17 could miss the deadline with a shorter
	// poll and wait for ever: workflows/payment TestOrderWaitParksWhenItsSaveEndsPastTheDeadline.)
	s := newStack(t, payment.Settings{SettleWindow: 0, EnrichWait: time.Second, EnrichPoll: time.Minute})
	tests := []struct {
		name, client, pi string
		deliver          func(client, pi string) string
		reason           string
	}{
		{"its order never came", "figs-parked", "pi_figs_parked", s.captureWithoutItsOrder, "order metadata missing"},
		{"an unknown platform", "figs-ebay", "pi_figs_ebay", s.captureFromAnUnknownPlatform, `platform "ebay"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.client
			id := tt.deliver(c, tt.pi)
			rec := s.AwaitStatus(id, 30*time.Second, ipayment.StatusNeedsAttention)
			require.Contains(t, rec.Reason, tt.reason)

			code, found := s.do(http.MethodGet, "/api/v1/admin/payments?client_id="+c, nil, adminKey)
			require.Equal(t, http.StatusOK, code, found)
			require.Len(t, found["payments"], 1, "the admin's search by client")
			p := found["payments"].([]any)[0].(map[string]any)
			require.Equal(t, []any{id, c, "order-" + tt.pi}, []any{p["workflow_id"], p["client_id"], p["order_id"]})

			code, stuck := s.do(http.MethodGet, "/api/v1/admin/payouts?client_id="+c, nil, adminKey)
			require.Equal(t, http.StatusOK, code, stuck)
			require.Len(t, stuck["payments"], 1, "the client's stuck payouts")
			p = stuck["payments"].([]any)[0].(map[string]any)
			require.Equal(t, []any{id, c, "order-" + tt.pi}, []any{p["workflow_id"], p["client_id"], p["order_id"]})

			_, key := clientKey(t, s, c)
			day := rec.CapturedAt.UTC().Format(time.DateOnly)
			code, rev := s.do(http.MethodGet, "/api/v1/revenue?from="+day+"&to="+day, nil, key)
			require.Equal(t, http.StatusOK, code, rev)
			require.Len(t, rev["totals"], 1, rev)
			total := rev["totals"].([]any)[0].(map[string]any)
			require.Equal(t, []any{"usd", float64(1), float64(11000), float64(11000)}, []any{total["currency"], total["payments"], total["gross"], total["unsplit"]})

			start := store.DayOf(rec.CapturedAt)
			ps, err := s.Store.ReportPayments(t.Context(), c, start, start.AddDate(0, 0, 1))
			require.NoError(t, err)
			d := report.Data{Currency: money.USD, Payments: ps}
			require.Contains(t, d.NotesAll(), "1 payment waiting for order details or a decision (USD), not split yet: USD 110.00.")
		})
	}
}

// TestCancelWhileWaitingForTheOrder: an admin who knows a payment's order will never come cancels
// it through the API while it waits (code path 17); it was 409 until the payment parked, an hour
// later by default, and the run dropped such a command.
func TestCancelWhileWaitingForTheOrder(t *testing.T) {
	s := newStack(t, payment.Settings{SettleWindow: 0, EnrichWait: time.Hour, EnrichPoll: time.Minute})
	id := s.captureWithoutItsOrder("cancel-waiting", "pi_cancel_waiting")
	s.AwaitStatus(id, 30*time.Second, ipayment.StatusAwaitingMetadata)

	code, out := s.do(http.MethodPost, "/api/v1/admin/payments/"+id+"/cancel", nil, adminKey)
	require.Equal(t, http.StatusAccepted, code, out)
	rec := s.AwaitStatus(id, 30*time.Second, ipayment.StatusCancelled)
	require.Contains(t, rec.Reason, "while waiting for its order metadata")
	require.Empty(t, rec.Legs, "nothing was split or paid")
	// Made before the run asked any decision (0), and said to be checked: a run (code path 22)
	// that split and paid meanwhile drops it at a refused payout's decision, rather than take it
	// as the Temporal UI's command (no number) and compensate the payees it paid.
	cmds := s.commandsSent(id)
	require.Len(t, cmds, 1)
	require.Equal(t, payment.AdminCommand{Action: payment.ActionCancel, Actor: cmds[0].Actor, Checked: true}, cmds[0])
}

// captureWithoutItsOrder seeds client and delivers a Stripe capture of pi whose metadata names
// only the client and the order (order-<pi>), which never comes: its payment waits for it. It
// returns the payment's workflow ID.
func (s *stack) captureWithoutItsOrder(client, pi string) string {
	s.t.Helper()
	s.seed(client)
	ev := capture(client, pi)
	ev.Metadata = map[string]string{"client_id": client, "order_id": "order-" + pi}
	code, out := s.webhook(stripeevent.Sign(ev.Body(), webhookSecret, time.Now()))
	require.Equal(s.t, http.StatusOK, code, out)
	return payment.WorkflowID("stripe", pi)
}

// captureFromAnUnknownPlatform seeds client and delivers a Stripe capture of pi whose metadata is
// whole but names a platform paysplit does not know ("ebay"): its payment parks at once. It
// returns the payment's workflow ID.
func (s *stack) captureFromAnUnknownPlatform(client, pi string) string {
	s.t.Helper()
	s.seed(client)
	ev := capture(client, pi)
	ev.Metadata["platform"] = "ebay"
	code, out := s.webhook(stripeevent.Sign(ev.Body(), webhookSecret, time.Now()))
	require.Equal(s.t, http.StatusOK, code, out)
	return payment.WorkflowID("stripe", pi)
}
