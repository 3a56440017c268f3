package server_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"paysplit/internal/ledger"
	ipayment "paysplit/internal/payment"
	"paysplit/internal/stripeevent"
	"paysplit/workflows/payment"
)

// TestMonthEndCloseStaysWhatItWasAfterNextMonthsChanges walks an accountant's close on the real
// stack. Three payments in USD, KWD and JPY are captured, split and paid ("November"); the close
// is the instant of the last entry they booked. Then ("December") the USD payment is corrected to
// another rule version, the KWD one partly refunded and the JPY one lost to a dispute. The ledger's
// balances as of the close are what they were, the entries dated each side of it add up to the
// as_of balances on each side (the boundary inclusive), the month after is exactly the entries
// after the close, Stripe's fee is booked, the revenue API (capture day, current state) agrees
// with the books' commission per currency with each currency's digits, and the audit log dates
// the correction after the close.
func TestMonthEndCloseStaysWhatItWasAfterNextMonthsChanges(t *testing.T) {
	s := newStack(t, payment.Settings{SettleWindow: 0})
	const client = "mclose"
	s.seed(client)
	code, body := s.do(http.MethodPost, "/api/v1/admin/clients/"+client+"/split-rules",
		map[string]any{"platform_bps": 1000, "affiliate_bps": 500, "commission_on_tax": true}, adminKey)
	require.Equal(t, http.StatusCreated, code, body)
	pis := map[string]string{"usd": "pi_mclose_usd", "kwd": "pi_mclose_kwd", "jpy": "pi_mclose_jpy"}
	ids := map[string]string{}
	for cur, pi := range pis {
		ev := capture(client, pi)
		ev.Currency = cur
		code, body := s.webhook(stripeevent.Sign(ev.Body(), webhookSecret, time.Now()))
		require.Equal(t, http.StatusOK, code, body)
		ids[cur] = payment.WorkflowID("stripe", pi)
		require.Equal(t, ipayment.StatusPaid, s.result(ids[cur]).Status)
	}
	accounts := []string{ledger.VendorPayable(client + "-vendor"), ledger.AffiliatePayable(client + "-aff"), ledger.PlatformRevenue,
		ledger.ProcessingFees("stripe"), ledger.ProviderBalance("stripe"), ledger.DisputeLosses("stripe")}
	type entry struct {
		at       time.Time
		postings map[string]int64 // account/currency → amount
	}
	entries := func() []entry {
		var out []entry
		for _, id := range ids {
			code, view := s.do(http.MethodGet, "/api/v1/admin/payments/"+id, nil, adminKey)
			require.Equal(t, http.StatusOK, code, view)
			for _, e := range view["ledger_entries"].([]any) {
				e := e.(map[string]any)
				at, err := time.Parse(time.RFC3339Nano, e["created_at"].(string))
				require.NoError(t, err)
				ps := map[string]int64{}
				for _, p := range e["postings"].([]any) {
					p := p.(map[string]any)
					ps[p["account"].(string)+"/"+e["currency"].(string)] += int64(p["amount"].(float64))
				}
				out = append(out, entry{at, ps})
			}
		}
		return out
	}
	last := func(es []entry) time.Time {
		var t time.Time
		for _, e := range es {
			if e.at.After(t) {
				t = e.at
			}
		}
		return t
	}
	// balancesAsOf is the ledger's answer for the accounts above, as of at, from both endpoints.
	balancesAsOf := func(at time.Time) map[string]int64 {
		q := "?as_of=" + url.QueryEscape(at.UTC().Format(time.RFC3339Nano))
		code, all := s.do(http.MethodGet, "/api/v1/admin/ledger/balances"+q, nil, adminKey)
		require.Equal(t, http.StatusOK, code, all)
		out := map[string]int64{}
		for _, b := range all["balances"].([]any) {
			b := b.(map[string]any)
			for _, a := range accounts {
				if b["account"] == a && b["balance"].(float64) != 0 {
					out[a+"/"+b["currency"].(string)] = int64(b["balance"].(float64))
				}
			}
		}
		require.Equal(t, map[string]any{"usd": 2.0, "kwd": 3.0, "jpy": 0.0}, keep(all["exponents"].(map[string]any), "usd", "kwd", "jpy"))
		for _, a := range accounts {
			code, one := s.do(http.MethodGet, "/api/v1/admin/ledger/balances/"+url.PathEscape(a)+q, nil, adminKey)
			require.Equal(t, http.StatusOK, code, one)
			for _, b := range one["balances"].([]any) {
				b := b.(map[string]any)
				if b["balance"].(float64) != 0 {
					require.EqualValues(t, out[a+"/"+b["currency"].(string)], b["balance"], "%s as of %s: one account's answer and all accounts' differ", a, at)
				}
			}
		}
		return out
	}
	sum := func(es []entry, keep func(time.Time) bool) map[string]int64 {
		out := map[string]int64{}
		for _, e := range es {
			if keep(e.at) {
				for k, v := range e.postings {
					out[k] += v
				}
			}
		}
		for k, v := range out {
			if v == 0 {
				delete(out, k)
			}
		}
		return out
	}
	diff := func(a, b map[string]int64) map[string]int64 {
		out := map[string]int64{}
		for k, v := range a {
			out[k] += v
		}
		for k, v := range b {
			out[k] -= v
		}
		for k, v := range out {
			if v == 0 {
				delete(out, k)
			}
		}
		return out
	}

	november := entries()
	closing := last(november)
	atClose := balancesAsOf(closing)
	// The boundary is inclusive: the entries at the close itself are the difference between the
	// close and the microsecond before it.
	require.Equal(t, sum(november, func(at time.Time) bool { return at.Equal(closing) }),
		diff(atClose, balancesAsOf(closing.Add(-time.Microsecond))), "the entries at the close instant")
	require.NotZero(t, sum(november, func(time.Time) bool { return true })[ledger.ProcessingFees("stripe")+"/usd"], "Stripe's fee is booked with the capture")

	// December: a correction, a partial refund, a lost dispute.
	code, body = s.do(http.MethodPost, "/api/v1/admin/payments/"+ids["usd"]+"/correct", map[string]any{"rule_version": 1}, adminKey)
	require.Equal(t, http.StatusAccepted, code, body)
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		r, err := s.Store.GetPayment(context.Background(), ids["usd"])
		if assert.NoError(c, err) {
			assert.Equal(c, []int{1}, r.CorrectedTo)
		}
	}, 30*time.Second, 100*time.Millisecond)
	refund := stripeevent.Refund{EventID: "evt_mclose_kwd_r", PaymentIntent: pis["kwd"], Charge: "ch_" + pis["kwd"], Currency: "kwd",
		Amount: 11000, AmountRefunded: 3000, Created: time.Now()}
	code, body = s.webhook(stripeevent.Sign(refund.Body(), webhookSecret, time.Now()))
	require.Equal(t, http.StatusOK, code, body)
	require.EqualValues(t, 3000, s.result(ids["kwd"]).Refunded)
	for _, d := range []stripeevent.Dispute{
		{EventID: "evt_mclose_jpy_c", Type: "charge.dispute.created", Status: "needs_response"},
		{EventID: "evt_mclose_jpy_l", Type: "charge.dispute.closed", Status: "lost"},
	} {
		d.Dispute, d.PaymentIntent, d.Charge, d.Currency, d.Amount, d.Created = "dp_mclose", pis["jpy"], "ch_"+pis["jpy"], "jpy", 11000, time.Now()
		d.Funds = []stripeevent.DisputeFunds{{ID: "txn_mclose_w", Amount: -11000, Fee: 1500}}
		code, body := s.webhook(stripeevent.Sign(d.Body(), webhookSecret, time.Now()))
		require.Equal(t, http.StatusOK, code, body)
		s.result(ids["jpy"])
	}
	require.Equal(t, ipayment.StatusRefunded, s.result(ids["jpy"]).Status)

	all := entries()
	end := last(all)
	require.True(t, end.After(closing))
	require.Equal(t, atClose, balancesAsOf(closing), "November's close is what it was")
	require.Equal(t, sum(all, func(at time.Time) bool { return !at.After(closing) }), sum(november, func(time.Time) bool { return true }),
		"no entry of December is dated in November")
	december := sum(all, func(at time.Time) bool { return at.After(closing) })
	require.Equal(t, december, diff(balancesAsOf(end), atClose), "December's movement is its entries, each counted once")
	require.Contains(t, december, ledger.PlatformRevenue+"/usd", "the correction lands in December")
	require.Contains(t, december, ledger.ProviderBalance("stripe")+"/kwd", "the refund lands in December")
	require.Contains(t, december, ledger.ProcessingFees("stripe")+"/jpy", "the dispute fee lands in December")

	// The revenue API counts by capture day in the payments' current state: the correction and
	// the December refund and dispute are in the capture's day. Over all time its commission is
	// what the books credited the platform, per currency.
	day := s.result(ids["usd"]).CapturedAt.UTC().Format(time.DateOnly)
	code, rev := s.do(http.MethodGet, "/api/v1/revenue?client_id="+client+"&from="+day+"&to="+day, nil, adminKey)
	require.Equal(t, http.StatusOK, code, rev)
	require.Equal(t, map[string]any{"usd": 2.0, "kwd": 3.0, "jpy": 0.0}, rev["exponents"])
	books := sum(all, func(time.Time) bool { return true })
	for _, tot := range rev["totals"].([]any) {
		tot := tot.(map[string]any)
		cur := tot["currency"].(string)
		require.EqualValues(t, -books[ledger.PlatformRevenue+"/"+cur], tot["commission"], "%s commission: revenue API and books", cur)
		require.EqualValues(t, tot["gross"].(float64)-tot["refunds"].(float64),
			tot["commission"].(float64)+tot["vendor_payouts"].(float64)+tot["affiliate_payouts"].(float64)+tot["unsplit"].(float64), "%s adds up", cur)
	}

	// The audit log dates the correction after the close: in December's search, not November's.
	target := "payment:" + ids["usd"]
	for _, tt := range []struct {
		q    string
		want bool
	}{
		{"&from=" + url.QueryEscape(closing.Format(time.RFC3339Nano)), true},
		{"&to=" + url.QueryEscape(closing.Format(time.RFC3339Nano)), false},
	} {
		code, out := s.do(http.MethodGet, "/api/v1/admin/audit?action=payment.correct&target="+url.QueryEscape(target)+tt.q, nil, adminKey)
		require.Equal(t, http.StatusOK, code, out)
		require.Equal(t, tt.want, len(out["entries"].([]any)) == 1, "audit %s: %v", tt.q, out)
	}
}

// keep is m with only the keys named.
func keep(m map[string]any, keys ...string) map[string]any {
	out := map[string]any{}
	for _, k := range keys {
		if v, ok := m[k]; ok {
			out[k] = v
		}
	}
	return out
}
