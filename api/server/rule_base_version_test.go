package server_test

import (
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestSplitRuleBaseVersion: a new split rule version may name the version it was based on
// (base_version); when another admin saved one since, it is 409 rule_changed naming the current
// version, and nothing is stored or audited. Without base_version a save supersedes whatever is
// current, as before.
func TestSplitRuleBaseVersion(t *testing.T) {
	a := newAPI(t, nil)
	c := a.newClient("rulebase")
	rules := "/api/v1/admin/clients/" + c + "/split-rules"
	post := func(body map[string]any) (int, map[string]any) {
		return a.json(req{method: http.MethodPost, path: rules, key: adminKey, body: body})
	}
	current := func() int {
		code, body := a.json(req{method: http.MethodGet, path: rules, key: adminKey})
		require.Equal(t, http.StatusOK, code, body)
		list := body["rules"].([]any)
		require.EqualValues(t, len(list), body["current_version"], "current_version is the newest of the versions listed")
		return len(list)
	}

	// The client's first rule, based on none.
	code, body := post(map[string]any{"platform_bps": 1000, "base_version": 0})
	require.Equal(t, http.StatusCreated, code, body)
	require.EqualValues(t, 1, body["version"])
	require.Equal(t, 1, current())

	tests := []struct {
		name    string
		body    map[string]any
		status  int
		code    string
		message string
		version int // the version stored; 0 when none is
	}{
		{"based on the current version", map[string]any{"platform_bps": 1100, "base_version": 1}, 201, "", "", 2},
		{"based on a version superseded since", map[string]any{"platform_bps": 1200, "base_version": 1}, 409, "rule_changed",
			"the split rule is at version 2, not base_version 1: another save came first; read it and decide again", 0},
		{"based on none when one exists", map[string]any{"platform_bps": 1200, "base_version": 0}, 409, "rule_changed",
			"the split rule is at version 2, not base_version 0: another save came first; read it and decide again", 0},
		{"based on a version not saved yet", map[string]any{"platform_bps": 1200, "base_version": 7}, 409, "rule_changed",
			"the split rule is at version 2, not base_version 7: another save came first; read it and decide again", 0},
		{"a negative base", map[string]any{"platform_bps": 1200, "base_version": -1}, 400, "invalid_request",
			"base_version must be 0 (no rule yet) or a version of the rule", 0},
		{"without a base, as before", map[string]any{"platform_bps": 1300}, 201, "", "", 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := current()
			code, body := post(tt.body)
			require.Equal(t, tt.status, code, body)
			if tt.code != "" {
				e := body["error"].(map[string]any)
				require.Equal(t, tt.code, e["code"])
				require.Equal(t, tt.message, e["message"])
				require.Equal(t, before, current(), "nothing stored")
				return
			}
			require.EqualValues(t, tt.version, body["version"])
			require.Equal(t, tt.version, current())
		})
	}

	// A refused save is not audited: the log has one entry per version.
	code, body = a.json(req{method: http.MethodGet, path: "/api/v1/admin/audit?action=split_rule.create&target=client:" + c, key: adminKey})
	require.Equal(t, http.StatusOK, code, body)
	require.Len(t, body["entries"], 3)
}

// TestSplitRuleConcurrentSavesOnOneBase: two admins who read version 1 and save at the same time
// on that base: exactly one save is stored, the other is 409 rule_changed naming the winner's
// version. The outcome does not depend on which comes first (the client row's lock orders them),
// so the rounds need no timing.
func TestSplitRuleConcurrentSavesOnOneBase(t *testing.T) {
	a := newAPI(t, nil)
	for round := range 5 {
		c := a.newClient("rulerace")
		rules := "/api/v1/admin/clients/" + c + "/split-rules"
		code, body := a.json(req{method: http.MethodPost, path: rules, key: adminKey, body: map[string]any{"platform_bps": 1000}})
		require.Equal(t, http.StatusCreated, code, body)

		type result struct {
			code int
			body map[string]any
		}
		results := make([]result, 2)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range results {
			wg.Go(func() {
				<-start
				code, body := a.json(req{method: http.MethodPost, path: rules, key: adminKey,
					body: map[string]any{"platform_bps": 1100 + 100*i, "base_version": 1}})
				results[i] = result{code, body}
			})
		}
		close(start)
		wg.Wait()

		var won, lost []int
		for i, r := range results {
			switch r.code {
			case http.StatusCreated:
				require.EqualValues(t, 2, r.body["version"], "round %d", round)
				won = append(won, i)
			case http.StatusConflict:
				e := r.body["error"].(map[string]any)
				require.Equal(t, "rule_changed", e["code"])
				require.Equal(t, "the split rule is at version 2, not base_version 1: another save came first; read it and decide again", e["message"])
				lost = append(lost, i)
			default:
				t.Fatalf("round %d: save %d answered %d %v", round, i, r.code, r.body)
			}
		}
		require.Len(t, won, 1, "round %d: exactly one save wins: %v", round, results)
		require.Len(t, lost, 1, "round %d", round)

		code, body = a.json(req{method: http.MethodGet, path: rules, key: adminKey})
		require.Equal(t, http.StatusOK, code, body)
		list := body["rules"].([]any)
		require.Len(t, list, 2, "round %d: the loser stored nothing", round)
		require.EqualValues(t, fmt.Sprint(1100+100*won[0]), fmt.Sprint(list[1].(map[string]any)["platform_bps"]),
			"round %d: version 2 is the winner's", round)
	}
}
