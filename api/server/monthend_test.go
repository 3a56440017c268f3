package server_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paysplit/internal/ledger"
	"paysplit/internal/money"
	"paysplit/internal/payment"
	"paysplit/internal/recon"
	"paysplit/internal/store"
)

// An agency accountant's month-end close of November walks these answers: the ledger's balances
// as of the month's last instant, each payment, the clients' revenue and payouts, the admin
// payments search. The tests here pin that they agree on what November is, and that every answer
// with amounts says how many digits its currencies have (KWD 3, JPY 0), as the README promises.

// TestMonthEndAnswersCarryTheirCurrencysDigits: the ledger's balances (all accounts, or one) and a
// payment's detail are amounts in minor units like every other answer, but came without
// `exponents`, so 12345 in a KWD balance read as 123.45 dinars in anything formatting it the way
// the dashboard formats the rest (two decimals being the only guess left).
func TestMonthEndAnswersCarryTheirCurrencysDigits(t *testing.T) {
	a := newAPI(t, nil)
	ctx := context.Background()
	l := ledger.New(a.pool)
	client := a.newClient("digits")
	acct := ledger.VendorPayable(client + "-vendor")
	for _, cur := range []money.Currency{"kwd", "jpy", "usd"} {
		_, _, err := l.Post(ctx, ledger.Entry{IdempotencyKey: uniqueID("digits-" + string(cur)), Currency: cur, Reference: "digits",
			Description: "month-end digits", Postings: []ledger.Posting{{Account: ledger.ProviderBalance("stripe"), Amount: 12345}, {Account: acct, Amount: -12345}}})
		require.NoError(t, err)
	}
	rec := paidRecord(client, uniqueID("pi_digits"), time.Now().Add(-time.Hour), 12345, 0, payment.StatusPaid)
	rec.Currency = "kwd"
	require.NoError(t, a.store.SavePayment(ctx, rec))
	_, err := a.store.SaveReconciliation(ctx, store.ReconciliationRun{Provider: "stripe", WindowStart: time.Date(2024, 11, 30, 0, 0, 0, 0, time.UTC),
		WindowEnd: time.Date(2024, 12, 1, 0, 0, 0, 0, time.UTC), WorkflowID: uniqueID("reconcile-digits"), Checked: 1,
		Drifts: []recon.Drift{{Key: recon.Key{Payment: rec.WorkflowID, PayeeID: "(captured)", Currency: "kwd"}, Kind: "amount_differs", LedgerAmount: 12345, ProviderAmount: 12340}}})
	require.NoError(t, err)
	asOf := url.QueryEscape(time.Now().UTC().Format(time.RFC3339Nano)) // past: the entries were appended before it
	for _, tt := range []struct {
		name, path string
		want       map[string]any
	}{
		{"balances now", "/api/v1/admin/ledger/balances", map[string]any{"kwd": 3.0, "jpy": 0.0, "usd": 2.0}},
		{"balances as of", "/api/v1/admin/ledger/balances?as_of=" + asOf, map[string]any{"kwd": 3.0, "jpy": 0.0, "usd": 2.0}},
		{"one account now", "/api/v1/admin/ledger/balances/" + url.PathEscape(acct), map[string]any{"kwd": 3.0, "jpy": 0.0, "usd": 2.0}},
		{"one account as of", "/api/v1/admin/ledger/balances/" + url.PathEscape(acct) + "?as_of=" + asOf, map[string]any{"kwd": 3.0, "jpy": 0.0, "usd": 2.0}},
		{"a payment", "/api/v1/admin/payments/" + rec.WorkflowID, map[string]any{"kwd": 3.0}},
		{"reconciliation runs", "/api/v1/admin/reconciliation?from=2024-11-30&to=2024-11-30", map[string]any{"kwd": 3.0}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, out := a.json(req{method: http.MethodGet, path: tt.path, key: adminKey})
			require.Equal(t, http.StatusOK, code, out)
			exps, ok := out["exponents"].(map[string]any)
			require.True(t, ok, "the answer has no exponents: %v", out)
			for cur, digits := range tt.want {
				require.Equal(t, digits, exps[cur], "%s's digits in %v", cur, exps)
			}
		})
	}
}

// TestMonthEndBoundaryIsTheSameInEveryAnswer: payments captured at the last microsecond of
// November and at the first of December (and likewise around October's end), in four currencies,
// for several clients: the revenue API's November, the client's payouts of November, the admin
// payments search by dates and by instants, page by page, all take the same payments, and the
// revenue totals are their sums per currency.
func TestMonthEndBoundaryIsTheSameInEveryAnswer(t *testing.T) {
	a := newAPI(t, nil)
	ctx := context.Background()
	instants := []struct {
		at       time.Time
		november bool
	}{
		{time.Date(2026, 10, 31, 23, 59, 59, 999999000, time.UTC), false},
		{time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), true},
		{time.Date(2026, 11, 15, 12, 0, 0, 0, time.FixedZone("JST", 9*3600)), true},
		{time.Date(2026, 11, 30, 23, 59, 59, 999999000, time.UTC), true},
		{time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), false},
		// Midnight of December 1 in Tokyo is still November 30 in UTC: days are UTC.
		{time.Date(2026, 12, 1, 0, 30, 0, 0, time.FixedZone("JST", 9*3600)), true},
	}
	currencies := []money.Currency{"usd", "eur", "jpy", "kwd"}
	for c := 0; c < 4; c++ {
		client := a.newClient(fmt.Sprintf("close%d", c))
		wantIDs := []string{}
		wantGross := map[string]float64{}
		for i, in := range instants {
			for j, cur := range currencies {
				id := fmt.Sprintf("pi_close_%s_%d_%d", client, i, j)
				gross := int64(1000*(i+1) + 7*j + 1)
				rec := paidRecord(client, id, in.at, gross, gross/5, payment.StatusPaid)
				rec.Currency = cur
				require.NoError(t, a.store.SavePayment(ctx, rec))
				if in.november {
					wantIDs = append(wantIDs, rec.WorkflowID)
					wantGross[string(cur)] += float64(gross)
				}
			}
		}
		sort.Strings(wantIDs)

		// The revenue API's November: its totals per currency are the November payments' sums.
		code, rev := a.json(req{method: http.MethodGet, path: "/api/v1/revenue?client_id=" + client + "&from=2026-11-01&to=2026-11-30", key: adminKey})
		require.Equal(t, http.StatusOK, code, rev)
		got := map[string]float64{}
		for _, tot := range rev["totals"].([]any) {
			tm := tot.(map[string]any)
			got[tm["currency"].(string)] = tm["gross"].(float64)
		}
		require.Equal(t, wantGross, got, "revenue totals of November for %s", client)
		require.Equal(t, map[string]any{"usd": 2.0, "eur": 2.0, "jpy": 0.0, "kwd": 3.0}, rev["exponents"])

		// Each listing, page by page, takes exactly the November payments.
		for _, tt := range []struct {
			name, path, items string
		}{
			{"payments by dates", "/api/v1/admin/payments?client_id=" + client + "&from=2026-11-01&to=2026-11-30&limit=7", "payments"},
			{"payments by instants", "/api/v1/admin/payments?client_id=" + client + "&from=2026-11-01T00:00:00Z&to=2026-12-01T00:00:00Z&limit=7", "payments"},
			{"payments by Tokyo instants", "/api/v1/admin/payments?client_id=" + client + "&from=" + url.QueryEscape("2026-11-01T09:00:00+09:00") +
				"&to=" + url.QueryEscape("2026-12-01T09:00:00+09:00") + "&limit=7", "payments"},
			{"payouts", "/api/v1/payouts?client_id=" + client + "&from=2026-11-01&to=2026-11-30&limit=5", "payouts"},
		} {
			ids := a.pageIDs(tt.path, adminKey, tt.items, func(m map[string]any) string {
				if w, ok := m["workflow_id"].(string); ok {
					return w
				}
				return m["payment"].(string)
			})
			slices.Sort(ids)
			ids = slices.Compact(ids)
			require.Equal(t, wantIDs, ids, "%s of %s", tt.name, client)
		}
	}
}

// TestMonthsReconciliationRunsCanBeRead: the accountant closing November wants each day's
// reconciliation of November, for both providers: 60 runs. GET /api/v1/admin/reconciliation
// listed the latest runs only, 20 by default and 100 at most, with no dates and nothing saying
// more existed: once December's and January's runs (and any re-runs) were newer, November's could
// not be read at all. It takes the reconciled days (from, to) and a provider, and pages.
func TestMonthsReconciliationRunsCanBeRead(t *testing.T) {
	a := newAPI(t, nil)
	ctx := context.Background()
	want := map[string]bool{}
	for day := time.Date(2025, 10, 30, 0, 0, 0, 0, time.UTC); day.Before(time.Date(2026, 1, 21, 0, 0, 0, 0, time.UTC)); day = day.AddDate(0, 0, 1) {
		for _, provider := range []string{"stripe", "paypal"} {
			wf := uniqueID("reconcile-" + day.Format(time.DateOnly))
			id, err := a.store.SaveReconciliation(ctx, store.ReconciliationRun{Provider: provider, WindowStart: day, WindowEnd: day.AddDate(0, 0, 1), WorkflowID: wf})
			require.NoError(t, err)
			if day.Month() == time.November {
				want[fmt.Sprint(id)] = true
			}
		}
	}
	require.Len(t, want, 60)
	for _, tt := range []struct {
		name, query string
		want        func(id string) bool
	}{
		{"November", "from=2025-11-01&to=2025-11-30&limit=7", func(id string) bool { return want[id] }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := a.idsOnce("/api/v1/admin/reconciliation?"+tt.query, "runs", func(m map[string]any) string {
				start, err := time.Parse(time.RFC3339, m["window_start"].(string))
				require.NoError(t, err)
				require.Equal(t, time.November, start.UTC().Month(), "run %v", m)
				return fmt.Sprint(m["id"])
			})
			require.Equal(t, want, got)
		})
	}
	// One provider's month, its days in order from the newest.
	ids := a.pageIDs("/api/v1/admin/reconciliation?provider=paypal&from=2025-11-01&to=2025-11-30&limit=100", adminKey, "runs", func(m map[string]any) string {
		require.Equal(t, "paypal", m["provider"])
		return m["window_start"].(string)
	})
	require.Len(t, ids, 30)
	require.True(t, sort.IsSorted(sort.Reverse(sort.StringSlice(ids))), "newest day first: %v", ids)

	// A provider that is none of ours is named, not answered with an empty list.
	code, body := a.json(req{method: http.MethodGet, path: "/api/v1/admin/reconciliation?provider=PayPal", key: adminKey})
	require.Equal(t, http.StatusBadRequest, code, body)
	require.Contains(t, fmt.Sprint(body), `provider "PayPal" must be one of stripe, paypal`)
}
