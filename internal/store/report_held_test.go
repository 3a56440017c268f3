package store_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paysplit/internal/payment"
	"paysplit/internal/report"
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

// The client's payouts list agrees with the weekly report: a leg whose top-up is held for its
// payee is listed under state=held (its own state stays transferred), with the held amount and
// reason the report counts; a leg in state held is listed as before, and a held top-up no longer
// owed (a later movement paid what it was for) holds nothing.
func TestListPayoutsHeldIncludesAHeldTopUp(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	s := store.New(pool)
	ctx := t.Context()
	a := newClient(t, s, "lsthtu")
	at := time.Date(2026, 5, 6, 10, 0, 0, 0, time.UTC)
	why := "refund re_1 failed: top-up of 850 held: Stripe account acct_1 cannot receive transfers (transfers capability inactive)"
	topUpHeld := paidRecord(a, a+"-1", at, 10000, 0)
	vendor := &topUpHeld.Legs[1]
	vendor.Reversed, vendor.Reason = 850, why
	vendor.Dues = []payment.Due{{Kind: payment.DueTopUp, Cause: topUpHeld.WorkflowID + "/refund-failed/re_1", What: "refund re_1 failed",
		Amount: 850, Refused: true, Held: true, Reason: why}}
	topUpHeld.Status, topUpHeld.Reason = payment.StatusHeld, "vendor "+why

	legHeld := paidRecord(a, a+"-2", at.Add(time.Minute), 10000, 0)
	hv := &legHeld.Legs[1]
	hv.State, hv.Transferred, hv.TransferID, hv.Reason = payment.LegHeld, 0, "", "payee cannot receive"
	legHeld.Status, legHeld.Reason = payment.StatusHeld, "vendor leg held: payee cannot receive"

	noLongerOwed := paidRecord(a, a+"-3", at.Add(2*time.Minute), 10000, 0) // paid in full: the held due is stale
	noLongerOwed.Legs[1].Dues = []payment.Due{{Kind: payment.DueTopUp, Cause: noLongerOwed.WorkflowID + "/correction/v2",
		What: "correction", Amount: 300, Refused: true, Held: true, Reason: "held"}}
	for _, r := range []payment.Record{topUpHeld, legHeld, noLongerOwed} {
		require.NoError(t, s.SavePayment(ctx, r))
	}

	held, got := payoutsByLeg(t, s, a, "held")
	require.Len(t, got, 2, "the held leg and the leg with a held top-up, nothing else: %+v", held)
	tu, ok := got[topUpHeld.WorkflowID+"/vendor"]
	require.True(t, ok, "the leg whose top-up is held is listed under state=held: %+v", held)
	require.Equal(t, "transferred", tu.State, "the leg's own state is kept")
	require.EqualValues(t, 850, tu.Held)
	require.Equal(t, why, tu.HeldReason)
	hl := got[legHeld.WorkflowID+"/vendor"]
	require.Equal(t, "held", hl.State)
	require.EqualValues(t, 8500, hl.Held)
	require.Equal(t, "payee cannot receive", hl.HeldReason)

	all, err := s.ListPayouts(ctx, store.PayoutFilter{ClientID: a, Limit: 50})
	require.NoError(t, err)
	var sum int64
	for _, p := range all {
		sum += p.Held
		if p.WorkflowID == noLongerOwed.WorkflowID {
			require.Zero(t, p.Held, "a held top-up no longer owed holds nothing")
			require.Empty(t, p.HeldReason)
		}
	}
	pos, err := s.ReportPayouts(ctx, a, at.Add(-time.Hour), at.Add(time.Hour))
	require.NoError(t, err)
	var reported int64
	for _, p := range pos {
		reported += p.Held
	}
	require.Equal(t, reported, sum, "the list's held figures add up to the weekly report's")
	require.EqualValues(t, 850+8500, sum)
}

// The client's payouts list shows a top-up the provider refused (payment.Due Refused, not Held:
// it stays due and the payment is payout_failed) as it shows a held one: the leg, whose own state
// stays transferred, is listed under state=failed with what is still owed of it in failed and the
// refusal in failed_reason; a leg in state failed is listed as before, and a held top-up is held,
// not failed.
func TestListPayoutsFailedIncludesARefusedTopUp(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	s := store.New(pool)
	ctx := t.Context()
	a := newClient(t, s, "lstftu")
	at := time.Date(2026, 5, 7, 10, 0, 0, 0, time.UTC)
	why := "refund re_1 failed: top-up of 8.50 USD refused: insufficient platform balance"
	refused := paidRecord(a, a+"-1", at, 10000, 0)
	vendor := &refused.Legs[1]
	vendor.Reversed = 850
	vendor.Dues = []payment.Due{{Kind: payment.DueTopUp, Cause: refused.WorkflowID + "/refund-failed/re_1", What: "refund re_1 failed",
		Amount: 850, Refused: true, Reason: why}}
	refused.Status, refused.Reason = payment.StatusPayoutFailed, "vendor "+why

	legFailed := paidRecord(a, a+"-2", at.Add(time.Minute), 10000, 0)
	fv := &legFailed.Legs[1]
	fv.State, fv.Transferred, fv.TransferID, fv.Reason = payment.LegFailed, 0, "", "transfer refused"
	legFailed.Status, legFailed.Reason = payment.StatusPayoutFailed, "vendor transfer refused"

	held := paidRecord(a, a+"-3", at.Add(2*time.Minute), 10000, 0)
	held.Legs[1].Reversed = 300
	held.Legs[1].Dues = []payment.Due{{Kind: payment.DueTopUp, Cause: held.WorkflowID + "/correction/v2",
		What: "correction", Amount: 300, Refused: true, Held: true, Reason: "held"}}
	held.Status = payment.StatusHeld
	for _, r := range []payment.Record{refused, legFailed, held} {
		require.NoError(t, s.SavePayment(ctx, r))
	}

	failed, got := payoutsByLeg(t, s, a, "failed")
	require.Len(t, got, 2, "the failed leg and the leg with a refused top-up, nothing else: %+v", failed)
	tu, ok := got[refused.WorkflowID+"/vendor"]
	require.True(t, ok, "the leg whose top-up was refused is listed under state=failed: %+v", failed)
	require.Equal(t, "transferred", tu.State, "the leg's own state is kept")
	require.EqualValues(t, 850, tu.Failed)
	require.Equal(t, why, tu.FailedReason)
	require.Zero(t, tu.Held)
	fl := got[legFailed.WorkflowID+"/vendor"]
	require.Equal(t, "failed", fl.State)
	require.EqualValues(t, 8500, fl.Failed)
	require.Equal(t, "transfer refused", fl.FailedReason)

	all, err := s.ListPayouts(ctx, store.PayoutFilter{ClientID: a, Limit: 50})
	require.NoError(t, err)
	for _, p := range all {
		if p.WorkflowID == held.WorkflowID && p.Party == "vendor" {
			require.EqualValues(t, 300, p.Held)
			require.Zero(t, p.Failed, "a held top-up is held, not failed")
		}
	}
}

// payoutsByLeg lists client's payouts under state, as listed and by "<workflow>/<party>".
func payoutsByLeg(t *testing.T, s *store.Store, client, state string) ([]store.Payout, map[string]store.Payout) {
	t.Helper()
	list, err := s.ListPayouts(t.Context(), store.PayoutFilter{ClientID: client, State: state, Limit: 50})
	require.NoError(t, err)
	got := map[string]store.Payout{}
	for _, p := range list {
		got[p.WorkflowID+"/"+p.Party] = p
	}
	return list, got
}

// A vendor leg's payout the provider refused waits for an admin's retry: the weekly report counts
// it as failed, with its reason, as the client's payouts list does (Payout.Failed), and not as
// outstanding, which is pending only. A refused reversal (money the vendor owes back after a
// refund, which its account could not give) is failed too, negative as money owed back is.
func TestReportPayoutsCountARefusedMovementAsFailed(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	s := store.New(pool)
	ctx := t.Context()
	at := time.Date(2026, 5, 8, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name       string
		rec        func(client string) payment.Record
		paid, owed int64
		failed     int64
		failedWhy  string
	}{
		{"refused top-up", func(a string) payment.Record { return refusedTopUpRecord(a, a+"-1", at) }, 7650, 8500, 850, refusedTopUpWhy},
		{"refused reversal", func(a string) payment.Record { return refusedReversalRecord(a, a+"-1", at) }, 8500, 7650, -850, refusedReversalWhy},
		{"failed leg", func(a string) payment.Record {
			r := paidRecord(a, a+"-1", at, 10000, 0)
			vendor := &r.Legs[1]
			vendor.State, vendor.Transferred, vendor.TransferID, vendor.Reason = payment.LegFailed, 0, "", "transfer refused"
			r.Status, r.Reason = payment.StatusPayoutFailed, "vendor transfer refused"
			return r
		}, 0, 8500, 8500, "transfer refused"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := newClient(t, s, "repfail")
			require.NoError(t, s.SavePayment(ctx, tc.rec(a)))
			pos, err := s.ReportPayouts(ctx, a, at.Add(-time.Hour), at.Add(time.Hour))
			require.NoError(t, err)
			require.Len(t, pos, 2)
			v := pos[0]
			require.Equal(t, "vendor", v.Party)
			require.Equal(t, tc.owed, v.Owed)
			require.Equal(t, tc.paid, v.PaidOut)
			require.Equal(t, tc.failed, v.Failed, "%+v", v)
			if tc.failed < 0 { // a reversal: what the payee owes back, with its own reason
				require.Equal(t, -tc.failed, v.FailedReversals)
				require.Equal(t, tc.failedWhy, v.FailedReversalReason)
			} else {
				require.Equal(t, tc.failedWhy, v.FailedReason)
				require.Zero(t, v.FailedReversals)
			}
			require.Zero(t, v.Held)
			require.Zero(t, v.Outstanding(), "nothing pending: what is not paid failed: %+v", v)
			require.Zero(t, pos[1].Failed, "the affiliate's paid leg failed nothing")

			// The client's payouts list counts the same: the vendor's leg under state=failed.
			_, got := payoutsByLeg(t, s, a, "failed")
			require.Len(t, got, 1)
			require.Equal(t, v.Failed, got["payment-stripe-"+a+"-1/vendor"].Failed, "the list fails what the report does")
		})
	}
}

// The client's payouts list shows a reversal the provider refused (payment.Due of kind reversal,
// Refused: the payment is payout_failed until an admin's retry takes it back) under state=failed:
// the vendor's leg, its own state transferred, with what it owes back in failed (negative, as the
// weekly report counts it) and the refusal in failed_reason.
func TestListPayoutsFailedIncludesARefusedReversal(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	s := store.New(pool)
	ctx := t.Context()
	a := newClient(t, s, "lstfrv")
	at := time.Date(2026, 5, 9, 10, 0, 0, 0, time.UTC)
	rec := refusedReversalRecord(a, a+"-1", at)
	require.NoError(t, s.SavePayment(ctx, rec))

	failed, got := payoutsByLeg(t, s, a, "failed")
	require.Len(t, got, 1, "the vendor's leg with a refused reversal, nothing else: %+v", failed)
	rv, ok := got[rec.WorkflowID+"/vendor"]
	require.True(t, ok, "the leg whose reversal was refused is listed under state=failed: %+v", failed)
	require.Equal(t, "transferred", rv.State, "the leg's own state is kept")
	require.EqualValues(t, -850, rv.Failed, "what the vendor owes back and the provider would not take")
	require.Equal(t, refusedReversalWhy, rv.FailedReason)
	require.Zero(t, rv.Held)
}

// Reasons of the refused movements the failed tests store, as the payment workflow writes them.
const (
	refusedTopUpWhy    = "refund re_1 failed: top-up of 8.50 USD refused: insufficient platform balance"
	refusedReversalWhy = "reversal of 850 failed: The destination account has insufficient funds to cover the reversal."
)

// refusedTopUpRecord is a paid USD payment of client a whose vendor leg gave back its share of a
// refund (8.50) that then failed, and whose top-up of that share the provider refused: due on the
// leg, the payment payout_failed, as the payment workflow leaves it for an admin's retry.
func refusedTopUpRecord(a, id string, at time.Time) payment.Record {
	r := paidRecord(a, id, at, 10000, 0)
	vendor := &r.Legs[1]
	vendor.Reversed = 850
	vendor.Dues = []payment.Due{{Kind: payment.DueTopUp, Cause: r.WorkflowID + "/refund-failed/re_1", What: "refund re_1 failed",
		Amount: 850, Refused: true, Reason: refusedTopUpWhy}}
	r.Status, r.Reason = payment.StatusPayoutFailed, "vendor "+refusedTopUpWhy
	return r
}

// refusedReversalRecord is a paid USD payment of client a, refunded 10 (the vendor's share 8.50),
// whose vendor leg's reversal of that share the provider refused: due on the leg, the payment
// payout_failed, as the payment workflow leaves it for an admin's retry.
func refusedReversalRecord(a, id string, at time.Time) payment.Record {
	r := paidRecord(a, id, at, 10000, 1000)
	vendor := &r.Legs[1]
	vendor.Reversed, vendor.Reason = 0, refusedReversalWhy
	vendor.Dues = []payment.Due{{Kind: payment.DueReversal, Cause: r.WorkflowID + "/refund/1000", Amount: 850, Refused: true,
		Reason: refusedReversalWhy, TransferID: vendor.TransferID}}
	r.Status, r.Reason = payment.StatusPayoutFailed, "due: vendor "+refusedReversalWhy+" (an admin's retry sends them again)"
	return r
}

// One payee's row adds up over its legs of several payments, each by its own rule: a held top-up
// and a refused top-up of the vendor are held and failed; the affiliate's refused reversal is
// failed negative while its reversal in doubt stays outstanding (pending, negative: owed back).
// Owed = paid out + held + failed + outstanding on each row, and the client's payouts list
// counts the same held and failed per payee.
func TestReportPayoutsAddUpOverLegsOfSeveralPayments(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	s := store.New(pool)
	ctx := t.Context()
	a := newClient(t, s, "repmix")
	at := time.Date(2026, 5, 11, 10, 0, 0, 0, time.UTC)

	first := paidRecord(a, a+"-1", at, 10000, 0)
	v := &first.Legs[1]
	v.Reversed = 850
	v.Dues = []payment.Due{{Kind: payment.DueTopUp, Cause: first.WorkflowID + "/refund-failed/re_1", Amount: 850, Refused: true, Held: true, Reason: "held: cannot receive"}}
	af := &first.Legs[2]
	af.Refunded = 50
	af.Dues = []payment.Due{{Kind: payment.DueReversal, Cause: first.WorkflowID + "/refund/1", Amount: 50, Refused: true, Reason: refusedReversalWhy, TransferID: "tr_aff"}}
	first.Status = payment.StatusHeld

	second := paidRecord(a, a+"-2", at.Add(time.Minute), 10000, 0)
	second.Legs[1].Reversed = 300
	second.Legs[1].Dues = []payment.Due{{Kind: payment.DueTopUp, Cause: second.WorkflowID + "/correction/v2", Amount: 300, Refused: true, Reason: refusedTopUpWhy}}
	second.Legs[2].Refunded = 25
	second.Legs[2].Dues = []payment.Due{{Kind: payment.DueReversal, Cause: second.WorkflowID + "/refund/1", Amount: 25, TransferID: "tr_aff2"}} // in doubt
	second.Status = payment.StatusPayoutFailed
	for _, r := range []payment.Record{first, second} {
		require.NoError(t, s.SavePayment(ctx, r))
	}

	pos, err := s.ReportPayouts(ctx, a, at.Add(-time.Hour), at.Add(time.Hour))
	require.NoError(t, err)
	require.Len(t, pos, 2)
	type row struct{ owed, paid, held, failed, outstanding int64 }
	got := map[string]row{}
	for _, p := range pos {
		got[p.Party] = row{p.Owed, p.PaidOut, p.Held, p.Failed, p.Outstanding()}
		require.Equal(t, p.Owed, p.PaidOut+p.Held+p.Failed+p.Outstanding(), "%+v", p)
	}
	require.Equal(t, map[string]row{
		"vendor":    {owed: 17000, paid: 15850, held: 850, failed: 300, outstanding: 0},
		"affiliate": {owed: 925, paid: 1000, held: 0, failed: -50, outstanding: -25},
	}, got)

	list, err := s.ListPayouts(ctx, store.PayoutFilter{ClientID: a, Limit: 50})
	require.NoError(t, err)
	listed := map[string]row{}
	for _, p := range list {
		r := listed[p.Party]
		r.held, r.failed = r.held+p.Held, r.failed+p.Failed
		listed[p.Party] = r
	}
	for party, r := range got {
		require.Equal(t, r.held, listed[party].held, party)
		require.Equal(t, r.failed, listed[party].failed, party)
	}
}

// A payee whose payout failed on one payment and whose reversal failed on another, by the same
// amount, nets to a Failed of 0 in the payouts table (its row still adds up), but the report's
// notes name both, each with its own reason: the client's team must know the payee is owed one
// movement and owes back another. The two cancelled out and the report said nothing of either.
func TestReportNamesAFailedPayoutAndAFailedReversalThatCancelOut(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	s := store.New(pool)
	ctx := t.Context()
	a := newClient(t, s, "repnet")
	at := time.Date(2026, 5, 12, 10, 0, 0, 0, time.UTC)

	for _, r := range []payment.Record{refusedTopUpRecord(a, a+"-1", at), refusedReversalRecord(a, a+"-2", at.Add(time.Minute))} {
		require.NoError(t, s.SavePayment(ctx, r))
	}

	pos, err := s.ReportPayouts(ctx, a, at.Add(-time.Hour), at.Add(time.Hour))
	require.NoError(t, err)
	require.Len(t, pos, 2)
	vendor := pos[0]
	require.Equal(t, "vendor", vendor.Party)
	require.Zero(t, vendor.Failed, "the table's Failed nets the two: %+v", vendor)
	require.Equal(t, vendor.Owed, vendor.PaidOut+vendor.Held+vendor.Failed+vendor.Outstanding())

	notes := strings.Join(report.Data{Payouts: pos}.NotesAll(), "\n")
	require.Contains(t, notes, "Payout to vendor "+vendor.PayeeID+" failed: USD 8.50 ("+refusedTopUpWhy+")")
	require.Contains(t, notes, "Reversal from vendor "+vendor.PayeeID+" failed: it owes back USD 8.50 ("+refusedReversalWhy+")")
}
