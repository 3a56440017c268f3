package activities_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"paysplit/activities"
	"paysplit/internal/alert"
	"paysplit/internal/ledger"
	"paysplit/internal/mailer/mailbox"
	"paysplit/internal/monitor"
	"paysplit/testenv"
)

const linksHookSecret = "whsec-alert-links-test-0123456789"

// linksHook is an alert webhook receiver as a customer writes one: it verifies the signature,
// then keeps each message as the JSON object it got, so the test sees the exact fields sent.
type linksHook struct {
	mu  sync.Mutex
	got []map[string]any
}

func (h *linksHook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if err := alert.VerifySignature(linksHookSecret, r.Header.Get(alert.SignatureHeader), body, time.Now(), alert.DefaultTolerance); err != nil {
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.got = append(h.got, m)
}

func (h *linksHook) messages() []map[string]any {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]map[string]any(nil), h.got...)
}

// oldWebhookFields are the fields every alert webhook message carried before alerts named their
// payment: a message not about one payment carries exactly these (resolved_at only once resolved).
var oldWebhookFields = []string{"delivery_id", "alert_id", "monitor_id", "monitor_name", "kind", "event", "summary",
	"subjects", "period_start", "fired_at"}

// TestAlertAboutOnePaymentCarriesItAndItsLinks: on-call reads an alert in their email or a chat
// fed by the webhook, not in the admin API. An alert about one stored payment (one subject, a
// kind whose subjects are payments) now carries the payment as the admin API's alert listing does
// (workflow ID, provider, client, order; no personal data), the admin API's page of it and, where
// the worker knows TEMPORAL_UI_URL, a link to its workflow in the Temporal UI; before, both
// channels named the workflow ID in the subjects only. An alert about several payments, or
// about something else whose name equals a payment's workflow ID (a balance), is sent as before.
func TestAlertAboutOnePaymentCarriesItAndItsLinks(t *testing.T) {
	const wf = "payment-paypal-PAYID-ALINK42"
	const uiBase = "http://temporal.example:8233/"
	const wantLink = "http://temporal.example:8233/namespaces/payments-prod/workflows/" + wf
	pool := testenv.OwnDatabase(t)
	_, err := pool.Exec(t.Context(), `INSERT INTO payments (workflow_id, provider, payment_id, client_id, order_id, status, state, updated_at, status_since)
		VALUES ($1, 'paypal', 'PAYID-ALINK42', 'shop-alink', 'order-1001', 'paid', '{}', now(), now())`, wf)
	require.NoError(t, err)
	l := ledger.New(pool)
	store := monitor.NewStore(pool, l)

	tests := []struct {
		name       string
		kind       monitor.Kind
		params     monitor.Params
		subjects   []string
		temporalUI string
		// wantPayment: the alert is about the stored payment; wantLink: with its Temporal UI link.
		wantPayment, wantLink bool
	}{
		{name: "one payment, Temporal UI known", kind: monitor.KindHeldLegAge, subjects: []string{wf}, temporalUI: uiBase, wantPayment: true, wantLink: true},
		{name: "one payment, no Temporal UI", kind: monitor.KindHeldLegAge, subjects: []string{wf}, wantPayment: true},
		{name: "several payments", kind: monitor.KindHeldLegAge, subjects: []string{wf, "payment-stripe-pi_other"}, temporalUI: uiBase},
		{name: "a balance named like a payment", kind: monitor.KindBalanceAbove, subjects: []string{wf}, temporalUI: uiBase,
			params: monitor.Params{Account: ledger.VendorPayable("v-alink"), Currency: "usd", Threshold: 5_000}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			// Only this case's alert is pending: earlier cases' messages were delivered.
			m, err := store.Create(ctx, monitor.Monitor{Name: "links " + tt.name, Kind: tt.kind, Params: tt.params}, "test")
			require.NoError(t, err)
			_, err = store.Apply(ctx, m.ID, monitor.Result{Status: monitor.StatusFiring, Summary: tt.name + " firing", Subjects: tt.subjects}, time.Now())
			require.NoError(t, err)

			hook := &linksHook{}
			srv := httptest.NewServer(hook)
			defer srv.Close()
			box, err := mailbox.Listen("127.0.0.1:0")
			require.NoError(t, err)
			defer box.Close()
			a := &activities.Integrity{Ledger: l, Monitors: store,
				Webhook:       &alert.Webhook{URL: srv.URL, Secret: linksHookSecret, Client: srv.Client()},
				Email:         &alert.SMTP{Addr: box.Addr(), From: "paysplit-alerts@alink.example", To: []string{"oncall@alink.example"}},
				TemporalUIURL: tt.temporalUI, TemporalNamespace: "payments-prod"}
			var suite testsuite.WorkflowTestSuite
			env := suite.NewTestActivityEnvironment()
			env.RegisterActivity(a)
			_, err = env.ExecuteActivity(a.DeliverAlerts, activities.DeliverAlertsInput{})
			require.NoError(t, err)

			got := hook.messages()
			require.Len(t, got, 1)
			mails := box.Messages()
			require.Len(t, mails, 1)
			mail, err := mailbox.Parse(mails[0].Data)
			require.NoError(t, err)
			text := strings.ReplaceAll(mail.Text, "\r\n", "\n")
			require.Empty(t, mail.HTML, "alert emails are plain text")

			if !tt.wantPayment {
				var keys []string
				for k := range got[0] {
					keys = append(keys, k)
				}
				require.ElementsMatch(t, oldWebhookFields, keys, "a message not about one payment has the fields it had: %v", got[0])
				for _, s := range []string{"Payment:", "Client:", "Order:", "Admin:", "Temporal:", "http"} {
					require.NotContains(t, text, s, "the email of an alert not about one payment is as it was:\n%s", text)
				}
				return
			}
			for _, k := range oldWebhookFields {
				require.Contains(t, got[0], k, "no field receivers read is taken away")
			}
			want := map[string]any{"workflow_id": wf, "provider": "paypal", "client_id": "shop-alink", "order_id": "order-1001",
				"admin_url": "/api/v1/admin/payments/" + wf}
			if tt.wantLink {
				want["workflow_url"] = wantLink
			}
			require.Equal(t, want, got[0]["payment"], "the webhook message carries the payment")

			for _, line := range []string{"Payment:  " + wf, "Provider: paypal", "Client:   shop-alink", "Order:    order-1001",
				"Admin:    GET /api/v1/admin/payments/" + wf} {
				require.Contains(t, text, line+"\n", "the email names the payment:\n%s", text)
			}
			if tt.wantLink {
				require.Contains(t, text, "Temporal: "+wantLink+"\n", "the email links the workflow:\n%s", text)
			} else {
				require.NotContains(t, text, "\nTemporal: ", "no link where the worker knows no Temporal UI:\n%s", text)
				require.NotContains(t, text, "http", "no link where the worker knows no Temporal UI:\n%s", text)
			}
		})
	}
}
