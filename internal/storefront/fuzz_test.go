package storefront_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"paysplit/internal/store"
	"paysplit/internal/storefront"
)

// seed adds every sample of a platform to the corpus.
func seed(f *testing.F, prefix string) {
	files, err := filepath.Glob(filepath.Join("testdata", prefix+"*"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no %s samples: %v", prefix, err)
	}
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

// checkResult is what every parse must guarantee, whatever the input: an error is one of ours,
// and anything parsed is an order the store takes as it is.
func checkResult(t *testing.T, res storefront.Result, err error) {
	t.Helper()
	if err != nil {
		if !errors.Is(err, storefront.ErrMalformed) && !errors.Is(err, storefront.ErrInvalidOrder) {
			t.Fatalf("unexpected error kind: %v", err)
		}
		return
	}
	if res.Ignored && (len(res.Orders) > 0 || len(res.Updates) > 0) {
		t.Fatalf("ignored delivery with content: %+v", res)
	}
	for _, o := range res.Orders {
		if err := store.ValidateOrder(o.Order); err != nil {
			t.Fatalf("parsed order the store refuses: %v (%+v)", err, o)
		}
		if o.Discount > o.Subtotal {
			t.Fatalf("discount above subtotal: %+v", o)
		}
		if _, ok := o.Total(); !ok {
			t.Fatalf("parsed order whose parts (extras too) add up to no total: %+v", o)
		}
		if o.AffiliateID != "" {
			if err := store.ValidID("affiliate_id", o.AffiliateID); err != nil {
				t.Fatal(err)
			}
		}
		for _, c := range o.ReferralCodes {
			if err := store.ValidID("referral", c); err != nil {
				t.Fatal(err)
			}
		}
		if len(o.Status) > 32 {
			t.Fatalf("status too long: %q", o.Status)
		}
	}
	for _, r := range res.Refused {
		if !errors.Is(r.Reason, storefront.ErrMalformed) && !errors.Is(r.Reason, storefront.ErrInvalidOrder) {
			t.Fatalf("unexpected refusal kind: %v", r.Reason)
		}
		if r.OrderID != "" && store.ValidID("order_id", r.OrderID) != nil {
			t.Fatalf("refusal names an invalid order ID: %q", r.OrderID)
		}
	}
	if len(res.Refused) > 0 && len(res.Orders) == 0 && len(res.Updates) == 0 {
		t.Fatalf("a delivery with nothing readable must be refused whole: %+v", res)
	}
	for _, u := range res.Updates {
		if err := store.ValidID("order_id", u.OrderID); err != nil || u.Status == "" || u.Refunded < 0 {
			t.Fatalf("bad update %+v: %v", u, err)
		}
	}
}

func FuzzShopify(f *testing.F) {
	seed(f, "shopify_")
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, topic := range []string{storefront.ShopifyOrdersPaid, storefront.ShopifyRefundsCreate} {
			res, err := storefront.ParseShopify("acme", topic, body)
			checkResult(t, res, err)
		}
	})
}

func FuzzWooCommerce(f *testing.F) {
	seed(f, "woocommerce_")
	f.Fuzz(func(t *testing.T, body []byte) {
		res, err := storefront.ParseWooCommerce("acme", storefront.WooOrderCreated, body)
		checkResult(t, res, err)
		storefront.IsWooCommercePing(body, "")
	})
}

func FuzzTikTok(f *testing.F) {
	seed(f, "tiktok_")
	f.Fuzz(func(t *testing.T, body []byte) {
		res, err := storefront.ParseTikTok(body)
		checkResult(t, res, err)
		if err == nil && res.DeliveryID == "" {
			t.Fatal("parsed TikTok push without a notification ID")
		}
	})
}

func FuzzInstagram(f *testing.F) {
	seed(f, "instagram_")
	f.Fuzz(func(t *testing.T, body []byte) {
		res, err := storefront.ParseInstagram("acme", body)
		checkResult(t, res, err)
		if err == nil && !res.Ignored && !strings.Contains(string(body), storefront.MetaOrdersField) {
			t.Fatal("an order from a delivery without the orders field")
		}
	})
}

func FuzzPayeeID(f *testing.F) {
	for _, s := range []string{"Blue Fox Ceramics", "17", "東京", "Café", "---", strings.Repeat("x", 100)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		id, err := storefront.PayeeID("acme", name)
		if err != nil {
			if strings.TrimSpace(name) != "" {
				t.Fatalf("PayeeID(%q): %v", name, err)
			}
			return
		}
		if err := store.ValidID("payee", id); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(id, "acme-") {
			t.Fatalf("PayeeID(%q) = %q lost the client prefix", name, id)
		}
	})
}
