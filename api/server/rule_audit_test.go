package server_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestSplitRuleAuditShowsTheVersionItSupersedes: the audit entry of a new split rule version has
// the version in force until then as its "before" (none for the client's first), so the log alone
// says what an admin changed (10 % to 12 %, the affiliate's share dropped) and who did it, as for
// every other change. It used to record no "before" at all.
func TestSplitRuleAuditShowsTheVersionItSupersedes(t *testing.T) {
	a := newAPI(t, nil)
	c := a.newClient("ruleaudit")
	rules := "/api/v1/admin/clients/" + c + "/split-rules"
	versions := []map[string]any{
		{"platform_bps": 1000, "affiliate_bps": 500, "commission_on_tax": true, "min_platform_fee": 50},
		{"platform_bps": 1200},
		{"platform_bps": 1200, "affiliate_bps": 300, "max_platform_fee": 900, "fee_currency": "EUR", "base_version": 2},
	}
	for _, v := range versions {
		code, body := a.json(req{method: http.MethodPost, path: rules, key: adminKey, body: v})
		require.Equal(t, http.StatusCreated, code, body)
	}

	var entries []map[string]any
	for _, e := range a.auditOf("client:" + c) {
		if e["action"] == "split_rule.create" {
			entries = append([]map[string]any{e}, entries...) // oldest first
		}
	}
	require.Len(t, entries, len(versions))
	tests := []struct {
		name          string
		before, after map[string]any // the fields checked; before nil: none
	}{
		{"the first version supersedes none", nil,
			map[string]any{"version": 1.0, "platform_bps": 1000.0, "affiliate_bps": 500.0, "commission_on_tax": true, "min_platform_fee": 50.0}},
		{"the second shows the first", map[string]any{"version": 1.0, "platform_bps": 1000.0, "affiliate_bps": 500.0, "commission_on_tax": true, "min_platform_fee": 50.0},
			map[string]any{"version": 2.0, "platform_bps": 1200.0, "affiliate_bps": 0.0, "commission_on_tax": false, "min_platform_fee": 0.0}},
		{"the third shows the second", map[string]any{"version": 2.0, "platform_bps": 1200.0, "affiliate_bps": 0.0, "fee_currency": "usd"},
			map[string]any{"version": 3.0, "affiliate_bps": 300.0, "max_platform_fee": 900.0, "fee_currency": "eur"}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := entries[i]
			require.Equal(t, "admin:bootstrap", e["actor"])
			after, ok := e["after"].(map[string]any)
			require.True(t, ok, "after: %v", e["after"])
			for k, v := range tt.after {
				require.Equal(t, v, after[k], "after.%s", k)
			}
			if tt.before == nil {
				require.Nil(t, e["before"], "the client had no rule")
				return
			}
			before, ok := e["before"].(map[string]any)
			require.True(t, ok, "before is the version superseded, not %v", e["before"])
			for k, v := range tt.before {
				require.Equal(t, v, before[k], "before.%s", k)
			}
		})
	}
}
