// Command demo seeds two demo clients with payees, split rules and (under `make dev`) a GA4
// property served by cmd/devservices' GA4 fake through the admin API, then
// sends a handful of signed Stripe payments (one of them refunded, one per client captured last
// week) to the webhook endpoint, prints how each was split, and has last week's report of each
// client made and mailed to the dev mailbox. `make dev` runs it once the stack is up.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"paysplit/internal/money"
	"paysplit/internal/stripeevent"
)

type demo struct {
	api, key, secret string
	// ga4Dir is GA4_CREDENTIALS_DIR, where the dev GA4 fake's key is; empty (no GA4 fake, e.g.
	// the demo run against a stack of one's own) leaves the clients' KPI settings alone.
	ga4Dir string
	http   *http.Client
}

type client struct {
	id, name, currency string
	platformBps        int64
	affiliateBps       int64
	// ga4Property is the client's GA4 property; the dev stack's GA4 fake makes up traffic of
	// its own for each property.
	ga4Property string
}

var clients = []client{
	{"northwind", "Northwind Outfitters", "usd", 1000, 500, "100000001"},
	{"sakura", "Sakura Ceramics", "jpy", 1200, 300, "100000002"},
}

// ga4KeyFile is the service-account key cmd/devservices writes into GA4_CREDENTIALS_DIR.
const ga4KeyFile = "dev-service-account.json"

func main() {
	d := demo{
		api:    env("API_URL", "http://127.0.0.1:8080"),
		key:    env("ADMIN_API_KEY", "dev-admin-key"),
		secret: env("STRIPE_WEBHOOK_SECRET", "whsec_dev"),
		ga4Dir: os.Getenv("GA4_CREDENTIALS_DIR"),
		http:   &http.Client{Timeout: 15 * time.Second},
	}
	if err := d.run(); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func env(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func (d demo) run() error {
	now := time.Now()
	// Each client's last week, in its report settings' zone: a dev database keeps a zone an
	// admin set in an earlier session.
	weeks := map[string]string{}
	captures := map[string]time.Time{}
	for _, c := range clients {
		if err := d.seed(c); err != nil {
			return err
		}
		zone, err := d.reportZone(c)
		if err != nil {
			return err
		}
		weeks[c.id], captures[c.id] = lastWeekIn(now, zone)
	}
	run := time.Now().Unix()
	type sent struct {
		id       string
		client   client
		refunded bool
	}
	var payments []sent
	orders := []struct {
		client                            client
		subtotal, tax, shipping, discount int64
		affiliate                         bool
		// lastWeek captures the payment in the client's last week (lastWeekIn), so the report of
		// that week, which the demo has made (a week must have ended to be reported), has payments.
		lastWeek bool
	}{
		{clients[0], 10000, 800, 500, 300, true, false},
		{clients[0], 4999, 400, 0, 0, false, true},
		{clients[0], 25000, 2000, 1500, 2500, true, false},
		{clients[1], 12000, 1200, 800, 0, true, false},
		{clients[1], 3300, 330, 0, 300, false, true},
	}
	for i, o := range orders {
		pi := fmt.Sprintf("pi_demo%d_%d", run, i+1)
		md := map[string]string{
			"client_id": o.client.id, "order_id": fmt.Sprintf("%s-%d-%d", o.client.id, run, i+1), "vendor_id": o.client.id + "-vendor",
			"subtotal": fmt.Sprint(o.subtotal), "tax": fmt.Sprint(o.tax), "shipping": fmt.Sprint(o.shipping),
			"discount": fmt.Sprint(o.discount), "platform": []string{"shopify", "woocommerce", "tiktok", "instagram"}[i%4],
		}
		if o.affiliate {
			md["affiliate_id"] = o.client.id + "-affiliate"
		}
		captured := now
		if o.lastWeek {
			captured = captures[o.client.id]
		}
		ev := stripeevent.Capture{
			EventID: "evt_" + pi, PaymentIntent: pi, Charge: "ch_" + strings.TrimPrefix(pi, "pi_"), Currency: o.client.currency,
			Amount: o.subtotal - o.discount + o.tax + o.shipping, Metadata: md, Created: captured,
		}
		if err := d.webhook(ev.Body()); err != nil {
			return err
		}
		payments = append(payments, sent{id: "payment-stripe-" + pi, client: o.client, refunded: i == 2})
		if i == 2 {
			// Refund a quarter of the third payment once it is paid out.
			if err := d.await(payments[i].id); err != nil {
				return err
			}
			refund := stripeevent.Refund{EventID: "evt_re_" + pi, PaymentIntent: pi, Charge: ev.Charge, Currency: ev.Currency,
				Amount: ev.Amount, AmountRefunded: ev.Amount / 4, Created: time.Now()}
			if err := d.webhook(refund.Body()); err != nil {
				return err
			}
		}
	}
	fmt.Println("\nDemo payments (amounts in each currency's own units):")
	for _, p := range payments {
		if err := d.await(p.id); err != nil {
			return err
		}
		if p.refunded {
			if err := d.awaitStatus(p.id, "partially_refunded"); err != nil {
				return err
			}
		}
		if err := d.print(p.id); err != nil {
			return err
		}
	}
	// The KPI sync runs every KPI_SYNC_EVERY: sync now, so the dashboard shows today's revenue
	// from the books rather than nothing until the first scheduled run.
	for _, c := range clients {
		if _, err := d.call(http.MethodPost, "/api/v1/kpis/refresh?client_id="+c.id, nil); err != nil {
			return fmt.Errorf("refresh the KPIs of %s: %w", c.id, err)
		}
	}
	// The reports are a bonus: one refused (reports off, the zone changed while the demo ran) is
	// said and the demo goes on.
	fmt.Println()
	for _, c := range clients {
		week := weeks[c.id]
		if err := d.mailReport(c, week); err != nil {
			fmt.Printf("No report of %s for %s: %v\n", week, c.id, err)
			continue
		}
		fmt.Printf("Report %s of %s (with its payment captured last week) is on its way to the dev mailbox, http://127.0.0.1:8025\n", week, c.id)
	}
	fmt.Printf("\nSee them in the Temporal UI (search PaymentStatus, ClientId, OrderId) and at %s/api/v1/admin/payments\n", d.api)
	login := "ADMIN_API_KEY"
	if d.key == "dev-admin-key" { // the development default, not a secret
		login = fmt.Sprintf("the admin key %q", d.key)
	}
	fmt.Printf("Log in to the dashboard at %s/ with %s; the clients' KPIs were synced just now.\n", d.api, login)
	return nil
}

func (d demo) seed(c client) error {
	if _, err := d.call(http.MethodPut, "/api/v1/admin/clients/"+c.id, map[string]any{"name": c.name, "default_currency": c.currency}); err != nil {
		return err
	}
	for _, kind := range []string{"vendor", "affiliate"} {
		body := map[string]any{"client_id": c.id, "kind": kind, "stripe_account": "acct_demo" + strings.ReplaceAll(c.id, "-", "") + kind}
		if _, err := d.call(http.MethodPut, "/api/v1/admin/payees/"+c.id+"-"+kind, body); err != nil {
			return err
		}
	}
	rules, err := d.call(http.MethodGet, "/api/v1/admin/clients/"+c.id+"/split-rules", nil)
	if err != nil {
		return err
	}
	if len(rules["rules"].([]any)) == 0 {
		if _, err := d.call(http.MethodPost, "/api/v1/admin/clients/"+c.id+"/split-rules", map[string]any{"platform_bps": c.platformBps, "affiliate_bps": c.affiliateBps}); err != nil {
			return err
		}
	}
	return d.useGA4(c)
}

// useGA4 gives a client without a GA4 property the demo's, read with the dev GA4 fake's key, so
// the dashboard and the reports show visitors, new visitors and the bounce rate. The client's
// other KPI settings are kept, and so is a property an admin set in an earlier session.
func (d demo) useGA4(c client) error {
	if d.ga4Dir == "" {
		return nil
	}
	path := "/api/v1/admin/clients/" + c.id + "/kpi-settings"
	settings, err := d.call(http.MethodGet, path, nil)
	if err != nil {
		return err
	}
	if p, _ := settings["ga4_property_id"].(string); p != "" {
		return nil
	}
	settings = map[string]any{"ga4_property_id": c.ga4Property, "ga4_credentials_ref": "file:" + filepath.Join(d.ga4Dir, ga4KeyFile),
		"provider_revenue": settings["provider_revenue"], "sync_every_seconds": settings["sync_every_seconds"]}
	if _, err := d.call(http.MethodPut, path, settings); err != nil {
		return fmt.Errorf("GA4 property of %s: %w", c.id, err)
	}
	return nil
}

// lastWeekIn is the week the demo mails the report of for a client whose weeks are cut in zone
// (its report settings'), and when its backdated payment is captured: the week before now's
// there, which has ended there (a report is made of a week that has), at an instant of it that is
// also in the 7 complete UTC days before today (KPI days are UTC, and the hot window keeps those),
// so the report shows the payment in its storefront revenue too. The two always overlap: that
// week ended at most a week ago, and today began less than a day ago.
func lastWeekIn(now time.Time, zone *time.Location) (week string, captured time.Time) {
	local := now.In(zone)
	monday := time.Date(local.Year(), local.Month(), local.Day()-(int(local.Weekday())+6)%7, 0, 0, 0, 0, zone)
	today := now.UTC().Truncate(24 * time.Hour)
	from := later(monday.AddDate(0, 0, -7), today.AddDate(0, 0, -7))
	until := earlier(monday, today)
	captured = from.Add(until.Sub(from) / 2).Truncate(time.Second)
	if !captured.After(from) || !captured.Before(until) {
		captured = monday.Add(-12 * time.Hour) // only round a DST change: the week's Sunday noon
	}
	return isoWeek(captured.In(zone)), captured
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func isoWeek(t time.Time) string {
	y, w := t.ISOWeek()
	return fmt.Sprintf("%04d-W%02d", y, w)
}

// reportZone is the time zone the client's report weeks are cut in.
func (d demo) reportZone(c client) (*time.Location, error) {
	settings, err := d.call(http.MethodGet, "/api/v1/admin/clients/"+c.id+"/report-settings", nil)
	if err != nil {
		return nil, err
	}
	name, _ := settings["time_zone"].(string)
	zone, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("report time zone of %s: %w", c.id, err)
	}
	return zone, nil
}

// mailReport gives the client a report recipient when it has none (keeping its time zone) and
// has the week's report made and emailed. The report is made from the week's data, which
// includes the payment captured in it; the dev mailbox shows the mail and its PDF.
func (d demo) mailReport(c client, week string) error {
	settings, err := d.call(http.MethodGet, "/api/v1/admin/clients/"+c.id+"/report-settings", nil)
	if err != nil {
		return err
	}
	if rs, _ := settings["recipients"].([]any); len(rs) == 0 {
		settings = map[string]any{"time_zone": settings["time_zone"], "enabled": settings["enabled"], "recipients": []string{"owner@" + c.id + ".example"}}
		if _, err := d.call(http.MethodPut, "/api/v1/admin/clients/"+c.id+"/report-settings", settings); err != nil {
			return err
		}
	}
	_, err = d.call(http.MethodPost, "/api/v1/admin/reports/"+c.id+"/"+week+"/regenerate", map[string]any{"email": true})
	return err
}

func (d demo) await(id string) error {
	return d.awaitStatus(id, "paid", "partially_refunded", "refunded", "needs_attention", "held", "payout_failed", "compensated")
}

func (d demo) awaitStatus(id string, want ...string) error {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		p, err := d.call(http.MethodGet, "/api/v1/admin/payments/"+id, nil)
		if err == nil {
			for _, w := range want {
				if p["status"] == w {
					return nil
				}
			}
		}
		time.Sleep(250 * time.Millisecond)
	}
	return fmt.Errorf("payment %s did not reach %v within a minute: is the worker running?", id, want)
}

func (d demo) print(id string) error {
	p, err := d.call(http.MethodGet, "/api/v1/admin/payments/"+id, nil)
	if err != nil {
		return err
	}
	cur := money.Currency(p["currency"].(string))
	amount := func(v any) string { return money.Format(int64(v.(float64)), cur) }
	fmt.Printf("  %-34s %-10s %-18s gross %-12s rule v%v", id, p["client_id"], p["status"], amount(p["gross"]), p["rule_version"])
	for _, l := range p["legs"].([]any) {
		leg := l.(map[string]any)
		fmt.Printf("  %s %s", leg["party"], amount(leg["amount"]))
	}
	if r := p["refunded"].(float64); r > 0 {
		fmt.Printf("  (refunded %s)", amount(r))
	}
	fmt.Println()
	return nil
}

func (d demo) webhook(body []byte) error {
	s := stripeevent.Sign(body, d.secret, time.Now())
	req, err := http.NewRequest(http.MethodPost, d.api+"/webhooks/stripe", bytes.NewReader(s.Body))
	if err != nil {
		return err
	}
	req.Header.Set("Stripe-Signature", s.Signature)
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	_, err = d.do(req)
	return err
}

func (d demo) call(method, path string, body any) (map[string]any, error) {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, d.api+path, r)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+d.key)
	req.Header.Set("Content-Type", "application/json")
	return d.do(req)
}

func (d demo) do(req *http.Request) (map[string]any, error) {
	res, err := d.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", req.Method, req.URL.Path, err)
	}
	defer res.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
		return nil, fmt.Errorf("%s %s: status %d, undecodable body: %w", req.Method, req.URL.Path, res.StatusCode, err)
	}
	if res.StatusCode >= 300 {
		return out, fmt.Errorf("%s %s: status %d: %v", req.Method, req.URL.Path, res.StatusCode, out["error"])
	}
	return out, nil
}
