package faults

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	ipayment "paysplit/internal/payment"
	"paysplit/internal/stripeevent"
	"paysplit/testenv/stack"
	"paysplit/workflows/payment"
)

// A shop takes payments before its onboarding is finished: the payment parks (no client, or no
// split rule yet), the admin sets the client up, then retries. The retry must split and pay it
// with the client's first rule (there was none in force at capture, and never will be).
func TestPaymentBeforeOnboardingIsPaidOnRetry(t *testing.T) {
	s := stack.New(t, stack.Options{Settings: open})
	tests := []struct {
		name   string
		client string
		before func(t *testing.T) // what exists at capture
	}{
		{name: "unknown client", client: "onbnew", before: func(*testing.T) {}},
		{name: "client without a rule", client: "onbnorule", before: func(t *testing.T) {
			code, out := s.Do(http.MethodPut, "/api/v1/admin/clients/onbnorule", map[string]any{"name": "Shop", "default_currency": "usd"}, stack.AdminKey)
			require.Contains(t, []int{http.StatusOK, http.StatusCreated}, code, out)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.before(t)
			pi := "pi_" + tt.client
			capture := stack.Capture(tt.client, pi)
			capture.Created = time.Now().Add(-time.Hour) // captured well before the rule
			code, out := s.StripeWebhook(stripeevent.Sign(capture.Body(), stack.WebhookSecret, time.Now()))
			require.Equal(t, http.StatusOK, code, out)
			id := payment.WorkflowID("stripe", pi)
			parked := s.AwaitStatus(id, 30*time.Second, ipayment.StatusNeedsAttention)
			require.NotEmpty(t, parked.Reason)

			s.Seed(tt.client) // client, payees and rule v1, now
			code, out = s.Do(http.MethodPost, "/api/v1/admin/payments/"+id+"/retry", nil, stack.AdminKey)
			require.Equal(t, http.StatusAccepted, code, out)
			rec := s.AwaitStatus(id, 30*time.Second, ipayment.StatusPaid)
			require.Equal(t, 1, rec.RuleVersion, "the client's first rule")
			var sum int64
			for _, l := range rec.Legs {
				sum += l.Amount
			}
			require.Equal(t, rec.Gross, sum, "the split adds up")
		})
	}
}
