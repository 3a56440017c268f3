package report

import (
	"slices"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/bidi"
)

// visualOrder puts a line of text in the order it is drawn, left to right, for a left-to-right
// line (the report's sentences are English): a subset of the Unicode bidirectional algorithm
// (UAX #9) without explicit embeddings. Right-to-left letters (Hebrew, Arabic) and the spaces
// and punctuation between them are reversed as one stretch; numbers inside such a stretch keep
// their digits left to right; bracket pairs take the direction of what they enclose and are
// mirrored in a right-to-left stretch; a combining mark stays after its letter (fpdf draws it
// over the glyph before it). Text between FSI (U+2068) and PDI (U+2069), a name put into a
// sentence, is ordered on its own in its own direction (its first strong letter's) and moves as
// one block; the two marks are dropped, as they have no glyph. fpdf has none of this: its RTL
// mode reverses the whole line.
func visualOrder(s string) string {
	if !strings.ContainsFunc(s, isRTL) {
		return strings.NewReplacer(string(fsi), "", string(pdi), "").Replace(s)
	}
	return string(orderLine([]rune(s), 0))
}

const (
	fsi = '\u2068' // first strong isolate
	pdi = '\u2069' // pop directional isolate
)

// orderLine is visualOrder of a paragraph at level base (0 left to right, 1 right to left).
func orderLine(rs []rune, base int) []rune {
	// Isolates are taken out and stand as one neutral (U+FFFC) until the end.
	var isolates [][]rune
	outer := make([]rune, 0, len(rs))
	for i := 0; i < len(rs); i++ {
		if rs[i] != fsi {
			if rs[i] != pdi {
				outer = append(outer, rs[i])
			}
			continue
		}
		depth, j := 1, i+1
		for ; j < len(rs) && depth > 0; j++ {
			switch rs[j] {
			case fsi:
				depth++
			case pdi:
				depth--
			}
		}
		inner := rs[i+1 : j]
		if depth == 0 {
			inner = rs[i+1 : j-1]
		}
		isolates = append(isolates, orderLine(inner, firstStrong(inner)))
		outer = append(outer, placeholder)
		i = j - 1
	}
	levels := bidiLevels(outer, base)
	reorder(outer, levels)
	out := make([]rune, 0, len(rs))
	next := 0
	for _, r := range outer {
		if r == placeholder && next < len(isolates) {
			out = append(out, isolates[next]...)
			next++
			continue
		}
		out = append(out, r)
	}
	return out
}

// placeholder stands for an isolate in the text around it: U+FFFC, a neutral (ON).
const placeholder = '\uFFFC'

// firstStrong is the direction of the first strong letter of rs: 1 right to left, else 0.
func firstStrong(rs []rune) int {
	for _, r := range rs {
		switch bidiClass(r) {
		case bidi.L:
			return 0
		case bidi.R, bidi.AL:
			return 1
		}
	}
	return 0
}

// reorder applies rules L2 and L4 to rs in place: from the highest level down to 1, every stretch
// at that level or above is reversed, a letter and the marks after it moving as one; characters
// left at an odd level are mirrored.
func reorder(rs []rune, levels []int) {
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
			reverseClusters(rs[i:j], levels[i:j])
			i = j
		}
	}
	for i, r := range rs {
		if levels[i]%2 == 1 {
			if m, ok := mirrors[r]; ok {
				rs[i] = m
			}
		}
	}
}

// reverseClusters reverses rs (and its levels) by clusters: a character and the combining marks
// after it stay in that order.
func reverseClusters(rs []rune, levels []int) {
	type cluster struct {
		rs     []rune
		levels []int
	}
	var cs []cluster
	for i := 0; i < len(rs); {
		j := i + 1
		for j < len(rs) && unicode.Is(unicode.Mn, rs[j]) {
			j++
		}
		cs = append(cs, cluster{slices.Clone(rs[i:j]), slices.Clone(levels[i:j])})
		i = j
	}
	slices.Reverse(cs)
	k := 0
	for _, c := range cs {
		copy(rs[k:], c.rs)
		copy(levels[k:], c.levels)
		k += len(c.rs)
	}
}

// Directions resolved for each character.
const (
	dirL   = iota // left to right
	dirR          // right to left
	dirNum        // a number after right-to-left letters (or at the start of a right-to-left line)
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

// bidiLevels resolves each character's level in a paragraph of level base (rules W1-W7, N0-N2,
// I1-I2): at base 0, left to right is 0, right to left 1 and numbers after it 2; at base 1,
// right to left is 1, and left to right and numbers 2.
func bidiLevels(rs []rune, base int) []int {
	dirs := make([]int, len(rs))
	sos := dirL
	if base == 1 {
		sos = dirR
	}
	prevStrong := sos
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
				dirs[i] = sos
			}
		default:
			dirs[i] = dirN
		}
	}
	// For the neutral rules numbers count as right to left.
	side := func(d int) int {
		if d == dirNum {
			return dirR
		}
		return d
	}
	resolveBrackets(rs, dirs, sos, side)
	// N1/N2: neutrals between two characters of the same direction take it; others take the
	// paragraph's.
	for i := 0; i < len(rs); {
		if dirs[i] != dirN {
			i++
			continue
		}
		j := i
		for j < len(rs) && dirs[j] == dirN {
			j++
		}
		before, after := sos, sos
		if i > 0 {
			before = side(dirs[i-1])
		}
		if j < len(rs) {
			after = side(dirs[j])
		}
		d := sos
		if before == after {
			d = before
		}
		for k := i; k < j; k++ {
			dirs[k] = d
		}
		i = j
	}
	levels := make([]int, len(rs))
	for i, d := range dirs {
		switch {
		case base == 0 && d == dirR:
			levels[i] = 1
		case base == 0 && d == dirNum, base == 1 && d != dirR:
			levels[i] = 2
		default:
			levels[i] = base
		}
	}
	return levels
}

// resolveBrackets is rule N0: a bracket pair enclosing a letter of the paragraph's direction
// takes it; one enclosing only letters of the other direction takes that direction when the
// text before the pair is of it too, else the paragraph's; a pair enclosing no letter stays
// neutral.
func resolveBrackets(rs []rune, dirs []int, sos int, side func(int) int) {
	var open []int
	for i, r := range rs {
		if dirs[i] != dirN {
			continue
		}
		switch r {
		case '(', '[', '{':
			open = append(open, i)
		case ')', ']', '}':
			want := map[rune]rune{')': '(', ']': '[', '}': '{'}[r]
			k := len(open) - 1
			for k >= 0 && rs[open[k]] != want {
				k--
			}
			if k < 0 {
				continue
			}
			o := open[k]
			open = open[:k]
			var inside []int
			for _, d := range dirs[o+1 : i] {
				if d != dirN {
					inside = append(inside, side(d))
				}
			}
			if len(inside) == 0 {
				continue
			}
			d := sos
			if !slices.Contains(inside, sos) {
				before := sos
				for j := o - 1; j >= 0; j-- {
					if dirs[j] != dirN {
						before = side(dirs[j])
						break
					}
				}
				if before != sos {
					d = before
				}
			}
			dirs[o], dirs[i] = d, d
		}
	}
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
