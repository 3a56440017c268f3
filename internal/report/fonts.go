package report

import (
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"github.com/go-pdf/fpdf"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/sfnt"
)

// The Go fonts the report is set in cover Latin, Greek and Cyrillic only. A client, note or
// held-payout reason in another script is drawn with fallback fonts: TrueType files read once
// (by the worker at its first render), tried in order for each character the Go fonts lack.
// fpdf embeds only the glyphs a report uses (subsetting), so a 4 MB CJK font adds a few
// kilobytes to the PDF of a Japanese client and nothing to the others' (a face is added to a
// document only when it draws).

// DefaultFontPaths are the fallback fonts REPORT_FONTS=auto loads where they are installed:
// Debian's fonts-noto-core (one small TrueType file per script) and fonts-droid-fallback
// (Chinese and Japanese in one 4 MB TrueType file). Noto CJK is not used: Debian ships it as CFF
// collections (.ttc), which fpdf cannot embed. Korean (Hangul) is in none of them.
var DefaultFontPaths = []string{
	"/usr/share/fonts/truetype/noto/NotoSansArabic-Regular.ttf",
	"/usr/share/fonts/truetype/noto/NotoSansHebrew-Regular.ttf",
	"/usr/share/fonts/truetype/noto/NotoSansThai-Regular.ttf",
	"/usr/share/fonts/truetype/noto/NotoSansDevanagari-Regular.ttf",
	"/usr/share/fonts/truetype/noto/NotoSansBengali-Regular.ttf",
	"/usr/share/fonts/truetype/noto/NotoSansTamil-Regular.ttf",
	"/usr/share/fonts/truetype/noto/NotoSansArmenian-Regular.ttf",
	"/usr/share/fonts/truetype/noto/NotoSansGeorgian-Regular.ttf",
	"/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
}

// face is one font family the report can draw with.
type face struct {
	family        string // fpdf family name
	path          string // "" for the Go fonts
	regular, bold []byte
	sf            *sfnt.Font // the regular style, for coverage
}

// Fonts are the fallback faces a report draws with after the Go fonts. The zero value (or nil)
// has none: characters outside the Go fonts come out as missing-glyph boxes, and the report
// says so in its notes.
type Fonts struct {
	faces []*face
	// deferred, when set, holds the faces instead, read at the first render (Deferred).
	deferred *deferredFonts
}

type deferredFonts struct {
	once  sync.Once
	load  func() (*Fonts, error)
	fonts *Fonts
	err   error
}

// Deferred are fonts that load reads at their first use by a render, once, whichever of the
// concurrent renders gets there first: checking a font the way fpdf embeds it allocates 5 to 26 MB
// per file (about 140 MB for DefaultFontPaths), which a worker that renders no report between
// two starts should not pay at each start. load's error is the render's, and every later one's
// (it is not tried again); its fonts are those the renders draw with (nil: none).
func Deferred(load func() (*Fonts, error)) *Fonts {
	return &Fonts{deferred: &deferredFonts{load: load}}
}

// resolve is f with its faces read: f itself unless it is Deferred.
func (f *Fonts) resolve() (*Fonts, error) {
	if f == nil || f.deferred == nil {
		return f, nil
	}
	d := f.deferred
	d.once.Do(func() {
		if d.fonts, d.err = d.load(); d.err == nil {
			d.fonts, d.err = d.fonts.resolve()
		}
	})
	return d.fonts, d.err
}

// Paths are the files the fonts were loaded from, in the order they are tried (Deferred fonts are
// read for it; nil if they cannot be).
func (f *Fonts) Paths() []string {
	f, err := f.resolve()
	if f == nil || err != nil {
		return nil
	}
	out := make([]string, len(f.faces))
	for i, fc := range f.faces {
		out[i] = fc.path
	}
	return out
}

// LoadFonts reads TrueType fonts to fall back on. A "-Regular." file's "-Bold." sibling, when
// there, draws bold text (headings, the cover); otherwise the regular one does. Each file is
// checked the way fpdf will read it: a font fpdf cannot embed (CFF outlines, a collection) is an
// error here rather than a broken report later.
func LoadFonts(paths []string) (*Fonts, error) {
	out := &Fonts{}
	for i, p := range paths {
		fc, err := loadFace(fmt.Sprintf("fallback%d", i), p)
		if err != nil {
			return nil, err
		}
		out.faces = append(out.faces, fc)
	}
	return out, nil
}

func loadFace(family, path string) (*face, error) {
	regular, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("report: font %s: %w", path, err)
	}
	bold := regular
	if b := strings.Replace(path, "-Regular.", "-Bold.", 1); b != path {
		if data, err := os.ReadFile(b); err == nil {
			bold = data
		}
	}
	fc := &face{family: family, path: path, regular: regular, bold: bold}
	if fc.sf, err = sfnt.Parse(regular); err != nil {
		return nil, fmt.Errorf("report: font %s: %w", path, err)
	}
	for _, data := range [][]byte{regular, bold} {
		if err := embeddable(data); err != nil {
			return nil, fmt.Errorf("report: font %s: fpdf cannot embed it (a TrueType .ttf is needed): %w", path, err)
		}
	}
	return fc, nil
}

// CheckFonts is LoadFonts's check short of parsing the fonts, for a start-up that refuses fonts
// it cannot use without paying for their parse (Deferred does that at the first render): each
// file, and a "-Regular." file's "-Bold." sibling when there, can be read and is TrueType by its
// header, the first thing fpdf checks (CFF outlines and collections are not). A font damaged past
// its header is found by LoadFonts.
func CheckFonts(paths []string) error {
	for _, p := range paths {
		if err := checkHeader(p); err != nil {
			return fmt.Errorf("report: font %s: %w", p, err)
		}
		if b := strings.Replace(p, "-Regular.", "-Bold.", 1); b != p {
			if _, err := os.Stat(b); err == nil {
				if err := checkHeader(b); err != nil {
					return fmt.Errorf("report: font %s: %w", b, err)
				}
			}
		}
	}
	return nil
}

// checkHeader reads the sfnt version at the start of a font file.
func checkHeader(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	var tag [4]byte
	if _, err := io.ReadFull(f, tag[:]); err != nil {
		return fmt.Errorf("read its header: %w", err)
	}
	const cannot = "fpdf cannot embed it (a TrueType .ttf is needed)"
	switch v := binary.BigEndian.Uint32(tag[:]); v {
	case 0x00010000, 0x74727565: // TrueType outlines: 1.0, "true"
		return nil
	case 0x4F54544F: // "OTTO"
		return fmt.Errorf("%s: CFF outlines", cannot)
	case 0x74746366: // "ttcf"
		return fmt.Errorf("%s: a font collection", cannot)
	default:
		return fmt.Errorf("%s: not a font (sfnt version %#08x)", cannot, v)
	}
}

// InstalledFontPaths are those of DefaultFontPaths that exist, the files InstalledFonts tries,
// found without reading them.
func InstalledFontPaths() []string {
	var out []string
	for _, p := range DefaultFontPaths {
		if _, err := os.Stat(p); err == nil {
			out = append(out, p)
		}
	}
	return out
}

// embeddable draws a character with the font in a scratch document, which is where fpdf parses
// it.
func embeddable(data []byte) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.AddUTF8FontFromBytes("probe", "", data)
	pdf.AddPage()
	pdf.SetFont("probe", "", 10)
	pdf.Cell(10, 10, "A")
	var sink strings.Builder
	if err := pdf.Output(&sink); err != nil {
		return err
	}
	return pdf.Error()
}

// InstalledFonts loads those of DefaultFontPaths that exist (REPORT_FONTS=auto), once. A listed
// file that exists but cannot be used is skipped and returned in skipped, for the caller to log.
func InstalledFonts() (f *Fonts, skipped []error) {
	installedOnce.Do(func() {
		installed = &Fonts{}
		for _, p := range InstalledFontPaths() {
			fc, err := loadFace(fmt.Sprintf("fallback%d", len(installed.faces)), p)
			if err != nil {
				installedSkipped = append(installedSkipped, err)
				continue
			}
			installed.faces = append(installed.faces, fc)
		}
	})
	return installed, installedSkipped
}

var (
	installedOnce    sync.Once
	installed        *Fonts
	installedSkipped []error
)

// goFace is the Go fonts' coverage (the bold and regular styles cover the same characters).
var goFace = sync.OnceValue(func() *face {
	sf, err := sfnt.Parse(goregular.TTF)
	if err != nil {
		panic("report: the embedded Go font does not parse: " + err.Error())
	}
	return &face{family: family, regular: goregular.TTF, bold: gobold.TTF, sf: sf}
})

// has says whether the face has a glyph for r.
func (fc *face) has(buf *sfnt.Buffer, r rune) bool {
	g, err := fc.sf.GlyphIndex(buf, r)
	return err == nil && g != 0
}
