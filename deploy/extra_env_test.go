package deploy

import (
	"os"
	"regexp"
	"slices"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/stretchr/testify/require"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
)

// TestExtraEnvCannotRepeatTheModulesSettings: extra_env is appended to the settings the task
// definitions set (ecs.tf), so a name in both is in a task twice, and which value a program reads
// is not defined. The case that matters: REPORTS=off in extra_env next to the module's
// REPORTS=on, to turn reports off, could be ignored without a word. extra_env's validation
// refuses every name the app containers' env locals set, and no other.
func TestExtraEnvCannotRepeatTheModulesSettings(t *testing.T) {
	// The names ecs.tf's app env locals set.
	src, err := os.ReadFile("terraform/ecs.tf")
	require.NoError(t, err)
	f, diags := hclparse.NewParser().ParseHCL(src, "terraform/ecs.tf")
	require.False(t, diags.HasErrors(), "%s", diags.Error())
	nameRE := regexp.MustCompile(`\{\s*name\s*=\s*"([A-Z][A-Z0-9_]+)",\s*value\s*=`)
	var set []string
	for _, b := range f.Body.(*hclsyntax.Body).Blocks {
		if b.Type != "locals" {
			continue
		}
		for _, local := range []string{"common_env", "worker_env", "api_env"} {
			a, ok := b.Body.Attributes[local]
			if !ok {
				continue
			}
			r := a.Expr.Range()
			for _, m := range nameRE.FindAllSubmatch(src[r.Start.Byte:r.End.Byte], -1) {
				set = append(set, string(m[1]))
			}
		}
	}
	require.Contains(t, set, "REPORTS")
	require.Contains(t, set, "WORKER_HTTP_ADDR", "worker_env is read")
	require.Contains(t, set, "API_ADDR", "api_env is read")

	// extra_env's validation, evaluated with Terraform's functions it calls.
	vf, diags := hclparse.NewParser().ParseHCLFile("terraform/variables.tf")
	require.False(t, diags.HasErrors(), "%s", diags.Error())
	var conditions []hcl.Expression
	for _, b := range vf.Body.(*hclsyntax.Body).Blocks {
		if b.Type == "variable" && b.Labels[0] == "extra_env" {
			for _, v := range b.Body.Blocks {
				if v.Type == "validation" {
					conditions = append(conditions, v.Body.Attributes["condition"].Expr)
				}
			}
		}
	}
	accepted := func(env map[string]string) bool {
		vals := map[string]cty.Value{}
		for k, v := range env {
			vals[k] = cty.StringVal(v)
		}
		m := cty.MapValEmpty(cty.String)
		if len(vals) > 0 {
			m = cty.MapVal(vals)
		}
		ctx := &hcl.EvalContext{
			Variables: map[string]cty.Value{"var": cty.ObjectVal(map[string]cty.Value{"extra_env": m})},
			Functions: map[string]function.Function{"keys": stdlib.KeysFunc, "contains": stdlib.ContainsFunc, "length": stdlib.LengthFunc},
		}
		for _, c := range conditions {
			v, d := c.Value(ctx)
			require.False(t, d.HasErrors(), "%s", d.Error())
			if v.False() {
				return false
			}
		}
		return true
	}
	require.True(t, accepted(nil))
	require.True(t, accepted(map[string]string{"REPORT_SMTP_ADDR": "email-smtp.eu-west-1.amazonaws.com:587", "REPORT_MAIL_FROM": "reports@example.com"}),
		"the settings extra_env is for")
	slices.Sort(set)
	for _, name := range slices.Compact(set) {
		require.False(t, accepted(map[string]string{name: "x"}),
			"extra_env may set %s, which ecs.tf sets already: the task would have it twice (REPORTS=off next to the module's REPORTS=on)", name)
	}
}
