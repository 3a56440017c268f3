package payment_test

import (
	"encoding/json"
	"math"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"paysplit/internal/money"
	"paysplit/internal/payment"
)

// FuzzOrderJSONRoundTrip: whatever order this release encodes, it decodes to the same order,
// every amount as it was (the extras taken out of the shipping they are encoded in), and the
// previous release, which knows no "extras", reads a shipping that holds them. An order whose
// shipping and extras overflow together, or whose extras decoding refuses (negative, or beyond
// the shipping they are encoded in), is refused at encoding: never written short or unreadable.
func FuzzOrderJSONRoundTrip(f *testing.F) {
	f.Add("o", int64(10000), int64(800), int64(1000), int64(500), int64(2500), "usd", int64(10000), int64(800), int64(500), true)
	f.Add("", int64(0), int64(0), int64(0), int64(0), int64(0), "", int64(0), int64(0), int64(0), false)
	f.Add("o", int64(1), int64(2), int64(0), int64(0), int64(7), "jpy", int64(1), int64(2), int64(0), true)
	f.Add("o", int64(1), int64(2), int64(-5), int64(0), int64(3), "eur", int64(-1), int64(2), int64(0), false)
	f.Add("o", int64(1), int64(2), int64(5), int64(0), int64(-3), "eur", int64(1), int64(2), int64(0), false)
	f.Add("o", int64(1), int64(2), int64(math.MaxInt64), int64(0), int64(1), "usd", int64(1), int64(2), int64(0), false)
	f.Add("o", int64(1), int64(2), int64(math.MaxInt64-1), int64(0), int64(1), "usd", int64(1), int64(2), int64(0), false)
	f.Add("o", int64(1), int64(2), int64(math.MinInt64), int64(0), int64(-1), "usd", int64(1), int64(2), int64(0), false)
	f.Fuzz(func(t *testing.T, id string, subtotal, tax, shipping, discount, extras int64, cur string,
		lineSub, lineTax, lineDiscount int64, withLines bool) {
		if !utf8.ValidString(id) || !utf8.ValidString(cur) {
			t.Skip("JSON text is UTF-8: encoding/json replaces what is not, in any field")
		}
		o := payment.Order{ClientID: "c" + id, OrderID: id, VendorID: "v", AffiliateID: id, Platform: "shopify",
			Subtotal: subtotal, Tax: tax, Shipping: shipping, Discount: discount, Extras: extras, Currency: money.Currency(cur)}
		if withLines {
			o.Lines = []payment.OrderLine{{VendorID: "v", Subtotal: lineSub, Tax: lineTax, Discount: lineDiscount}, {VendorID: id}}
		}
		b, err := json.Marshal(o)
		encoded, sumErr := money.AddInt(shipping, extras)
		if sumErr != nil {
			require.Error(t, err, "shipping and extras that overflow together are refused, not written short")
			return
		}
		if extras < 0 || extras > 0 && shipping < 0 {
			require.Error(t, err, "extras no decoding takes out of shipping again are refused at encoding")
			return
		}
		require.NoError(t, err)

		var back payment.Order
		require.NoError(t, json.Unmarshal(b, &back), "%s", b)
		require.Equal(t, o, back, "%s", b)

		var prev struct {
			Shipping int64  `json:"shipping"`
			Extras   *int64 `json:"extras"`
		}
		require.NoError(t, json.Unmarshal(b, &prev))
		require.Equal(t, encoded, prev.Shipping, "the previous release reads shipping with the extras in it")
		require.Equal(t, extras == 0, prev.Extras == nil, "no extras key without extras, as before them")
	})
}
