package activities_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"paysplit/activities"
	"paysplit/internal/ledger"
	"paysplit/internal/money"
	"paysplit/internal/payment"
	"paysplit/internal/split"
	"paysplit/internal/store"
	"paysplit/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

type fixture struct {
	a     *activities.Activities
	st    *store.Store
	proxy *testenv.StripeProxy
}

func newFixture(t *testing.T) fixture {
	pool, _ := testenv.Postgres(t)
	proxy := testenv.NewStripeProxy(t, testenv.StripeMock(t))
	st := store.New(pool)
	ctx := context.Background()
	_, _, err := st.UpsertClient(ctx, store.Client{ID: "shop1", Name: "Shop One", DefaultCurrency: "usd"})
	require.NoError(t, err)
	_, _, err = st.UpsertClient(ctx, store.Client{ID: "shop2", Name: "Shop Two", DefaultCurrency: "eur"})
	require.NoError(t, err)
	for _, p := range []store.Payee{
		{ID: "v1", ClientID: "shop1", Kind: store.KindVendor, StripeAccount: "acct_v1"},
		{ID: "v-noacct", ClientID: "shop1", Kind: store.KindVendor},
		{ID: "v-other", ClientID: "shop2", Kind: store.KindVendor, StripeAccount: "acct_v2"},
	} {
		_, _, err = st.UpsertPayee(ctx, p)
		require.NoError(t, err)
	}
	return fixture{
		a:  &activities.Activities{Store: st, Ledger: ledger.New(pool), Stripe: activities.NewStripeClient("sk_test_123", proxy.URL, nil)},
		st: st, proxy: proxy,
	}
}

func TestEnrich(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	require.NoError(t, f.st.SaveOrder(ctx, payment.Order{
		ClientID: "shop1", OrderID: "o-9", VendorID: "v1", Platform: "woocommerce", Subtotal: 500, Tax: 50, Currency: "usd",
	}, "paid"))
	require.NoError(t, f.st.SaveOrder(ctx, payment.Order{
		ClientID: "shop1", OrderID: "o-multi", Platform: "shopify", Subtotal: 900, Tax: 90, Shipping: 100, Discount: 50, Currency: "usd",
		Lines: []payment.OrderLine{{VendorID: "v1", Subtotal: 600, Tax: 60, Discount: 50}, {VendorID: "v2", Subtotal: 300, Tax: 30}},
	}, "paid"))
	require.NoError(t, f.st.SaveOrder(ctx, payment.Order{
		ClientID: "shop1", OrderID: "o-eur", VendorID: "v1", Platform: "shopify", Subtotal: 500, Currency: "eur",
	}, "paid"))
	full := map[string]string{"client_id": "shop1", "order_id": "o-1", "vendor_id": "v1", "subtotal": "1000", "tax": "80", "platform": "Shopify"}
	with := func(k, v string) map[string]string {
		m := map[string]string{}
		for key, val := range full {
			m[key] = val
		}
		m[k] = v
		return m
	}
	mdOf := func(order, vendor, subtotal, tax, shipping, discount, platform string) map[string]string {
		return map[string]string{"client_id": "shop1", "order_id": order, "vendor_id": vendor, "subtotal": subtotal, "tax": tax,
			"shipping": shipping, "discount": discount, "platform": platform}
	}
	tests := []struct {
		name        string
		paymentID   string
		md          map[string]string
		wantOrder   payment.Order
		wantMissing []string
		wantProblem string
	}{
		{"complete metadata", "pi_1", full, payment.Order{ClientID: "shop1", OrderID: "o-1", VendorID: "v1", Platform: "shopify", Subtotal: 1000, Tax: 80}, nil, ""},
		{"joins the storefront's order", "pi_rec", map[string]string{"client_id": "shop1", "order_id": "o-9", "affiliate_id": "a7"}, payment.Order{ClientID: "shop1", OrderID: "o-9", VendorID: "v1", AffiliateID: "a7", Platform: "woocommerce", Subtotal: 500, Tax: 50}, nil, ""},
		{"multi-vendor order keeps its lines", "pi_m", map[string]string{"client_id": "shop1", "order_id": "o-multi"}, payment.Order{ClientID: "shop1", OrderID: "o-multi", Platform: "shopify", Subtotal: 900, Tax: 90, Shipping: 100, Discount: 50,
			Lines: []payment.OrderLine{{VendorID: "v1", Subtotal: 600, Tax: 60, Discount: 50}, {VendorID: "v2", Subtotal: 300, Tax: 30}}}, nil, ""},
		{"order not arrived yet", "pi_2", map[string]string{"client_id": "shop1", "order_id": "o-late"}, payment.Order{}, []string{"vendor_id", "subtotal", "platform"}, ""},
		{"no order to join on", "pi_2b", map[string]string{"client_id": "shop1"}, payment.Order{}, []string{"order_id", "vendor_id", "subtotal", "platform"}, ""},
		{"order in another currency", "pi_2c", map[string]string{"client_id": "shop1", "order_id": "o-eur"}, payment.Order{}, nil, "EUR"},
		{"unknown client parks", "pi_3", with("client_id", "ghost"), payment.Order{}, nil, `unknown client "ghost"`},
		{"malformed amount", "pi_4", with("tax", "8.00"), payment.Order{}, nil, "tax"},
		{"negative amount", "pi_5", with("discount", "-5"), payment.Order{}, nil, "discount"},
		// Metadata amounts are bare minor-unit digits: a sign or padding is a plugin bug to surface
		// (as ParseAmount and ParseCurrency do), not to read past.
		{"amount with a plus sign", "pi_5b", with("subtotal", "+1000"), payment.Order{}, nil, "subtotal"},
		{"amount padded with spaces", "pi_5c", with("tax", " 80 "), payment.Order{}, nil, "tax"},
		{"amount with an exponent", "pi_5d", with("subtotal", "1e3"), payment.Order{}, nil, "subtotal"},
		{"unknown platform", "pi_6", with("platform", "ebay"), payment.Order{}, nil, "platform"},
		{"unsafe id", "pi_7", with("vendor_id", "v1/../x"), payment.Order{}, nil, "vendor_id"},
		// The checkout's affiliate becomes a leg's payee, so part of its idempotency keys and its
		// ledger account: on a joined order it must pass the same check as in full metadata.
		{"unsafe affiliate on a joined order", "pi_7b", map[string]string{"client_id": "shop1", "order_id": "o-9", "affiliate_id": "a7/../x"}, payment.Order{}, nil, "affiliate_id"},
		// Complete metadata of an order the shop delivered too: the shop's order says who sold
		// what and for how much (until 2026-11-27 the metadata's one vendor took the whole order).
		{"complete metadata of a shop's multi-vendor order takes its lines", "pi_8", mdOf("o-multi", "v1", "900", "90", "100", "50", "shopify"),
			payment.Order{ClientID: "shop1", OrderID: "o-multi", Platform: "shopify", Subtotal: 900, Tax: 90, Shipping: 100, Discount: 50,
				Lines: []payment.OrderLine{{VendorID: "v1", Subtotal: 600, Tax: 60, Discount: 50}, {VendorID: "v2", Subtotal: 300, Tax: 30}}}, nil, ""},
		{"complete metadata of a shop's order takes the shop's amounts", "pi_8b", mdOf("o-9", "v1", "530", "20", "", "", "woocommerce"),
			payment.Order{ClientID: "shop1", OrderID: "o-9", VendorID: "v1", Platform: "woocommerce", Subtotal: 500, Tax: 50}, nil, ""},
		{"complete metadata naming a vendor the shop's order does not sell from parks", "pi_8c", mdOf("o-multi", "v3", "900", "90", "100", "50", "shopify"),
			payment.Order{}, nil, "names vendor v3 but the shop's order o-multi sells from v1, v2"},
		// Shops' vendor IDs are lower-case slugs; a plugin may send the vendor as an admin typed
		// it: the same vendor, not a disagreement (payee IDs match without regard to case).
		{"complete metadata naming the shop's vendor in another case takes its lines", "pi_8e", mdOf("o-multi", "V1", "900", "90", "100", "50", "shopify"),
			payment.Order{ClientID: "shop1", OrderID: "o-multi", Platform: "shopify", Subtotal: 900, Tax: 90, Shipping: 100, Discount: 50,
				Lines: []payment.OrderLine{{VendorID: "v1", Subtotal: 600, Tax: 60, Discount: 50}, {VendorID: "v2", Subtotal: 300, Tax: 30}}}, nil, ""},
		{"complete metadata of a shop's order in another currency parks", "pi_8d", mdOf("o-eur", "v1", "500", "", "", "", "shopify"), payment.Order{}, nil, "EUR"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := f.a.Enrich(ctx, activities.EnrichInput{WorkflowID: "payment-stripe-" + tt.paymentID, Provider: "stripe", PaymentID: tt.paymentID, Gross: 1080, Currency: "usd", Metadata: tt.md})
			require.NoError(t, err)
			require.Equal(t, tt.wantMissing, out.Missing)
			if tt.wantProblem != "" {
				require.Contains(t, out.Problem, tt.wantProblem)
				return
			}
			require.Empty(t, out.Problem)
			require.Equal(t, tt.wantOrder, out.Order)
		})
	}
	waiters, err := f.st.OrderWaiters(ctx, "shop1", "o-late")
	require.NoError(t, err)
	require.Equal(t, []string{"payment-stripe-pi_2"}, waiters, "the order's webhook will wake this payment")
}

// A payment whose order Enrich cannot have, yet or at all, is still the payment of the client its
// capture names when that client is known (Named): the workflow keeps it on the record before the
// split (code path 18), so the store files the payment under that client. Not when the client is
// unknown or its ID malformed: such a payment is no client's. The order and vendor are named when
// well-formed.
func TestEnrichNamesTheKnownClientOfAPaymentNotSplit(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	require.NoError(t, f.st.SaveOrder(ctx, payment.Order{
		ClientID: "shop1", OrderID: "o-eur", VendorID: "v1", Platform: "shopify", Subtotal: 500, Currency: "eur",
	}, "paid"))
	full := map[string]string{"client_id": "shop1", "order_id": "o-1", "vendor_id": "v1", "subtotal": "1000", "tax": "80", "platform": "Shopify"}
	with := func(kv ...string) map[string]string {
		m := maps.Clone(full)
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	tests := []struct {
		name      string
		md        map[string]string
		waits     bool // Missing, else a Problem
		wantNamed payment.Order
	}{
		{"order not arrived yet", map[string]string{"client_id": "shop1", "order_id": "o-late"}, true, payment.Order{ClientID: "shop1", OrderID: "o-late"}},
		{"order not arrived yet, the vendor named", map[string]string{"client_id": "shop1", "order_id": "o-late", "vendor_id": "v1"}, true, payment.Order{ClientID: "shop1", OrderID: "o-late", VendorID: "v1"}},
		{"no order to join on", map[string]string{"client_id": "shop1"}, true, payment.Order{ClientID: "shop1"}},
		{"nothing named", map[string]string{"order_id": "o-1"}, true, payment.Order{}},
		{"unknown platform", with("platform", "ebay"), false, payment.Order{ClientID: "shop1", OrderID: "o-1", VendorID: "v1"}},
		{"malformed amount", with("tax", "8.00"), false, payment.Order{ClientID: "shop1", OrderID: "o-1", VendorID: "v1"}},
		{"unsafe vendor", with("vendor_id", "v1/../x"), false, payment.Order{ClientID: "shop1", OrderID: "o-1"}},
		{"order in another currency", map[string]string{"client_id": "shop1", "order_id": "o-eur"}, false, payment.Order{ClientID: "shop1", OrderID: "o-eur"}},
		{"unknown client", with("client_id", "ghost", "platform", "ebay"), false, payment.Order{}},
		{"unknown client, order not arrived", map[string]string{"client_id": "ghost", "order_id": "o-late"}, false, payment.Order{}},
		{"malformed client", with("client_id", "shop1/../x"), false, payment.Order{}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pi := fmt.Sprintf("pi_named_%d", i)
			out, err := f.a.Enrich(ctx, activities.EnrichInput{WorkflowID: "payment-stripe-" + pi, Provider: "stripe", PaymentID: pi, Gross: 1080, Currency: "usd", Metadata: tt.md})
			require.NoError(t, err)
			if tt.waits {
				require.NotEmpty(t, out.Missing)
				require.Empty(t, out.Problem)
			} else {
				require.NotEmpty(t, out.Problem)
			}
			require.Equal(t, tt.wantNamed, out.Named)
		})
	}
	// A complete order names nothing apart: it is the order.
	out, err := f.a.Enrich(ctx, activities.EnrichInput{WorkflowID: "payment-stripe-pi_named_full", Provider: "stripe", PaymentID: "pi_named_full", Gross: 1080, Currency: "usd", Metadata: full})
	require.NoError(t, err)
	require.Empty(t, out.Problem)
	require.Equal(t, payment.Order{}, out.Named)
	require.Equal(t, "shop1", out.Order.ClientID)
}

// The processing fee comes with an enriched order: PayPal's from its event, Stripe's read from the
// charge's balance transaction (stripe-mock's, through the proxy that holds the charge's state).
func TestEnrichReadsTheProcessingFee(t *testing.T) {
	f := newFixture(t)
	f.proxy.AddCharge(testenv.StripeCharge{ID: "ch_fee", Currency: "usd", Amount: 11000, Fee: 349})
	f.proxy.AddCharge(testenv.StripeCharge{ID: "ch_settled_usd", Currency: "usd", Amount: 11000, Fee: 349})
	f.proxy.AddCharge(testenv.StripeCharge{ID: "ch_huge", Currency: "usd", Amount: 11000, Fee: 11001})
	f.proxy.AddCharge(testenv.StripeCharge{ID: "ch_isk", Currency: "isk", Amount: 1100000, Fee: 35000})
	f.proxy.AddCharge(testenv.StripeCharge{ID: "ch_isk_odd", Currency: "isk", Amount: 1100000, Fee: 35050})
	md := map[string]string{"client_id": "shop1", "order_id": "o-1", "vendor_id": "v1", "subtotal": "10000", "platform": "shopify"}
	tests := []struct {
		name      string
		in        activities.EnrichInput
		inject    int // a status the proxy answers the charge lookup with
		want      int64
		retryable bool
	}{
		{"stripe: the charge's balance transaction", activities.EnrichInput{Provider: "stripe", ChargeID: "ch_fee", Currency: "usd"}, 0, 349, false},
		{"stripe: fee in the settlement currency, not the payment's", activities.EnrichInput{Provider: "stripe", ChargeID: "ch_settled_usd", Currency: "eur"}, 0, 0, false},
		{"stripe: a fee above the payment is not believed", activities.EnrichInput{Provider: "stripe", ChargeID: "ch_huge", Currency: "usd"}, 0, 0, false},
		{"stripe: an unknown charge goes on without a fee", activities.EnrichInput{Provider: "stripe", ChargeID: "ch_gone", Currency: "usd"}, 404, 0, false},
		{"stripe: rate limited, retried", activities.EnrichInput{Provider: "stripe", ChargeID: "ch_fee", Currency: "usd"}, 429, 0, true},
		{"stripe: no charge named", activities.EnrichInput{Provider: "stripe", Currency: "usd"}, 0, 0, false},
		// Stripe states ISK in hundredths of a króna: 350 kr is 35000.
		{"stripe: ISK, in Stripe's unit", activities.EnrichInput{Provider: "stripe", ChargeID: "ch_isk", Currency: "isk"}, 0, 350, false},
		{"stripe: ISK with hundredths Stripe never has", activities.EnrichInput{Provider: "stripe", ChargeID: "ch_isk_odd", Currency: "isk"}, 0, 0, false},
		{"stripe: ISK for a run in Stripe's units", activities.EnrichInput{Provider: "stripe", ChargeID: "ch_isk", Currency: "isk", Gross: 1100000, StripeUnits: true}, 0, 35000, false},
		{"paypal: the event's fee", activities.EnrichInput{Provider: "paypal", ChargeID: "CAP1", Fee: 433, Currency: "usd"}, 0, 433, false},
		{"paypal: none said", activities.EnrichInput{Provider: "paypal", ChargeID: "CAP2", Currency: "usd"}, 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.proxy.Inject = func(r *http.Request, _ url.Values) (int, string) {
				if tt.inject != 0 && strings.HasPrefix(r.URL.Path, "/v1/charges/") {
					return tt.inject, `{"error":{"type":"invalid_request_error","message":"injected"}}`
				}
				return 0, ""
			}
			defer func() { f.proxy.Inject = nil }()
			in := tt.in
			in.WorkflowID, in.PaymentID, in.Metadata = "payment-"+in.Provider+"-"+t.Name(), "p", md
			if in.Gross == 0 {
				in.Gross = 11000
			}
			out, err := f.a.Enrich(context.Background(), in)
			if tt.retryable {
				require.Error(t, err)
				var app *temporal.ApplicationError
				require.False(t, errors.As(err, &app) && app.NonRetryable(), "a rate limit is retried: %v", err)
				return
			}
			require.NoError(t, err)
			require.Empty(t, out.Problem)
			require.Equal(t, tt.want, out.Fee)
		})
	}
	lookups := f.proxy.Calls(http.MethodGet, "/v1/charges/ch_fee")
	require.NotEmpty(t, lookups)
	require.Equal(t, url.Values{"expand[0]": {"balance_transaction"}}, lookups[0].Query, "one call: the charge with its balance transaction")
}

func TestComputeSplitUsesTheRuleInForceAtCapture(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	order := payment.Order{ClientID: "shop1", OrderID: "o-1", VendorID: "v1", Subtotal: 1000, Tax: 100}
	in := activities.ComputeSplitInput{Order: order, Gross: 1100, Currency: "usd", CapturedAt: time.Now().Add(-time.Hour)}

	_, err := f.a.ComputeSplit(ctx, in)
	requireNonRetryable(t, err, activities.ErrTypeNoSplitRule)

	_, err = f.st.CreateRule(ctx, split.Rule{ClientID: "shop1", PlatformBps: 1000}, "test")
	require.NoError(t, err)
	// Captured before the client had any rule (it parked; the admin set the rule and retries):
	// the client's first rule.
	early, err := f.a.ComputeSplit(ctx, in)
	require.NoError(t, err)
	require.Equal(t, 1, early.RuleVersion)

	// Rules count from the second they were created in (provider times have second precision),
	// so the capture and the next rule each go into a later second.
	in.CapturedAt = nextSecond()
	s, err := f.a.ComputeSplit(ctx, in)
	require.NoError(t, err)
	require.Equal(t, 1, s.RuleVersion)
	require.EqualValues(t, 100, s.Legs[0].Amount, "10% of the subtotal; tax excluded")

	nextSecond()
	_, err = f.st.CreateRule(ctx, split.Rule{ClientID: "shop1", PlatformBps: 2000}, "test")
	require.NoError(t, err)
	again, err := f.a.ComputeSplit(ctx, in)
	require.NoError(t, err)
	require.Equal(t, 1, again.RuleVersion, "a new rule never changes an earlier payment's split")
	first, err := f.a.ComputeSplit(ctx, activities.ComputeSplitInput{Order: order, Gross: 1100, Currency: "usd", CapturedAt: time.Now().Add(-time.Hour)})
	require.NoError(t, err)
	require.Equal(t, 1, first.RuleVersion, "before any rule: the first, not the newest")
	latest, err := f.a.ComputeSplit(ctx, activities.ComputeSplitInput{Order: order, Gross: 1100, Currency: "usd", CapturedAt: time.Now()})
	require.NoError(t, err)
	require.Equal(t, 2, latest.RuleVersion)
	require.EqualValues(t, 200, latest.Legs[0].Amount)

	_, err = f.a.ComputeSplit(ctx, activities.ComputeSplitInput{Order: order, Gross: 999, Currency: "usd", CapturedAt: time.Now()})
	requireNonRetryable(t, err, activities.ErrTypeInvalidSplit)
}

// A rule's fee bounds are amounts in its fee currency, the client's default one when the rule
// names none: they bound the platform's share of payments in that currency, and a payment in
// another pays the percentage alone (a 0.50 USD minimum is not ¥50, a 2.00 USD cap not 2.000 KWD).
func TestComputeSplitBoundsFeesInTheRulesCurrency(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	r, err := f.st.CreateRule(ctx, split.Rule{ClientID: "shop1", PlatformBps: 100, MinPlatformFee: 50, MaxPlatformFee: 200}, "test")
	require.NoError(t, err)
	require.Equal(t, money.Currency("usd"), r.FeeCurrency, "shop1's default currency")
	order := payment.Order{ClientID: "shop1", OrderID: "o-fee", VendorID: "v1"}
	tests := []struct {
		currency money.Currency
		subtotal int64
		platform int64
	}{
		{currency: "usd", subtotal: 1000, platform: 50},       // 1% = 10, raised to the minimum
		{currency: "usd", subtotal: 1000000, platform: 200},   // 1% = 10000, capped
		{currency: "jpy", subtotal: 1000, platform: 10},       // 1% of ¥1000, no minimum of ¥50
		{currency: "kwd", subtotal: 1000000, platform: 10000}, // 1% of 1000.000 KWD, no cap of 0.200
	}
	for _, tt := range tests {
		t.Run(string(tt.currency), func(t *testing.T) {
			order.Subtotal = tt.subtotal
			s, err := f.a.ComputeSplit(ctx, activities.ComputeSplitInput{Order: order, Gross: tt.subtotal, Currency: tt.currency, CapturedAt: nextSecond()})
			require.NoError(t, err)
			require.Equal(t, tt.platform, s.Legs[0].Amount)
			require.EqualValues(t, tt.subtotal, s.Sum())
		})
	}
}

// PayPal pays HUF and TWD in whole units: such a payment's payee legs are whole units, the
// platform's leg evening out the fractions; the same order through Stripe keeps every minor unit.
func TestComputeSplitIsPayableByTheProvider(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	_, err := f.st.CreateRule(ctx, split.Rule{ClientID: "shop1", PlatformBps: 1000, AffiliateBps: 250}, "test")
	require.NoError(t, err)
	// 123456 fillér: platform 12345, affiliate 3086, vendor 108025 before rounding.
	order := payment.Order{ClientID: "shop1", OrderID: "o-huf", VendorID: "v1", AffiliateID: "a1", Subtotal: 123456}
	tests := []struct {
		provider string
		currency money.Currency
		want     []int64 // platform, vendor, affiliate
	}{
		{provider: activities.ProviderPayPal, currency: "huf", want: []int64{12345 - 75 - 14, 108025 + 75, 3086 + 14}},
		{provider: activities.ProviderPayPal, currency: "twd", want: []int64{12345 - 75 - 14, 108025 + 75, 3086 + 14}},
		{provider: activities.ProviderStripe, currency: "huf", want: []int64{12345, 108025, 3086}},
		{provider: activities.ProviderPayPal, currency: "usd", want: []int64{12345, 108025, 3086}},
	}
	for _, tt := range tests {
		t.Run(tt.provider+" "+string(tt.currency), func(t *testing.T) {
			s, err := f.a.ComputeSplit(ctx, activities.ComputeSplitInput{Provider: tt.provider, Order: order, Gross: 123456, Currency: tt.currency, CapturedAt: nextSecond()})
			require.NoError(t, err)
			var got []int64
			for _, l := range s.Legs {
				got = append(got, l.Amount)
			}
			require.Equal(t, tt.want, got)
			require.EqualValues(t, 123456, s.Sum())
		})
	}
}

func TestPayoutUnit(t *testing.T) {
	tests := []struct {
		provider string
		currency money.Currency
		want     int64
	}{
		{activities.ProviderPayPal, "huf", 100},
		{activities.ProviderPayPal, "HUF", 100},
		{activities.ProviderPayPal, "twd", 100},
		{activities.ProviderPayPal, "jpy", 1},
		{activities.ProviderPayPal, "usd", 1},
		{activities.ProviderStripe, "huf", 1},
		{activities.ProviderStripe, "mga", 100}, // Stripe moves whole ariary
		{activities.ProviderStripe, "isk", 1},
		{"", "twd", 1},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, activities.PayoutUnit(tt.provider, tt.currency), "%s %s", tt.provider, tt.currency)
	}
}

func TestResolvePayee(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name, payee, kind, client string
		wantDest, wantHold        string
	}{
		{"active connected account", "v1", "vendor", "shop1", "acct_v1", ""},
		{"no account yet", "v-noacct", "vendor", "shop1", "", "no Stripe connected account"},
		{"unregistered", "ghost", "vendor", "shop1", "", "not registered"},
		{"another client's payee", "v-other", "vendor", "shop1", "", "registered to another client"},
		{"wrong kind", "v1", "affiliate", "shop1", "", "is registered as vendor, not as affiliate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := f.a.ResolvePayee(context.Background(), activities.ResolvePayeeInput{PayeeID: tt.payee, Kind: tt.kind, ClientID: tt.client, Currency: "usd"})
			require.NoError(t, err)
			require.Equal(t, tt.wantDest, out.Destination)
			if tt.wantHold == "" {
				require.Empty(t, out.HoldReason)
			} else {
				require.Contains(t, out.HoldReason, tt.wantHold)
			}
		})
	}
}

func TestTransferSendsKeyAndClassifiesStripeErrors(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	in := activities.TransferInput{IdempotencyKey: "payment-stripe-pi_1/transfer/vendor/0", Destination: "acct_v1", Amount: 9545,
		Currency: "usd", SourceTransaction: "ch_1", TransferGroup: "o-1", Metadata: map[string]string{"party": "vendor"}}
	out, err := f.a.Transfer(ctx, in)
	require.NoError(t, err)
	require.NotEmpty(t, out.TransferID)
	calls := f.proxy.Calls(http.MethodPost, "/v1/transfers")
	require.Len(t, calls, 1)
	require.Equal(t, in.IdempotencyKey, calls[0].IdempotencyKey)
	require.Equal(t, "9545", calls[0].Form.Get("amount"))
	require.Equal(t, "ch_1", calls[0].Form.Get("source_transaction"))

	const refused = `{"error":{"type":"invalid_request_error","message":"injected"}}`
	for i, tc := range []struct {
		status    int
		body      string
		retryable bool
	}{
		{429, refused, true}, {500, refused, true}, {503, refused, true}, {400, refused, false}, {402, refused, false},
		// An earlier request under the key still runs: Stripe saved no answer, the retry gets one.
		{409, `{"error":{"type":"idempotency_error","code":"idempotency_key_in_use","message":"There is currently another in-progress request using this Idempotent Key"}}`, true},
		// The key was used with other parameters: made or not, a new key could pay twice.
		{400, `{"error":{"type":"idempotency_error","message":"Keys for idempotent requests can only be used with the same parameters they were first used with."}}`, true},
	} {
		f.proxy.Inject = func(*http.Request, url.Values) (int, string) { return tc.status, tc.body }
		// A key of its own, never sent: the key above made its transfer, and a refusal of a key
		// sent before is no refusal of the transfer (TestStripeRefusalOfAKeySentBeforeIsNoRefusalOfTheMovement).
		fresh := in
		fresh.IdempotencyKey = fmt.Sprintf("%s/case%d", in.IdempotencyKey, i)
		_, err := f.a.Transfer(ctx, fresh)
		require.Error(t, err, "status %d", tc.status)
		var app *temporal.ApplicationError
		nonRetryable := errors.As(err, &app) && app.NonRetryable()
		require.Equal(t, !tc.retryable, nonRetryable, "status %d: %s", tc.status, tc.body)
	}
	f.proxy.Inject = nil

	rev, err := f.a.ReverseTransfer(ctx, activities.ReverseTransferInput{IdempotencyKey: "k/refund", TransferID: out.TransferID, Amount: 100})
	require.NoError(t, err)
	require.NotEmpty(t, rev.ReversalID)
	_, err = f.a.ReverseTransfer(ctx, activities.ReverseTransferInput{IdempotencyKey: "k/refund", TransferID: out.TransferID, Amount: 0})
	requireNonRetryable(t, err, activities.ErrTypeInvalidSplit)
}

// Stripe counts ISK and UGX in hundredths and MGA in whole ariary (money.FromStripe): transfers
// and reversals are sent in its unit, and an amount it cannot carry is refused before Stripe is
// asked, not rounded.
func TestTransfersAreSentInStripesUnit(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for _, tt := range []struct {
		cur            money.Currency
		amount, back   int64  // ISO minor units: the transfer and a reversal of part of it
		sent, reversed string // what Stripe is sent
		stripeUnits    bool   // a run from before code path 10, which counts in Stripe's units
	}{
		{"isk", 4500, 500, "450000", "50000", false},
		{"ugx", 4500, 500, "450000", "50000", false},
		{"mga", 450000, 50000, "4500", "500", false},
		{"usd", 4500, 500, "4500", "500", false},
		{"mga", 450050, 0, "", "", false}, // a fraction of an ariary: refused
		{"isk", 450000, 50000, "450000", "50000", true},
	} {
		t.Run(fmt.Sprintf("%d %s %v", tt.amount, tt.cur, tt.stripeUnits), func(t *testing.T) {
			key := fmt.Sprintf("payment-stripe-pi_units/transfer/vendor/%s-%d", tt.cur, tt.amount)
			out, err := f.a.Transfer(ctx, activities.TransferInput{IdempotencyKey: key, Destination: "acct_v1",
				Amount: tt.amount, Currency: tt.cur, TransferGroup: "o-units", StripeUnits: tt.stripeUnits})
			var sent []string
			for _, c := range f.proxy.Calls(http.MethodPost, "/v1/transfers") {
				if c.IdempotencyKey == key {
					sent = append(sent, c.Form.Get("amount"))
				}
			}
			if tt.sent == "" {
				requireNonRetryable(t, err, activities.ErrTypeRejected)
				require.Empty(t, sent, "Stripe is not asked")
				return
			}
			require.NoError(t, err)
			require.Equal(t, []string{tt.sent}, sent)

			_, err = f.a.ReverseTransfer(ctx, activities.ReverseTransferInput{IdempotencyKey: key + "/refund",
				TransferID: out.TransferID, Amount: tt.back, Currency: tt.cur, StripeUnits: tt.stripeUnits})
			require.NoError(t, err)
			reversals := f.proxy.Calls(http.MethodPost, "/v1/transfers/"+out.TransferID+"/reversals")
			require.Len(t, reversals, 1)
			require.Equal(t, tt.reversed, reversals[0].Form.Get("amount"))
		})
	}
}

// Stripe forgets an idempotency key after 24 hours; a transfer or reversal whose outcome was
// unknown and is asked again after that would be made twice under the same key. Asked, the
// activity first looks for one made under the key (the metadata names it) and answers with it; so
// does one not asked whose key the activity recorded as sent before.
func TestAskedMovementFindsTheOneMadeAfterStripeForgotTheKey(t *testing.T) {
	// movement makes one kind of money movement under a key, and counts those made under it.
	type movement struct {
		send  func(f fixture, key string, asked bool) string
		count func(f fixture, key string) int
	}
	meta := func(key string) map[string]string { return map[string]string{activities.MetaIdempotencyKey: key} }
	firstTransfer := func(f fixture) string {
		out, err := f.a.Transfer(context.Background(), activities.TransferInput{IdempotencyKey: "wf/transfer/vendor-v1/0", Destination: "acct_v1",
			Amount: 9545, Currency: "usd", TransferGroup: "o-asked", Metadata: meta("wf/transfer/vendor-v1/0")})
		require.NoError(t, err)
		return out.TransferID
	}
	kinds := map[string]movement{
		"transfer": {
			send: func(f fixture, key string, asked bool) string {
				out, err := f.a.Transfer(context.Background(), activities.TransferInput{IdempotencyKey: key, Destination: "acct_v1", Amount: 120,
					Currency: "usd", TransferGroup: "o-asked", Metadata: meta(key), Asked: asked})
				require.NoError(t, err)
				return out.TransferID
			},
			count: func(f fixture, key string) (n int) {
				for _, tr := range f.proxy.Transfers() {
					if tr.IdempotencyKey == key {
						n++
					}
				}
				return n
			},
		},
		"reversal": {
			send: func(f fixture, key string, asked bool) string {
				out, err := f.a.ReverseTransfer(context.Background(), activities.ReverseTransferInput{IdempotencyKey: key,
					TransferID: f.proxy.Transfers()[0].ID, Amount: 955, Metadata: meta(key), Asked: asked})
				require.NoError(t, err)
				return out.ReversalID
			},
			count: func(f fixture, key string) (n int) {
				for _, tr := range f.proxy.Transfers() {
					for _, rv := range tr.Reversals {
						if rv.IdempotencyKey == key {
							n++
						}
					}
				}
				return n
			},
		},
	}
	tests := []struct {
		name      string
		madeFirst bool
		asked     bool
		// unrecorded makes the first send without the store, as if its first send left no record.
		unrecorded bool
		wantMade   int
		wantSame   bool
	}{
		{"made, key forgotten, asked: found, not made again", true, true, false, 1, true},
		{"never made, asked: made now", false, true, false, 1, false},
		// The run did not know the key was sent (its worker died before the workflow task that
		// sent it completed): the activity's record of the first send says so.
		{"made, key forgotten, not asked: its first send was recorded, so found", true, false, false, 1, true},
		{"made without a record, key forgotten, not asked: Stripe makes a second", true, false, true, 2, false},
	}
	for kind, m := range kinds {
		for n, tt := range tests {
			t.Run(kind+": "+tt.name, func(t *testing.T) {
				f := newFixture(t)
				firstTransfer(f) // another movement of the same order and payee, under another key
				m.send(f, "wf/compensate/vendor-v1", false)
				// The database is the test binary's: a key of its own per case, or its record is an earlier case's.
				key := fmt.Sprintf("wf-%d/%s/in-doubt/vendor-v1", n, kind)
				var first string
				if tt.madeFirst {
					withRecord := f.a
					if tt.unrecorded {
						f.a = &activities.Activities{Stripe: withRecord.Stripe}
					}
					first = m.send(f, key, false)
					f.a = withRecord
				}
				f.proxy.ForgetKeys()
				got := m.send(f, key, tt.asked)
				require.Equal(t, tt.wantMade, m.count(f, key))
				require.Equal(t, tt.wantSame, got == first)
			})
		}
	}
}

// An admin may fix a payee's account between a transfer in doubt and its retry: the transfer
// made under the key went to the old account, and the retry finds it there instead of paying the
// new one (Stripe forgot the key, so it would make a second).
func TestAskedTransferIsFoundAfterThePayeesAccountChanged(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	const key = "wf/transfer/vendor-v1/0"
	in := activities.TransferInput{IdempotencyKey: key, Destination: "acct_v1", Amount: 9545, Currency: "usd",
		TransferGroup: "o-moved", Metadata: map[string]string{activities.MetaIdempotencyKey: key}}
	first, err := f.a.Transfer(ctx, in)
	require.NoError(t, err)
	f.proxy.ForgetKeys()
	in.Destination, in.Asked = "acct_v1fixed", true
	again, err := f.a.Transfer(ctx, in)
	require.NoError(t, err)
	require.Equal(t, first.TransferID, again.TransferID, "the transfer made to the old account")
	require.Len(t, f.proxy.Transfers(), 1, "nobody paid twice")
}

func TestPostEntryIsIdempotentAndRefusesConflicts(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	e := ledger.Entry{IdempotencyKey: "wf/capture", Currency: "usd", Reference: "wf", Postings: []ledger.Posting{
		{Account: ledger.ProviderBalance("stripe"), Amount: 100}, {Account: ledger.PlatformRevenue, Amount: -100},
	}}
	first, err := f.a.PostEntry(ctx, e)
	require.NoError(t, err)
	require.True(t, first.Created)
	again, err := f.a.PostEntry(ctx, e)
	require.NoError(t, err)
	require.False(t, again.Created)
	require.Equal(t, first.EntryID, again.EntryID)

	e.Postings[0].Amount, e.Postings[1].Amount = 200, -200
	_, err = f.a.PostEntry(ctx, e)
	requireNonRetryable(t, err, activities.ErrTypeLedgerConflict)
}

// nextSecond waits until the wall clock enters a new second and returns that second.
func nextSecond() time.Time {
	start := time.Now().Truncate(time.Second)
	for time.Now().Truncate(time.Second).Equal(start) {
		time.Sleep(10 * time.Millisecond)
	}
	return time.Now().Truncate(time.Second)
}

func requireNonRetryable(t *testing.T, err error, typ string) {
	t.Helper()
	var app *temporal.ApplicationError
	require.True(t, errors.As(err, &app), "want an application error, got %v", err)
	require.True(t, app.NonRetryable())
	require.Equal(t, typ, app.Type())
}

func TestStripeErrorsNeverCarryTheKey(t *testing.T) {
	f := newFixture(t)
	// stripe-mock echoes a malformed key in its error message, as a careless provider might.
	f.a.Stripe = activities.NewStripeClient("sk_test_Secret123_malformed", f.proxy.URL, nil)
	_, err := f.a.Transfer(context.Background(), activities.TransferInput{IdempotencyKey: "k-redact", Destination: "acct_v1", Amount: 5, Currency: "usd"})
	require.Error(t, err)
	require.NotContains(t, err.Error(), "Secret123")
	var app *temporal.ApplicationError
	if errors.As(err, &app) {
		require.NotContains(t, app.Message(), "Secret123")
	}
}

func TestResolvePayeeAsksTheProviderOncePerMinute(t *testing.T) {
	f := newFixture(t)
	in := activities.ResolvePayeeInput{PayeeID: "v1", Kind: "vendor", ClientID: "shop1", Currency: "usd"}
	for range 3 {
		out, err := f.a.ResolvePayee(context.Background(), in)
		require.NoError(t, err)
		require.Equal(t, "acct_v1", out.Destination)
	}
	require.Len(t, f.proxy.Calls(http.MethodGet, "/v1/accounts/acct_v1"), 1, "a ready account is remembered")
	for range 2 {
		out, err := f.a.ResolvePayee(context.Background(), activities.ResolvePayeeInput{PayeeID: "v-noacct", Kind: "vendor", ClientID: "shop1"})
		require.NoError(t, err)
		require.NotEmpty(t, out.HoldReason, "a payee that cannot receive is held every time")
	}
}

// After Stripe refused a transfer, the payment asks again with Fresh: the provider's yes of a
// minute ago is not taken, and the no it gets now is not left behind for other payments either.
func TestResolvePayeeFreshAsksTheProviderAndForgetsTheOldYes(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	in := activities.ResolvePayeeInput{PayeeID: "v1", Kind: "vendor", ClientID: "shop1", Currency: "usd"}
	out, err := f.a.ResolvePayee(ctx, in)
	require.NoError(t, err)
	require.Equal(t, "acct_v1", out.Destination)
	f.proxy.Inject = func(r *http.Request, _ url.Values) (int, string) {
		if r.Method == http.MethodGet && r.URL.Path == "/v1/accounts/acct_v1" {
			return http.StatusOK, `{"id":"acct_v1","object":"account","capabilities":{"transfers":"inactive"}}`
		}
		return 0, ""
	}
	t.Cleanup(func() { f.proxy.Inject = nil })

	out, err = f.a.ResolvePayee(ctx, in)
	require.NoError(t, err)
	require.Empty(t, out.HoldReason, "without Fresh, the yes of a minute ago stands")

	fresh := in
	fresh.Fresh = true
	out, err = f.a.ResolvePayee(ctx, fresh)
	require.NoError(t, err)
	require.Contains(t, out.HoldReason, "transfers capability inactive")

	out, err = f.a.ResolvePayee(ctx, in)
	require.NoError(t, err)
	require.Contains(t, out.HoldReason, "transfers capability inactive", "the old yes was forgotten")
	require.Len(t, f.proxy.Calls(http.MethodGet, "/v1/accounts/acct_v1"), 3)
}

func TestSaveAndBookFillsTheRecordsEntryIDs(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	wf := fmt.Sprintf("payment-stripe-pi_book_%d", time.Now().UnixNano())
	rec := payment.Record{WorkflowID: wf, Provider: "stripe", PaymentID: "pi_book", Currency: "usd", Gross: 1000,
		Status: payment.StatusPaid, Order: payment.Order{ClientID: "shop1", OrderID: "o-1", VendorID: "v1"},
		Legs: []payment.Leg{
			{Party: split.PartyPlatform, PayeeID: "platform", Amount: 100, State: payment.LegRetained},
			{Party: split.PartyVendor, PayeeID: "v1", Amount: 900, Transferred: 900, State: payment.LegTransferred},
		}}
	entry := func(key string, postings ...ledger.Posting) ledger.Entry {
		return ledger.Entry{IdempotencyKey: wf + "/" + key, Currency: "usd", Reference: wf, Postings: postings}
	}
	in := activities.SaveAndBookInput{Record: rec, Book: []activities.Booking{
		{For: payment.CaptureEntry, Entry: entry("capture",
			ledger.Posting{Account: ledger.ProviderBalance("stripe"), Amount: 1000},
			ledger.Posting{Account: ledger.PlatformRevenue, Amount: -100},
			ledger.Posting{Account: ledger.VendorPayable("v1"), Amount: -900})},
		{For: "vendor-v1", Entry: entry("transfer/vendor-v1",
			ledger.Posting{Account: ledger.VendorPayable("v1"), Amount: 900},
			ledger.Posting{Account: ledger.ProviderBalance("stripe"), Amount: -900})},
	}}

	out, err := f.a.SaveAndBook(ctx, in)
	require.NoError(t, err)
	require.Len(t, out.EntryIDs, 2)
	saved, err := f.st.GetPayment(ctx, wf)
	require.NoError(t, err)
	assert.Equal(t, out.EntryIDs[0], saved.CaptureEntryID)
	assert.Equal(t, out.EntryIDs[1], saved.Leg(split.PartyVendor).TransferEntryID)
	assert.Zero(t, in.Record.CaptureEntryID, "the input is not written into")

	again, err := f.a.SaveAndBook(ctx, in)
	require.NoError(t, err, "a retried step books nothing twice")
	assert.Equal(t, out.EntryIDs, again.EntryIDs)
	entries, err := f.a.Ledger.EntriesByReference(ctx, wf)
	require.NoError(t, err)
	assert.Len(t, entries, 2)

	in.Book[1].For = "vendor-nobody"
	in.Book[1].Entry.IdempotencyKey += "/other"
	_, err = f.a.SaveAndBook(ctx, in)
	requireNonRetryable(t, err, activities.ErrTypeInvalidSplit)
}

func TestPostEntriesBooksInOneStep(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	ref := fmt.Sprintf("wf-batch-%d", time.Now().UnixNano())
	book := make([]activities.Booking, 3)
	for i := range book {
		book[i].Entry = ledger.Entry{IdempotencyKey: fmt.Sprintf("%s/%d", ref, i), Currency: "usd", Reference: ref, Postings: []ledger.Posting{
			{Account: ledger.ProviderBalance("stripe"), Amount: int64(100 + i)}, {Account: ledger.PlatformRevenue, Amount: -int64(100 + i)},
		}}
	}
	out, err := f.a.PostEntries(ctx, book)
	require.NoError(t, err)
	require.Len(t, out.EntryIDs, 3)
	assert.Less(t, out.EntryIDs[0], out.EntryIDs[1])
	assert.Less(t, out.EntryIDs[1], out.EntryIDs[2])

	book[2].Entry.Postings[0].Amount, book[2].Entry.Postings[1].Amount = 1, -1
	_, err = f.a.PostEntries(ctx, book)
	requireNonRetryable(t, err, activities.ErrTypeLedgerConflict)
}

// Prepare answers what LoadPayment, Enrich and ComputeSplit would have, in one step.
func TestPrepare(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	_, _, err := f.st.UpsertClient(ctx, store.Client{ID: "shop-prep", Name: "Prepared", DefaultCurrency: "usd"})
	require.NoError(t, err)
	_, _, err = f.st.UpsertClient(ctx, store.Client{ID: "shop-norule", Name: "No rule", DefaultCurrency: "usd"})
	require.NoError(t, err)
	_, err = f.st.CreateRule(ctx, split.Rule{ClientID: "shop-prep", PlatformBps: 1000}, "test")
	require.NoError(t, err)
	capturedAt := nextSecond()
	stored := payment.Record{WorkflowID: "payment-stripe-pi_prep_stored", Provider: "stripe", PaymentID: "pi_prep_stored", Status: payment.StatusPaid}
	require.NoError(t, f.st.SavePayment(ctx, stored))

	capture := func(md map[string]string) *activities.EnrichInput {
		return &activities.EnrichInput{WorkflowID: "payment-stripe-pi_prep", Provider: "stripe", PaymentID: "pi_prep", Gross: 1100, Currency: "usd", Metadata: md}
	}
	full := map[string]string{"client_id": "shop-prep", "order_id": "o-1", "vendor_id": "v1", "subtotal": "1000", "tax": "100", "platform": "shopify"}
	tests := []struct {
		name  string
		in    activities.PrepareInput
		check func(t *testing.T, out activities.PrepareOutput)
	}{
		{name: "stored state: nothing else is read", in: activities.PrepareInput{WorkflowID: stored.WorkflowID, Capture: capture(full), CapturedAt: capturedAt},
			check: func(t *testing.T, out activities.PrepareOutput) {
				assert.True(t, out.Found)
				assert.Equal(t, payment.StatusPaid, out.Record.Status)
				assert.Nil(t, out.Enriched)
				assert.Nil(t, out.Split)
			}},
		{name: "no capture yet: only the load", in: activities.PrepareInput{WorkflowID: "payment-stripe-pi_prep"},
			check: func(t *testing.T, out activities.PrepareOutput) {
				assert.False(t, out.Found)
				assert.Nil(t, out.Enriched)
			}},
		{name: "a new payment: order and split", in: activities.PrepareInput{WorkflowID: "payment-stripe-pi_prep", Capture: capture(full), CapturedAt: capturedAt},
			check: func(t *testing.T, out activities.PrepareOutput) {
				require.NotNil(t, out.Enriched)
				assert.Equal(t, "v1", out.Enriched.Order.VendorID)
				require.NotNil(t, out.Split)
				assert.Equal(t, 1, out.Split.RuleVersion)
				assert.EqualValues(t, 100, out.Split.Legs[0].Amount, "10% of the subtotal; tax excluded")
			}},
		{name: "metadata missing: no split", in: activities.PrepareInput{WorkflowID: "payment-stripe-pi_prep", Capture: capture(map[string]string{"client_id": "shop-prep"}), CapturedAt: capturedAt},
			check: func(t *testing.T, out activities.PrepareOutput) {
				require.NotNil(t, out.Enriched)
				assert.Contains(t, out.Enriched.Missing, "order_id")
				assert.Nil(t, out.Split)
				assert.Empty(t, out.SplitProblem)
			}},
		{name: "unknown client: the problem, no split", in: activities.PrepareInput{WorkflowID: "payment-stripe-pi_prep", Capture: capture(map[string]string{
			"client_id": "nobody", "order_id": "o-1", "vendor_id": "v1", "subtotal": "1000", "platform": "shopify"}), CapturedAt: capturedAt},
			check: func(t *testing.T, out activities.PrepareOutput) {
				require.NotNil(t, out.Enriched)
				assert.Contains(t, out.Enriched.Problem, "unknown client")
				assert.Nil(t, out.Split)
			}},
		{name: "no rule in force: the refusal as data", in: activities.PrepareInput{WorkflowID: "payment-stripe-pi_prep", Capture: capture(map[string]string{
			"client_id": "shop-norule", "order_id": "o-1", "vendor_id": "v1", "subtotal": "1000", "platform": "shopify"}), CapturedAt: capturedAt},
			check: func(t *testing.T, out activities.PrepareOutput) {
				require.NotNil(t, out.Enriched)
				assert.Nil(t, out.Split)
				assert.Contains(t, out.SplitProblem, "shop-norule")
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := f.a.Prepare(ctx, tt.in)
			require.NoError(t, err)
			tt.check(t, out)
		})
	}
}

// A bank debit submitted under one rule and succeeded under the next is split by the rule in
// force at its submission, the time Stripe's balance transaction says and Prepare answers with
// Enrich's: the payment counts then. A run from before the bounds were passed (no event time nor
// PaymentIntent time) keeps the event's time and its rule.
func TestPrepareSplitsADebitByItsSubmission(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	const client = "shop-debit"
	_, _, err := f.st.UpsertClient(ctx, store.Client{ID: client, Name: "Debits", DefaultCurrency: "usd"})
	require.NoError(t, err)
	_, err = f.st.CreateRule(ctx, split.Rule{ClientID: client, PlatformBps: 1000}, "test")
	require.NoError(t, err)
	submitted := nextSecond() // after v1 was made
	nextSecond()
	_, err = f.st.CreateRule(ctx, split.Rule{ClientID: client, PlatformBps: 2000}, "test")
	require.NoError(t, err)
	succeeded := nextSecond() // after v2 was made
	confirmed := submitted.Add(-20 * time.Minute)
	f.proxy.AddCharge(testenv.StripeCharge{ID: "ch_debit", Currency: "usd", Amount: 1100, Fee: 9, PaymentIntent: "pi_debit",
		Created: confirmed, CapturedAt: submitted})
	md := map[string]string{"client_id": client, "order_id": "o-debit", "vendor_id": "v1", "subtotal": "1000", "tax": "100", "platform": "shopify"}
	for _, tt := range []struct {
		name         string
		bounds       bool
		wantAt       time.Time
		wantRule     int
		wantPlatform int64
	}{
		{"counts from its submission", true, submitted, 1, 100},
		{"a run that passed no bounds: the event's time", false, time.Time{}, 2, 200},
	} {
		t.Run(tt.name, func(t *testing.T) {
			in := &activities.EnrichInput{WorkflowID: "payment-stripe-pi_debit", Provider: "stripe", PaymentID: "pi_debit", Gross: 1100, Currency: "usd",
				Metadata: md, ChargeID: "ch_debit"}
			if tt.bounds {
				in.EventAt, in.IntentCreated = succeeded, confirmed
			}
			out, err := f.a.Prepare(ctx, activities.PrepareInput{WorkflowID: in.WorkflowID, Capture: in, CapturedAt: succeeded, FirstRun: true})
			require.NoError(t, err)
			require.NotNil(t, out.Enriched)
			assert.True(t, out.Enriched.CapturedAt.Equal(tt.wantAt), "captured at %s, want %s", out.Enriched.CapturedAt, tt.wantAt)
			assert.EqualValues(t, 9, out.Enriched.Fee, "the fee, read with the same balance transaction")
			require.NotNil(t, out.Split, out.SplitProblem)
			assert.Equal(t, tt.wantRule, out.Split.RuleVersion)
			assert.EqualValues(t, tt.wantPlatform, out.Split.Legs[0].Amount, "the platform's share of the subtotal under that rule")
		})
	}
}

// TestEnrichTakesTheAffiliateAsRegistered: the affiliate a storefront's order or the checkout's
// metadata names (a lower-case slug, or whatever the plugin wrote) is the client's payee whose ID
// differs from it only in case, under the ID registered: the split's leg, its ledger account and
// its keys use that ID, so the share is paid instead of held for a payee nobody registered.
// Another client's payee is never taken; a name nobody registered stays as it came.
func TestEnrichTakesTheAffiliateAsRegistered(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for _, p := range []store.Payee{
		{ID: "shop1-Jane", ClientID: "shop1", Kind: store.KindAffiliate, StripeAccount: "acct_jane"},
		{ID: "shop1-Max", ClientID: "shop2", Kind: store.KindAffiliate},
	} {
		_, _, err := f.st.UpsertPayee(ctx, p)
		require.NoError(t, err)
	}
	require.NoError(t, f.st.SaveOrder(ctx, payment.Order{ClientID: "shop1", OrderID: "o-jane", VendorID: "v1", AffiliateID: "shop1-jane",
		Platform: "shopify", Subtotal: 1000, Tax: 80, Currency: "usd"}, "paid"))
	require.NoError(t, f.st.SaveOrder(ctx, payment.Order{ClientID: "shop1", OrderID: "o-none", VendorID: "v1",
		Platform: "shopify", Subtotal: 1000, Tax: 80, Currency: "usd"}, "paid"))
	full := map[string]string{"client_id": "shop1", "order_id": "o-md", "vendor_id": "v1", "subtotal": "1000", "tax": "80", "platform": "shopify"}
	with := func(m map[string]string, aff string) map[string]string {
		out := map[string]string{"affiliate_id": aff}
		for k, v := range m {
			out[k] = v
		}
		return out
	}
	tests := []struct {
		name string
		md   map[string]string
		want string
	}{
		{"the storefront's order", map[string]string{"client_id": "shop1", "order_id": "o-jane"}, "shop1-Jane"},
		{"the metadata's, on a joined order", with(map[string]string{"client_id": "shop1", "order_id": "o-none"}, "SHOP1-JANE"), "shop1-Jane"},
		{"the metadata's, in full metadata", with(full, "shop1-jane"), "shop1-Jane"},
		{"the registered spelling", with(full, "shop1-Jane"), "shop1-Jane"},
		{"another client's payee in another case", with(full, "shop1-max"), "shop1-max"},
		{"nobody's", with(full, "shop1-zoe"), "shop1-zoe"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pi := fmt.Sprintf("pi_case%d", i)
			out, err := f.a.Enrich(ctx, activities.EnrichInput{WorkflowID: "payment-stripe-" + pi, Provider: "stripe", PaymentID: pi, Gross: 1080, Currency: "usd", Metadata: tt.md})
			require.NoError(t, err)
			require.Empty(t, out.Problem)
			require.Empty(t, out.Missing)
			require.Equal(t, tt.want, out.Order.AffiliateID)
		})
	}
}
