package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paysplit/activities"
	"paysplit/api/server"
	"paysplit/internal/kpi"
	"paysplit/internal/kpi/kpitest"
	"paysplit/internal/kpi/stripekpi"
	"paysplit/internal/payment"
	"paysplit/internal/store"
)

var fixedNow = time.Date(2026, 6, 15, 10, 0, 0, 0, time.UTC)

func TestKPIsByDay(t *testing.T) {
	a := newAPI(t, func(d *server.Deps) { d.Now = func() time.Time { return fixedNow } })
	c := a.newClient("kpis")
	_, key := a.newKey(store.RoleClient, c)
	ctx := t.Context()
	// Two synced days of the default 30-day window; the rest are unsynced zeros.
	require.NoError(t, a.store.UpsertKPIDay(ctx, store.KPIDay{ClientID: c, Day: fixedNow.AddDate(0, 0, -1), Visitors: 100, NewVisitors: 40, Sessions: 300, BounceRateBps: 5000, Revenue: 12345, Currency: "usd"}))
	require.NoError(t, a.store.UpsertKPIDay(ctx, store.KPIDay{ClientID: c, Day: fixedNow, Visitors: 50, NewVisitors: 10, Sessions: 100, BounceRateBps: 1000, Revenue: 655, Currency: "usd"}))
	require.NoError(t, a.store.UpsertKPIDay(ctx, store.KPIDay{ClientID: c, Day: fixedNow.AddDate(0, 0, -40), Visitors: 999, Currency: "usd"}))

	res, raw := a.send(req{method: http.MethodGet, path: "/api/v1/kpis", key: key})
	require.Equal(t, http.StatusOK, res.StatusCode, string(raw))
	var out struct {
		From, To string
		Days     []struct {
			Day           string `json:"day"`
			Synced        bool   `json:"synced"`
			Visitors      int64  `json:"visitors"`
			BounceRateBps int64  `json:"bounce_rate_bps"`
		}
		Totals    map[string]any `json:"totals"`
		Exponents map[string]int
	}
	require.NoError(t, json.Unmarshal(raw, &out))
	require.Equal(t, "2026-05-17", out.From)
	require.Equal(t, "2026-06-15", out.To)
	require.Len(t, out.Days, 30, "every day of the range, synced or not")
	require.Equal(t, "2026-06-14", out.Days[28].Day)
	require.True(t, out.Days[28].Synced)
	require.EqualValues(t, 100, out.Days[28].Visitors)
	require.False(t, out.Days[0].Synced)
	require.Zero(t, out.Days[0].Visitors)
	// Totals are over the range only; bounce rate weighs days by sessions: (5000·300 + 1000·100) / 400.
	totals := out.Totals
	require.EqualValues(t, 150, totals["visitors"])
	require.EqualValues(t, 50, totals["new_visitors"])
	require.EqualValues(t, 400, totals["sessions"])
	require.EqualValues(t, 4000, totals["bounce_rate_bps"])
	require.EqualValues(t, 2, totals["synced_days"])
	require.Equal(t, []any{map[string]any{"currency": "usd", "amount": float64(13000)}}, totals["revenue"])
	require.Equal(t, map[string]int{"usd": 2}, out.Exponents)

	code, body := a.json(req{method: http.MethodGet, path: "/api/v1/kpis?from=2026-06-14&to=2026-06-14", key: key})
	require.Equal(t, http.StatusOK, code, body)
	require.Len(t, body["days"], 1)

	bad := []string{"from=yesterday", "to=2026-13-01", "from=2026-06-15&to=2026-06-01", "from=2024-01-01&to=2026-01-01"}
	for _, q := range bad {
		code, body := a.json(req{method: http.MethodGet, path: "/api/v1/kpis?" + q, key: key})
		require.Equal(t, http.StatusBadRequest, code, "%s: %v", q, body)
		require.Equal(t, "invalid_request", body["error"].(map[string]any)["code"])
	}
}

// TestKPIsRevenueTotalBeyondInt64: each day's revenue fits in int64 but the range's total does
// not. The answer must not be a wrapped, negative revenue total: the KPI sums refuse such a sum
// (kpi's add), and so does the total here.
func TestKPIsRevenueTotalBeyondInt64(t *testing.T) {
	a := newAPI(t, func(d *server.Deps) { d.Now = func() time.Time { return fixedNow } })
	c := a.newClient("kpis-huge")
	_, key := a.newKey(store.RoleClient, c)
	ctx := t.Context()
	for _, day := range []time.Time{fixedNow.AddDate(0, 0, -1), fixedNow} {
		require.NoError(t, a.store.UpsertKPIDay(ctx, store.KPIDay{ClientID: c, Day: day, Revenue: math.MaxInt64/2 + 1, Currency: "usd"}))
	}
	code, body := a.json(req{method: http.MethodGet, path: "/api/v1/kpis", key: key})
	require.Equal(t, http.StatusBadRequest, code, "a revenue total that does not fit is refused, not a wrapped amount: %v", body)
	require.Equal(t, "invalid_request", body["error"].(map[string]any)["code"])
	// A range of one of the days still answers, with that day's revenue as its total.
	code, body = a.json(req{method: http.MethodGet, path: "/api/v1/kpis?from=2026-06-15&to=2026-06-15", key: key})
	require.Equal(t, http.StatusOK, code, body)
	require.Equal(t, []any{map[string]any{"currency": "usd", "amount": float64(math.MaxInt64/2 + 1)}}, body["totals"].(map[string]any)["revenue"])
}

// TestKPIsFutureDays: GET /api/v1/kpis?from=<5 days ago> (to defaults to from+29) answers every
// day of the range, but the 24 days after today are source none, not synced and not stale, never
// zeros from "stripe" (which answers zeros for any day it is asked for).
func TestKPIsFutureDays(t *testing.T) {
	srv := kpitest.NewStripe(t)
	a := newAPI(t, func(d *server.Deps) {
		d.Now = func() time.Time { return fixedNow }
		d.KPIs = &kpi.Reader{Hot: d.Store, RetentionDays: 7, StaleAfter: time.Hour, Now: d.Now,
			Cold: func(context.Context, string) (kpi.Sources, error) {
				return kpi.Sources{Revenue: stripekpi.Source{API: activities.NewStripeClient("sk_test_x", srv.URL, nil)}}, nil
			}}
	})
	c := a.newClient("future")
	_, key := a.newKey(store.RoleClient, c)
	for _, tt := range []struct {
		query        string
		to           string
		days, future int
	}{
		{"from=2026-06-10", "2026-07-09", 30, 24},
		{"from=2026-06-01&to=2026-06-20", "2026-06-20", 20, 5},
		{"from=2026-06-16&to=2026-06-16", "2026-06-16", 1, 1},
	} {
		t.Run(tt.query, func(t *testing.T) {
			code, body := a.json(req{method: http.MethodGet, path: "/api/v1/kpis?" + tt.query, key: key})
			require.Equal(t, http.StatusOK, code, body)
			require.Equal(t, tt.to, body["to"])
			days := body["days"].([]any)
			require.Len(t, days, tt.days, "every day of the range")
			future := 0
			for _, d := range days {
				d := d.(map[string]any)
				if d["day"].(string) <= "2026-06-15" {
					continue
				}
				future++
				require.Equal(t, false, d["synced"], d)
				require.Equal(t, "none", d["source"], d)
				require.Equal(t, false, d["stale"], d)
				require.Equal(t, false, d["has_revenue"], d)
			}
			require.Equal(t, tt.future, future)
		})
	}
}

// TestRevenueTotalBeyondInt64: two days' payments each fit in int64 but the range's gross does
// not. The totals must not be a wrapped, negative gross: the range is refused, and one day of it
// still answers.
func TestRevenueTotalBeyondInt64(t *testing.T) {
	a := newAPI(t, func(d *server.Deps) { d.Now = func() time.Time { return fixedNow } })
	c := a.newClient("rev-huge")
	_, key := a.newKey(store.RoleClient, c)
	ctx := t.Context()
	const huge = math.MaxInt64/2 + 1
	for i, at := range []time.Time{fixedNow.AddDate(0, 0, -1), fixedNow} {
		require.NoError(t, a.store.SavePayment(ctx, paidRecord(c, fmt.Sprintf("%s-%d", c, i), at, huge, 0, payment.StatusPaid)))
	}
	code, body := a.json(req{method: http.MethodGet, path: "/api/v1/revenue?from=2026-06-14&to=2026-06-15", key: key})
	require.Equal(t, http.StatusBadRequest, code, "a gross total that does not fit is refused, not a wrapped amount: %v", body)
	require.Equal(t, "invalid_request", body["error"].(map[string]any)["code"])
	code, body = a.json(req{method: http.MethodGet, path: "/api/v1/revenue?from=2026-06-15&to=2026-06-15", key: key})
	require.Equal(t, http.StatusOK, code, body)
	require.EqualValues(t, float64(huge), body["totals"].([]any)[0].(map[string]any)["gross"])
}

func TestRevenueAndPayouts(t *testing.T) {
	a := newAPI(t, func(d *server.Deps) { d.Now = func() time.Time { return fixedNow } })
	c := a.newClient("rev")
	_, key := a.newKey(store.RoleClient, c)
	ctx := t.Context()
	day := func(n int) time.Time { return fixedNow.AddDate(0, 0, -n).Truncate(24 * time.Hour).Add(9 * time.Hour) }
	for _, r := range []payment.Record{
		paidRecord(c, c+"-a", day(2), 10000, 0, payment.StatusPaid),
		paidRecord(c, c+"-b", day(2), 20000, 2000, payment.StatusPartiallyRefunded),
		paidRecord(c, c+"-c", day(0), 4000, 0, payment.StatusHeld),
	} {
		require.NoError(t, a.store.SavePayment(ctx, r))
	}

	code, body := a.json(req{method: http.MethodGet, path: "/api/v1/revenue?from=2026-06-13&to=2026-06-15", key: key})
	require.Equal(t, http.StatusOK, code, body)
	days := body["days"].([]any)
	require.Len(t, days, 3)
	d13 := days[0].(map[string]any)
	require.Equal(t, "2026-06-13", d13["day"])
	require.EqualValues(t, 2, d13["payments"])
	require.EqualValues(t, 30000, d13["gross"])
	require.EqualValues(t, 2000, d13["refunds"])
	require.EqualValues(t, 3000-200, d13["commission"])
	require.EqualValues(t, 1500-100, d13["affiliate_payouts"])
	require.EqualValues(t, 25500-1700, d13["vendor_payouts"])
	require.EqualValues(t, 0, days[1].(map[string]any)["gross"], "a day without payments is a zero, not a gap")
	total := body["totals"].([]any)[0].(map[string]any)
	require.EqualValues(t, 34000, total["gross"])
	require.EqualValues(t, 3, total["payments"])
	require.EqualValues(t, total["gross"].(float64)-total["refunds"].(float64),
		total["commission"].(float64)+total["vendor_payouts"].(float64)+total["affiliate_payouts"].(float64)+total["unsplit"].(float64))

	// Payouts page through with cursors: 3 payments × 2 payee legs.
	var legs []map[string]any
	cursor := ""
	for range 5 {
		path := "/api/v1/payouts?limit=4"
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		code, page := a.json(req{method: http.MethodGet, path: path, key: key})
		require.Equal(t, http.StatusOK, code, page)
		for _, p := range page["payouts"].([]any) {
			legs = append(legs, p.(map[string]any))
		}
		next, _ := page["next_cursor"].(string)
		if next == "" {
			break
		}
		cursor = next
	}
	require.Len(t, legs, 6)
	require.Equal(t, "payment-stripe-"+c+"-c", legs[0]["payment"], "newest first")
	require.Equal(t, "vendor", legs[0]["party"])
	require.Equal(t, "held", legs[0]["state"], "the held payment's vendor leg")
	require.Equal(t, "connected account cannot receive transfers", legs[0]["reason"])
	require.Equal(t, "affiliate", legs[1]["party"])
	seen := map[string]bool{}
	for _, l := range legs {
		k := l["payment"].(string) + "/" + l["party"].(string)
		require.False(t, seen[k], "no leg twice across pages: %s", k)
		seen[k] = true
	}

	code, body = a.json(req{method: http.MethodGet, path: "/api/v1/payouts?state=held", key: key})
	require.Equal(t, http.StatusOK, code, body)
	require.Len(t, body["payouts"], 1)
	code, body = a.json(req{method: http.MethodGet, path: "/api/v1/payouts?from=2026-06-15", key: key})
	require.Equal(t, http.StatusOK, code, body)
	require.Len(t, body["payouts"], 2)

	for _, q := range []string{"cursor=garbage", "cursor=eyJ4Ijp0cnVlfQ", "limit=0", "limit=101", "state=lost"} {
		code, body := a.json(req{method: http.MethodGet, path: "/api/v1/payouts?" + q, key: key})
		require.Equal(t, http.StatusBadRequest, code, "%s: %v", q, body)
	}

	// Reports: an empty list until the weekly job writes some, then pages newest first.
	code, body = a.json(req{method: http.MethodGet, path: "/api/v1/reports", key: key})
	require.Equal(t, http.StatusOK, code, body)
	require.Empty(t, body["reports"])
	require.Nil(t, body["next_cursor"])
	for _, w := range []string{"2026-W20", "2026-W21", "2026-W22"} {
		require.NoError(t, a.store.SaveReport(ctx, store.Report{ClientID: c, ISOWeek: w, S3Key: "k/" + w}))
	}
	code, body = a.json(req{method: http.MethodGet, path: "/api/v1/reports?limit=2", key: key})
	require.Equal(t, http.StatusOK, code, body)
	require.Len(t, body["reports"], 2)
	require.Equal(t, "2026-W22", body["reports"].([]any)[0].(map[string]any)["iso_week"])
	require.NotContains(t, body["reports"].([]any)[0], "s3_key", "storage keys stay internal")
	code, body = a.json(req{method: http.MethodGet, path: "/api/v1/reports?limit=2&cursor=" + body["next_cursor"].(string), key: key})
	require.Equal(t, http.StatusOK, code, body)
	require.Len(t, body["reports"], 1)
	require.Equal(t, "2026-W20", body["reports"].([]any)[0].(map[string]any)["iso_week"])
}

func TestKPIRefreshHook(t *testing.T) {
	var asked []string
	a := newAPI(t, func(d *server.Deps) {
		d.KPIRefresh = func(_ context.Context, clientID string) error { asked = append(asked, clientID); return nil }
	})
	c := a.newClient("refresh")
	_, key := a.newKey(store.RoleClient, c)
	code, body := a.json(req{method: http.MethodPost, path: "/api/v1/kpis/refresh", key: key})
	require.Equal(t, http.StatusAccepted, code, body)
	require.Equal(t, []string{c}, asked)
}

// A held top-up's reason stored before 56ca56d names the client its payee belongs to: the
// payouts list's held_reason, as its reason, does not tell a client key the other client's ID.
func TestPayoutsHeldReasonOfATopUpDoesNotNameAnotherClient(t *testing.T) {
	a := newAPI(t, func(d *server.Deps) { d.Now = func() time.Time { return fixedNow } })
	c := a.newClient("heldtu")
	_, key := a.newKey(store.RoleClient, c)
	rec := paidRecord(c, c+"-1", fixedNow.Add(-time.Hour), 10000, 0, payment.StatusHeld)
	vendor := &rec.Legs[1]
	vendor.State, vendor.Transferred, vendor.Reversed, vendor.TransferID = payment.LegTransferred, vendor.Amount, 300, "tr_"+c
	why := `correction: top-up of 300 held: payee "` + c + `-vendor" belongs to client "rival-shop-9", not "` + c + `"`
	vendor.Reason = why
	vendor.Dues = []payment.Due{{Kind: payment.DueTopUp, Cause: rec.WorkflowID + "/correction/v2", What: "correction", Amount: 300,
		Refused: true, Held: true, Reason: why}}
	require.NoError(t, a.store.SavePayment(t.Context(), rec))

	code, body := a.json(req{method: http.MethodGet, path: "/api/v1/payouts?state=held", key: key})
	require.Equal(t, http.StatusOK, code, body)
	require.Len(t, body["payouts"], 1, body)
	row := body["payouts"].([]any)[0].(map[string]any)
	require.EqualValues(t, 300, row["held"], row)
	require.Equal(t, `correction: top-up of 300 held: payee "`+c+`-vendor" is registered to another client`, row["held_reason"], row)
	require.NotContains(t, row["reason"], "rival-shop-9", row)
}

// A top-up the provider refused stays due on a leg whose own state is transferred, and the
// payment is payout_failed: the client's payouts list gives it under state=failed with what is
// still owed in failed and why in failed_reason (redacted for a client key, like reason), as the
// schema documents them; a held top-up is not listed there.
func TestPayoutsListARefusedTopUpAsFailed(t *testing.T) {
	a := newAPI(t, func(d *server.Deps) { d.Now = func() time.Time { return fixedNow } })
	c := a.newClient("failtu")
	_, key := a.newKey(store.RoleClient, c)
	rec := paidRecord(c, c+"-1", fixedNow.Add(-time.Hour), 10000, 0, payment.StatusPayoutFailed)
	vendor := &rec.Legs[1]
	vendor.State, vendor.Transferred, vendor.Reversed, vendor.TransferID, vendor.Reason = payment.LegTransferred, vendor.Amount, 850, "tr_"+c, ""
	why := `refund re_1 failed: top-up of 8.50 USD refused: payee "` + c + `-vendor" belongs to client "rival-shop-9", not "` + c + `"`
	vendor.Dues = []payment.Due{{Kind: payment.DueTopUp, Cause: rec.WorkflowID + "/refund-failed/re_1", What: "refund re_1 failed", Amount: 850,
		Refused: true, Reason: why}}
	held := paidRecord(c, c+"-2", fixedNow.Add(-2*time.Hour), 10000, 0, payment.StatusHeld)
	hv := &held.Legs[1]
	hv.State, hv.Transferred, hv.Reversed, hv.TransferID, hv.Reason = payment.LegTransferred, hv.Amount, 300, "tr2_"+c, ""
	hv.Dues = []payment.Due{{Kind: payment.DueTopUp, Cause: held.WorkflowID + "/correction/v2", What: "correction", Amount: 300,
		Refused: true, Held: true, Reason: "held"}}
	for _, r := range []payment.Record{rec, held} {
		require.NoError(t, a.store.SavePayment(t.Context(), r))
	}

	code, body := a.json(req{method: http.MethodGet, path: "/api/v1/payouts?state=failed", key: key})
	require.Equal(t, http.StatusOK, code, body)
	require.Len(t, body["payouts"], 1, "the leg with the refused top-up, not the held one: %v", body)
	row := body["payouts"].([]any)[0].(map[string]any)
	require.Equal(t, rec.WorkflowID, row["payment"])
	require.Equal(t, "transferred", row["state"], "the leg's own state is kept")
	require.EqualValues(t, 850, row["failed"], row)
	require.EqualValues(t, 0, row["held"], row)
	require.Equal(t, `refund re_1 failed: top-up of 8.50 USD refused: payee "`+c+`-vendor" is registered to another client`, row["failed_reason"], row)
}

// A client offboarded while its refresh runs (the admin's offboard deletes its schedule between
// the API's check and the trigger) gets the 409 it would have got a moment later, not a 500 for
// the schedule that is gone.
func TestKPIRefreshOfAClientOffboardedMeanwhile(t *testing.T) {
	var a *apiEnv
	a = newAPI(t, func(d *server.Deps) {
		d.KPIRefresh = func(ctx context.Context, clientID string) error {
			if _, err := a.store.SetClientStatus(ctx, clientID, store.ClientOffboarded); err != nil {
				return err
			}
			return errors.New("describe schedule kpi-sync-" + clientID + ": schedule not found") // as kpisync.Refresh says it
		}
	})
	c := a.newClient("refroff")
	_, key := a.newKey(store.RoleClient, c)
	code, body := a.json(req{method: http.MethodPost, path: "/api/v1/kpis/refresh", key: key})
	require.Equal(t, http.StatusConflict, code, body)
	require.Equal(t, "client_offboarded", body["error"].(map[string]any)["code"], body)
}
