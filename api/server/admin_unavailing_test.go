package server_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	ipayment "paysplit/internal/payment"
	"paysplit/internal/store"
	"paysplit/internal/stripeevent"
	"paysplit/workflows/payment"
)

// errorOf is the code and message of an API error answer.
func errorOf(t *testing.T, body map[string]any) (code, message string) {
	t.Helper()
	e, ok := body["error"].(map[string]any)
	require.True(t, ok, "an error answer: %v", body)
	return e["code"].(string), e["message"].(string)
}

// TestAReleaseOfALegWhosePayeeIsNotRegisteredIsRefused: a payment's affiliate leg is held because
// nobody registered its payee. An admin's release was answered 202, and the run, which checks the
// payee before it pays, held the leg again for the same reason: the admin was told a decision was
// sent that could only come to nothing, and not what to do. Read under the decision's lock, a
// payee that is still not registered (under its ID, nor as the client's one payee of that ID in
// another case, as the run looks it up) makes the release 409 payee_not_registered, saying which
// payee to register; nothing is sent or audited. Once registered (here in the client's own
// capitals), the release is taken and pays.
func TestAReleaseOfALegWhosePayeeIsNotRegisteredIsRefused(t *testing.T) {
	s := newStack(t, payment.Settings{SettleWindow: 0, HoldRecheckEvery: time.Hour, DecisionTimeout: time.Hour})
	c := uniqueName("unregrel")
	s.seed(c)
	ev := capture(c, "pi_"+c)
	ev.Metadata["affiliate_id"] = c + "-nobody"
	code, body := s.webhook(stripeevent.Sign(ev.Body(), webhookSecret, time.Now()))
	require.Equal(t, http.StatusOK, code, body)
	id := payment.WorkflowID("stripe", "pi_"+c)
	held := s.AwaitStatus(id, 30*time.Second, ipayment.StatusHeld)
	require.Contains(t, held.Leg("affiliate").Reason, "not registered")

	for _, party := range []any{nil, map[string]any{"party": "affiliate"}} {
		code, body = s.do(http.MethodPost, "/api/v1/admin/payments/"+id+"/release", party, adminKey)
		require.Equal(t, http.StatusConflict, code, "a release that can only hold the leg again (%v): %v", party, body)
		errCode, msg := errorOf(t, body)
		require.Equal(t, "payee_not_registered", errCode)
		require.Contains(t, msg, "PUT /api/v1/admin/payees/"+c+"-nobody", "says what to register")
	}
	entries, err := s.Store.ListAudit(context.Background(), store.AuditFilter{Target: "payment:" + id})
	require.NoError(t, err)
	require.Empty(t, entries, "nothing was sent, so nothing audited")

	code, body = s.do(http.MethodPut, "/api/v1/admin/payees/"+c+"-Nobody", map[string]any{"client_id": c, "kind": "affiliate", "stripe_account": "acct_" + c + "nb"}, adminKey)
	require.Equal(t, http.StatusCreated, code, body)
	code, body = s.do(http.MethodPost, "/api/v1/admin/payments/"+id+"/release", nil, adminKey)
	require.Equal(t, http.StatusAccepted, code, "the payee registered, the release is taken: %v", body)
	rec := s.AwaitStatus(id, 30*time.Second, ipayment.StatusPaid)
	require.Equal(t, ipayment.LegTransferred, rec.Leg("affiliate").State)
}
