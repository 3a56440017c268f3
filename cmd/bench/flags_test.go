package main

import (
	"flag"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
)

// TestFlagsNameTheirEnvironmentDefaults: the README says `go run ./cmd/bench -h` lists every flag
// and names the environment variable each takes its default from. A flag whose default an
// environment variable changes names it in its usage ("env NAME"), so a run set up through the
// environment (make bench, a script) can be read off the help.
func TestFlagsNameTheirEnvironmentDefaults(t *testing.T) {
	src, err := os.ReadFile("main.go")
	if err != nil {
		t.Fatal(err)
	}
	read := regexp.MustCompile(`(?:os\.Getenv|env(?:Int|Float|Bool|String))\("([A-Z][A-Z0-9_]*)"`)
	names := map[string]bool{}
	for _, m := range read.FindAllStringSubmatch(string(src), -1) {
		names[m[1]] = true
	}
	if len(names) < 10 {
		t.Fatalf("found %d environment variables in main.go's flags; the pattern no longer matches how they are read", len(names))
	}
	defaults := func() map[string]*flag.Flag {
		var c config
		out := map[string]*flag.Flag{}
		newFlagSet(&c).VisitAll(func(f *flag.Flag) { out[f.Name] = f })
		return out
	}
	// Empty is unset to every reader here; t.Setenv puts the caller's values back at the end.
	for name := range names {
		t.Setenv(name, "")
	}
	base := defaults()
	var unnamed []string
	for name := range names {
		// Two values, so a default equal to one of them still moves with the other; both parse
		// as an int, a float, a bool and a string.
		for _, v := range []string{"0", "1"} {
			t.Setenv(name, v)
			for flagName, f := range defaults() {
				if f.DefValue != base[flagName].DefValue && !strings.Contains(f.Usage, "env "+name) {
					unnamed = append(unnamed, "-"+flagName+" (env "+name+")")
				}
			}
		}
		t.Setenv(name, "")
	}
	sort.Strings(unnamed)
	unnamed = slices.Compact(unnamed)
	if len(unnamed) > 0 {
		t.Errorf("flags whose default comes from the environment without naming it in their usage: %s", strings.Join(unnamed, ", "))
	}
}
