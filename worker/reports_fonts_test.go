package main

import (
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"paysplit/internal/config"
	ireport "paysplit/internal/report"
)

// TestReportFonts: REPORT_FONTS naming a file that is missing or no TrueType font stops the
// worker with the setting's name, rather than reports with boxes for names; none is no fallback;
// auto is what is installed.
func TestReportFonts(t *testing.T) {
	logger := slog.New(slog.DiscardHandler)
	bad := filepath.Join(t.TempDir(), "Bad-Regular.ttf")
	require.NoError(t, os.WriteFile(bad, []byte("not a font"), 0o644))
	for _, v := range []string{bad, filepath.Join(t.TempDir(), "Missing.ttf")} {
		_, err := reportFonts(config.Reports{Fonts: v}, logger)
		require.ErrorContains(t, err, "REPORT_FONTS")
		require.ErrorContains(t, err, v)
	}
	fonts, err := reportFonts(config.Reports{Fonts: "none"}, logger)
	require.NoError(t, err)
	require.NotNil(t, fonts, "nil would mean the installed fonts")
	require.Empty(t, fonts.Paths())

	fonts, err = reportFonts(config.Reports{Fonts: "auto"}, logger)
	require.NoError(t, err)
	installed, _ := ireport.InstalledFonts()
	require.Equal(t, installed.Paths(), fonts.Paths())
	for _, p := range fonts.Paths() {
		one, err := reportFonts(config.Reports{Fonts: p}, logger)
		require.NoError(t, err)
		require.Equal(t, []string{p}, one.Paths())
	}
}
