package activities_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"paysplit/activities"
	"paysplit/internal/ledger"
	"paysplit/internal/payment"
)

// TestReconcileAsksAboutPaymentsInParallel: a day's payments are asked about at Stripe several
// at a time. One after another, a day of 5,000 payments at a few hundred milliseconds a call
// outlasted the activity's 30 minutes, and every retry started again from the first. Stripe here
// holds each payment's transfer listing until four are in flight at once, which never happens
// one payment at a time.
func TestReconcileAsksAboutPaymentsInParallel(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	const payments, together = 8, 4
	day := time.Now().UTC().Truncate(24 * time.Hour)
	for i := range payments {
		id := payment.WorkflowID("stripe", fmt.Sprintf("pi_par%d_%d", i, time.Now().UnixNano()))
		require.NoError(t, f.st.SavePayment(ctx, payment.Record{WorkflowID: id, Provider: "stripe", PaymentID: id, Currency: "usd",
			Gross: 1000, Order: payment.Order{ClientID: "shop1", OrderID: "o-" + id, VendorID: "v1"}, Status: payment.StatusPaid}))
		_, _, err := f.a.Ledger.Post(ctx, ledger.Entry{IdempotencyKey: id + "/capture", Currency: "usd", Reference: id, Description: "capture",
			Postings: []ledger.Posting{{Account: ledger.ProviderBalance("stripe"), Amount: 1000}, {Account: ledger.PlatformRevenue, Amount: -1000}}})
		require.NoError(t, err)
	}

	var mu sync.Mutex
	inFlight, most := 0, 0
	filled := make(chan struct{})
	var fill sync.Once
	target, err := url.Parse(f.proxy.URL)
	require.NoError(t, err)
	forward := httputil.NewSingleHostReverseProxy(target)
	stripe := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/transfers" && r.URL.Query().Get("transfer_group") != "" {
			mu.Lock()
			inFlight++
			most = max(most, inFlight)
			if inFlight == together {
				fill.Do(func() { close(filled) })
			}
			mu.Unlock()
			select { // a stand-in for Stripe's latency, until enough are asked at once
			case <-filled:
			case <-time.After(5 * time.Second):
			}
			mu.Lock()
			inFlight--
			mu.Unlock()
		}
		forward.ServeHTTP(w, r)
	}))
	t.Cleanup(stripe.Close)

	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestActivityEnvironment()
	rec := &activities.Reconciler{Store: f.st, Stripe: activities.NewStripeClient("sk_test_123", stripe.URL, nil)}
	env.RegisterActivity(rec)
	_, err = env.ExecuteActivity(rec.Reconcile, activities.ReconcileInput{Provider: "stripe", From: day, To: day.Add(24 * time.Hour), WorkflowID: "reconcile-par"})
	require.NoError(t, err)
	mu.Lock()
	defer mu.Unlock()
	require.GreaterOrEqual(t, most, together, "payments asked about at once")
}
