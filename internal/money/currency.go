package money

import (
	"fmt"
	"strings"
)

// Currency is a lowercase ISO 4217 alphabetic code, e.g. "usd". Lowercase
// matches what card processors such as Stripe send and store.
type Currency string

// Frequently used currencies, so callers and tests need not spell codes.
const (
	USD Currency = "usd"
	EUR Currency = "eur"
	GBP Currency = "gbp"
	JPY Currency = "jpy"
	KRW Currency = "krw"
	KWD Currency = "kwd"
	BHD Currency = "bhd"
)

// exponents maps each supported code to its ISO 4217 minor-unit exponent.
// Codes whose exponent is not 2 are the ones a wrong default would corrupt,
// so they are listed first and must stay exactly as ISO publishes them.
var exponents = map[Currency]int{
	// Exponent 0.
	"bif": 0, "clp": 0, "djf": 0, "gnf": 0, "isk": 0, "jpy": 0, "kmf": 0,
	"krw": 0, "pyg": 0, "rwf": 0, "ugx": 0, "uyi": 0, "vnd": 0, "vuv": 0,
	"xaf": 0, "xof": 0, "xpf": 0,
	// Exponent 3.
	"bhd": 3, "iqd": 3, "jod": 3, "kwd": 3, "lyd": 3, "omr": 3, "tnd": 3,
	// Exponent 4: the Chilean and Uruguayan units of account.
	"clf": 4, "uyw": 4,
	// Exponent 2 (with ISO's fund codes BOV, CHE, CHW, COU, MXV and USN).
	"aed": 2, "afn": 2, "all": 2, "amd": 2, "ang": 2, "aoa": 2, "ars": 2,
	"aud": 2, "awg": 2, "azn": 2, "bam": 2, "bbd": 2, "bdt": 2, "bgn": 2,
	"bmd": 2, "bnd": 2, "bob": 2, "bov": 2, "brl": 2, "bsd": 2, "btn": 2, "bwp": 2,
	"byn": 2, "bzd": 2, "cad": 2, "cdf": 2, "che": 2, "chf": 2, "chw": 2, "cny": 2, "cop": 2,
	"cou": 2, "crc": 2, "cup": 2, "cve": 2, "czk": 2, "dkk": 2, "dop": 2, "dzd": 2,
	"egp": 2, "ern": 2, "etb": 2, "eur": 2, "fjd": 2, "fkp": 2, "gbp": 2,
	"gel": 2, "ghs": 2, "gip": 2, "gmd": 2, "gtq": 2, "gyd": 2, "hkd": 2,
	"hnl": 2, "htg": 2, "huf": 2, "idr": 2, "ils": 2, "inr": 2, "irr": 2,
	"jmd": 2, "kes": 2, "kgs": 2, "khr": 2, "kpw": 2, "kyd": 2, "kzt": 2,
	"lak": 2, "lbp": 2, "lkr": 2, "lrd": 2, "lsl": 2, "mad": 2, "mdl": 2,
	"mga": 2, "mkd": 2, "mmk": 2, "mnt": 2, "mop": 2, "mru": 2, "mur": 2,
	"mvr": 2, "mwk": 2, "mxn": 2, "mxv": 2, "myr": 2, "mzn": 2, "nad": 2, "ngn": 2,
	"nio": 2, "nok": 2, "npr": 2, "nzd": 2, "pab": 2, "pen": 2, "pgk": 2,
	"php": 2, "pkr": 2, "pln": 2, "qar": 2, "ron": 2, "rsd": 2, "rub": 2,
	"sar": 2, "sbd": 2, "scr": 2, "sdg": 2, "sek": 2, "sgd": 2, "shp": 2,
	"sle": 2, "sos": 2, "srd": 2, "ssp": 2, "stn": 2, "svc": 2, "syp": 2,
	"szl": 2, "thb": 2, "tjs": 2, "tmt": 2, "top": 2, "try": 2, "ttd": 2,
	"twd": 2, "tzs": 2, "uah": 2, "usd": 2, "usn": 2, "uyu": 2, "uzs": 2, "ved": 2, "ves": 2,
	"wst": 2, "xcd": 2, "xcg": 2, "yer": 2, "zar": 2, "zmw": 2, "zwg": 2,
}

// ParseCurrency accepts a code in any letter case and returns it lowercased.
// Surrounding whitespace is rejected rather than trimmed: a code that arrives
// padded points at a formatting bug upstream worth surfacing.
func ParseCurrency(s string) (Currency, error) {
	c := Currency(strings.ToLower(s))
	if _, ok := exponents[c]; !ok {
		return "", fmt.Errorf("currency %q: %w", s, ErrUnknownCurrency)
	}
	return c, nil
}

// Known reports whether c (in any case) is a supported ISO 4217 code.
func (c Currency) Known() bool {
	_, ok := exponents[c.lower()]
	return ok
}

// Exponent is the number of minor-unit digits (2 for USD, 0 for JPY, 3 for
// KWD). It returns -1 for an unknown code instead of guessing 2, so a caller
// that skipped ParseCurrency cannot quietly scale an amount by 100.
func (c Currency) Exponent() int {
	e, ok := exponents[c.lower()]
	if !ok {
		return -1
	}
	return e
}

// Upper is the code as humans and ISO print it, e.g. "USD".
func (c Currency) Upper() string { return strings.ToUpper(string(c)) }

// lower tolerates Currency values built by conversion from upper-case text.
func (c Currency) lower() Currency { return Currency(strings.ToLower(string(c))) }
