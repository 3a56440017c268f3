package config

import (
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// readmeVariables reads the README's tables of settings (header "| Variable | Default | What |"):
// each variable named in a row's first cell, with the row's default cell.
func readmeVariables(t *testing.T) map[string]string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	name := regexp.MustCompile("`([A-Z][A-Z0-9_]*)`")
	out := map[string]string{}
	inTable := false
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "| Variable |") {
			inTable = true
			continue
		}
		if !strings.HasPrefix(line, "|") {
			inTable = false
			continue
		}
		if !inTable || strings.HasPrefix(line, "| ---") {
			continue
		}
		cells := strings.Split(line, " | ")
		if len(cells) < 3 {
			t.Fatalf("README: a settings row without a default: %s", line)
		}
		names := name.FindAllStringSubmatch(cells[0], -1)
		for _, m := range names {
			def := ""
			if len(names) == 1 {
				def = cells[1]
			}
			out[m[1]] = def
		}
	}
	return out
}

// readVariables are the environment variables load reads, in development and in production.
func readVariables() map[string]bool {
	read := map[string]bool{}
	for _, env := range []map[string]string{{}, productionEnv()} {
		_, _ = load(func(k string) string {
			read[k] = true
			return env[k]
		})
	}
	return read
}

// TestREADMEListsEverySetting fails when a variable the config reads is missing from the README's
// settings tables, when a table lists one it no longer reads, or when a row's default (the first
// `value` of its default cell, and "in production `value`") is not what leaving it unset gives.
func TestREADMEListsEverySetting(t *testing.T) {
	documented := readmeVariables(t)
	read := readVariables()
	var missing, stale []string
	for k := range read {
		if _, ok := documented[k]; !ok {
			missing = append(missing, k)
		}
	}
	for k := range documented {
		if !read[k] {
			stale = append(stale, k)
		}
	}
	sort.Strings(missing)
	sort.Strings(stale)
	if len(missing) > 0 {
		t.Errorf("README's settings tables do not list %s", strings.Join(missing, ", "))
	}
	if len(stale) > 0 {
		t.Errorf("README's settings tables list %s, which the config no longer reads", strings.Join(stale, ", "))
	}

	value := regexp.MustCompile("^`([^`]+)`")
	prod := regexp.MustCompile("in production `([^`]+)`")
	for k, cell := range documented {
		if !read[k] {
			continue
		}
		if m := value.FindStringSubmatch(cell); m != nil {
			checkDefault(t, k, m[1], map[string]string{}, "development")
		}
		if m := prod.FindStringSubmatch(cell); m != nil {
			checkDefault(t, k, m[1], productionEnv(), "production")
		}
	}
}

// checkDefault: setting k to def in env loads the same config as leaving it unset.
func checkDefault(t *testing.T, k, def string, env map[string]string, where string) {
	t.Helper()
	unset, err := LoadFrom(func(n string) string { return env[n] })
	if err != nil {
		t.Fatalf("%s: %v", where, err)
	}
	set, err := LoadFrom(func(n string) string { return with(env, k, def)[n] })
	if err != nil {
		t.Errorf("README's %s default of %s, %q: %v", where, k, def, err)
		return
	}
	if !reflect.DeepEqual(unset, set) {
		t.Errorf("README's %s default of %s is %q, which is not what leaving it unset gives", where, k, def)
	}
}

// envRead matches a program reading an environment variable by name: os.Getenv("X"),
// os.LookupEnv("X"), or a local helper: env("X", def) as cmd/demo's, testenv's lookupTool("X", name).
var envRead = regexp.MustCompile(`(?:os\.Getenv|os\.LookupEnv|\benv|\blookupTool)\("([A-Z][A-Z0-9_]*)"`)

// TestREADMENamesTheVariablesTheProgramsRead: besides the settings tables (load's variables,
// TestREADMEListsEverySetting), the programs and the test servers read a few variables
// themselves (cmd/demo its API's address, internal/db PGCONNECT_TIMEOUT, testenv PG_TEST_URL and
// the server binaries); each is named in the README, or a newcomer cannot tell how to point them
// elsewhere. cmd/bench documents its own in its flags' usage
// (TestFlagsNameTheirEnvironmentDefaults).
func TestREADMENamesTheVariablesTheProgramsRead(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	named := map[string]bool{}
	for _, m := range regexp.MustCompile(`[A-Z][A-Z0-9_]+`).FindAllString(string(readme), -1) {
		named[m] = true
	}
	read := map[string]string{}
	for _, dir := range []string{"api", "worker", "cmd", "internal", "activities", "workflows", "telemetry", "testenv"} {
		err := filepath.WalkDir(filepath.Join("../..", dir), func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && (d.Name() == "testdata" || path == filepath.Join("../..", "cmd", "bench")) {
				return filepath.SkipDir
			}
			if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return nil
			}
			src, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			for _, m := range envRead.FindAllStringSubmatch(string(src), -1) {
				read[m[1]] = path
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if read["PGCONNECT_TIMEOUT"] == "" {
		t.Fatalf("the scan did not find internal/db's PGCONNECT_TIMEOUT: it no longer sees how the programs read variables (found %v)", read)
	}
	var missing []string
	for name, path := range read {
		if !named[name] {
			missing = append(missing, name+" ("+strings.TrimPrefix(path, "../../")+")")
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("README.md does not name %s", strings.Join(missing, ", "))
	}
}

// TestREADMEStarsTheSecretsProductionRequires: the settings table marks with ✱ the secrets that
// have no default in production; a row marked ✱ alone (not "✱ if ...") is a variable production
// refuses to start without, and every variable it refuses to start without is marked so.
func TestREADMEStarsTheSecretsProductionRequires(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("^\\| `([A-Z][A-Z0-9_]*)` (✱ )?\\|")
	starred := map[string]bool{}
	for _, line := range strings.Split(string(b), "\n") {
		if m := row.FindStringSubmatch(line); m != nil && m[2] != "" {
			starred[m[1]] = true
		}
	}
	if len(starred) == 0 {
		t.Fatal("no row marked ✱ found: the README's table no longer reads as this test expects")
	}
	for k := range readVariables() {
		env := productionEnv()
		delete(env, k)
		_, err := LoadFrom(func(n string) string { return env[n] })
		required := err != nil && strings.Contains(err.Error(), k+" is required")
		if required != starred[k] {
			t.Errorf("%s: production requires it: %v; README marks it ✱: %v", k, required, starred[k])
		}
	}
}
