package server_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paysplit/internal/kpi"
	"paysplit/internal/ledger"
	ipayment "paysplit/internal/payment"
	"paysplit/internal/store"
	"paysplit/internal/stripeevent"
	"paysplit/workflows/payment"
)

// TestSameFiguresEverywhereEndToEnd: one client's payments of today, made through the real
// workflow (webhooks, Temporal, stripe-mock, the ledger): a partial refund, a dispute lost, a
// refund that failed, a correction to another rule version, and a payment in EUR. The client
// API's revenue totals, the admin API's payments (their legs), the ledger's entries of each
// payment and the weekly report's payments must agree, per currency.
func TestSameFiguresEverywhereEndToEnd(t *testing.T) {
	s := newStack(t, payment.Settings{SettleWindow: 0})
	c := "numbers-e2e"
	s.seed(c)
	pis := []string{"pi_num_part", "pi_num_disp", "pi_num_fail", "pi_num_corr", "pi_num_eur"}
	for _, pi := range pis {
		ev := capture(c, pi)
		if pi == "pi_num_eur" {
			ev.Currency = "eur"
		}
		code, body := s.webhook(stripeevent.Sign(ev.Body(), webhookSecret, time.Now()))
		require.Equal(t, http.StatusOK, code, body)
		require.Equal(t, ipayment.StatusPaid, s.result(payment.WorkflowID("stripe", pi)).Status)
	}
	send := func(body []byte) {
		t.Helper()
		code, out := s.webhook(stripeevent.Sign(body, webhookSecret, time.Now()))
		require.Equal(t, http.StatusOK, code, out)
	}
	// Partial refund.
	send(stripeevent.Refund{EventID: "evt_num_part_r", PaymentIntent: "pi_num_part", Charge: "ch_pi_num_part", Currency: "usd", Amount: 11000, AmountRefunded: 1100, Created: time.Now()}.Body())
	require.Equal(t, ipayment.StatusPartiallyRefunded, s.result(payment.WorkflowID("stripe", "pi_num_part")).Status)
	// Dispute lost.
	for _, d := range []stripeevent.Dispute{
		{EventID: "evt_num_disp_c", Type: "charge.dispute.created", Status: "needs_response"},
		{EventID: "evt_num_disp_l", Type: "charge.dispute.closed", Status: "lost"},
	} {
		d.Dispute, d.PaymentIntent, d.Charge, d.Currency, d.Amount, d.Created = "dp_num", "pi_num_disp", "ch_pi_num_disp", "usd", 11000, time.Now()
		d.Funds = []stripeevent.DisputeFunds{{ID: "txn_num_w", Amount: -11000, Fee: 1500}}
		send(d.Body())
		s.result(payment.WorkflowID("stripe", "pi_num_disp"))
	}
	// A full refund that failed.
	made := time.Now().Add(-time.Minute)
	send(stripeevent.Refund{EventID: "evt_num_fail_r", PaymentIntent: "pi_num_fail", Charge: "ch_pi_num_fail", Currency: "usd", Amount: 11000, AmountRefunded: 11000, Created: made}.Body())
	require.Equal(t, ipayment.StatusRefunded, s.result(payment.WorkflowID("stripe", "pi_num_fail")).Status)
	send(stripeevent.RefundUpdate{EventID: "evt_num_fail_f", Type: "refund.failed", Refund: "re_num", PaymentIntent: "pi_num_fail", Charge: "ch_pi_num_fail",
		Currency: "usd", Status: "failed", Amount: 11000, Created: time.Now(), Made: made}.Body())
	require.Equal(t, ipayment.StatusPaid, s.result(payment.WorkflowID("stripe", "pi_num_fail")).Status)
	// Correction to a rule taking commission on tax.
	code, body := s.do(http.MethodPost, "/api/v1/admin/clients/"+c+"/split-rules", map[string]any{"platform_bps": 1000, "affiliate_bps": 500, "commission_on_tax": true}, adminKey)
	require.Equal(t, http.StatusCreated, code, body)
	corr := payment.WorkflowID("stripe", "pi_num_corr")
	code, body = s.do(http.MethodPost, "/api/v1/admin/payments/"+corr+"/correct", map[string]any{"rule_version": body["version"]}, adminKey)
	require.Equal(t, http.StatusAccepted, code, body)
	require.Eventually(t, func() bool {
		r, err := s.Store.GetPayment(context.Background(), corr)
		return err == nil && len(r.CorrectedTo) == 1 && r.Status == ipayment.StatusPaid
	}, 30*time.Second, 50*time.Millisecond)

	// What each view says, per currency.
	type figures struct{ Payments, Gross, Refunds, Commission, Vendor, Affiliate int64 }
	admin := map[string]*figures{}
	books := map[string]int64{} // platform:revenue, credit positive
	for _, pi := range pis {
		id := payment.WorkflowID("stripe", pi)
		code, v := s.do(http.MethodGet, "/api/v1/admin/payments/"+id, nil, adminKey)
		require.Equal(t, http.StatusOK, code, v)
		cur := v["currency"].(string)
		if admin[cur] == nil {
			admin[cur] = &figures{}
		}
		f := admin[cur]
		f.Payments++
		f.Gross += int64(v["gross"].(float64))
		f.Refunds += int64(v["refunded"].(float64))
		for _, l := range v["legs"].([]any) {
			l := l.(map[string]any)
			net := int64(l["amount"].(float64) - l["refunded"].(float64))
			switch l["party"] {
			case "platform":
				f.Commission += net
			case "vendor":
				f.Vendor += net
			case "affiliate":
				f.Affiliate += net
			}
		}
		bal := s.paymentBalances(id)
		books[cur] -= bal[ledger.PlatformRevenue]
		// What the books still owe each payee is its share less what it holds.
		for _, l := range v["legs"].([]any) {
			l := l.(map[string]any)
			owedLeft := int64(l["amount"].(float64)-l["refunded"].(float64)) - int64(l["transferred"].(float64)-l["reversed"].(float64))
			switch l["party"] {
			case "vendor":
				require.Equal(t, owedLeft, -bal[ledger.VendorPayable(l["payee_id"].(string))], "%s vendor leg %+v vs its payable", id, l)
			case "affiliate":
				require.Equal(t, owedLeft, -bal[ledger.AffiliatePayable(l["payee_id"].(string))], "%s affiliate leg %+v vs its payable", id, l)
			}
		}
	}

	_, key := clientKey(t, s, c)
	today := kpi.DayOf(time.Now()).Format(time.DateOnly)
	code, rev := s.do(http.MethodGet, "/api/v1/revenue?from="+today+"&to="+today, nil, key)
	require.Equal(t, http.StatusOK, code, rev)
	api := map[string]figures{}
	for _, tv := range rev["totals"].([]any) {
		tv := tv.(map[string]any)
		api[tv["currency"].(string)] = figures{int64(tv["payments"].(float64)), int64(tv["gross"].(float64)), int64(tv["refunds"].(float64)),
			int64(tv["commission"].(float64)), int64(tv["vendor_payouts"].(float64)), int64(tv["affiliate_payouts"].(float64))}
	}
	start := kpi.DayOf(time.Now())
	rp, err := s.Store.ReportPayments(context.Background(), c, start, start.AddDate(0, 0, 1))
	require.NoError(t, err)
	rep := map[string]figures{}
	for _, p := range rp {
		rep[string(p.Currency)] = figures{p.Count, p.Gross, p.Refunded, p.Platform, p.Vendor, p.Affiliate}
	}
	for cur, f := range admin {
		require.Equal(t, *f, api[cur], "%s: admin API legs vs client API revenue", cur)
		require.Equal(t, *f, rep[cur], "%s: admin API legs vs the report's payments", cur)
		require.Equal(t, f.Commission, books[cur], "%s: commission vs the ledger's platform:revenue", cur)
	}
	pos, err := s.Store.ReportPayouts(context.Background(), c, start, start.AddDate(0, 0, 1))
	require.NoError(t, err)
	for _, po := range pos {
		require.Zero(t, po.Outstanding(), "report payout %+v", po)
		require.Zero(t, po.Held, "report payout %+v", po)
	}
	t.Logf("payouts: %+v", pos)
	t.Logf("figures: %+v %+v", *admin["usd"], *admin["eur"])
}

// clientKey makes a client API key for clientID through the admin API.
func clientKey(t *testing.T, s *stack, clientID string) (string, string) {
	t.Helper()
	code, body := s.do(http.MethodPost, "/api/v1/admin/api-keys", map[string]any{"role": store.RoleClient, "client_id": clientID, "name": "numbers"}, adminKey)
	require.Equal(t, http.StatusCreated, code, body)
	return body["api_key"].(map[string]any)["id"].(string), body["key"].(string)
}
