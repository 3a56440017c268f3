package server_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paysplit/internal/payment"
)

// TestTimesWithAnOffsetAreReadAsTyped: an RFC 3339 time east of UTC has a '+' in it
// (2026-06-10T21:00:00+09:00), which a query string reads as a space unless it is sent as %2B.
// An admin typing or pasting such a time into a URL (curl, the browser's address bar, a script
// building the query by hand) was told "from must be an RFC 3339 time", about a time that is
// one: the month-end close of a Tokyo agency at 23:59:59+09:00 could not be asked for without
// knowing why. A space where the offset's sign goes can only be that '+', so it is read as one;
// a time that is still not one says how to write one, '+' escaped included.
func TestTimesWithAnOffsetAreReadAsTyped(t *testing.T) {
	a := newAPI(t, nil)
	c := a.newClient("offsets")
	ctx := t.Context()
	noon := time.Date(2026, 6, 10, 12, 0, 0, 0, time.UTC) // 21:00 in Tokyo
	for _, r := range []payment.Record{
		paidRecord(c, c+"-before", noon.Add(-time.Minute), 1000, 0, payment.StatusPaid),
		paidRecord(c, c+"-at", noon, 1000, 0, payment.StatusPaid),
	} {
		require.NoError(t, a.store.SavePayment(ctx, r))
	}
	ids := func(body map[string]any) []string {
		out := []string{}
		for _, p := range body["payments"].([]any) {
			out = append(out, p.(map[string]any)["workflow_id"].(string))
		}
		return out
	}

	for _, tt := range []struct{ name, from string }{
		{"escaped", url.QueryEscape("2026-06-10T21:00:00+09:00")},
		{"typed, its + unescaped", "2026-06-10T21:00:00+09:00"},
		{"with fractions, unescaped", "2026-06-10T21:00:00.000+09:00"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, body := a.json(req{method: http.MethodGet, key: adminKey,
				path: "/api/v1/admin/payments?client_id=" + c + "&from=" + tt.from})
			require.Equal(t, http.StatusOK, code, body)
			require.Equal(t, []string{"payment-stripe-" + c + "-at"}, ids(body), "from 12:00 UTC on")
		})
	}
	code, body := a.json(req{method: http.MethodGet, key: adminKey,
		path: "/api/v1/admin/payments?client_id=" + c + "&to=2026-06-10T21:00:00+09:00"})
	require.Equal(t, http.StatusOK, code, body)
	require.Equal(t, []string{"payment-stripe-" + c + "-before"}, ids(body), "to 12:00 UTC, exclusive")

	// One account's balance as of a month's end in Tokyo, typed as is.
	code, body = a.json(req{method: http.MethodGet, key: adminKey,
		path: "/api/v1/admin/ledger/balances/vendor_payable:" + c + "-v?as_of=2026-06-30T23:59:59+09:00"})
	require.Equal(t, http.StatusOK, code, body)
	require.Equal(t, "2026-06-30T14:59:59Z", body["as_of"])

	// Every account's balances as of the same time, typed as is, too.
	code, body = a.json(req{method: http.MethodGet, key: adminKey,
		path: "/api/v1/admin/ledger/balances?as_of=2026-06-30T23:59:59+09:00"})
	require.Equal(t, http.StatusOK, code, body)

	// Not a time, even read that way: the answer says what one looks like, escaping included.
	for _, path := range []string{
		"/api/v1/admin/payments?from=2026-06-10T21:00+09:00",
		"/api/v1/admin/ledger/balances/platform:revenue?as_of=yesterday",
		"/api/v1/admin/ledger/balances?as_of=yesterday",
	} {
		code, body = a.json(req{method: http.MethodGet, key: adminKey, path: path})
		require.Equal(t, http.StatusBadRequest, code, body)
		require.Contains(t, body["error"].(map[string]any)["message"], "%2B", path)
	}
}
