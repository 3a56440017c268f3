package report

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// TestLongClientNameCutKeepsALettersMarks: a long client name is cut with an ellipsis on the
// cover and in the footer. Many scripts write a vowel as a mark on its consonant (Tamil "கடை" is
// க, ட and the vowel sign ை, a spacing mark), and a name typed on a Mac may come decomposed
// ("ệ" as e and two marks): a cut between a letter and a mark on it showed another word ("கட…"
// for "கடை…"). The name is cut before a letter and its marks, never between them.
func TestLongClientNameCutKeepsALettersMarks(t *testing.T) {
	fonts, _ := InstalledFonts()
	for _, long := range []string{
		strings.Repeat("தமிழ் புத்தகக் கடை ", 8),
		strings.Repeat("मुंबई किताब भंडार ऑनलाइन ", 8),
		strings.Repeat("ร้านค้าออนไลน์ที่ดีที่สุด ", 8),
		norm.NFD.String(strings.Repeat("Cửa hàng Việt Nam ", 10)),
	} {
		runes := []rune(long)
		for n := 30; n <= len(runes); n++ {
			name := string(runes[:n])
			d := Data{ClientName: name, Week: Week{Year: 2026, Week: 7}}
			pdf, w := newDocument(d, fonts)
			pdf.AddPage()
			r := &renderer{d: d, pdf: pdf, w: w}
			cover := r.coverName()
			w.text("", 8, inkMuted) // the footer's
			footer := fit(w, name, contentW/2-w.width(" · Weekly report "+d.Week.String()))
			for where, got := range map[string]string{"cover": cover, "footer": footer} {
				kept := strings.TrimSuffix(got, "…")
				if !strings.HasPrefix(name, kept) {
					t.Fatalf("%s: %q cut to %q: not its start", where, name, got)
				}
				if rest := name[len(kept):]; rest != "" {
					if m, _ := utf8.DecodeRuneInString(rest); unicode.Is(unicode.M, m) {
						t.Fatalf("%s: %q cut to %q: the mark U+%04X after the cut is lost from its letter",
							where, norm.NFC.String(name), norm.NFC.String(got), m)
					}
				}
			}
		}
	}
}
