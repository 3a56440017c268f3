package storefront_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"paysplit/internal/storefront"
)

// TestCanonicalWooCommerceShopIgnoresSpelling: X-WC-Webhook-Source is home_url('/'), and an admin
// binds the URL as it reads it somewhere else (the browser's address bar, WordPress's settings).
// Spellings of one URL must compare equal, or every delivery of the client's own site is refused
// wrong_shop: the scheme's default port, the host's trailing dot, percent-encoding in upper or
// lower case or not at all. Other sites must not.
func TestCanonicalWooCommerceShopIgnoresSpelling(t *testing.T) {
	same := [][]string{
		{"https://shop.example.org/", "https://shop.example.org:443/", "http://shop.example.org:80/", "https://Shop.Example.org./", "HTTP://shop.example.org"},
		{"https://shop.example.org/boutiqu%C3%A9/", "https://shop.example.org/boutiqu%c3%a9", "https://shop.example.org/boutiqué/"},
		{"https://shop.example.org/~anna/", "https://shop.example.org/%7Eanna/", "https://shop.example.org/%7eanna"},
		{"https://[2001:db8::1]/", "https://[2001:DB8::1]:443/"},
	}
	for _, forms := range same {
		want, err := storefront.CanonicalShop(storefront.WooCommerce, forms[0])
		require.NoError(t, err)
		for _, f := range forms[1:] {
			got, err := storefront.CanonicalShop(storefront.WooCommerce, f)
			require.NoError(t, err, f)
			require.Equal(t, want, got, "%s and %s are one site", forms[0], f)
		}
	}
	other := []string{"https://shop.example.org:8443/", "https://www.shop.example.org/", "https://shop.example.org/shop/",
		"https://shop.example.org/Boutiqu%C3%A9/", "https://shop.example.org.evil.example/", "https://[2001:db8::2]/"}
	base, err := storefront.CanonicalShop(storefront.WooCommerce, "https://shop.example.org/")
	require.NoError(t, err)
	seen := map[string]string{}
	for _, f := range append(other, "https://shop.example.org/boutiqu%C3%A9/") {
		got, err := storefront.CanonicalShop(storefront.WooCommerce, f)
		require.NoError(t, err, f)
		require.NotEqual(t, base, got, f)
		require.NotContains(t, seen, got, "%s and %s are other sites", seen[got], f)
		seen[got] = f
	}
	for _, bad := range []string{"https://:443/", "https://./", "https://user@shop.example.org/"} {
		_, err := storefront.CanonicalShop(storefront.WooCommerce, bad)
		require.ErrorIs(t, err, storefront.ErrInvalidShop, bad)
	}
}

// TestCanonicalWooCommerceShopIDNHost: an internationalised host is one site however it is
// written, Unicode or its ASCII (punycode) form, in either case. An admin binds the form the
// browser's address bar shows (bücher.example) while WordPress's home_url may be the other
// (xn--bcher-kva.example): compared as typed, every delivery of the client's own site was
// refused wrong_shop. Both are compared in the ASCII form, lower case.
func TestCanonicalWooCommerceShopIDNHost(t *testing.T) {
	tests := []struct {
		name  string
		forms []string
	}{
		{"unicode and punycode", []string{"https://bücher.example/", "https://xn--bcher-kva.example/", "https://BÜCHER.example/",
			"http://XN--BCHER-KVA.example:80/", "https://bücher.example./"}},
		{"with a path", []string{"https://bücher.example/laden/", "https://xn--bcher-kva.example/laden"}},
		{"a subdomain", []string{"https://shop.bücher.example/", "https://shop.xn--bcher-kva.example/"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			want, err := storefront.CanonicalShop(storefront.WooCommerce, tc.forms[0])
			require.NoError(t, err)
			require.True(t, isASCII(want), "compared in the ASCII form: %s", want)
			for _, f := range tc.forms[1:] {
				got, err := storefront.CanonicalShop(storefront.WooCommerce, f)
				require.NoError(t, err, f)
				require.Equal(t, want, got, "%s and %s are one site", tc.forms[0], f)
			}
		})
	}
	// Another IDN host is another site.
	a, err := storefront.CanonicalShop(storefront.WooCommerce, "https://bücher.example/")
	require.NoError(t, err)
	b, err := storefront.CanonicalShop(storefront.WooCommerce, "https://bucher.example/")
	require.NoError(t, err)
	require.NotEqual(t, a, b)
	// A host no DNS name could be is refused, not bound.
	_, err = storefront.CanonicalShop(storefront.WooCommerce, "https://xn--a.example/")
	require.ErrorIs(t, err, storefront.ErrInvalidShop)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// TestCanonicalInstagramShop: Meta names the Page or Instagram commerce account of each entry of a
// batch by its ID (entry[].id), digits, so a client is bound to that ID as sent. Anything else an
// admin could paste (the account's @name, the Page's URL, an ID with spaces inside or a sign) no
// delivery names: refused with what to bind instead, not bound to refuse every delivery later.
func TestCanonicalInstagramShop(t *testing.T) {
	for in, want := range map[string]string{
		"110493227123456":    "110493227123456",
		" 110493227123456\n": "110493227123456",
		"17841400000000001":  "17841400000000001",
		"9":                  "9",
	} {
		got, err := storefront.CanonicalShop(storefront.Instagram, in)
		require.NoError(t, err, "%q", in)
		require.Equal(t, want, got, "%q", in)
	}
	for _, bad := range []string{"", "@acme_pottery", "https://www.facebook.com/acmepottery", "1104 9322", "-110493227123456",
		"+110493227123456", "1.1e14", "0110493227123456", "١١٠٤٩٣", strings.Repeat("1", 65)} {
		_, err := storefront.CanonicalShop(storefront.Instagram, bad)
		require.ErrorIs(t, err, storefront.ErrInvalidShop, "%q", bad)
		require.ErrorContains(t, err, "entry", "the reason names what to bind: %q", bad)
	}
	require.Contains(t, storefront.BindablePlatforms, storefront.Instagram)
}
