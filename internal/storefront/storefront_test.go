package storefront_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"paysplit/internal/money"
	"paysplit/internal/payment"
	"paysplit/internal/store"
	"paysplit/internal/storefront"
)

func sample(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	return b
}

func hmacSHA256(secret string, parts ...string) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	for _, p := range parts {
		m.Write([]byte(p))
	}
	return m.Sum(nil)
}

func TestVerify(t *testing.T) {
	body := `{"id":1}`
	b64 := base64.StdEncoding.EncodeToString(hmacSHA256("shpss_secret", body))
	tiktok := hex.EncodeToString(hmacSHA256("tts_secret", "app_key_1", body))
	meta := "sha256=" + hex.EncodeToString(hmacSHA256("meta_secret", body))
	shopify := func(b, h, s string) error { return storefront.VerifyShopify([]byte(b), h, []byte(s)) }
	woo := func(b, h, s string) error { return storefront.VerifyWooCommerce([]byte(b), h, []byte(s)) }
	tt := func(b, h, s string) error {
		return storefront.VerifyTikTok([]byte(b), h, []byte("app_key_1"), []byte(s))
	}
	ig := func(b, h, s string) error { return storefront.VerifyInstagram([]byte(b), h, []byte(s)) }
	tests := []struct {
		name                 string
		verify               func(body, header, secret string) error
		body, header, secret string
		ok                   bool
	}{
		{"shopify valid", shopify, body, b64, "shpss_secret", true},
		{"shopify wrong secret", shopify, body, b64, "other", false},
		{"shopify tampered body", shopify, body + " ", b64, "shpss_secret", false},
		{"shopify hex instead of base64", shopify, body, hex.EncodeToString(hmacSHA256("shpss_secret", body)), "shpss_secret", false},
		{"shopify missing header", shopify, body, "", "shpss_secret", false},
		{"shopify empty secret", shopify, body, base64.StdEncoding.EncodeToString(hmacSHA256("", body)), "", false},
		{"woocommerce valid", woo, body, b64, "shpss_secret", true},
		{"woocommerce truncated", woo, body, b64[:20], "shpss_secret", false},
		{"tiktok valid", tt, body, tiktok, "tts_secret", true},
		{"tiktok upper-case hex", tt, body, strings.ToUpper(tiktok), "tts_secret", true},
		{"tiktok body alone signed", tt, body, hex.EncodeToString(hmacSHA256("tts_secret", body)), "tts_secret", false},
		{"tiktok wrong secret", tt, body, tiktok, "other", false},
		{"instagram valid", ig, body, meta, "meta_secret", true},
		{"instagram without prefix", ig, body, strings.TrimPrefix(meta, "sha256="), "meta_secret", false},
		{"instagram sha1 header", ig, body, "sha1=" + strings.TrimPrefix(meta, "sha256="), "meta_secret", false},
		{"instagram garbage", ig, body, "sha256=zz", "meta_secret", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.verify(tc.body, tc.header, tc.secret)
			if tc.ok {
				require.NoError(t, err)
			} else {
				require.ErrorIs(t, err, storefront.ErrSignature)
			}
		})
	}
	require.ErrorIs(t, storefront.VerifyTikTok([]byte(body), tiktok, nil, []byte("tts_secret")), storefront.ErrSignature, "no app key")
}

func TestParseSamples(t *testing.T) {
	tests := []struct {
		name    string
		parse   func([]byte) (storefront.Result, error)
		file    string
		orders  []storefront.Order
		updates []storefront.StatusUpdate
		ignored bool
		// at is the shop's time of every order and update of the sample (RFC 3339), when it
		// names one: what decides whether it may replace the stored state.
		at string
	}{
		{
			name:  "shopify multi-vendor order paid",
			at:    "2024-03-14T14:21:09Z",
			parse: func(b []byte) (storefront.Result, error) { return storefront.ParseShopify("acme", "orders/paid", b) },
			file:  "shopify_orders_paid.json",
			orders: []storefront.Order{{
				Order: payment.Order{ClientID: "acme", OrderID: "5934021746733", Platform: "shopify", Currency: money.USD,
					AffiliateID: "acme-greenkitchenblog", Subtotal: 11500, Tax: 828 + 80, Shipping: 1079 - 80, Discount: 1150,
					Lines: []payment.OrderLine{
						{VendorID: "acme-blue-fox-ceramics", Subtotal: 9000, Tax: 648 + 63, Discount: 900},
						{VendorID: "acme-oak-thread", Subtotal: 2500, Tax: 180 + 17, Discount: 250},
					}},
				Status: "paid", ReferralCodes: []string{"acme-spring10"},
			}},
		},
		{
			name:  "shopify order created with tax-inclusive prices",
			parse: func(b []byte) (storefront.Result, error) { return storefront.ParseShopify("acme", "orders/create", b) },
			file:  "shopify_orders_create_eu_taxes_included.json",
			orders: []storefront.Order{{
				Order: payment.Order{ClientID: "acme", OrderID: "6120334455667", Platform: "shopify", Currency: money.EUR,
					VendorID: "acme-k-lner-holzwerk-" + nameHash("Kölner Holzwerk"), Subtotal: 5000, Tax: 950 + 79, Shipping: 495 - 79},
				Status: "pending", ReferralCodes: nil,
			}},
		},
		{
			// Shop in USD, customer paid in EUR: the order is in EUR, every amount read from its
			// _set.presentment_money (the plain fields are USD); the removed line needs no _set and
			// a zero tax line without one is zero in any currency.
			name:  "shopify multi-currency order paid in the presentment currency",
			parse: func(b []byte) (storefront.Result, error) { return storefront.ParseShopify("acme", "orders/paid", b) },
			file:  "shopify_orders_paid_multi_currency.json",
			orders: []storefront.Order{{
				Order: payment.Order{ClientID: "acme", OrderID: "6240113358902", Platform: "shopify", Currency: money.EUR,
					AffiliateID: "acme-greenkitchenblog", Subtotal: 12555, Tax: 941 + 37, Shipping: 873 - 37, Discount: 1256,
					Lines: []payment.OrderLine{
						{VendorID: "acme-blue-fox-ceramics", Subtotal: 10230, Tax: 774 + 30, Discount: 1023},
						{VendorID: "acme-oak-thread", Subtotal: 2325, Tax: 167 + 7, Discount: 233},
					}},
				Status: "paid", ReferralCodes: []string{"acme-herbst10"},
			}},
		},
		{
			name:    "shopify refund in the presentment currency",
			at:      "2024-09-10T09:02:31Z",
			parse:   func(b []byte) (storefront.Result, error) { return storefront.ParseShopify("acme", "refunds/create", b) },
			file:    "shopify_refunds_create_multi_currency.json",
			updates: []storefront.StatusUpdate{{OrderID: "6240113358902", Status: "partially_refunded", Refunded: 13113, Currency: money.EUR}},
		},
		{
			name:    "shopify refund",
			at:      "2024-03-20T13:12:44Z",
			parse:   func(b []byte) (storefront.Result, error) { return storefront.ParseShopify("acme", "refunds/create", b) },
			file:    "shopify_refunds_create.json",
			updates: []storefront.StatusUpdate{{OrderID: "5934021746733", Status: "partially_refunded", Refunded: 12257, Currency: money.USD}},
		},
		{
			name: "shopify topic not handled",
			parse: func(b []byte) (storefront.Result, error) {
				return storefront.ParseShopify("acme", "customers/create", b)
			},
			file:    "shopify_orders_paid.json",
			ignored: true,
		},
		{
			name: "woocommerce order with coupon and tax, two vendors",
			at:   "2024-04-09T21:42:13Z",
			parse: func(b []byte) (storefront.Result, error) {
				return storefront.ParseWooCommerce("acme", "order.created", b)
			},
			file: "woocommerce_order_created.json",
			orders: []storefront.Order{{
				Order: payment.Order{ClientID: "acme", OrderID: "7311", Platform: "woocommerce", Currency: money.USD,
					AffiliateID: "acme-mike-reviews", Subtotal: 5000, Tax: 360 + 48, Shipping: 648 - 48, Discount: 500,
					Lines: []payment.OrderLine{
						{VendorID: "acme-17", Subtotal: 3000, Tax: 216 + 29, Discount: 300},
						{VendorID: "acme-23", Subtotal: 2000, Tax: 144 + 19, Discount: 200},
					}},
				Status: "processing", ReferralCodes: []string{"acme-save10"},
			}},
		},
		{
			name: "woocommerce dokan sub-order with a taxed fee",
			parse: func(b []byte) (storefront.Result, error) {
				return storefront.ParseWooCommerce("acme", "order.updated", b)
			},
			file: "woocommerce_order_updated_dokan_fee.json",
			orders: []storefront.Order{{
				Order: payment.Order{ClientID: "acme", OrderID: "7402", Platform: "woocommerce", Currency: money.EUR,
					VendorID: "acme-42", Subtotal: 5000, Tax: 400, Extras: 216},
				Status: "completed", ReferralCodes: nil,
			}},
		},
		{
			name: "woocommerce topic not handled",
			parse: func(b []byte) (storefront.Result, error) {
				return storefront.ParseWooCommerce("acme", "product.updated", b)
			},
			file:    "woocommerce_order_created.json",
			ignored: true,
		},
		{
			name:    "tiktok order status change",
			at:      "2022-02-09T13:21:22Z",
			parse:   storefront.ParseTikTok,
			file:    "tiktok_order_status_change.json",
			updates: []storefront.StatusUpdate{{OrderID: "576461413038785752", Status: "awaiting_shipment"}},
		},
		{
			name:    "tiktok package update not handled",
			parse:   storefront.ParseTikTok,
			file:    "tiktok_package_update.json",
			ignored: true,
		},
		{
			name:  "instagram order with a coupon",
			at:    "2024-04-10T13:20:00Z",
			parse: func(b []byte) (storefront.Result, error) { return storefront.ParseInstagram("acme", b) },
			file:  "instagram_commerce_order.json",
			orders: []storefront.Order{{
				Order: payment.Order{ClientID: "acme", OrderID: "368508827392800", Platform: "instagram", Currency: money.USD,
					VendorID: "acme-110493227123456", Subtotal: 6000, Tax: 480, Shipping: 500, Discount: 500},
				Status: "created", ReferralCodes: []string{"acme-cedarclub"},
			}},
		},
		{
			name:    "instagram status change",
			at:      "2024-04-11T13:20:00Z",
			parse:   func(b []byte) (storefront.Result, error) { return storefront.ParseInstagram("acme", b) },
			file:    "instagram_order_status.json",
			updates: []storefront.StatusUpdate{{OrderID: "368508827392800", Status: "in_progress"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := tc.parse(sample(t, tc.file))
			require.NoError(t, err)
			require.Equal(t, tc.ignored, res.Ignored)
			var at time.Time
			if tc.at != "" {
				var err error
				at, err = time.Parse(time.RFC3339, tc.at)
				require.NoError(t, err)
			}
			for i := range tc.orders {
				tc.orders[i].ShopTime = at
			}
			for i := range tc.updates {
				tc.updates[i].ShopTime = at
			}
			require.Equal(t, tc.orders, res.Orders)
			require.Equal(t, tc.updates, res.Updates)
			for _, o := range res.Orders {
				require.NoError(t, store.ValidateOrder(o.Order), "the store takes every parsed order")
				assert.Equal(t, o.Subtotal-o.Discount+o.Tax+o.Shipping+o.Extras, total(t, tc.file), "parts add up to what the customer paid")
			}
		})
	}
}

// TestShopTimeIsOneClockPerSource: the times of one source's events are compared with each other,
// so each source names them on one clock. Meta times every change by its entry's time (a status
// change carries no last_updated, so a whole order's last_updated would be compared with entry
// times); TikTok by update_time, and a push without it names no time rather than the push's own
// timestamp (when it was sent, not when the order changed).
func TestShopTimeIsOneClockPerSource(t *testing.T) {
	entry := time.Unix(1712755200, 0).UTC()
	meta := `{"object":"page","entry":[{"id":"9","time":1712755200,"changes":[{"field":"commerce_orders","value":` +
		`{"id":"1","last_updated":"2024-04-10T13:20:05+00:00","order_status":{"state":"CANCELLED"}}}]}]}`
	res, err := storefront.ParseInstagram("acme", []byte(meta))
	require.NoError(t, err)
	require.Len(t, res.Updates, 1)
	require.Equal(t, entry, res.Updates[0].ShopTime, "a Meta change is timed by its entry, not by last_updated")

	res, err = storefront.ParseInstagram("acme", sample(t, "instagram_commerce_order.json"))
	require.NoError(t, err)
	require.Len(t, res.Orders, 1)
	require.Equal(t, entry, res.Orders[0].ShopTime, "a whole Meta order is timed by its entry, as its status changes are")

	tiktok := `{"type":1,"tts_notification_id":"n1","timestamp":1644412885,"data":{"order_id":"1","order_status":"CANCELLED"}}`
	res, err = storefront.ParseTikTok([]byte(tiktok))
	require.NoError(t, err)
	require.Len(t, res.Updates, 1)
	require.True(t, res.Updates[0].ShopTime.IsZero(), "a TikTok push without update_time was timed by its timestamp: %v", res.Updates[0].ShopTime)
}

// total reads the amount the customer paid from a sample, as the shop states it.
func total(t *testing.T, file string) int64 {
	var v struct {
		TotalPrice    string `json:"total_price"`
		TotalPriceSet struct {
			PresentmentMoney struct {
				Amount       string `json:"amount"`
				CurrencyCode string `json:"currency_code"`
			} `json:"presentment_money"`
		} `json:"total_price_set"`
		Total    string `json:"total"`
		Currency string `json:"currency"`
		Entry    []struct {
			Changes []struct {
				Value struct {
					Details struct {
						Total struct{ Amount, Currency string } `json:"total_amount"`
					} `json:"estimated_payment_details"`
				} `json:"value"`
			} `json:"changes"`
		} `json:"entry"`
	}
	require.NoError(t, json.Unmarshal(sample(t, file), &v))
	amount, cur := v.TotalPrice+v.Total, v.Currency
	if pm := v.TotalPriceSet.PresentmentMoney; pm.Amount != "" {
		amount, cur = pm.Amount, pm.CurrencyCode // what a Shopify customer paid, in their currency
	}
	if len(v.Entry) > 0 {
		amount, cur = v.Entry[0].Changes[0].Value.Details.Total.Amount, v.Entry[0].Changes[0].Value.Details.Total.Currency
	}
	c, err := money.ParseCurrency(cur)
	require.NoError(t, err)
	n, err := money.ParseAmount(amount, c)
	require.NoError(t, err)
	return n
}

func nameHash(name string) string {
	sum := sha256.Sum256([]byte(name))
	return hex.EncodeToString(sum[:4])
}

// pii is every piece of customer data the samples carry: none may survive parsing.
var pii = []string{
	"jane", "doe", "jane.doe@example.com", "555", "orchard", "brooklyn", "11201", "203.0.113.54", "4242", "424242",
	"hans", "muster", "hauptstra", "10115", "4915112345678",
	"maria", "garcia", "maria.garcia@example.org", "elm avenue", "austin", "78701", "192.0.2.77", "buzzer",
	"luc", "martin", "lilas", "lyon", "+33",
	"priya", "shah", "n8miblde3i", "harbor road", "seattle", "98101",
	"birthday", "neighbour", "iphone", "mozilla",
}

func TestParsedOrdersHoldNoCustomerData(t *testing.T) {
	parsers := map[string]func([]byte) (storefront.Result, error){
		"shopify_orders_paid.json": func(b []byte) (storefront.Result, error) { return storefront.ParseShopify("acme", "orders/paid", b) },
		"shopify_orders_create_eu_taxes_included.json": func(b []byte) (storefront.Result, error) {
			return storefront.ParseShopify("acme", "orders/create", b)
		},
		"shopify_refunds_create.json": func(b []byte) (storefront.Result, error) { return storefront.ParseShopify("acme", "refunds/create", b) },
		"shopify_orders_paid_multi_currency.json": func(b []byte) (storefront.Result, error) {
			return storefront.ParseShopify("acme", "orders/paid", b)
		},
		"shopify_refunds_create_multi_currency.json": func(b []byte) (storefront.Result, error) {
			return storefront.ParseShopify("acme", "refunds/create", b)
		},
		"woocommerce_order_created.json": func(b []byte) (storefront.Result, error) {
			return storefront.ParseWooCommerce("acme", "order.created", b)
		},
		"woocommerce_order_updated_dokan_fee.json": func(b []byte) (storefront.Result, error) {
			return storefront.ParseWooCommerce("acme", "order.updated", b)
		},
		"instagram_commerce_order.json": func(b []byte) (storefront.Result, error) { return storefront.ParseInstagram("acme", b) },
	}
	for file, parse := range parsers {
		t.Run(file, func(t *testing.T) {
			raw := strings.ToLower(string(sample(t, file)))
			res, err := parse(sample(t, file))
			require.NoError(t, err)
			out, err := json.Marshal(res)
			require.NoError(t, err)
			seen := 0
			for _, s := range pii {
				if strings.Contains(raw, s) {
					seen++
					assert.NotContains(t, strings.ToLower(string(out)), s, "customer data in the normalized order")
				}
			}
			require.Positive(t, seen, "the sample must carry customer data for this test to mean anything")
		})
	}
}

func TestParseRejects(t *testing.T) {
	shopify := func(body string) error {
		_, err := storefront.ParseShopify("acme", "orders/paid", []byte(body))
		return err
	}
	woo := func(body string) error {
		_, err := storefront.ParseWooCommerce("acme", "order.created", []byte(body))
		return err
	}
	tiktok := func(body string) error { _, err := storefront.ParseTikTok([]byte(body)); return err }
	ig := func(body string) error { _, err := storefront.ParseInstagram("acme", []byte(body)); return err }
	line := func(fields string) string {
		return `{"id":1,"currency":"USD","line_items":[{"vendor":"V","price":"10.00","quantity":1` + fields + `}]}`
	}
	tests := []struct {
		name  string
		parse func(string) error
		body  string
		want  error
	}{
		{"shopify not json", shopify, `{"id":`, storefront.ErrMalformed},
		{"shopify amount as object", shopify, line(`,"tax_lines":[{"price":{}}]`), storefront.ErrMalformed},
		{"shopify fractional quantity", shopify, `{"id":1,"currency":"USD","line_items":[{"vendor":"V","price":"1.00","quantity":1.5}]}`, storefront.ErrMalformed},
		{"shopify no id", shopify, `{"currency":"USD","line_items":[{"vendor":"V","price":"1.00","quantity":1}]}`, storefront.ErrInvalidOrder},
		{"shopify unknown currency", shopify, `{"id":1,"currency":"XXX","line_items":[{"vendor":"V","price":"1.00","quantity":1}]}`, storefront.ErrInvalidOrder},
		{"shopify no vendor", shopify, `{"id":1,"currency":"USD","line_items":[{"vendor":" ","price":"1.00","quantity":1}]}`, storefront.ErrInvalidOrder},
		{"shopify no lines", shopify, `{"id":1,"currency":"USD","line_items":[]}`, storefront.ErrInvalidOrder},
		{"shopify float noise in price", shopify, line(`,"price":"10.001"`), storefront.ErrInvalidOrder},
		// A second decimal point inside the digits the trailing-zero trim cuts must not be cut
		// away with them: "1.5.00" is no amount, yet it was read as 1.50.
		{"shopify price with two decimal points", shopify, line(`,"price":"1.5.00"`), storefront.ErrInvalidOrder},
		{"shopify JPY price with two decimal points", shopify, `{"id":1,"currency":"JPY","line_items":[{"vendor":"V","price":"15.0.0","quantity":1}]}`, storefront.ErrInvalidOrder},
		{"woocommerce KWD tax with two decimal points", woo, `{"id":5,"currency":"KWD","cart_tax":"0.10.000","meta_data":[{"key":"_dokan_vendor_id","value":"3"}],"line_items":[{"quantity":1,"subtotal":"5.000","total":"5.000"}],"total":"5.100"}`, storefront.ErrInvalidOrder},
		{"shopify exponent price", shopify, `{"id":1,"currency":"USD","line_items":[{"vendor":"V","price":1e3,"quantity":1}]}`, storefront.ErrInvalidOrder},
		{"shopify negative price", shopify, `{"id":1,"currency":"USD","line_items":[{"vendor":"V","price":"-1.00","quantity":1}]}`, storefront.ErrInvalidOrder},
		{"shopify negative quantity", shopify, `{"id":1,"currency":"USD","line_items":[{"vendor":"V","price":"1.00","quantity":-1}]}`, storefront.ErrInvalidOrder},
		{"shopify discount above price", shopify, line(`,"discount_allocations":[{"amount":"11.00"}]`), storefront.ErrInvalidOrder},
		{"shopify price overflow", shopify, `{"id":1,"currency":"USD","line_items":[{"vendor":"V","price":"92233720368547758.07","quantity":2}]}`, storefront.ErrInvalidOrder},
		{"shopify order id with a slash", shopify, `{"id":"1/2","currency":"USD","line_items":[{"vendor":"V","price":"1.00","quantity":1}]}`, storefront.ErrInvalidOrder},
		{"shopify updated_at not a time", shopify, `{"id":1,"currency":"USD","updated_at":"yesterday","line_items":[{"vendor":"V","price":"1.00","quantity":1}]}`, storefront.ErrInvalidOrder},
		{"woocommerce not json", woo, `<html>`, storefront.ErrMalformed},
		{"woocommerce date_modified_gmt not a time", woo, `{"id":5,"currency":"USD","date_modified_gmt":"9 April","meta_data":[{"key":"_dokan_vendor_id","value":"3"}],"line_items":[{"quantity":1,"subtotal":"5.00","total":"5.00"}],"total":"5.00"}`, storefront.ErrInvalidOrder},
		{"woocommerce line without vendor", woo, `{"id":5,"currency":"USD","line_items":[{"quantity":1,"subtotal":"5.00","total":"5.00","total_tax":"0.00"}],"total":"5.00"}`, storefront.ErrInvalidOrder},
		{"woocommerce total above subtotal", woo, `{"id":5,"currency":"USD","meta_data":[{"key":"_dokan_vendor_id","value":"3"}],"line_items":[{"quantity":1,"subtotal":"5.00","total":"6.00"}]}`, storefront.ErrInvalidOrder},
		{"woocommerce totals do not add up", woo, `{"id":5,"currency":"USD","meta_data":[{"key":"_dokan_vendor_id","value":"3"}],"line_items":[{"quantity":1,"subtotal":"5.00","total":"5.00"}],"total":"7.00"}`, storefront.ErrInvalidOrder},
		{"woocommerce unrounded non-zero digits", woo, `{"id":5,"currency":"USD","cart_tax":"0.125","meta_data":[{"key":"_dokan_vendor_id","value":"3"}],"line_items":[{"quantity":1,"subtotal":"5.00","total":"5.00"}]}`, storefront.ErrInvalidOrder},
		{"woocommerce negative fees above what the items sell for", woo, `{"id":5,"currency":"USD","meta_data":[{"key":"_dokan_vendor_id","value":"3"}],"line_items":[{"quantity":1,"subtotal":"5.00","total":"5.00"}],"fee_lines":[{"total":"-6.00"}]}`, storefront.ErrInvalidOrder},
		{"tiktok not json", tiktok, `type=1`, storefront.ErrMalformed},
		{"tiktok without notification id", tiktok, `{"type":1,"data":{"order_id":"1","order_status":"UNPAID"}}`, storefront.ErrMalformed},
		{"tiktok data not an object", tiktok, `{"type":1,"tts_notification_id":"n1","data":"x"}`, storefront.ErrMalformed},
		{"tiktok without order id", tiktok, `{"type":1,"tts_notification_id":"n1","data":{"order_status":"UNPAID"}}`, storefront.ErrInvalidOrder},
		{"instagram not json", ig, `[`, storefront.ErrMalformed},
		{"instagram total above parts", ig, `{"object":"page","entry":[{"id":"9","changes":[{"field":"commerce_orders","value":{"id":"1","estimated_payment_details":{"subtotal":{"items":{"amount":"1.00","currency":"USD"}},"total_amount":{"amount":"2.00","currency":"USD"}},"items":{"data":[{"quantity":1}]}}}]}]}`, storefront.ErrInvalidOrder},
		{"instagram mixed currencies", ig, `{"object":"page","entry":[{"id":"9","changes":[{"field":"commerce_orders","value":{"id":"1","estimated_payment_details":{"subtotal":{"items":{"amount":"1.00","currency":"EUR"}},"total_amount":{"amount":"1.00","currency":"USD"}},"items":{"data":[{"quantity":1}]}}}]}]}`, storefront.ErrInvalidOrder},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.ErrorIs(t, tc.parse(tc.body), tc.want)
		})
	}
}

func TestPayeeID(t *testing.T) {
	tests := []struct {
		client, name, want string
	}{
		{"acme", "Blue Fox Ceramics", "acme-blue-fox-ceramics"},
		{"acme", "  blue-fox  ceramics!", "acme-blue-fox-ceramics"},
		{"acme", "Oak & Thread", "acme-oak-thread"},
		{"acme", "17", "acme-17"},
		{"acme", "東京", "acme-" + nameHash("東京")},
		{"acme", "Café", "acme-caf-" + nameHash("Café")},
		{"acme", "---", "acme-" + nameHash("---")},
		{"acme", strings.Repeat("long vendor ", 10), "acme-" + strings.TrimRight(strings.Repeat("long-vendor-", 10)[:50], "-") + "-" + nameHash(strings.TrimSpace(strings.Repeat("long vendor ", 10)))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := storefront.PayeeID(tc.client, tc.name)
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
			require.NoError(t, store.ValidID("payee", got))
		})
	}
	_, err := storefront.PayeeID("acme", "  ")
	require.ErrorIs(t, err, storefront.ErrInvalidOrder)
}

func TestInstagramChallenge(t *testing.T) {
	tests := []struct {
		name  string
		query string
		want  string
		err   error
	}{
		{"subscribe", "hub.mode=subscribe&hub.verify_token=tok-12345&hub.challenge=1158201444", "1158201444", nil},
		{"wrong token", "hub.mode=subscribe&hub.verify_token=nope&hub.challenge=1158201444", "", storefront.ErrSignature},
		{"no token", "hub.mode=subscribe&hub.challenge=1158201444", "", storefront.ErrSignature},
		{"not subscribe", "hub.mode=unsubscribe&hub.verify_token=tok-12345&hub.challenge=1", "", storefront.ErrMalformed},
		{"script in challenge", "hub.mode=subscribe&hub.verify_token=tok-12345&hub.challenge=%3Cscript%3E", "", storefront.ErrMalformed},
		{"no challenge", "hub.mode=subscribe&hub.verify_token=tok-12345", "", storefront.ErrMalformed},
		{"not subscribe, wrong token", "hub.mode=unsubscribe&hub.verify_token=nope&hub.challenge=1", "", storefront.ErrSignature},
		{"no challenge, wrong token", "hub.mode=subscribe&hub.verify_token=nope", "", storefront.ErrSignature},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q, err := url.ParseQuery(tc.query)
			require.NoError(t, err)
			got, err := storefront.InstagramChallenge(q, []byte("tok-12345"))
			if tc.err != nil {
				require.ErrorIs(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestIsWooCommercePing(t *testing.T) {
	tests := []struct {
		body, signature string
		want            bool
	}{
		{string(sample(t, "woocommerce_ping.txt")), "", true},
		{"webhook_id=15", "", true},
		{"webhook_id=15", "c2lnbmVk", false},
		{"webhook_id=15&x=1", "", false},
		{`{"webhook_id":15}`, "", false},
		{"", "", false},
	}
	for _, tc := range tests {
		require.Equal(t, tc.want, storefront.IsWooCommercePing([]byte(tc.body), tc.signature), "%q %q", tc.body, tc.signature)
	}
}

// A client ID too long for the client, a dash and the name's hash (over 55 characters) still
// gives each vendor an ID of its own; before, the hash was cut off and every vendor of the client
// became one payee, and a multi-vendor order was split as a single vendor's.
func TestPayeeIDOfALongClientKeepsVendorsApart(t *testing.T) {
	for _, n := range []int{54, 55, 56, 62, 63, 64} {
		client := strings.Repeat("c", n)
		a, err := storefront.PayeeID(client, "Blue Fox Ceramics")
		require.NoError(t, err, n)
		b, err := storefront.PayeeID(client, "Oak Thread")
		require.NoError(t, err, n)
		require.NotEqual(t, a, b, "client of %d characters", n)
		require.LessOrEqual(t, len(a), 64)
		other, err := storefront.PayeeID(strings.Repeat("c", n-1)+"d", "Blue Fox Ceramics")
		require.NoError(t, err, n)
		require.NotEqual(t, a, other, "two clients cut alike")
	}
	body := []byte(`{"id":1001,"currency":"USD","financial_status":"paid","line_items":[
		{"vendor":"Blue Fox Ceramics","price":"90.00","quantity":1},
		{"vendor":"Oak Thread","price":"10.00","quantity":1}]}`)
	res, err := storefront.ParseShopify(strings.Repeat("c", 63), "orders/paid", body)
	require.NoError(t, err)
	require.Len(t, res.Orders[0].Lines, 2, "a multi-vendor order stays multi-vendor")
}

// WooCommerce takes a negative fee as a discount (its cart spreads the fee's tax over the items
// "so it works as a true discount"): it comes off the vendors' lines in proportion to what they
// sell for, its tax off theirs, shipping untouched; before, it was taken from shipping, and an
// order without shipping enough was refused.
func TestWooCommerceNegativeFeeIsADiscount(t *testing.T) {
	body := []byte(`{"id":8001,"number":"8001","status":"processing","currency":"USD",
		"discount_total":"0.00","shipping_total":"4.00","shipping_tax":"0.00","cart_tax":"2.70","total":"33.70",
		"line_items":[
			{"quantity":1,"subtotal":"20.00","total":"20.00","total_tax":"2.00","meta_data":[{"key":"_vendor_id","value":"17"}]},
			{"quantity":1,"subtotal":"10.00","total":"10.00","total_tax":"1.00","meta_data":[{"key":"_vendor_id","value":"18"}]}],
		"fee_lines":[{"name":"Loyalty discount","total":"-3.00","total_tax":"-0.30"}]}`)
	res, err := storefront.ParseWooCommerce("acme", "order.created", body)
	require.NoError(t, err)
	o := res.Orders[0]
	require.EqualValues(t, 3370, o.Subtotal-o.Discount+o.Tax+o.Shipping+o.Extras, "the parts make the total")
	require.Zero(t, o.Extras, "a negative fee is a discount, no extra")
	require.EqualValues(t, 300, o.Discount)
	require.EqualValues(t, 400, o.Shipping, "shipping untouched")
	require.EqualValues(t, 270, o.Tax)
	require.Len(t, o.Lines, 2)
	require.EqualValues(t, 200, o.Lines[0].Discount, "in proportion to 20.00")
	require.EqualValues(t, 100, o.Lines[1].Discount, "and to 10.00")

	noShipping := []byte(`{"id":8002,"number":"8002","status":"processing","currency":"USD",
		"discount_total":"0.00","shipping_total":"0.00","shipping_tax":"0.00","cart_tax":"0.00","total":"15.00",
		"line_items":[{"quantity":1,"subtotal":"20.00","total":"20.00","total_tax":"0.00","meta_data":[{"key":"_vendor_id","value":"17"}]}],
		"fee_lines":[{"name":"Loyalty discount","total":"-5.00","total_tax":"0.00"}]}`)
	res, err = storefront.ParseWooCommerce("acme", "order.created", noShipping)
	require.NoError(t, err, "no shipping to take it from")
	require.EqualValues(t, 500, res.Orders[0].Discount)
}
