package server_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paysplit/internal/payment"
	"paysplit/internal/store"
)

// TestDashboardPayoutsShowAHeldTopUp: a vendor leg whose top-up is held for its payee keeps its
// own state transferred; its row in the payouts table shows the held amount (with the currency's
// exponent, as the table's other amounts) and why it is held, as GET /api/v1/payouts gives them,
// and the page stays clean for axe.
func TestDashboardPayoutsShowAHeldTopUp(t *testing.T) {
	a := newAPI(t, nil)
	b := newBrowser(t)
	c := a.newClient("heldrow")
	_, key := a.newKey(store.RoleClient, c)
	at := store.DayOf(time.Now()).AddDate(0, 0, -1).Add(10 * time.Hour)
	why := "refund re_1 failed: top-up of 0.850 KWD held: payee cannot receive transfers"
	r := a.vendorTopUpDue(c, at, why, true)
	b.login(a.url+"/", key)
	b.waitLoaded(c)
	got := b.vendorPayoutRow(r.WorkflowID)
	require.Equal(t, "KWD 8.500", got["Amount"])
	require.Equal(t, "KWD 7.650", got["Sent"])
	require.Equal(t, "KWD 0.850", got["Held"], "the held top-up's amount is shown: %v", got)
	require.Contains(t, got["State"], why, "and why it is held: %v", got)
	require.Contains(t, got["State"], "transferred", "the leg's own state is kept")
	require.Empty(t, b.axe(), "the payouts table with a held top-up")
	b.noPageErrors()
}

// TestDashboardPayoutsShowARefusedTopUp: a vendor leg whose top-up the provider refused keeps its
// own state transferred (the payment is payout_failed); its row says what of it failed (with the
// currency's exponent) and why, as GET /api/v1/payouts gives them in failed and failed_reason.
func TestDashboardPayoutsShowARefusedTopUp(t *testing.T) {
	a := newAPI(t, nil)
	b := newBrowser(t)
	c := a.newClient("failrow")
	_, key := a.newKey(store.RoleClient, c)
	at := store.DayOf(time.Now()).AddDate(0, 0, -1).Add(10 * time.Hour)
	why := "refund re_1 failed: top-up of 0.850 KWD refused: insufficient platform balance"
	r := a.vendorTopUpDue(c, at, why, false)
	b.login(a.url+"/", key)
	b.waitLoaded(c)
	got := b.vendorPayoutRow(r.WorkflowID)
	require.Equal(t, "KWD 7.650", got["Sent"])
	require.Empty(t, got["Held"], "nothing is held")
	require.Contains(t, got["State"], "failed KWD 0.850: "+why, "what failed and why: %v", got)
	require.Contains(t, got["State"], "transferred", "the leg's own state is kept")
	require.Empty(t, b.axe(), "the payouts table with a refused top-up")
	b.noPageErrors()
}

// TestDashboardPayoutsShowARefusedReversal: a vendor leg whose reversal (its share of a refund)
// the provider refused keeps its own state transferred (the payment is payout_failed); its row
// says what the vendor owes back (with the currency's exponent) and why, as GET /api/v1/payouts
// gives them in failed (negative) and failed_reason. Before, the row gave the refusal (the leg's
// reason, in minor units) but not what is owed back.
func TestDashboardPayoutsShowARefusedReversal(t *testing.T) {
	a := newAPI(t, nil)
	b := newBrowser(t)
	c := a.newClient("revrow")
	_, key := a.newKey(store.RoleClient, c)
	at := store.DayOf(time.Now()).AddDate(0, 0, -1).Add(10 * time.Hour)
	why := "reversal of 850 failed: The destination account has insufficient funds to cover the reversal."
	r := paidRecord(c, c+"-1", at, 10000, 1000, payment.StatusPartiallyRefunded)
	r.Currency = "kwd"
	vendor := &r.Legs[1]
	vendor.Reversed, vendor.Reason = 0, why
	vendor.Dues = []payment.Due{{Kind: payment.DueReversal, Cause: r.WorkflowID + "/refund/1000", Amount: 850, Refused: true,
		Reason: why, TransferID: vendor.TransferID}}
	r.Status, r.Reason = payment.StatusPayoutFailed, "due: vendor "+why+" (an admin's retry sends them again)"
	require.NoError(t, a.store.SavePayment(t.Context(), r))
	b.login(a.url+"/", key)
	b.waitLoaded(c)
	got := b.vendorPayoutRow(r.WorkflowID)
	require.Equal(t, "KWD 8.500", got["Sent"])
	require.Empty(t, got["Held"], "nothing is held")
	require.Equal(t, "transferred ("+why+"); reversal failed: owes back KWD 0.850", got["State"],
		"the leg's own state and reason (the refusal), then what the vendor owes back, the reason said once")
	require.Empty(t, b.axe(), "the payouts table with a refused reversal")
	b.noPageErrors()
}

// vendorTopUpDue stores a paid KWD payment of client c whose vendor leg owes an 850 top-up (a
// failed refund's) that the provider refused, held for its payee when held (the payment held),
// else not (the payment payout_failed), with the reason why.
func (a *apiEnv) vendorTopUpDue(c string, at time.Time, why string, held bool) payment.Record {
	a.t.Helper()
	r := paidRecord(c, c+"-1", at, 10000, 0, payment.StatusPaid)
	r.Currency = "kwd"
	vendor := &r.Legs[1]
	vendor.Reversed = 850
	vendor.Dues = []payment.Due{{Kind: payment.DueTopUp, Cause: r.WorkflowID + "/refund-failed/re_1", What: "refund re_1 failed",
		Amount: 850, Refused: true, Held: held, Reason: why}}
	r.Status, r.Reason = payment.StatusPayoutFailed, "vendor "+why
	if held {
		r.Status = payment.StatusHeld
	}
	require.NoError(a.t, a.store.SavePayment(a.t.Context(), r))
	return r
}

// vendorPayoutRow waits for the payouts table's row of the payment's vendor leg and returns its
// cells by column header.
func (b *browser) vendorPayoutRow(workflowID string) map[string]string {
	b.t.Helper()
	row := fmt.Sprintf(`[...document.querySelectorAll('#payouts-table tbody tr')].find(r => r.dataset.payment === %q && r.cells[3].textContent === 'vendor')`, workflowID)
	b.waitFor(row + ` !== undefined`)
	cells := eval[[]string](b, `[...`+row+`.cells].map(c => c.textContent)`)
	heads := eval[[]string](b, `[...document.querySelectorAll('#payouts-table thead th')].map(c => c.textContent)`)
	require.Len(b.t, heads, len(cells), "every cell has its column's header")
	got := map[string]string{}
	for i, h := range heads {
		got[h] = cells[i]
	}
	return got
}
