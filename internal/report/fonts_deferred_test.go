package report_test

import (
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"paysplit/internal/report"
	"paysplit/internal/report/reporttest"
)

// TestDeferredFontsAreReadOnceAtTheFirstRender: Deferred fonts are read by the first of the
// renders that run at once, by that one only, and draw the same bytes as the fonts read before.
func TestDeferredFontsAreReadOnceAtTheFirstRender(t *testing.T) {
	eager := installedFonts(t)
	var loads atomic.Int32
	fonts := report.Deferred(func() (*report.Fonts, error) {
		loads.Add(1)
		return report.LoadFonts(eager.Paths())
	})
	require.Zero(t, loads.Load())
	d := reporttest.Sample()
	d.ClientName = "さくら雑貨店 متجر الورد"
	want, err := report.RenderWith(d, eager)
	require.NoError(t, err)

	const renders = 4
	sums := make([]string, renders)
	var wg sync.WaitGroup
	for i := range renders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pdf, err := report.RenderWith(d, fonts)
			if err == nil {
				sums[i] = pdf.SHA256()
			}
		}()
	}
	wg.Wait()
	require.Equal(t, int32(1), loads.Load(), "font loads")
	for _, s := range sums {
		require.Equal(t, want.SHA256(), s)
	}
	require.Equal(t, eager.Paths(), fonts.Paths())
}

// TestCheckFonts: the start's check of listed fonts reads their headers: a file missing,
// empty, not a font, with CFF outlines or a collection is refused, with its path, as LoadFonts
// refuses it; a TrueType file is not, nor is one whose -Bold. sibling is missing.
func TestCheckFonts(t *testing.T) {
	dir := t.TempDir()
	file := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, data, 0o644))
		return p
	}
	thai := "/usr/share/fonts/truetype/noto/NotoSansThai-Regular.ttf"
	if _, err := os.Stat(thai); err != nil {
		installedFonts(t) // fails under CI=true, else skips
	}
	ttf, err := os.ReadFile(thai)
	require.NoError(t, err)
	good := file("Good-Regular.ttf", ttf)
	badBold := file("Mixed-Regular.ttf", ttf)
	file("Mixed-Bold.ttf", []byte("OTTO and the rest"))
	for _, tc := range []struct {
		name, path, wantErr string
	}{
		{"truetype", good, ""},
		{"truetype without bold", file("Alone-Regular.ttf", ttf), ""},
		{"missing", filepath.Join(dir, "Missing.ttf"), "no such file"},
		{"empty", file("Empty.ttf", nil), "header"},
		{"not a font", file("Text.ttf", []byte("not a font")), "not a font"},
		{"cff", file("Cff.ttf", []byte("OTTO\x00\x0a")), "CFF outlines"},
		{"collection", file("Coll.ttf", []byte("ttcf\x00\x02")), "collection"},
		{"bold sibling cff", badBold, "CFF outlines"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := report.CheckFonts([]string{good, tc.path})
			if tc.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tc.wantErr)
			require.ErrorContains(t, err, "report: font "+filepath.Join(dir, ""))
			_, err = report.LoadFonts([]string{tc.path})
			require.Error(t, err, "LoadFonts refuses it too")
		})
	}
}
