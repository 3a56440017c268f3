package store_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paysplit/internal/payment"
	"paysplit/internal/store"
	"paysplit/testenv"
)

// A top-up held for its payee (a failed refund gave the vendor its share back, and the account
// cannot receive) keeps the payment held: the weekly report counts it as held, with its reason,
// not as outstanding (pending or failed) without a note.
func TestReportPayoutsCountAHeldTopUpAsHeld(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	s := store.New(pool)
	ctx := t.Context()
	a := newClient(t, s, "rephtu")
	at := time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)
	rec := paidRecord(a, a+"-1", at, 10000, 0)
	why := "refund re_1 failed: top-up of 850 held: Stripe account acct_1 cannot receive transfers (transfers capability inactive)"
	vendor := &rec.Legs[1]
	vendor.Reversed = 850 // the refund's share, taken back before the refund failed
	vendor.Reason = why
	vendor.Dues = []payment.Due{{Kind: payment.DueTopUp, Cause: rec.WorkflowID + "/refund-failed/re_1", What: "refund re_1 failed",
		Amount: 850, Refused: true, Held: true, Reason: why}}
	rec.Status, rec.Reason = payment.StatusHeld, "vendor "+why
	require.NoError(t, s.SavePayment(ctx, rec))

	pos, err := s.ReportPayouts(ctx, a, at.Add(-time.Hour), at.Add(time.Hour))
	require.NoError(t, err)
	require.Len(t, pos, 2)
	v := pos[0]
	require.Equal(t, "vendor", v.Party)
	require.EqualValues(t, 8500, v.Owed)
	require.EqualValues(t, 7650, v.PaidOut)
	require.EqualValues(t, 850, v.Held, "the held top-up is held")
	require.Zero(t, v.Outstanding(), "nothing pending or failed")
	require.Equal(t, why, v.HeldReason)
	require.Zero(t, pos[1].Held, "the affiliate's paid leg holds nothing")
}

// A leg held before reasons stopped naming the payee's client (56ca56d) still says `belongs to
// client "<other>", not "<this>"`. The client API redacts it for client keys; the weekly report,
// which goes to the client, must not print the other client's ID in its held note either.
func TestReportPayoutsDoNotNameAnotherClientInAHeldReason(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	s := store.New(pool)
	ctx := t.Context()
	a := newClient(t, s, "repleak")
	at := time.Date(2026, 5, 5, 10, 0, 0, 0, time.UTC)
	rec := paidRecord(a, a+"-1", at, 10000, 0)
	vendor := &rec.Legs[1]
	vendor.State, vendor.Transferred, vendor.TransferID = payment.LegHeld, 0, ""
	vendor.Reason = `payee "` + a + `-vendor" belongs to client "rival-shop-7", not "` + a + `"`
	rec.Status, rec.Reason = payment.StatusHeld, "vendor leg held: "+vendor.Reason
	require.NoError(t, s.SavePayment(ctx, rec))

	pos, err := s.ReportPayouts(ctx, a, at.Add(-time.Hour), at.Add(time.Hour))
	require.NoError(t, err)
	require.Equal(t, "vendor", pos[0].Party)
	require.EqualValues(t, 8500, pos[0].Held)
	require.NotContains(t, pos[0].HeldReason, "rival-shop-7")
	require.Equal(t, `payee "`+a+`-vendor" is registered to another client`, pos[0].HeldReason)
}
