package store

import (
	"errors"
	"strings"
	"testing"
)

// TestPayeeValidatePayPalReceiver: PayPal's Payouts API takes a receiver of at most 127
// single-byte characters and refuses the whole payout otherwise, so a longer one must be refused
// when the payee is registered (400 with the reason), not at every payout later. A character
// outside ASCII is not single-byte: it counts its UTF-8 bytes.
func TestPayeeValidatePayPalReceiver(t *testing.T) {
	long := strings.Repeat("a", 64) + "@" + strings.Repeat("b", 60) + ".com" // 129 characters
	for _, tc := range []struct {
		name, receiver string
		ok             bool
	}{
		{"payer ID", "ABCDEFGHJKLMN", true},
		{"email", "vendor@example.com", true},
		{"email of 127 characters", strings.Repeat("a", 64) + "@" + strings.Repeat("b", 58) + ".com", true},
		{"email over 127 characters", long, false},
		{"email of 127 bytes, with a character outside ASCII", strings.Repeat("a", 62) + "ü@" + strings.Repeat("b", 58) + ".com", true},
		{"email of 127 characters, one of two bytes: 128 bytes", strings.Repeat("a", 63) + "ü@" + strings.Repeat("b", 58) + ".com", false},
		{"not an email", "vendor", false},
		// Go's \s is ASCII whitespace only: a space PayPal has no account for, outside ASCII or
		// invisible, passed the pattern, and every payout to it was refused.
		{"a non-breaking space before the @", "vendor\u00a0@example.com", false},
		{"a non-breaking space first", "\u00a0vendor@example.com", false},
		{"a non-breaking space in the domain", "vendor@exa\u00a0mple.com", false},
		{"an ideographic space", "vendor\u3000x@example.com", false},
		{"a zero-width space", "ven\u200bdor@example.com", false},
		{"a byte-order mark", "\ufeffvendor@example.com", false},
		{"a line separator", "vendor\u2028@example.com", false},
		{"a control character", "ven\u0085dor@example.com", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := Payee{ID: "v1", ClientID: "c1", Kind: KindVendor, PayPalReceiver: tc.receiver}
			err := p.Validate()
			if tc.ok && err != nil {
				t.Fatalf("%d characters: %v", len(tc.receiver), err)
			}
			if !tc.ok && !errors.Is(err, ErrInvalid) {
				t.Fatalf("%d characters: got %v, want ErrInvalid", len(tc.receiver), err)
			}
		})
	}
}
