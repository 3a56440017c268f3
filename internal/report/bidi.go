package report

import (
	"slices"
	"unicode"

	"golang.org/x/text/unicode/bidi"
)

// visualOrder puts a line of text in the order it is drawn, left to right, for a left-to-right
// line (the report's sentences are English): a subset of the Unicode bidirectional algorithm
// (UAX #9) without explicit embeddings, which names and notes do not carry. Right-to-left
// letters (Hebrew, Arabic) and the spaces and punctuation between them are reversed as one
// stretch; numbers inside such a stretch keep their digits left to right; brackets in it are
// mirrored. fpdf has no such thing: its RTL mode reverses the whole line.
func visualOrder(s string) string {
	rs := []rune(s)
	if !slices.ContainsFunc(rs, isRTL) {
		return s
	}
	levels := bidiLevels(rs)
	// L2: from the highest level down to 1, reverse every stretch at that level or above.
	for lvl := 2; lvl >= 1; lvl-- {
		for i := 0; i < len(rs); {
			if levels[i] < lvl {
				i++
				continue
			}
			j := i
			for j < len(rs) && levels[j] >= lvl {
				j++
			}
			slices.Reverse(rs[i:j])
			slices.Reverse(levels[i:j])
			i = j
		}
	}
	// L4: a mirrored character (a bracket) in a right-to-left stretch is drawn as its mirror.
	for i, r := range rs {
		if levels[i]%2 == 1 {
			if m, ok := mirrors[r]; ok {
				rs[i] = m
			}
		}
	}
	return string(rs)
}

// Directions resolved for each character.
const (
	dirL   = iota // left to right
	dirR          // right to left
	dirNum        // a digit after right-to-left letters
	dirN          // neutral (spaces, punctuation), resolved from its neighbours
)

func isRTL(r rune) bool {
	c := bidiClass(r)
	return c == bidi.R || c == bidi.AL
}

func bidiClass(r rune) bidi.Class {
	p, _ := bidi.LookupRune(r)
	return p.Class()
}

// bidiLevels resolves each character's embedding level in a paragraph of level 0: 0 for left to
// right, 1 for right to left, 2 for numbers inside right-to-left text (rules W1-W7, N1-N2, I1).
func bidiLevels(rs []rune) []int {
	dirs := make([]int, len(rs))
	prevStrong := dirL // sos of a left-to-right paragraph
	for i, r := range rs {
		switch c := bidiClass(r); c {
		case bidi.L:
			dirs[i], prevStrong = dirL, dirL
		case bidi.R, bidi.AL:
			dirs[i], prevStrong = dirR, dirR
		case bidi.EN, bidi.AN:
			if prevStrong == dirL { // W7: a European number after L is L
				dirs[i] = dirL
			} else {
				dirs[i] = dirNum
			}
		case bidi.NSM: // W1: a mark takes its base's direction
			if i > 0 {
				dirs[i] = dirs[i-1]
			} else {
				dirs[i] = dirL
			}
		default:
			dirs[i] = dirN
		}
	}
	// N1/N2: neutrals between two characters of the same direction (numbers count as right to
	// left) take it; others take the paragraph's, left to right.
	side := func(d int) int {
		if d == dirNum {
			return dirR
		}
		return d
	}
	for i := 0; i < len(rs); {
		if dirs[i] != dirN {
			i++
			continue
		}
		j := i
		for j < len(rs) && dirs[j] == dirN {
			j++
		}
		before, after := dirL, dirL
		if i > 0 {
			before = side(dirs[i-1])
		}
		if j < len(rs) {
			after = side(dirs[j])
		}
		d := dirL
		if before == dirR && after == dirR {
			d = dirR
		}
		for k := i; k < j; k++ {
			dirs[k] = d
		}
		i = j
	}
	levels := make([]int, len(rs))
	for i, d := range dirs {
		switch d {
		case dirR:
			levels[i] = 1
		case dirNum:
			levels[i] = 2
		}
	}
	return levels
}

var mirrors = map[rune]rune{'(': ')', ')': '(', '[': ']', ']': '[', '{': '}', '}': '{', '<': '>', '>': '<', '«': '»', '»': '«'}

// arabicForms are the presentation forms of Arabic letters: isolated, final, initial, medial
// (zero where a letter has no such form: it does not join the letter after it).
var arabicForms = func() map[rune][4]rune {
	m := map[rune][4]rune{}
	// Unicode's Arabic Presentation Forms-B list the basic letters in order from U+FE80, each
	// with its isolated and final forms, and initial and medial ones when it joins both ways.
	letters := []struct {
		r     rune
		forms int
	}{
		{0x621, 1}, {0x622, 2}, {0x623, 2}, {0x624, 2}, {0x625, 2}, {0x626, 4}, {0x627, 2}, {0x628, 4},
		{0x629, 2}, {0x62A, 4}, {0x62B, 4}, {0x62C, 4}, {0x62D, 4}, {0x62E, 4}, {0x62F, 2}, {0x630, 2},
		{0x631, 2}, {0x632, 2}, {0x633, 4}, {0x634, 4}, {0x635, 4}, {0x636, 4}, {0x637, 4}, {0x638, 4},
		{0x639, 4}, {0x63A, 4}, {0x641, 4}, {0x642, 4}, {0x643, 4}, {0x644, 4}, {0x645, 4}, {0x646, 4},
		{0x647, 4}, {0x648, 2}, {0x649, 2}, {0x64A, 4},
	}
	next := rune(0xFE80)
	for _, l := range letters {
		var f [4]rune
		for i := range l.forms {
			f[i] = next
			next++
		}
		m[l.r] = f
	}
	// Persian and Urdu letters, from Presentation Forms-A.
	m[0x67E] = [4]rune{0xFB56, 0xFB57, 0xFB58, 0xFB59} // peh
	m[0x686] = [4]rune{0xFB7A, 0xFB7B, 0xFB7C, 0xFB7D} // tcheh
	m[0x698] = [4]rune{0xFB8A, 0xFB8B}                 // jeh
	m[0x6A9] = [4]rune{0xFB8E, 0xFB8F, 0xFB90, 0xFB91} // keheh
	m[0x6AF] = [4]rune{0xFB92, 0xFB93, 0xFB94, 0xFB95} // gaf
	m[0x6CC] = [4]rune{0xFBFC, 0xFBFD, 0xFBFE, 0xFBFF} // farsi yeh
	return m
}()

// lamAlef are the lam-alef ligatures (isolated; final is the next code point) by alef.
var lamAlef = map[rune]rune{0x622: 0xFEF5, 0x623: 0xFEF7, 0x625: 0xFEF9, 0x627: 0xFEFB}

const (
	lam     = 0x644
	tatweel = 0x640
)

// shapeArabic replaces Arabic letters by the forms that join them to their neighbours, and lam
// followed by alef by their ligature, as a shaping engine would: fpdf draws each character's
// default glyph, the unjoined letter. Marks (harakat) are skipped when looking for neighbours.
func shapeArabic(s string) string {
	rs := []rune(s)
	if !slices.ContainsFunc(rs, func(r rune) bool { _, ok := arabicForms[r]; return ok }) {
		return s
	}
	out := make([]rune, 0, len(rs))
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		forms, ok := arabicForms[r]
		if !ok {
			out = append(out, r)
			continue
		}
		prev, next := neighbour(rs, i, -1), neighbour(rs, i, +1)
		joinsPrev := joinsNext(prev)
		if r == lam {
			if lig, ok := lamAlef[next]; ok {
				if joinsPrev {
					lig++
				}
				out = append(out, lig)
				// Drop the alef (and keep the marks between, on the ligature).
				j := i + 1
				for rs[j] != next {
					out = append(out, rs[j])
					j++
				}
				i = j
				continue
			}
		}
		joinsAfter := forms[2] != 0 && joinsBefore(next)
		var f rune
		switch {
		case joinsPrev && joinsAfter:
			f = forms[3]
		case joinsPrev && forms[1] != 0:
			f = forms[1]
		case joinsAfter:
			f = forms[2]
		default:
			f = forms[0]
		}
		out = append(out, f)
	}
	return string(out)
}

// neighbour is the letter before (step -1) or after (+1) position i, skipping marks; 0 if none.
func neighbour(rs []rune, i, step int) rune {
	for j := i + step; j >= 0 && j < len(rs); j += step {
		if !unicode.Is(unicode.Mn, rs[j]) {
			return rs[j]
		}
	}
	return 0
}

// joinsNext says whether r joins the letter after it (a dual-joining letter or tatweel).
func joinsNext(r rune) bool {
	if r == tatweel {
		return true
	}
	f, ok := arabicForms[r]
	return ok && f[2] != 0
}

// joinsBefore says whether r joins the letter before it.
func joinsBefore(r rune) bool {
	if r == tatweel {
		return true
	}
	f, ok := arabicForms[r]
	return ok && f[1] != 0
}
