package server_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paysplit/internal/store"
	"paysplit/workflows/payment"
)

// TestPayoutsListAHeldTopUpAsHeld: a payment held only because its vendor's top-up (the
// correction's 120) is held for the vendor, whose account cannot receive, is listed by the admin
// API under status=held, and by the client's payouts list under state=held: the vendor's leg, its
// own state transferred, with the 120 held and the top-up's reason, the figure the weekly report
// counts as held for that vendor. Before, state=held left it out (the leg is transferred) and no
// row said that anything was held.
func TestPayoutsListAHeldTopUpAsHeld(t *testing.T) {
	s := newStack(t, payment.Settings{SettleWindow: 0})
	accounts := newConnectedAccounts(s)
	client := uniqueName("listtopup")
	id := s.heldTopUpAt(accounts, client, uniqueAccount("closed"), uniqueAccount("topup"))
	rec, err := s.Store.GetPayment(context.Background(), id)
	require.NoError(t, err)
	due := rec.Leg("vendor").Dues[0]

	code, body := s.do(http.MethodGet, "/api/v1/admin/payouts?status=held&client_id="+client, nil, adminKey)
	require.Equal(t, http.StatusOK, code, body)
	var admin []string
	for _, p := range body["payments"].([]any) {
		admin = append(admin, p.(map[string]any)["workflow_id"].(string))
	}
	require.Equal(t, []string{id}, admin, "the admin list shows the payment held for its top-up: %v", body)

	_, key := clientKey(t, s, client)
	code, body = s.do(http.MethodGet, "/api/v1/payouts?state=held", nil, key)
	require.Equal(t, http.StatusOK, code, body)
	rows := body["payouts"].([]any)
	require.Len(t, rows, 1, "the vendor's leg, whose top-up is held, is listed as held: %v", body)
	row := rows[0].(map[string]any)
	require.Equal(t, id, row["payment"])
	require.Equal(t, "vendor", row["party"])
	require.Equal(t, "held", row["payment_status"])
	require.Equal(t, "transferred", row["state"], "the leg's own state: its first transfer was made")
	require.EqualValues(t, 120, row["held"], row)
	require.Equal(t, store.ClientReason(due.Reason), row["held_reason"], row)
	require.Contains(t, row["held_reason"], "cannot receive transfers")

	code, body = s.do(http.MethodGet, "/api/v1/payouts", nil, key)
	require.Equal(t, http.StatusOK, code, body)
	var listed int64
	for _, r := range body["payouts"].([]any) {
		listed += int64(r.(map[string]any)["held"].(float64))
	}
	pos, err := s.Store.ReportPayouts(context.Background(), client, rec.CapturedAt.Add(-time.Hour), rec.CapturedAt.Add(time.Hour))
	require.NoError(t, err)
	var reported int64
	for _, p := range pos {
		reported += p.Held
	}
	require.EqualValues(t, 120, reported, "the weekly report's held figure: %+v", pos)
	require.Equal(t, reported, listed, "the payouts list holds what the weekly report does")
}

// TestPayoutsListARefusedReversal: a refund's share the vendor's account could not give back
// (Stripe refused the reversal) is due on the leg and the payment payout_failed. The admin's
// stuck-payouts list shows the payment under status=payout_failed with the reversal due and why,
// for a retry; the client's payouts list shows the vendor's leg (its own state transferred)
// under state=failed with what the vendor owes back in failed (negative, money owed back) and
// the refusal in failed_reason, the figure the weekly report counts as failed. Another client's
// key sees none of it. Before, state=failed left the leg out: a refused reversal was in no
// client list.
func TestPayoutsListARefusedReversal(t *testing.T) {
	s := newStack(t, payment.Settings{SettleWindow: 0})
	client := uniqueName("listrev")
	id := s.paid(client, "pi_"+client)
	s.refundWithVendorReversalRefused(client, "pi_"+client)
	s.awaitVendorDue(id)
	rec := s.result(id)
	due := rec.Leg("vendor").Dues[0]

	code, body := s.do(http.MethodGet, "/api/v1/admin/payouts?status=payout_failed&client_id="+client, nil, adminKey)
	require.Equal(t, http.StatusOK, code, body)
	payments := body["payments"].([]any)
	require.Len(t, payments, 1, "the admin list shows the payment with a refused reversal: %v", body)
	p := payments[0].(map[string]any)
	require.Equal(t, id, p["workflow_id"])
	require.Equal(t, "payout_failed", p["status"])
	require.Contains(t, p["reason"], "insufficient funds", "the admin sees why: %v", p)
	var dues []any
	for _, l := range p["legs"].([]any) {
		if l := l.(map[string]any); l["party"] == "vendor" {
			dues, _ = l["dues"].([]any)
		}
	}
	require.Len(t, dues, 1, "the reversal due is on the vendor's leg: %v", p)
	require.Equal(t, "reversal", dues[0].(map[string]any)["kind"])
	require.Equal(t, true, dues[0].(map[string]any)["refused"])

	_, key := clientKey(t, s, client)
	code, body = s.do(http.MethodGet, "/api/v1/payouts?state=failed", nil, key)
	require.Equal(t, http.StatusOK, code, body)
	rows := body["payouts"].([]any)
	require.Len(t, rows, 1, "the vendor's leg, whose reversal was refused, is listed as failed: %v", body)
	row := rows[0].(map[string]any)
	require.Equal(t, id, row["payment"])
	require.Equal(t, "vendor", row["party"])
	require.Equal(t, "payout_failed", row["payment_status"])
	require.Equal(t, "transferred", row["state"], "the leg's own state: its transfer was made")
	require.EqualValues(t, -due.Amount, row["failed"], "what the vendor owes back and Stripe would not take: %v", row)
	require.Equal(t, store.ClientReason(due.Reason), row["failed_reason"], row)
	require.Contains(t, row["failed_reason"], "insufficient funds")
	pos, err := s.Store.ReportPayouts(context.Background(), client, rec.CapturedAt.Add(-time.Hour), rec.CapturedAt.Add(time.Hour))
	require.NoError(t, err)
	require.Equal(t, "vendor", pos[0].Party)
	require.EqualValues(t, -due.Amount, pos[0].Failed, "the weekly report's failed figure: %+v", pos)
	require.Zero(t, pos[0].Outstanding(), "nothing pending: %+v", pos[0])

	other := uniqueName("other")
	s.seed(other)
	_, otherKey := clientKey(t, s, other)
	code, body = s.do(http.MethodGet, "/api/v1/payouts?state=failed", nil, otherKey)
	require.Equal(t, http.StatusOK, code, body)
	require.Empty(t, body["payouts"], "another client sees no payee of this one")
}
