package report

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestVisualOrder: right-to-left stretches of a left-to-right line are drawn reversed, numbers in
// them keep their digits' order, brackets inside them are mirrored; other text is left alone.
func TestVisualOrder(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"latin", "Northwind Outfitters", "Northwind Outfitters"},
		{"japanese", "さくら雑貨店 2026", "さくら雑貨店 2026"},
		{"hebrew", "חנות הפרחים", "םיחרפה תונח"},
		// UAX #9 takes a number after Hebrew into its stretch...
		{"hebrew then a number", "Weekly report: חנות הפרחים · 2026-W07", "Weekly report: 2026 · םיחרפה תונח-W07"},
		// ...unless the name is isolated (FSI ... PDI), as the report puts names into sentences.
		{"isolated name", "Weekly report: \u2068חנות הפרחים\u2069 · 2026-W07", "Weekly report: םיחרפה תונח · 2026-W07"},
		{"isolated name with a number", "\u2068חנות 24\u2069 · Weekly report", "24 תונח · Weekly report"},
		{"isolated latin name", "\u2068Sakura\u2069 · Weekly report", "Sakura · Weekly report"},
		{"isolate in a hebrew line", "שלום \u2068Sakura 1\u2069 עולם", "םלוע Sakura 1 םולש"},
		{"number after hebrew", "Shop חנות 24 (x)", "Shop 24 תונח (x)"},
		{"brackets at the edge stay", "(שלום)", "(םולש)"},
		{"brackets inside are mirrored", "שלום (עולם)", "(םלוע) םולש"},
		{"marks stay after their letters", "שָׁלוֹם", "ם" + "וֹ" + "ל" + "שָׁ"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, visualOrder(tc.in))
		})
	}
}

// TestShapeArabic: letters take the form that joins their neighbours; lam-alef is one ligature;
// letters that join only the letter before them break the word.
func TestShapeArabic(t *testing.T) {
	tests := []struct {
		name, in string
		want     []rune
	}{
		{"beh yeh teh", "بيت", []rune{0xFE91, 0xFEF4, 0xFE96}},
		{"right-joining letters only", "دار", []rune{0xFEA9, 0xFE8D, 0xFEAD}},
		{"lam-alef after a joining letter", "سلام", []rune{0xFEB3, 0xFEFC, 0xFEE1}},
		{"lam-alef alone", "لا", []rune{0xFEFB}},
		{"words are separate", "ب ب", []rune{0xFE8F, ' ', 0xFE8F}},
		{"marks are skipped when joining", "بَت", []rune{0xFE91, 0x064E, 0xFE96}},
		{"persian peh and farsi yeh", "پی", []rune{0xFB58, 0xFBFD}},
		{"latin untouched", "Sakura", []rune("Sakura")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, string(tc.want), shapeArabic(tc.in), "%U", []rune(shapeArabic(tc.in)))
		})
	}
}
