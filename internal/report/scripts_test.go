package report_test

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/text/unicode/norm"

	"paysplit/internal/report"
	"paysplit/internal/report/reporttest"
)

// scriptNames are client names in the scripts the agency's clients sell in.
var scriptNames = []struct{ script, name string }{
	{"cyrillic", "Магазин Ромашка"},
	{"japanese", "さくら雑貨店"},
	{"chinese", "樱花杂货店"},
	{"arabic", "متجر الورد"},
	{"hebrew", "חנות הפרחים"},
	{"thai", "ร้านดอกไม้"},
}

// TestRenderDrawsNamesInOtherScripts: a client's name in another script is drawn, not left to
// the fonts' missing-glyph box. pdftotext is no proof (the PDF maps the text to Unicode even when
// no glyph is drawn), so page 1 is rasterised and compared with the page of a client whose name
// is as many unassigned code points (U+0378, spaces kept), which no font has: a name drawn as boxes gives
// the very same pixels.
func TestRenderDrawsNamesInOtherScripts(t *testing.T) {
	installedFonts(t)
	for _, tc := range scriptNames {
		t.Run(tc.script, func(t *testing.T) {
			d := reporttest.Sample()
			d.ClientName = tc.name
			got, err := report.Render(d)
			require.NoError(t, err)
			d.ClientName = strings.Map(func(r rune) rune {
				if r == ' ' {
					return r
				}
				return '\u0378'
			}, tc.name)
			boxes, err := report.Render(d)
			require.NoError(t, err)
			named := rasterize(t, got.Bytes, "script "+tc.script)
			unnamed := rasterize(t, boxes.Bytes, "script "+tc.script+" boxes")
			require.False(t, bytes.Equal(named[0], unnamed[0]), "%s: page 1 shows %q as missing-glyph boxes", tc.script, tc.name)
		})
	}
}

// installedFonts are the fallback fonts REPORT_FONTS=auto finds; the tests need all of them
// (.ci/run installs fonts-noto-core and fonts-droid-fallback), and skip without them unless
// CI=true.
func installedFonts(t *testing.T) *report.Fonts {
	t.Helper()
	fonts, skipped := report.InstalledFonts()
	require.Empty(t, skipped)
	if got := fonts.Paths(); len(got) != len(report.DefaultFontPaths) {
		msg := fmt.Sprintf("fallback fonts installed: %v of %v (apt-get install fonts-noto-core fonts-droid-fallback)", got, report.DefaultFontPaths)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return fonts
}

// TestEveryCharacterDrawnHasAGlyph checks, with the fonts' own tables (sfnt's GlyphIndex, where
// 0 is the missing glyph), every run of text a report draws for clients named in other scripts,
// NFD names included: no character is left to a font without it, and the bytes are the same on
// every render.
func TestEveryCharacterDrawnHasAGlyph(t *testing.T) {
	fonts := installedFonts(t)
	names := append(scriptNames[:len(scriptNames):len(scriptNames)],
		struct{ script, name string }{"devanagari", "फूलों की दुकान"},
		struct{ script, name string }{"persian", "گل فروشی پرچم"},
		struct{ script, name string }{"mixed", "Sakura さくら (東京) 2 · متجر 24"},
		struct{ script, name string }{"japanese nfd", norm.NFD.String("ざっか屋 ガーデン")},
		struct{ script, name string }{"latin nfd", norm.NFD.String("Café Ærøskøbing")},
	)
	for _, tc := range names {
		t.Run(tc.script, func(t *testing.T) {
			d := reporttest.Sample()
			d.ClientName = tc.name
			d.Notes = append(d.Notes, "Shop note: "+tc.name)
			pdf, drawn, err := report.RenderTraced(d, fonts)
			require.NoError(t, err)
			require.Empty(t, pdf.Missing)
			var name bool
			for _, dr := range drawn {
				require.Empty(t, dr.Missing, "%q drawn with %q lacks glyphs", dr.Text, dr.Path)
				name = name || dr.Path != ""
			}
			require.Equal(t, tc.script != "latin nfd" && tc.script != "cyrillic", name, "a fallback font drew part of %q", tc.name)
			again, err := report.RenderWith(d, fonts)
			require.NoError(t, err)
			require.True(t, bytes.Equal(pdf.Bytes, again.Bytes), "same data must give the same PDF bytes")
		})
	}
}

// TestCharactersNoFontHasAreNoted: a name in a script none of the fonts has (Korean here) still
// renders, as boxes, and the report says which characters it could not draw.
func TestCharactersNoFontHasAreNoted(t *testing.T) {
	fonts := installedFonts(t)
	d := reporttest.Sample()
	d.ClientName = "꽃집 Seoul"
	pdf, err := report.RenderWith(d, fonts)
	require.NoError(t, err)
	require.Equal(t, []rune("꽃집"), pdf.Missing)
	text := reporttest.Text(t, pdf.Bytes)
	require.Contains(t, text, "could not be drawn")
	require.Contains(t, text, "U+AF43, U+C9D1")

	// Without fallback fonts, the Japanese name is reported the same way.
	d.ClientName = "さくら"
	pdf, err = report.RenderWith(d, nil)
	require.NoError(t, err)
	require.Equal(t, []rune("さくら"), pdf.Missing)
}
