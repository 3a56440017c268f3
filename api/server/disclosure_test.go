package server_test

// What a client key must not learn, and ranges the API must refuse: each test names the defect it
// was written against.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paysplit/activities"
	"paysplit/api/server"
	"paysplit/internal/kpi"
	"paysplit/internal/kpi/kpisrc"
	"paysplit/internal/payment"
	"paysplit/internal/store"
)

// TestPayoutReasonNamesAnotherClient: GET /api/v1/payouts returns each leg's reason
// verbatim. When a client's order names a vendor whose payee ID is registered to another client
// (README: "acme" + "Shop X" and "acme-shop" + "X" give the same payee ID), the payment workflow
// holds the leg with the reason ResolvePayee wrote: `payee "..." belongs to client "<other>", not
// "<mine>"`. The client API hands that to the first client: another agency client's ID, and
// the fact that it owns that payee.
func TestPayoutReasonNamesAnotherClient(t *testing.T) {
	a := newAPI(t, nil)
	ctx := t.Context()
	alpha := a.newClient("acme")
	bravo := a.newClient("bravo")
	_, keyA := a.newKey(store.RoleClient, alpha)

	// The payee ID both clients' shops produce; bravo registered it first.
	shared := uniqueID("shared-vendor")
	code, body := a.json(req{method: http.MethodPut, path: "/api/v1/admin/payees/" + shared, key: adminKey,
		body: map[string]any{"client_id": bravo, "kind": "vendor", "stripe_account": "acct_bravo123"}})
	require.Equal(t, http.StatusCreated, code, body)

	// What the payment workflow asks before paying alpha's vendor leg (activities.ResolvePayee),
	// and the hold it records on the leg (workflows/payment: leg.State, leg.Reason = held, reason).
	acts := &activities.Activities{Store: a.store}
	out, err := acts.ResolvePayee(ctx, activities.ResolvePayeeInput{Provider: "stripe", PayeeID: shared, Kind: "vendor", ClientID: alpha, Currency: "usd"})
	require.NoError(t, err)
	require.NotEmpty(t, out.HoldReason)

	rec := paidRecord(alpha, alpha+"-pi", time.Now().UTC().Add(-time.Hour), 10000, 0, payment.StatusHeld)
	rec.Order.VendorID = shared
	rec.Legs[1].PayeeID = shared
	rec.Legs[1].State, rec.Legs[1].Reason = payment.LegHeld, out.HoldReason
	require.NoError(t, a.store.SavePayment(ctx, rec))
	// A leg held before the reason changed keeps the old words in its record.
	old := paidRecord(alpha, alpha+"-pi-old", time.Now().UTC().Add(-2*time.Hour), 10000, 0, payment.StatusHeld)
	old.Order.VendorID = shared
	old.Legs[1].PayeeID = shared
	old.Legs[1].State = payment.LegHeld
	old.Legs[1].Reason = fmt.Sprintf("payee %q belongs to client %q, not %q", shared, bravo, alpha)
	require.NoError(t, a.store.SavePayment(ctx, old))

	res, raw := a.send(req{method: http.MethodGet, path: "/api/v1/payouts", key: keyA})
	require.Equal(t, http.StatusOK, res.StatusCode, string(raw))
	require.Contains(t, string(raw), shared, "alpha sees its own held leg")
	var page struct {
		Payouts []struct{ Party, Reason string }
	}
	require.NoError(t, json.Unmarshal(raw, &page))
	held := 0
	for _, p := range page.Payouts {
		require.NotContains(t, p.Reason, bravo, "client %s's payouts name another client", alpha)
		if strings.Contains(p.Reason, "registered to another client") {
			held++
		}
	}
	require.Equal(t, 2, held, "both held legs say why, without naming the client")
}

// TestKPISourceErrorsLeakServerInternals: GET /api/v1/kpis answers a client credential
// with source_errors[].message = the GA4 source's raw error, which names the server's
// credentials file path (file:...) or environment variable (env:...). That is deployment
// configuration, set by an admin, that a client key should never see.
func TestKPISourceErrorsLeakServerInternals(t *testing.T) {
	now := time.Date(2026, 6, 15, 12, 0, 0, 0, time.UTC)
	a := newAPI(t, func(d *server.Deps) {
		d.Now = func() time.Time { return now }
		d.GA4CredentialsDir = "/etc/paysplit/secrets"
		// As api/kpis.go builds it in production: older days come from the client's sources.
		d.KPIs = &kpi.Reader{Hot: d.Store, Cold: (&kpisrc.Factory{Store: d.Store}).Cold, RetentionDays: 7,
			StaleAfter: time.Hour, Now: func() time.Time { return now }}
	})
	for _, ref := range []string{"file:/etc/paysplit/secrets/ga4-internal-path.json", "env:GA4_KEY_INTERNAL_NAME"} {
		t.Run(ref, func(t *testing.T) {
			c := a.newClient("ga")
			_, key := a.newKey(store.RoleClient, c)
			code, body := a.json(req{method: http.MethodPut, path: "/api/v1/admin/clients/" + c + "/kpi-settings", key: adminKey,
				body: map[string]any{"ga4_property_id": "123456789", "ga4_credentials_ref": ref}})
			require.Equal(t, http.StatusOK, code, body)

			code, body = a.json(req{method: http.MethodGet, path: "/api/v1/kpis?from=2026-04-01&to=2026-04-30", key: key})
			require.Equal(t, http.StatusOK, code)
			errs, _ := json.Marshal(body["source_errors"])
			require.Contains(t, string(errs), `"source":"ga4"`, "GA4 failed for the cold days")
			secretPart := strings.SplitN(ref, ":", 2)[1]
			require.NotContains(t, string(errs), secretPart, "a client key is shown the server's credentials location")
		})
	}
}

// TestAuditKeepsPayeeEmailForever: PUT /api/v1/admin/payees/{id} writes the whole payee,
// paypal_receiver included (README: "a PayPal payer ID ... or a business email"), as the audit
// entry's before/after. The audit log is append-only (a trigger refuses UPDATE and DELETE), so a
// person's email address can never be erased from it, and GET /api/v1/admin/audit serves it to
// every admin key. The report settings handler shows the intended policy ("Recipients are
// personal data: the audit log records how many there are, not who"); the payee path does not
// follow it.
func TestAuditKeepsPayeeEmailForever(t *testing.T) {
	a := newAPI(t, nil)
	c := a.newClient("pii")
	payee := c + "-jane-doe"
	const email = "jane.doe.private@example.com"
	code, body := a.json(req{method: http.MethodPut, path: "/api/v1/admin/payees/" + payee, key: adminKey,
		body: map[string]any{"client_id": c, "kind": "vendor", "paypal_receiver": email}})
	require.Equal(t, http.StatusCreated, code, body)
	// The receiver changes (e.g. the person asked to be removed): the old address stays anyway.
	code, body = a.json(req{method: http.MethodPut, path: "/api/v1/admin/payees/" + payee, key: adminKey,
		body: map[string]any{"client_id": c, "kind": "vendor", "paypal_receiver": "ABCDEFGHJKLMN"}})
	require.Equal(t, http.StatusOK, code, body)

	res, raw := a.send(req{method: http.MethodGet, path: "/api/v1/admin/audit?target=payee:" + payee, key: adminKey})
	require.Equal(t, http.StatusOK, res.StatusCode, string(raw))
	_, err := a.pool.Exec(t.Context(), `DELETE FROM audit_log WHERE target = $1`, "payee:"+payee)
	require.Error(t, err, "the audit log is append-only")
	require.NotContains(t, string(raw), email, "the append-only audit log keeps a payee's email address")
}

// TestDateRangeRunsPastYear9999: dateRange accepts from=9999-12-31 and extends the default
// 30 days past it, answering 200 with "to":"10000-01-29" and days such as "10000-01-01": dates
// the API's own parser (and any YYYY-MM-DD consumer, the dashboard's range included) refuses.
// Expected: 400 invalid_request, as for any other unusable range.
func TestDateRangeRunsPastYear9999(t *testing.T) {
	a := newAPI(t, nil)
	c := a.newClient("y10k")
	_, key := a.newKey(store.RoleClient, c)
	for _, p := range []string{"/api/v1/revenue?from=9999-12-31", "/api/v1/kpis?from=9999-12-31"} {
		hr, err := http.NewRequest(http.MethodGet, a.url+p, nil)
		require.NoError(t, err)
		hr.Header.Set("Authorization", "Bearer "+key)
		res, err := http.DefaultClient.Do(hr)
		require.NoError(t, err)
		var out struct {
			To string `json:"to"`
		}
		require.NoError(t, json.NewDecoder(res.Body).Decode(&out))
		res.Body.Close()
		t.Logf("%s -> %d to=%q", p, res.StatusCode, out.To)
		if res.StatusCode == http.StatusOK {
			_, perr := time.Parse(time.DateOnly, out.To)
			require.NoError(t, perr, "%s answered a `to` that is not a YYYY-MM-DD date", p)
		}
	}
}
