package activities_test

import (
	"encoding/json"
	"math"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"paysplit/activities"
	"paysplit/internal/payment"
	"paysplit/internal/split"
	"paysplit/internal/store"
)

// TestPrepareMetadataExtrasAreTheVendors: a payment whose metadata carries its whole order names
// its tip, duties or checkout fee in `extras`, apart from shipping. They count in the total the
// capture must match and are split as a shop's order's extras are: never commissioned, even by a
// rule that commissions shipping, and the vendor's. Until 2026-11-28 the metadata had no such key:
// a plugin that counted the tip in shipping had it commissioned, and one that sent it apart had
// the payment parked as not adding up (the key was dropped and the order came to the capture less
// the tip). Stripe and PayPal (custom_id) alike: both reach Prepare as metadata.
func TestPrepareMetadataExtrasAreTheVendors(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	c := "md-extras"
	_, _, err := f.st.UpsertClient(ctx, store.Client{ID: c, Name: "Extras", DefaultCurrency: "usd"})
	require.NoError(t, err)
	_, err = f.st.CreateRule(ctx, split.Rule{ClientID: c, PlatformBps: 1000, AffiliateBps: 500, CommissionOnShipping: true}, "test")
	require.NoError(t, err)
	for _, o := range []payment.Order{
		// The same order as the metadata's, its tip apart.
		{ClientID: c, OrderID: "o-shop-same", VendorID: "v1", Platform: "shopify", Subtotal: 1000, Tax: 100, Shipping: 300, Extras: 200, Currency: "usd"},
		// 15.00 + 2.00 tax, part of it paid by a gift card: the metadata describes this payment.
		{ClientID: c, OrderID: "o-shop-gift", VendorID: "v1", Platform: "shopify", Subtotal: 1500, Tax: 200, Currency: "usd"},
	} {
		require.NoError(t, f.st.SaveOrder(ctx, o, "paid"))
	}
	// 10.00 + 1.00 tax + 3.00 shipping + a 2.00 tip = 16.00 captured.
	md := func(order string) map[string]string {
		return map[string]string{"client_id": c, "order_id": order, "vendor_id": "v1", "affiliate_id": "aff1", "platform": "shopify",
			"subtotal": "1000", "tax": "100", "shipping": "300", "extras": "200"}
	}
	for _, provider := range []string{activities.ProviderStripe, activities.ProviderPayPal} {
		for _, order := range []string{"o-meta", "o-shop-same", "o-shop-gift"} {
			t.Run(provider+"/"+order, func(t *testing.T) {
				pi := provider + "-" + order
				out, err := f.a.Prepare(ctx, activities.PrepareInput{WorkflowID: "payment-" + pi, FirstRun: true, CapturedAt: nextSecond(),
					Capture: &activities.EnrichInput{WorkflowID: "payment-" + pi, Provider: provider, PaymentID: pi, Gross: 1600, Currency: "usd", Metadata: md(order)}})
				require.NoError(t, err)
				require.NotNil(t, out.Enriched)
				require.Empty(t, out.Enriched.Problem)
				require.Empty(t, out.SplitProblem, "the order adds up with its extras")
				require.NotNil(t, out.Split)
				o := out.Enriched.Order
				assert.Equal(t, [5]int64{1000, 100, 300, 0, 200}, [5]int64{o.Subtotal, o.Tax, o.Shipping, o.Discount, o.Extras})
				s := *out.Split
				assert.Equal(t, int64(1300), s.CommissionBase, "subtotal and shipping, not the tip")
				platform, _ := s.Leg(split.PartyPlatform)
				vendor, _ := s.Leg(split.PartyVendor)
				assert.Equal(t, int64(130), platform.Amount)
				assert.Equal(t, int64(1600-130-65), vendor.Amount, "the vendor has the tip whole")
				assert.Equal(t, int64(1600), s.Sum())
			})
		}
	}
}

// TestEnrichMetadataExtrasRefused: `extras` is read as the other amounts are (bare non-negative
// minor-unit digits, empty is zero), and parks with the same kind of reason when it is not one.
// Shipping and extras that overflow together park too: an order is recorded (workflow history,
// payments.state) with its extras in shipping (payment.Order.MarshalJSON), which cannot encode
// them, so the activity's answer could not be recorded and Enrich failed on every attempt.
func TestEnrichMetadataExtrasRefused(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	c := "md-extras-bad"
	_, _, err := f.st.UpsertClient(ctx, store.Client{ID: c, Name: "Extras refused", DefaultCurrency: "usd"})
	require.NoError(t, err)
	_, err = f.st.CreateRule(ctx, split.Rule{ClientID: c, PlatformBps: 1000}, "test")
	require.NoError(t, err)
	md := func(kv ...string) map[string]string {
		m := map[string]string{"client_id": c, "order_id": "o-x", "vendor_id": "v1", "subtotal": "1000", "platform": "shopify"}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	maxInt := strconv.FormatInt(math.MaxInt64, 10)
	for _, tc := range []struct {
		name, problem string
		md            map[string]string
	}{
		{"negative", `metadata extras "-200" must be a non-negative integer in minor units`, md("extras", "-200")},
		{"decimal", `metadata extras "2.00" must be a non-negative integer in minor units`, md("extras", "2.00")},
		{"plus sign", `metadata extras "+200" must be a non-negative integer in minor units`, md("extras", "+200")},
		{"padded", `metadata extras " 200" must be a non-negative integer in minor units`, md("extras", " 200")},
		{"past int64", `metadata extras "9223372036854775808" must be a non-negative integer in minor units`, md("extras", "9223372036854775808")},
		// As the API passes a key a PayPal custom_id gives twice with different values.
		{"given twice", `metadata extras "200,300" must be a non-negative integer in minor units`, md("extras", "200,300")},
		{"overflows with shipping", "metadata shipping " + maxInt + " and extras 1 overflow", md("shipping", maxInt, "extras", "1")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := f.a.Enrich(ctx, activities.EnrichInput{WorkflowID: "payment-stripe-x", Provider: "stripe", PaymentID: "pi_x", Gross: 1200, Currency: "usd", Metadata: tc.md})
			require.NoError(t, err)
			require.Empty(t, out.Missing)
			require.Contains(t, out.Problem, tc.problem)
			_, err = json.Marshal(out)
			require.NoError(t, err, "the answer is recorded")
		})
	}

	// Taken: zero, empty, and a total past int64 the split refuses as it refuses the other
	// amounts' (the order recorded, the payment parked as not adding up).
	for i, tc := range []struct {
		name        string
		md          map[string]string
		gross       int64
		extras      int64
		splitRefuse bool
	}{
		{"zero", md("extras", "0"), 1000, 0, false},
		{"empty", md("extras", ""), 1000, 0, false},
		{"the total overflows", md("subtotal", maxInt, "extras", "1"), 1000, 1, true},
		{"not in the capture", md("extras", "200"), 1000, 200, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pi := "pi_xt_" + strconv.Itoa(i)
			out, err := f.a.Prepare(ctx, activities.PrepareInput{WorkflowID: "payment-stripe-" + pi, FirstRun: true, CapturedAt: nextSecond(),
				Capture: &activities.EnrichInput{WorkflowID: "payment-stripe-" + pi, Provider: "stripe", PaymentID: pi, Gross: tc.gross, Currency: "usd", Metadata: tc.md}})
			require.NoError(t, err)
			require.NotNil(t, out.Enriched)
			require.Empty(t, out.Enriched.Problem)
			assert.Equal(t, tc.extras, out.Enriched.Order.Extras)
			if tc.splitRefuse {
				assert.Contains(t, out.SplitProblem, split.ErrComponentsMismatch.Error())
			} else {
				assert.Empty(t, out.SplitProblem)
			}
			_, err = json.Marshal(out)
			require.NoError(t, err, "the answer is recorded")
		})
	}
}
