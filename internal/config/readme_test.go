package config

import (
	"os"
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
