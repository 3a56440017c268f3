package main

import (
	"bytes"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"paysplit/internal/config"
	ireport "paysplit/internal/report"
	"paysplit/internal/report/reporttest"
)

// fontsStartCase names the case a child process of TestReportFontsAreParsedAtTheFirstRender runs.
const fontsStartCase = "PAYSPLIT_TEST_FONTS_START_CASE"

// TestReportFontsAreParsedAtTheFirstRender: the worker's start reads no font the way fpdf
// embeds it (which allocated about 140 MB, half of what a worker allocated in a benchmark run,
// at every start); the first report render does, once, and draws the same bytes as fonts loaded
// at start; and what the start used to say about an unusable font is said at that render:
// REPORT_FONTS=auto's skipped font as the same warning, a listed font as the render's error.
// Each case runs in a process of its own, where report.InstalledFonts has not run yet.
func TestReportFontsAreParsedAtTheFirstRender(t *testing.T) {
	if c := os.Getenv(fontsStartCase); c != "" {
		fontsStartChild(t, c)
		return
	}
	installedFontPaths(t)
	for _, c := range []string{"auto", "listed", "auto-broken", "listed-broken"} {
		t.Run(c, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestReportFontsAreParsedAtTheFirstRender$", "-test.count=1", "-test.v")
			cmd.Env = append(os.Environ(), fontsStartCase+"="+c)
			out, err := cmd.CombinedOutput()
			t.Logf("%s", out)
			require.NoError(t, err, "case %s", c)
		})
	}
}

// installedFontPaths are the fallback fonts installed, all of DefaultFontPaths (.ci/run
// installs them; the test skips without them unless CI=true).
func installedFontPaths(t *testing.T) []string {
	var paths []string
	for _, p := range ireport.DefaultFontPaths {
		if _, err := os.Stat(p); err == nil {
			paths = append(paths, p)
		}
	}
	if len(paths) != len(ireport.DefaultFontPaths) {
		if os.Getenv("CI") == "true" {
			t.Fatalf("fallback fonts installed: %v of %v", paths, ireport.DefaultFontPaths)
		}
		t.Skipf("fallback fonts installed: %v of %v", paths, ireport.DefaultFontPaths)
	}
	return paths
}

func fontsStartChild(t *testing.T, c string) {
	paths := installedFontPaths(t)
	// A font whose header is TrueType's and whose tables are not: what no check short of
	// parsing it finds.
	broken := filepath.Join(t.TempDir(), "Broken-Regular.ttf")
	require.NoError(t, os.WriteFile(broken, append([]byte{0, 1, 0, 0}, bytes.Repeat([]byte{0xff}, 64)...), 0o644))
	setting := map[string]string{
		"auto": "auto", "listed": strings.Join(paths, ","),
		"auto-broken": "auto", "listed-broken": broken + "," + paths[0],
	}[c]
	if c == "auto-broken" {
		ireport.DefaultFontPaths = append([]string{broken}, paths...)
		paths = paths[:len(paths):len(paths)]
	}
	var log bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&log, nil))

	var before, started, rendered runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	fonts, err := reportFonts(config.Reports{Fonts: setting}, logger)
	runtime.ReadMemStats(&started)
	require.NoError(t, err)
	startAlloc := started.TotalAlloc - before.TotalAlloc
	t.Logf("REPORT_FONTS case %s: start allocated %d KiB, VmRSS %s", c, startAlloc>>10, vmRSS(t))
	require.NotContains(t, log.String(), "report font skipped", "a font is checked at start")
	require.Less(t, startAlloc, uint64(1<<20), "bytes allocated by the start's fonts: they are parsed at start")

	d := reporttest.Sample()
	d.ClientName = "さくら雑貨店 متجر الورد ร้านดอกไม้"
	got, err := ireport.RenderWith(d, fonts)
	runtime.ReadMemStats(&rendered)
	t.Logf("REPORT_FONTS case %s: first render allocated %d KiB, VmRSS %s", c, (rendered.TotalAlloc-started.TotalAlloc)>>10, vmRSS(t))
	switch c {
	case "listed-broken":
		require.ErrorContains(t, err, "REPORT_FONTS: report: font "+broken+": ")
		_, again := ireport.RenderWith(d, fonts)
		require.Equal(t, err, again, "the fonts are read once")
		return
	case "auto-broken":
		require.Contains(t, log.String(), `msg="report font skipped" error="report: font `+broken+": ")
	}
	require.NoError(t, err)
	eager, err := ireport.LoadFonts(paths)
	require.NoError(t, err)
	want, err := ireport.RenderWith(d, eager)
	require.NoError(t, err)
	require.Equal(t, want.SHA256(), got.SHA256(), "the report drawn with the fonts read at the first render")
	require.Equal(t, paths, fonts.Paths())
}

// vmRSS is the process's resident set size, for the log.
func vmRSS(t *testing.T) string {
	status, err := os.ReadFile("/proc/self/status")
	require.NoError(t, err)
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "?"
}
