package stack

import (
	"net/http"
	"time"

	"github.com/stretchr/testify/require"

	"paysplit/activities"
)

// Drift is one difference a reconciliation reported, as the admin API lists it.
type Drift struct {
	Payment, Payee   string
	Ledger, Provider float64
}

// Reconcile runs today's reconciliation through the admin API and returns the provider's drifts
// that keep selects (tests may share a database), by kind, as the latest stored run lists them.
func (s *Stack) Reconcile(provider string, keep func(payment, payee string) bool) map[string][]Drift {
	s.T.Helper()
	today := time.Now().UTC().Format(time.DateOnly)
	code, out := s.Do(http.MethodPost, "/api/v1/admin/reconciliation/run", map[string]any{"date": today}, AdminKey)
	require.Equal(s.T, http.StatusOK, code, out)
	run := out["runs"].(map[string]any)[provider].(map[string]any)
	require.Positive(s.T, run["checked"], "the window holds the test's payments")
	code, out = s.Do(http.MethodGet, "/api/v1/admin/reconciliation?limit=5", nil, AdminKey)
	require.Equal(s.T, http.StatusOK, code, out)
	got := map[string][]Drift{}
	for _, r := range out["runs"].([]any) {
		if r := r.(map[string]any); r["provider"] == provider {
			require.EqualValues(s.T, run["id"], r["id"], "the latest stored run is the one just made")
			// The run's answer counts every drift and carries a sample; the store keeps them all.
			stored := r["drifts"].([]any)
			require.EqualValues(s.T, len(stored), run["drift_count"], "drifts counted in the run's answer")
			sample, _ := run["drifts"].([]any)
			require.Len(s.T, sample, min(len(stored), activities.DriftSample), "the answer's sample")
			for _, d := range r["drifts"].([]any) {
				m := d.(map[string]any)
				p, _ := m["payment"].(string)
				payee, _ := m["payee_id"].(string)
				if keep(p, payee) {
					got[m["kind"].(string)] = append(got[m["kind"].(string)], Drift{p, payee, m["ledger_amount"].(float64), m["provider_amount"].(float64)})
				}
			}
			break
		}
	}
	return got
}
