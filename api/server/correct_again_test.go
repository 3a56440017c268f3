package server_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"paysplit/workflows/payment"
)

// TestCorrectionToAVersionCorrectedToBeforeIsRefused: a payment is corrected to a rule version
// once (its entry and transfers carry the version's keys). Asked again (v1, v2, then v1 again)
// the API answers 409 naming the versions, and audits nothing. It used to answer 202 and audit
// the correction, which the run then dropped: while the payment's run is open (its settle
// window) the request's event ID, correction-v1, was one the run had seen, so nothing happened
// and no reason was recorded either.
func TestCorrectionToAVersionCorrectedToBeforeIsRefused(t *testing.T) {
	s := newStack(t, payment.Settings{SettleWindow: time.Hour})
	id := s.paidUnderTaxRule("againco", "pi_again")
	correct := func(v int) (int, map[string]any) {
		return s.do(http.MethodPost, "/api/v1/admin/payments/"+id+"/correct", map[string]any{"rule_version": v}, adminKey)
	}
	awaitCorrected := func(v int, to []any) {
		require.EventuallyWithT(t, func(c *assert.CollectT) {
			_, view := s.do(http.MethodGet, "/api/v1/admin/payments/"+id, nil, adminKey)
			assert.EqualValues(c, v, view["rule_version"])
			if to == nil {
				assert.Nil(c, view["corrected_to"])
			} else {
				assert.Equal(c, to, view["corrected_to"])
			}
			assert.Equal(c, "paid", view["status"])
		}, 20*time.Second, 100*time.Millisecond)
	}
	awaitCorrected(2, nil) // paid under v2, its run open for the settle window
	code, body := correct(1)
	require.Equal(t, http.StatusAccepted, code, body)
	awaitCorrected(1, []any{1.0})
	code, body = correct(2)
	require.Equal(t, http.StatusAccepted, code, body)
	awaitCorrected(2, []any{1.0, 2.0})

	audited := func() int {
		code, body := s.do(http.MethodGet, "/api/v1/admin/audit?action=payment.correct&target=payment:"+id, nil, adminKey)
		require.Equal(t, http.StatusOK, code, body)
		return len(body["entries"].([]any))
	}
	require.Equal(t, 2, audited())
	code, body = correct(1)
	require.Equal(t, http.StatusConflict, code, body)
	e := body["error"].(map[string]any)
	require.Equal(t, "invalid_state", e["code"])
	require.Equal(t, "the payment was corrected to v1 before (corrected to v1, v2); correcting it again needs a new rule version", e["message"])
	require.Equal(t, 2, audited(), "a refused correction is not audited")
}
