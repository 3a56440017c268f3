package store_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paysplit/internal/payment"
	"paysplit/internal/split"
	"paysplit/internal/store"
	"paysplit/testenv"
)

// paidRecord is a payment split 10% platform / 5% affiliate / rest vendor, with refund shares.
func paidRecord(client, id string, at time.Time, gross, refunded int64) payment.Record {
	platform, affiliate := gross/10, gross/20
	vendor := gross - platform - affiliate
	pr, ar := refunded/10, refunded/20
	vr := refunded - pr - ar
	status := payment.StatusPaid
	if refunded > 0 {
		status = payment.StatusPartiallyRefunded
	}
	return payment.Record{
		WorkflowID: "payment-stripe-" + id, Provider: "stripe", PaymentID: id, Currency: "usd", Gross: gross, Refunded: refunded,
		Status: status, CapturedAt: at, RuleVersion: 1,
		Order: payment.Order{ClientID: client, OrderID: "order-" + id, VendorID: client + "-vendor", AffiliateID: client + "-aff", Subtotal: gross},
		Legs: []payment.Leg{
			{Party: split.PartyPlatform, Amount: platform, Refunded: pr, State: payment.LegRetained},
			{Party: split.PartyVendor, PayeeID: client + "-vendor", Amount: vendor, Refunded: vr, Transferred: vendor, Reversed: vr, State: payment.LegTransferred, TransferID: "tr_" + id},
			{Party: split.PartyAffiliate, PayeeID: client + "-aff", Amount: affiliate, Refunded: ar, Transferred: affiliate, Reversed: ar, State: payment.LegTransferred},
		},
	}
}

func TestRevenueByDayAddsUp(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	s := store.New(pool)
	ctx := t.Context()
	a, b := newClient(t, s, "reva"), newClient(t, s, "revb")
	day1 := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	day2 := day1.AddDate(0, 0, 1)
	recs := []payment.Record{
		paidRecord(a, a+"-1", day1.Add(1*time.Hour), 10000, 0),
		paidRecord(a, a+"-2", day1.Add(23*time.Hour+59*time.Minute), 5000, 1000),
		paidRecord(a, a+"-3", day2.Add(12*time.Hour), 20000, 0),
		paidRecord(b, b+"-1", day1.Add(2*time.Hour), 99999, 0), // another client: never counted for a
		{WorkflowID: "payment-stripe-" + a + "-unsplit", Provider: "stripe", PaymentID: a + "-unsplit", Currency: "usd", Gross: 700,
			Status: payment.StatusNeedsAttention, CapturedAt: day2.Add(time.Hour), Order: payment.Order{ClientID: a}},
		{WorkflowID: "payment-stripe-" + a + "-uncaptured", Provider: "stripe", PaymentID: a + "-uncaptured", Currency: "usd",
			Status: payment.StatusAwaitingCapture, Order: payment.Order{ClientID: a}},
	}
	for _, r := range recs {
		require.NoError(t, s.SavePayment(ctx, r))
	}
	days, err := s.RevenueByDay(ctx, a, day1, day2)
	require.NoError(t, err)
	require.Len(t, days, 2)
	d1, d2 := days[0], days[1]
	require.Equal(t, day1, d1.Day)
	require.EqualValues(t, 2, d1.Payments)
	require.EqualValues(t, 15000, d1.Gross)
	require.EqualValues(t, 1000, d1.Refunds)
	require.EqualValues(t, 1000+500-100, d1.Commission)
	require.EqualValues(t, 500+250-50, d1.AffiliatePayouts)
	require.EqualValues(t, 8500+4250-850, d1.VendorPayouts)
	require.EqualValues(t, 2, d2.Payments)
	require.EqualValues(t, 700, d2.Unsplit)
	for _, d := range days {
		require.Equal(t, d.Gross-d.Refunds, d.Commission+d.VendorPayouts+d.AffiliatePayouts+d.Unsplit, "day %s adds up", d.Day)
	}
	only1, err := s.RevenueByDay(ctx, a, day2, day2)
	require.NoError(t, err)
	require.Len(t, only1, 1)
	require.Equal(t, day2, only1[0].Day)
}

func TestPayoutsPageThroughEveryLegOnce(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	s := store.New(pool)
	ctx := t.Context()
	a, b := newClient(t, s, "paya"), newClient(t, s, "payb")
	base := time.Date(2026, 4, 1, 12, 0, 0, 0, time.UTC)
	for i := range 5 {
		// Two payments share a capture time, so the order must break ties by payment and leg.
		at := base.Add(time.Duration(i/2) * time.Hour)
		require.NoError(t, s.SavePayment(ctx, paidRecord(a, fmt.Sprintf("%s-%d", a, i), at, 1000, 0)))
	}
	require.NoError(t, s.SavePayment(ctx, paidRecord(b, b+"-x", base, 1000, 0)))

	var got []store.Payout
	var after *store.PayoutCursor
	for range 10 {
		page, err := s.ListPayouts(ctx, store.PayoutFilter{ClientID: a, After: after, Limit: 3})
		require.NoError(t, err)
		got = append(got, page...)
		if len(page) < 3 {
			break
		}
		c := page[len(page)-1].Cursor()
		after = &c
	}
	require.Len(t, got, 10, "5 payments × (vendor + affiliate), platform legs excluded")
	seen := map[string]bool{}
	for i, p := range got {
		key := p.WorkflowID + "/" + p.Party
		require.False(t, seen[key], "duplicate %s", key)
		seen[key] = true
		require.NotEqual(t, "platform", p.Party)
		require.Contains(t, p.WorkflowID, a, "only client a's payouts")
		if i > 0 {
			require.False(t, p.CapturedAt.After(got[i-1].CapturedAt), "newest first")
		}
	}

	held, err := s.ListPayouts(ctx, store.PayoutFilter{ClientID: a, State: "held"})
	require.NoError(t, err)
	require.Empty(t, held)
	dayOnly, err := s.ListPayouts(ctx, store.PayoutFilter{ClientID: a, From: base, To: base})
	require.NoError(t, err)
	require.Len(t, dayOnly, 10)
	none, err := s.ListPayouts(ctx, store.PayoutFilter{ClientID: a, From: base.AddDate(0, 0, 1)})
	require.NoError(t, err)
	require.Empty(t, none)
}

func TestKPIDays(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	s := store.New(pool)
	ctx := t.Context()
	c := newClient(t, s, "kpi")
	day := time.Date(2026, 5, 10, 0, 0, 0, 0, time.UTC)
	require.NoError(t, s.UpsertKPIDay(ctx, store.KPIDay{ClientID: c, Day: day, Visitors: 10, NewVisitors: 4, BounceRateBps: 5000, Sessions: 12, Revenue: 1234, Currency: "USD"}))
	// The sync runs again with fresher numbers: the day is replaced, not duplicated.
	require.NoError(t, s.UpsertKPIDay(ctx, store.KPIDay{ClientID: c, Day: day.Add(15 * time.Hour), Visitors: 11, NewVisitors: 5, BounceRateBps: 4000, Sessions: 13, Revenue: 2000, Currency: "usd"}))
	require.NoError(t, s.UpsertKPIDay(ctx, store.KPIDay{ClientID: c, Day: day.AddDate(0, 0, 2), Visitors: 1, Currency: "usd"}))

	for _, bad := range []store.KPIDay{
		{ClientID: c, Day: day, BounceRateBps: 10001},
		{ClientID: c, Day: day, Visitors: -1},
		{ClientID: c, Day: day, Currency: "xxx"},
		{ClientID: c},
		{ClientID: "ghost", Day: day},
	} {
		require.ErrorIs(t, s.UpsertKPIDay(ctx, bad), store.ErrInvalid, "%+v", bad)
	}

	days, err := s.KPIRange(ctx, c, day, day.AddDate(0, 0, 1))
	require.NoError(t, err)
	require.Len(t, days, 1)
	require.Equal(t, day, days[0].Day)
	require.EqualValues(t, 11, days[0].Visitors)
	require.EqualValues(t, 4000, days[0].BounceRateBps)
	require.EqualValues(t, "usd", days[0].Currency)
	days, err = s.KPIRange(ctx, c, day, day.AddDate(0, 0, 2))
	require.NoError(t, err)
	require.Len(t, days, 2, "both ends inclusive")
}

func TestReports(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	s := store.New(pool)
	ctx := t.Context()
	c := newClient(t, s, "rep")
	empty, err := s.ListReports(ctx, c, "", 10)
	require.NoError(t, err)
	require.Empty(t, empty)
	for _, w := range []string{"2026-W01", "2026-W02", "2026-W03"} {
		require.NoError(t, s.SaveReport(ctx, store.Report{ClientID: c, ISOWeek: w, S3Key: "reports/" + c + "/" + w + ".pdf"}))
	}
	require.ErrorIs(t, s.SaveReport(ctx, store.Report{ClientID: c, ISOWeek: "2026-W54", S3Key: "k"}), store.ErrInvalid)
	page, err := s.ListReports(ctx, c, "", 2)
	require.NoError(t, err)
	require.Equal(t, []string{"2026-W03", "2026-W02"}, []string{page[0].ISOWeek, page[1].ISOWeek})
	page, err = s.ListReports(ctx, c, "2026-W02", 2)
	require.NoError(t, err)
	require.Len(t, page, 1)
	require.Equal(t, "2026-W01", page[0].ISOWeek)
}

// TestRevenueRefundsOnlyLeaveLostDisputesOut: the payments' refunded counts what lost disputes
// took (the payees' shares went back with it), the storefront revenue KPIs count the customers'
// refunds only, as Stripe's amount_refunded and PayPal's refunds do. A dispute lost on a charge
// refunded before took nothing from refunded (DisputeLossBeyondRefunds): the refund stands as one.
func TestRevenueRefundsOnlyLeaveLostDisputesOut(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	s := store.New(pool)
	ctx := t.Context()
	a := newClient(t, s, "revdisp")
	day := time.Date(2026, 3, 9, 0, 0, 0, 0, time.UTC)
	lost := paidRecord(a, a+"-lost", day.Add(9*time.Hour), 10000, 10000) // 2,500 refunded, then a dispute took 7,500
	lost.DisputesLost, lost.LostDisputes, lost.Status = 7500, []string{"dp_1"}, payment.StatusRefunded
	beyond := paidRecord(a, a+"-beyond", day.Add(9*time.Hour+30*time.Minute), 4000, 4000) // refunded in full, then a dispute lost
	beyond.DisputeLossBeyondRefunds, beyond.LostDisputes, beyond.Status = 4000, []string{"dp_2"}, payment.StatusRefunded
	plain := paidRecord(a, a+"-plain", day.Add(10*time.Hour), 6000, 600)
	for _, r := range []payment.Record{lost, beyond, plain} {
		require.NoError(t, s.SavePayment(ctx, r))
	}
	days, err := s.RevenueByDay(ctx, a, day, day)
	require.NoError(t, err)
	require.Len(t, days, 1)
	d := days[0]
	require.EqualValues(t, 10000+4000+600, d.Refunds, "what went back, lost disputes included (the split view)")
	require.EqualValues(t, 7500, d.DisputesLost)
	require.EqualValues(t, 2500+4000+600, d.RefundsOnly(), "the customers' refunds")
	require.Equal(t, d.Gross-d.Refunds, d.Commission+d.VendorPayouts+d.AffiliatePayouts+d.Unsplit)

	hours, err := s.RevenueHours(ctx, a, "usd", day, day.AddDate(0, 0, 1))
	require.NoError(t, err)
	require.Len(t, hours, 2)
	require.EqualValues(t, 2500+4000, hours[0].Refunds, "09:00, refunds only")
	require.EqualValues(t, 600, hours[1].Refunds)
}
