package mailer

import (
	"strings"

	"golang.org/x/text/unicode/bidi"
)

// Unicode's directional isolates (UAX #9): text between FSI and PDI is laid out on its own, in
// the direction of its first strong letter, and stands as one neutral block in the line around it.
const (
	fsi = "\u2068" // first strong isolate
	pdi = "\u2069" // pop directional isolate
)

// Isolate marks a name (a client's, a monitor's) put into a mail's subject or text line as an
// isolate, so a Hebrew or Arabic name keeps its own order and does not draw what follows it into
// its right-to-left stretch: unisolated, "Weekly report 2026-W07: חנות (42)" shows "(42)" inside
// the name's stretch, and a name beginning with digits ("24 חנות") has them drawn on the wrong
// side. A name with no right-to-left character and no directional control is returned as it is:
// it cannot reorder a left-to-right line, so its subjects keep the bytes they had (and a mail
// client too old to know U+2068, which may draw it as a box, shows them as before). Isolate
// controls in the name itself are dropped first: a stray PDI would close the isolate early and
// let the rest of the name out; embeddings and overrides (U+202A-U+202E) stay, as the closing
// PDI ends them.
func Isolate(name string) string {
	if !NeedsIsolate(name) {
		return name
	}
	return fsi + StripIsolates(name) + pdi
}

// NeedsIsolate says whether name can reorder the line it is put into: it has a right-to-left
// letter, an Arabic digit, or a directional control.
func NeedsIsolate(name string) bool {
	return strings.ContainsFunc(name, func(r rune) bool {
		p, _ := bidi.LookupRune(r)
		switch p.Class() {
		case bidi.R, bidi.AL, bidi.AN, bidi.LRE, bidi.RLE, bidi.LRO, bidi.RLO, bidi.PDF, bidi.LRI, bidi.RLI, bidi.FSI, bidi.PDI:
			return true
		}
		return false
	})
}

// StripIsolates removes the isolate controls (U+2066-U+2069) from name, for a name an HTML <bdi>
// isolates: a PDI in it would end the element's isolate early.
func StripIsolates(name string) string {
	return strings.Map(func(r rune) rune {
		if r >= '\u2066' && r <= '\u2069' {
			return -1
		}
		return r
	}, name)
}
