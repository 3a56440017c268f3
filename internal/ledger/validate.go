package ledger

import (
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"math/big"
	"slices"
	"strings"
	"unicode/utf8"

	"paysplit/internal/money"
)

// normalize checks e as the database would, so callers get a precise sentinel
// instead of a constraint error at commit, and canonicalises the currency so
// "USD" and "usd" replay the same key.
func normalize(e Entry) (Entry, error) {
	if err := checkIndexed("idempotency key", e.IdempotencyKey, true); err != nil {
		return e, err
	}
	cur, err := money.ParseCurrency(string(e.Currency))
	if err != nil {
		return e, fmt.Errorf("%w: %w", ErrInvalidEntry, err)
	}
	e.Currency = cur
	if err := checkIndexed("reference", e.Reference, false); err != nil {
		return e, err
	}
	if err := checkText("description", e.Description, false); err != nil {
		return e, err
	}
	if e.ReversesID < 0 {
		return e, fmt.Errorf("%w: reverses_id %d is negative", ErrInvalidEntry, e.ReversesID)
	}
	if len(e.Postings) < 2 {
		return e, fmt.Errorf("%w: %d posting(s), at least 2 are required", ErrInvalidEntry, len(e.Postings))
	}
	// The sum in int64 while it fits: every payment's entry does, with no allocation. Partial sums
	// of legal int64 amounts can overflow even when the total is zero, so an overflow sums again
	// exactly (postingsSum).
	var sum int64
	fits := true
	for i, p := range e.Postings {
		if checkIndexed("", p.Account, true) != nil {
			// The field's name is formatted only for the error: per posting it cost an allocation
			// on every entry posted.
			return e, checkIndexed(fmt.Sprintf("posting %d account", i), p.Account, true)
		}
		switch p.Amount {
		case 0:
			return e, fmt.Errorf("%w: posting %d (%s) has a zero amount", ErrInvalidEntry, i, p.Account)
		case math.MinInt64:
			// Its negation does not fit in int64, so the entry could never be reversed.
			return e, fmt.Errorf("%w: posting %d (%s) amount %d cannot be negated", ErrInvalidEntry, i, p.Account, p.Amount)
		}
		if fits {
			sum, fits = addChecked(sum, p.Amount)
		}
	}
	if !fits {
		if total := postingsSum(e.Postings); total.Sign() != 0 {
			return e, fmt.Errorf("%w: postings sum to %s %s instead of 0", ErrUnbalanced, total.String(), cur.Upper())
		}
	} else if sum != 0 {
		return e, fmt.Errorf("%w: postings sum to %d %s instead of 0", ErrUnbalanced, sum, cur.Upper())
	}
	e.Postings = slices.Clone(e.Postings)
	return e, nil
}

// postingsSum is the exact sum of the postings' amounts, whatever its size.
func postingsSum(ps []Posting) *big.Int {
	var sum, x big.Int
	for _, p := range ps {
		sum.Add(&sum, x.SetInt64(p.Amount))
	}
	return &sum
}

// checkText rejects what Postgres text cannot store (NUL, invalid UTF-8) up
// front, and blank values where they would make an account or key meaningless.
func checkText(field, s string, required bool) error {
	switch {
	case required && strings.TrimSpace(s) == "":
		return fmt.Errorf("%w: %s is empty", ErrInvalidEntry, field)
	case !utf8.ValidString(s) || strings.ContainsRune(s, 0):
		return fmt.Errorf("%w: %s %q is not valid text", ErrInvalidEntry, field, s)
	}
	return nil
}

// maxIndexedText bounds the fields the schema indexes (key, reference, account). A btree row
// holds at most 2704 bytes, so a longer value would be refused at insert with an error that reads
// as transient and be retried for ever; the platform's own keys and accounts are well under 300.
const maxIndexedText = 1024

// checkIndexed is checkText for a field with an index on it.
func checkIndexed(field, s string, required bool) error {
	if len(s) > maxIndexedText {
		return fmt.Errorf("%w: %s is %d bytes, at most %d are stored", ErrInvalidEntry, field, len(s), maxIndexedText)
	}
	return checkText(field, s, required)
}

// contentHash fingerprints what an idempotency key commits to: currency,
// reversal target and the postings as a multiset (order-insensitive, since
// the same split built twice may list legs differently). Length-prefixed
// fields keep distinct contents from ever encoding to the same bytes.
func contentHash(e Entry) string {
	// Sorted in a copy, and encoded, on the stack for an entry of a payment's size.
	var sorted [8]Posting
	ps := append(sorted[:0], e.Postings...)
	slices.SortFunc(ps, func(a, b Posting) int {
		return cmp.Or(strings.Compare(a.Account, b.Account), cmp.Compare(a.Amount, b.Amount))
	})
	var encoded [512]byte
	buf := encoded[:0]
	buf = binary.AppendUvarint(buf, uint64(len(e.Currency)))
	buf = append(buf, e.Currency...)
	buf = binary.BigEndian.AppendUint64(buf, uint64(e.ReversesID))
	buf = binary.AppendUvarint(buf, uint64(len(ps)))
	for _, p := range ps {
		buf = binary.AppendUvarint(buf, uint64(len(p.Account)))
		buf = append(buf, p.Account...)
		buf = binary.BigEndian.AppendUint64(buf, uint64(p.Amount))
	}
	sum := sha256.Sum256(buf)
	var text [len(contentHashPrefix) + 2*sha256.Size]byte
	copy(text[:], contentHashPrefix)
	hex.Encode(text[len(contentHashPrefix):], sum[:])
	return string(text[:])
}

// contentHashPrefix names the encoding contentHash hashes.
const contentHashPrefix = "v1:"
