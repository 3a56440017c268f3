package deploy

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"paysplit/internal/config"
	"paysplit/internal/report"
)

// terraformFunctions are the Terraform built-ins the configuration may call; a typo in a
// function name is otherwise only found by `terraform validate`.
var terraformFunctions = []string{
	"can", "cidrsubnet", "concat", "contains", "file", "format", "jsonencode", "length", "merge",
	"min", "max", "regex", "slice", "tostring", "toset", "values", "keys", "lookup", "try",
}

// module is what the Terraform files declare.
type module struct {
	variables, locals, resources, data, outputs map[string]hcl.Range
	refs                                        []hcl.Traversal
	calls                                       []*hclsyntax.FunctionCallExpr
}

func loadModule(t *testing.T, dir string) *module {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.tf"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	m := &module{variables: map[string]hcl.Range{}, locals: map[string]hcl.Range{}, resources: map[string]hcl.Range{},
		data: map[string]hcl.Range{}, outputs: map[string]hcl.Range{}}
	p := hclparse.NewParser()
	for _, path := range files {
		f, diags := p.ParseHCLFile(path)
		require.False(t, diags.HasErrors(), "%s", diags.Error())
		body := f.Body.(*hclsyntax.Body)
		for _, b := range body.Blocks {
			declare := func(into map[string]hcl.Range, name string) {
				_, dup := into[name]
				require.False(t, dup, "%s: %s %q declared twice", b.Range(), b.Type, name)
				into[name] = b.DefRange()
			}
			switch b.Type {
			case "variable":
				declare(m.variables, b.Labels[0])
			case "output":
				declare(m.outputs, b.Labels[0])
			case "resource":
				require.Len(t, b.Labels, 2, "%s", b.DefRange())
				declare(m.resources, b.Labels[0]+"."+b.Labels[1])
			case "data":
				require.Len(t, b.Labels, 2, "%s", b.DefRange())
				declare(m.data, b.Labels[0]+"."+b.Labels[1])
			case "locals":
				for name := range b.Body.Attributes {
					declare(m.locals, name)
				}
			case "terraform", "provider":
			default:
				t.Errorf("%s: unexpected top-level block %q", b.DefRange(), b.Type)
			}
		}
		m.collect("", body)
	}
	return m
}

// collect records every variable reference and function call of a body and its nested blocks.
// Two attributes hold no references: a variable's type constraint and lifecycle.ignore_changes.
func (m *module) collect(blockType string, body *hclsyntax.Body) {
	for name, a := range body.Attributes {
		if blockType == "variable" && name == "type" || blockType == "lifecycle" && name == "ignore_changes" {
			continue
		}
		m.refs = append(m.refs, a.Expr.Variables()...)
		_ = hclsyntax.VisitAll(a.Expr, func(n hclsyntax.Node) hcl.Diagnostics {
			if call, ok := n.(*hclsyntax.FunctionCallExpr); ok {
				m.calls = append(m.calls, call)
			}
			return nil
		})
	}
	for _, b := range body.Blocks {
		m.collect(b.Type, b.Body)
	}
}

func TestTerraformParsesAndReferencesResolve(t *testing.T) {
	m := loadModule(t, "terraform")
	used := map[string]bool{}
	for _, ref := range m.refs {
		root := ref.RootName()
		attr := func(i int) string {
			if len(ref) <= i {
				return ""
			}
			if a, ok := ref[i].(hcl.TraverseAttr); ok {
				return a.Name
			}
			return ""
		}
		where := ref.SourceRange().String()
		switch root {
		case "var":
			_, ok := m.variables[attr(1)]
			require.True(t, ok, "%s: undeclared variable var.%s", where, attr(1))
			used[attr(1)] = true
		case "local":
			_, ok := m.locals[attr(1)]
			require.True(t, ok, "%s: undeclared local.%s", where, attr(1))
		case "data":
			_, ok := m.data[attr(1)+"."+attr(2)]
			require.True(t, ok, "%s: undeclared data.%s.%s", where, attr(1), attr(2))
		case "path", "each", "count", "self", "terraform":
		default:
			_, ok := m.resources[root+"."+attr(1)]
			require.True(t, ok, "%s: undeclared resource %s.%s", where, root, attr(1))
		}
	}
	for name, r := range m.variables {
		require.True(t, used[name], "%s: variable %q is never used", r, name)
	}
	for _, call := range m.calls {
		require.True(t, slices.Contains(terraformFunctions, call.Name), "%s: unknown function %s()", call.Range(), call.Name)
	}
	for _, name := range []string{"aws_vpc.main", "aws_db_instance.main", "aws_s3_bucket.reports",
		"aws_s3_bucket_server_side_encryption_configuration.reports", "aws_s3_bucket_lifecycle_configuration.reports",
		"aws_lb.api", "aws_ecs_service.worker", "aws_ecs_service.api", "aws_appautoscaling_policy.worker_cpu",
		"aws_appautoscaling_policy.worker_backlog", "aws_secretsmanager_secret.database_url"} {
		_, ok := m.resources[name]
		require.True(t, ok, "the stack declares %s", name)
	}
}

func TestExampleHCLParses(t *testing.T) {
	files, err := filepath.Glob("terraform/*.example")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	files = append(files, "terraform/.tflint.hcl")
	p := hclparse.NewParser()
	for _, path := range files {
		_, diags := p.ParseHCLFile(path)
		require.False(t, diags.HasErrors(), "%s", diags.Error())
	}
}

// TestTerraformFilesAreFormatted applies the rules of `terraform fmt`: the files are as
// hclwrite.Format (the formatter `terraform fmt` runs) writes them (aligned `=`, spacing), with
// two-space indents, no tabs, no trailing spaces, a final newline.
func TestTerraformFilesAreFormatted(t *testing.T) {
	files, err := filepath.Glob("terraform/*.tf")
	require.NoError(t, err)
	for _, path := range files {
		b, err := os.ReadFile(path)
		require.NoError(t, err)
		want := strings.Split(string(hclwrite.Format(b)), "\n")
		for i, line := range strings.Split(string(b), "\n") {
			require.True(t, i < len(want) && line == want[i], "%s:%d is not as `terraform fmt` writes it:\n%q\nwant\n%q", path, i+1, line, want[min(i, len(want)-1)])
		}
		require.True(t, strings.HasSuffix(string(b), "\n"), "%s ends without a newline", path)
		for i, line := range strings.Split(string(b), "\n") {
			require.NotContains(t, line, "\t", "%s:%d has a tab", path, i+1)
			require.Equal(t, strings.TrimRight(line, " "), line, "%s:%d has trailing spaces", path, i+1)
			indent := len(line) - len(strings.TrimLeft(line, " "))
			require.Zero(t, indent%2, "%s:%d indent is not a multiple of two", path, i+1)
		}
	}
}

func TestYAMLParses(t *testing.T) {
	files := []string{"terraform/adot-worker.yaml"}
	workflows, err := filepath.Glob("../.github/workflows/*.yml")
	require.NoError(t, err)
	require.NotEmpty(t, workflows)
	for _, path := range append(files, workflows...) {
		b, err := os.ReadFile(path)
		require.NoError(t, err)
		var doc map[string]any
		require.NoError(t, yaml.Unmarshal(b, &doc), path)
		require.NotEmpty(t, doc, path)
	}
}

// TestDockerfilesBuildThePrograms checks each image builds a program that exists, statically,
// onto a distroless non-root base, and probes itself for health.
func TestDockerfilesBuildThePrograms(t *testing.T) {
	for _, prog := range []string{"worker", "api"} {
		t.Run(prog, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("docker", prog+".Dockerfile"))
			require.NoError(t, err)
			df := string(b)
			main, err := os.ReadFile(filepath.Join("..", prog, "main.go"))
			require.NoError(t, err)
			require.Contains(t, string(main), "package main")
			require.Contains(t, string(main), `"healthcheck"`, "the image's HEALTHCHECK runs `%s healthcheck`", prog)
			require.Regexp(t, regexp.MustCompile(`CGO_ENABLED=0 .*go build .* \./`+prog+`\b`), df)
			require.Regexp(t, regexp.MustCompile(`(?m)^FROM gcr\.io/distroless/static[^ ]*:nonroot$`), df)
			require.Regexp(t, regexp.MustCompile(`(?m)^USER nonroot`), df)
			require.Contains(t, df, `CMD ["/usr/local/bin/`+prog+`", "healthcheck"]`)
			_, err = os.Stat(filepath.Join("docker", prog+".Dockerfile.dockerignore"))
			require.NoError(t, err)
		})
	}
}

// TestWorkerImageHasTheReportFonts: the worker image copies every fallback font REPORT_FONTS=auto
// looks for, to the path it looks at; a font missing there draws a client's name as boxes.
func TestWorkerImageHasTheReportFonts(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("docker", "worker.Dockerfile"))
	require.NoError(t, err)
	df := string(b)
	scripts := regexp.MustCompile(`for s in ([A-Za-z ]+); do`).FindStringSubmatch(df)
	require.NotNil(t, scripts, "the Dockerfile's loop over the Noto scripts")
	for _, p := range report.DefaultFontPaths {
		dir, file := filepath.Split(p)
		require.Contains(t, df, "COPY --from=fonts /out/"+filepath.Base(dir)+"/ "+dir, p)
		if s, ok := strings.CutPrefix(file, "NotoSans"); ok {
			require.Contains(t, strings.Fields(scripts[1]), strings.TrimSuffix(s, "-Regular.ttf"), p)
			continue
		}
		require.Contains(t, df, "cp "+p+" ", p)
	}
}

// TestProductionSettingsAreProvided: every setting the programs refuse to start without in
// production (a secret has no default there) is set by the task definitions, as a plain
// variable or a secret. SECRETS_KEY was missing once: both services would have crash-looped.
func TestProductionSettingsAreProvided(t *testing.T) {
	provided := map[string]bool{}
	for _, file := range []string{"terraform/ecs.tf", "terraform/secrets.tf"} {
		b, err := os.ReadFile(file)
		require.NoError(t, err)
		for _, m := range regexp.MustCompile(`name\s*=\s*"([A-Z][A-Z0-9_]+)"`).FindAllStringSubmatch(string(b), -1) {
			provided[m[1]] = true
		}
		for _, m := range regexp.MustCompile(`\b([A-Z][A-Z0-9_]+)\s+=\s`).FindAllStringSubmatch(string(b), -1) {
			provided[m[1]] = true
		}
	}
	// Values of the right shape for what production requires; the test asks for one it lacks.
	samples := map[string]string{
		"DATABASE_URL":          "postgres://app:secret@db.internal:5432/paysplit?sslmode=require",
		"ADMIN_API_KEY":         "an-admin-key-of-some-length",
		"STRIPE_API_KEY":        "sk_live_123",
		"STRIPE_WEBHOOK_SECRET": "whsec_123",
		"SECRETS_KEY":           "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
	}
	env := map[string]string{"APP_ENV": "production", "S3_BUCKET": "reports", "S3_REGION": "eu-west-1"}
	var required []string
	for range 100 {
		_, err := config.LoadFrom(func(k string) string { return env[k] })
		if err == nil {
			break
		}
		m := regexp.MustCompile(`config: (\w+) is required but not set`).FindStringSubmatch(err.Error())
		require.NotNil(t, m, "production settings: %v", err)
		v, ok := samples[m[1]]
		require.True(t, ok, "production requires %s: add a sample value to this test", m[1])
		env[m[1]] = v
		required = append(required, m[1])
	}
	require.NotEmpty(t, required)
	for _, name := range required {
		require.True(t, provided[name], "production requires %s, which deploy/terraform never sets", name)
	}
}

// TestTerraformOutputsAreReadRaw: a job that reads `terraform output` into a shell variable must
// set up Terraform without the action's wrapper (terraform_wrapper: false). The wrapper, the
// action's default, prints its own ::debug:: lines on the same stdout after the output
// (hashicorp/setup-terraform#20, #334): `$(terraform output -raw worker_versioning)` read
// "true::debug::Terraform exited with code 0...", never "true", so the deploy skipped making the
// new worker build current as if versioning were off, and the cluster name it waited on was not
// the cluster's.
func TestTerraformOutputsAreReadRaw(t *testing.T) {
	workflows, err := filepath.Glob("../.github/workflows/*.yml")
	require.NoError(t, err)
	for _, path := range workflows {
		b, err := os.ReadFile(path)
		require.NoError(t, err)
		var doc struct {
			Jobs map[string]struct {
				Steps []struct {
					Uses string         `yaml:"uses"`
					With map[string]any `yaml:"with"`
					Run  string         `yaml:"run"`
				} `yaml:"steps"`
			} `yaml:"jobs"`
		}
		require.NoError(t, yaml.Unmarshal(b, &doc), path)
		for name, job := range doc.Jobs {
			reads, wrapped := false, false
			for _, s := range job.Steps {
				reads = reads || regexp.MustCompile(`\$\(terraform\b[^)]*\boutput\b`).MatchString(s.Run)
				if strings.HasPrefix(s.Uses, "hashicorp/setup-terraform@") {
					wrapped = s.With["terraform_wrapper"] != false
				}
			}
			require.False(t, reads && wrapped, "%s: job %s reads terraform output in $(...) with setup-terraform's wrapper on: set terraform_wrapper: false", path, name)
		}
	}
}

// TestWorkerTaskHasTheTemporalUIURL: the worker links an alert email or webhook message about one
// payment to its workflow under TEMPORAL_UI_URL, as the API links its alerts; a worker task
// without it would link on-call to the development default (127.0.0.1:8233). Both tasks take it
// from common_env.
func TestWorkerTaskHasTheTemporalUIURL(t *testing.T) {
	b, err := os.ReadFile("terraform/ecs.tf")
	require.NoError(t, err)
	tf := string(b)
	common := regexp.MustCompile(`(?s)common_env\s*=\s*concat\(\[(.*?)\]\s*,`).FindStringSubmatch(tf)
	require.NotNil(t, common, "ecs.tf defines common_env")
	require.Regexp(t, `name\s*=\s*"TEMPORAL_UI_URL",\s*value\s*=\s*var\.temporal_ui_url`, common[1])
	require.Regexp(t, `worker_env\s*=\s*concat\(local\.common_env\b`, tf, "the worker's settings include common_env")
	require.Regexp(t, `api_env\s*=\s*concat\(local\.common_env\b`, tf, "the API's settings include common_env")
}
