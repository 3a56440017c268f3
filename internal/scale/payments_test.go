package scale_test

import (
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"paysplit/internal/ledger"
	"paysplit/internal/monitor"
	"paysplit/internal/store"
)

// GET /api/v1/admin/payments (newest first, a page of at most 100) must read about a page of
// payments, not every payment ever stored: for everyone, for one client, in a window long ago
// (from/to bound the same time the list is ordered by) and on a page deep in the listing.
func TestAdminPaymentListReadsAPageNotTheTable(t *testing.T) {
	pool := loadPayments(t)
	const limit = 100
	// The cursor an admin reaches after paging through client c7's 2,500 newest payments.
	var deep store.PaymentCursor
	if err := pool.QueryRow(t.Context(), `SELECT captured_at, workflow_id FROM payments WHERE client_id = 'c7'
		ORDER BY captured_at DESC, workflow_id DESC OFFSET 2500 LIMIT 1`).Scan(&deep.At, &deep.WorkflowID); err != nil {
		t.Fatal(err)
	}
	// The cursor an admin reaches after paging through the big vendor's 2,500 newest payments.
	var deepVendor store.PaymentCursor
	if err := pool.QueryRow(t.Context(), `SELECT captured_at, workflow_id FROM payments WHERE vendor_id = 'vbig'
		ORDER BY captured_at DESC, workflow_id DESC OFFSET 2500 LIMIT 1`).Scan(&deepVendor.At, &deepVendor.WorkflowID); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		f    store.PaymentFilter
	}{
		{name: "newest payments", f: store.PaymentFilter{}},
		{name: "one client's newest payments", f: store.PaymentFilter{ClientID: "c7"}},
		{name: "a week long ago", f: store.PaymentFilter{
			From: time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 2, 8, 0, 0, 0, 0, time.UTC)}},
		{name: "one client's page after a cursor", f: store.PaymentFilter{ClientID: "c7", After: &deep}},
		{name: "one vendor's newest payments", f: store.PaymentFilter{VendorID: "v7"}},
		{name: "a big vendor's newest payments", f: store.PaymentFilter{VendorID: "vbig"}},
		{name: "a big vendor's page after a cursor", f: store.PaymentFilter{VendorID: "vbig", After: &deepVendor}},
		{name: "a big vendor's week long ago", f: store.PaymentFilter{VendorID: "vbig",
			From: time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 2, 8, 0, 0, 0, 0, time.UTC)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.f.Limit = limit + 1 // as the API asks, to know whether there is a next page
			var got []store.ListedPayment
			qs := recorded(t, pool, "payments", func(p *pgxpool.Pool) (err error) {
				got, err = store.New(p).ListPaymentsPage(t.Context(), tc.f)
				return err
			})
			if len(got) != limit+1 {
				t.Fatalf("listed %d payments, want %d", len(got), limit+1)
			}
			if read, how := readBy(t, pool, qs, "payments"); read > 10*limit {
				t.Errorf("listing %d payments read %.0f of %d payments (scans: %v)", limit, read, nPayments, how)
			}
		})
	}
}

// A held_leg_age monitor must read the payments with a held leg (a handful), not every payment.
func TestHeldLegMonitorReadsHeldPaymentsNotTheTable(t *testing.T) {
	pool := loadPayments(t)
	var held int
	if err := pool.QueryRow(t.Context(), `SELECT count(*) FROM payments WHERE status = 'held'`).Scan(&held); err != nil {
		t.Fatal(err)
	}
	for _, client := range []string{"", "c7"} {
		t.Run("client="+client, func(t *testing.T) {
			m := monitor.Monitor{ID: 1, Kind: monitor.KindHeldLegAge, Params: monitor.Params{Days: 7, ClientID: client}}
			var obs monitor.Observation
			qs := recorded(t, pool, "FROM payments", func(p *pgxpool.Pool) (err error) {
				obs, err = monitor.NewStore(p, ledger.New(p)).Observe(t.Context(), m, time.Now())
				return err
			})
			if len(obs.Stalled) == 0 {
				t.Fatal("the monitor found no held payment")
			}
			if read, how := readBy(t, pool, qs, "payments"); read > float64(10*held) {
				t.Errorf("a held_leg_age evaluation read %.0f of %d payments to find %d held ones (scans: %v)",
					read, nPayments, held, how)
			}
		})
	}
}

// GET /api/v1/payouts?cursor= pages by keyset, so a page deep in a client's history must read
// about a page of payments. The cursor's row comparison includes the leg, so it cannot bound the
// scan of payments by itself.
func TestPayoutsCursorPageReadsAPage(t *testing.T) {
	pool := loadPayments(t)
	const limit = 50
	// The cursor a client reaches after paging through its 2,500 newest payments.
	var at time.Time
	var wf string
	if err := pool.QueryRow(t.Context(), `SELECT captured_at, workflow_id FROM payments WHERE client_id = 'c7'
		ORDER BY captured_at DESC, workflow_id DESC OFFSET 2500 LIMIT 1`).Scan(&at, &wf); err != nil {
		t.Fatal(err)
	}
	f := store.PayoutFilter{ClientID: "c7", After: &store.PayoutCursor{CapturedAt: at, WorkflowID: wf, Leg: "affiliate-a0"}, Limit: limit + 1}
	var got []store.Payout
	qs := recorded(t, pool, "FROM payments", func(p *pgxpool.Pool) (err error) {
		got, err = store.New(p).ListPayouts(t.Context(), f)
		return err
	})
	if len(got) != limit+1 || got[0].CapturedAt.After(at) {
		t.Fatalf("listed %d payouts, want %d captured at or before the cursor's %v", len(got), limit+1, at)
	}
	if read, how := readBy(t, pool, qs, "payments"); read > 10*limit {
		t.Errorf("a payouts page of %d legs after the cursor read %.0f payments (scans: %v)", limit, read, how)
	}
}

// A Stripe Connect event about an account (store.HeldAtStripeAccount) must read the held
// payments (a handful, through payments_status), not every payment, and not every payee.
func TestConnectEventReadsHeldPaymentsNotTheTable(t *testing.T) {
	pool := loadPayments(t)
	if _, err := pool.Exec(t.Context(), `INSERT INTO payees (id, client_id, kind, stripe_account)
		SELECT v, c, 'vendor', 'acct_'||v FROM (SELECT 'v'||i AS v, 'c'||(i%40+1) AS c FROM generate_series(0, 399) i
			UNION ALL SELECT 'vbig', 'c4') s
		ON CONFLICT DO NOTHING`); err != nil {
		t.Fatal(err)
	}
	var held int
	if err := pool.QueryRow(t.Context(), `SELECT count(*) FROM payments WHERE status = 'held'`).Scan(&held); err != nil {
		t.Fatal(err)
	}
	// The big vendor: the one most payments are held for (payments of its own client: a vendor
	// is one client's payee, and a leg held for another client's is not the account's to release;
	// each v<i> is client c<i%40+1>'s as the payments are, vbig only c4's).
	var vendor string
	var heldAt int
	if err := pool.QueryRow(t.Context(), `SELECT p.vendor_id, count(*) FROM payments p
		JOIN payees y ON y.id = p.vendor_id AND y.client_id = p.client_id WHERE p.status = 'held'
		GROUP BY p.vendor_id ORDER BY count(*) DESC, p.vendor_id LIMIT 1`).Scan(&vendor, &heldAt); err != nil {
		t.Fatal(err)
	}
	var got []store.HeldPayment
	qs := recorded(t, pool, "FROM payments", func(p *pgxpool.Pool) (err error) {
		got, err = store.New(p).HeldAtStripeAccount(t.Context(), "acct_"+vendor)
		return err
	})
	if len(got) != heldAt {
		t.Fatalf("found %d payments held at acct_%s, want %d (of %d held)", len(got), vendor, heldAt, held)
	}
	read, how := readBy(t, pool, qs, "payments")
	if read > float64(10*held) {
		t.Errorf("a Connect event read %.0f of %d payments to find %d held ones (scans: %v)", read, nPayments, held, how)
	}
	readPayees, howPayees := readBy(t, pool, qs, "payees")
	if readPayees > float64(10*held) {
		t.Errorf("a Connect event read %.0f payees for %d held payments (scans: %v)", readPayees, held, howPayees)
	}
	t.Logf("%d held at acct_%s of %d held: read %.0f payments (%v), %.0f payees (%v)", heldAt, vendor, held, read, how, readPayees, howPayees)
}
