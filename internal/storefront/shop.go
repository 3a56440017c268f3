package storefront

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"golang.org/x/net/idna"
)

// BindablePlatforms are the platforms whose deliveries name the shop they come from, so a client
// can be bound to its shop: Shopify's X-Shopify-Shop-Domain, WooCommerce's X-WC-Webhook-Source,
// TikTok Shop's shop_id, Meta's entry[].id (the Page or Instagram commerce account of each entry
// of a batch, ParseInstagramOf).
var BindablePlatforms = []string{Shopify, WooCommerce, TikTok, Instagram}

var (
	shopifyDomainPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*\.myshopify\.com$`)
	tiktokShopPattern    = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	// Meta's object IDs are positive integers, sent as decimal digits without leading zeros.
	metaPagePattern = regexp.MustCompile(`^[1-9][0-9]{0,63}$`)
)

// CanonicalShop is a shop as a platform's deliveries name it, in the one form both an admin's
// binding and a delivery are compared in, or ErrInvalidShop saying what the platform sends.
//   - Shopify: the shop's myshopify.com domain, lower case (X-Shopify-Shop-Domain is always that
//     domain, never the shop's own: a binding to shop.acme.com would refuse every delivery).
//   - WooCommerce: the site's home URL (X-WC-Webhook-Source is WordPress's home_url('/')),
//     "https://", its host in lower case and ASCII (an internationalised host in its punycode
//     form; no trailing dot; the port unless the scheme's default),
//     its path percent-encoded alike, with one trailing slash. The scheme is not the shop's
//     identity: a site moved from http to https is the same site, so both compare as https.
//   - TikTok: the shop_id as sent.
//   - Instagram (Meta): the ID of the Page or Instagram commerce account as each batch entry's id
//     names it, digits as sent (not the @name or the Page's URL, which no delivery names).
func CanonicalShop(platform, s string) (string, error) {
	s = strings.TrimSpace(s)
	switch platform {
	case Shopify:
		s = strings.ToLower(s)
		if !shopifyDomainPattern.MatchString(s) || len(s) > 255 {
			return "", fmt.Errorf("%w: a Shopify shop is its myshopify.com domain as X-Shopify-Shop-Domain names it (acme.myshopify.com), not %q", ErrInvalidShop, s)
		}
		return s, nil
	case WooCommerce:
		u, err := url.Parse(s)
		if err != nil || (!strings.EqualFold(u.Scheme, "http") && !strings.EqualFold(u.Scheme, "https")) || u.Host == "" ||
			u.User != nil || u.RawQuery != "" || u.Fragment != "" || len(s) > 2048 {
			return "", fmt.Errorf("%w: a WooCommerce shop is the site's home URL as X-WC-Webhook-Source names it (https://shop.example.com/), an http or https URL without query", ErrInvalidShop)
		}
		// One site, however its URL is spelled: the host's case and trailing dot, the scheme's
		// default port, percent-encoding in either case or none (the path re-escaped from its
		// decoded form). The path's own case is kept: WordPress's paths are case-sensitive.
		host, port := strings.TrimSuffix(strings.ToLower(u.Hostname()), "."), u.Port()
		if host == "" || strings.HasSuffix(host, ".") {
			return "", fmt.Errorf("%w: a WooCommerce shop's home URL names its host (https://shop.example.com/)", ErrInvalidShop)
		}
		// An internationalised host is one site whether written in Unicode (bücher.example, as
		// an admin reads it in the address bar) or ASCII (xn--bcher-kva.example, as home_url may
		// give it): both compare in the ASCII form. Only such hosts go through IDNA: its lookup
		// rules (STD3) would refuse ASCII hosts that were bindable (an underscore) and IP literals.
		if !isASCII(host) || strings.Contains(host, "xn--") {
			a, err := idna.Lookup.ToASCII(host)
			if err != nil {
				return "", fmt.Errorf("%w: a WooCommerce shop's home URL names a host a DNS name could be, not %q: %v", ErrInvalidShop, host, err)
			}
			host = strings.ToLower(a)
		}
		if strings.Contains(host, ":") {
			host = "[" + host + "]"
		}
		if port != "" && !(port == "443" && strings.EqualFold(u.Scheme, "https")) && !(port == "80" && strings.EqualFold(u.Scheme, "http")) {
			host += ":" + port
		}
		path := (&url.URL{Path: u.Path}).EscapedPath()
		return "https://" + host + strings.TrimRight(path, "/") + "/", nil
	case TikTok:
		if !tiktokShopPattern.MatchString(s) {
			return "", fmt.Errorf("%w: a TikTok shop is the shop_id its pushes carry (digits), not %q", ErrInvalidShop, s)
		}
		return s, nil
	case Instagram:
		if !metaPagePattern.MatchString(s) {
			return "", fmt.Errorf("%w: an Instagram or Facebook shop is the ID of its Page or commerce account as Meta's deliveries name it in entry[].id (digits, e.g. 110493227123456), not %q", ErrInvalidShop, s)
		}
		return s, nil
	}
	return "", fmt.Errorf("%w: platform %q must be one of %s", ErrInvalidShop, platform, strings.Join(BindablePlatforms, ", "))
}

// isASCII says s is all ASCII.
func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// ErrInvalidShop is a shop no delivery of its platform could name.
var ErrInvalidShop = errors.New("invalid shop")
