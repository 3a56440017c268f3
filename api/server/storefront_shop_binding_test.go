package server_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"paysplit/internal/store"
)

// TestStorefrontDeliveryFromAnotherShopIsNotTheClients: an agency runs one Shopify app across its
// clients' shops, and Shopify signs every shop's webhooks with the app's client secret, so the
// same secret is set for several clients (as newShopClient sets it here). A delivery of shop A
// sent to client B's URL (a webhook pointed at the wrong client, or a captured delivery replayed)
// verified and was stored as B's order, splits and all. A client bound to its shop now refuses a
// delivery that names another shop (Shopify's X-Shopify-Shop-Domain, WooCommerce's
// X-WC-Webhook-Source, TikTok's shop_id): 200 wrong_shop, nothing stored or claimed, counted and
// logged. Its own shop's deliveries, and an unbound client's, are stored as before.
func TestStorefrontDeliveryFromAnotherShopIsNotTheClients(t *testing.T) {
	e := newShopEnv(t, nil, "")
	bound, unbound := e.client, e.newShopClient()
	paid := shopSample(t, "shopify_orders_paid.json")
	woo := shopSample(t, "woocommerce_order_created.json")
	tiktok := shopSample(t, "tiktok_order_status_change.json")

	// The client's own shops. The delivery helpers name acme-pottery.myshopify.com,
	// https://shop.example.org/ and TikTok shop 7494049642642441621: another client's shops.
	puts := map[string]int{}
	for platform, shop := range map[string]string{
		"shopify": "Bravo-Ceramics.myshopify.com", "woocommerce": "https://bravo.example.org/shop/", "tiktok": "7000000000000000001",
	} {
		code, out := e.json(req{method: http.MethodPut, path: "/api/v1/admin/clients/" + bound + "/shops/" + platform,
			key: adminKey, body: map[string]any{"shop": shop}})
		puts[platform] = code
		t.Logf("PUT shops/%s: %d %v", platform, code, out)
	}

	tests := []struct {
		name string
		d    delivery
		own  func(delivery) delivery // the same delivery from the client's own shop
	}{
		{"shopify", shopifyDelivery("orders/paid", "other-shop-1", paid), func(d delivery) delivery {
			d.header["X-Shopify-Shop-Domain"] = "bravo-ceramics.myshopify.com"
			return d
		}},
		{"woocommerce", wooDelivery("order.created", "other-shop-2", woo), func(d delivery) delivery {
			d.header["X-WC-Webhook-Source"] = "https://bravo.example.org/shop/"
			return d
		}},
		{"tiktok", tiktokDelivery(tiktok), func(delivery) delivery {
			return tiktokDelivery(bytes.Replace(tiktok, []byte(`"7494049642642441621"`), []byte(`"7000000000000000001"`), 1))
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for range 2 { // the delivery and the shop's resend of it
				code, out := e.post(bound, tc.d)
				require.Empty(t, e.stored(bound), "another shop's delivery is stored as the client's: %d %v", code, out)
				require.Equal(t, http.StatusOK, code, "signed, so answered 2xx: the shop neither retries nor unsubscribes: %v", out)
				require.Equal(t, "wrong_shop", out["status"], out)
				require.Contains(t, out["reason"], "bound to")
			}
			require.Contains(t, e.logs.String(), "storefront delivery from another shop than the client's")
			require.NotEmpty(t, scrapeSeries(t, e.url, "paysplit_webhook_events_total", `provider="`+tc.name+`"`, `outcome="wrong_shop"`))

			// An unbound client takes it as before.
			code, out := e.post(unbound, tc.d)
			require.Equal(t, http.StatusOK, code, out)
			require.NotEqual(t, "wrong_shop", out["status"], out)
			require.Contains(t, e.logs.String(), `"client_shop":""`, "the unbound client's log line says it is not bound")
		})
	}
	for _, shop := range []string{`"shop":"acme-pottery.myshopify.com"`, `"shop":"https://shop.example.org/"`, `"shop":"7494049642642441621"`} {
		require.Contains(t, e.logs.String(), shop, "the log names the shop a delivery came from, to bind its client by")
	}
	require.Equal(t, map[string]int{"shopify": http.StatusCreated, "woocommerce": http.StatusCreated, "tiktok": http.StatusCreated}, puts)

	// The client's own shop's deliveries are stored.
	code, out := e.post(bound, tests[0].own(shopifyDelivery("orders/paid", "own-shop-1", paid)))
	require.Equal(t, http.StatusOK, code, out)
	require.Equal(t, "stored", out["status"], out)
	code, out = e.post(bound, tests[1].own(wooDelivery("order.created", "own-shop-2", woo)))
	require.Equal(t, http.StatusOK, code, out)
	require.Equal(t, "stored", out["status"], out)
	code, out = e.post(bound, tests[2].own(delivery{}))
	require.Equal(t, http.StatusOK, code, out)
	require.Equal(t, "unknown_order", out["status"], "a TikTok status change of its own shop is handled as ever: %v", out)
}

// TestClientShopsAdmin: the shop a client is bound to is set, listed and removed through the admin
// API, in the form the shop's deliveries name it; a value no delivery could match is a 400, and a
// shop already bound to another client a 409 (one shop's orders are one client's).
func TestClientShopsAdmin(t *testing.T) {
	e := newShopEnv(t, nil, "")
	c, other := e.client, e.newShopClient()
	path := func(client, platform string) string { return "/api/v1/admin/clients/" + client + "/shops/" + platform }

	bad := []struct{ platform, shop, reason string }{
		{"shopify", "shop.acme.com", "myshopify.com"},
		{"shopify", "", "myshopify.com"},
		{"woocommerce", "shop.example.org", "http"},
		{"woocommerce", "ftp://shop.example.org/", "http"},
		{"tiktok", "7 49", "shop_id"},
		{"instagram", "@acme_pottery", "entry"},
		{"shopfy", "acme.myshopify.com", "one of"},
	}
	for _, tc := range bad {
		code, out := e.json(req{method: http.MethodPut, path: path(c, tc.platform), key: adminKey, body: map[string]any{"shop": tc.shop}})
		require.Equal(t, http.StatusBadRequest, code, "%s %q: %v", tc.platform, tc.shop, out)
		require.Contains(t, out["error"].(map[string]any)["message"], tc.reason, tc)
	}

	code, out := e.json(req{method: http.MethodPut, path: path(c, "shopify"), key: adminKey, body: map[string]any{"shop": " ACME-Pottery.myshopify.com "}})
	require.Equal(t, http.StatusCreated, code, out)
	require.Equal(t, "acme-pottery.myshopify.com", out["shop"])
	code, out = e.json(req{method: http.MethodPut, path: path(c, "woocommerce"), key: adminKey, body: map[string]any{"shop": "HTTPS://Shop.Example.org"}})
	require.Equal(t, http.StatusCreated, code, out)
	require.Equal(t, "https://shop.example.org/", out["shop"])
	code, out = e.json(req{method: http.MethodPut, path: path(other, "shopify"), key: adminKey, body: map[string]any{"shop": "acme-pottery.myshopify.com"}})
	require.Equal(t, http.StatusConflict, code, out)
	code, out = e.json(req{method: http.MethodPut, path: path("no-such-client", "shopify"), key: adminKey, body: map[string]any{"shop": "zeta.myshopify.com"}})
	require.Equal(t, http.StatusNotFound, code, out)

	code, out = e.json(req{method: http.MethodGet, path: "/api/v1/admin/clients/" + c + "/shops", key: adminKey})
	require.Equal(t, http.StatusOK, code, out)
	shops := out["shops"].([]any)
	require.Len(t, shops, 2, out)
	require.Equal(t, "shopify", shops[0].(map[string]any)["platform"])
	require.Equal(t, "woocommerce", shops[1].(map[string]any)["platform"])

	// A WooCommerce site is the same site whichever scheme its home URL names.
	d := wooDelivery("order.created", "scheme-1", shopSample(t, "woocommerce_order_created.json"))
	d.header["X-WC-Webhook-Source"] = "http://SHOP.example.org/"
	code, out = e.post(c, d)
	require.Equal(t, http.StatusOK, code, out)
	require.Equal(t, "stored", out["status"], out)

	// Removed, the client takes any shop's deliveries again.
	code, _ = e.json(req{method: http.MethodDelete, path: path(c, "shopify"), key: adminKey})
	require.Equal(t, http.StatusNoContent, code)
	code, _ = e.json(req{method: http.MethodDelete, path: path(c, "shopify"), key: adminKey})
	require.Equal(t, http.StatusNotFound, code)
	d = shopifyDelivery("orders/paid", "unbound-again", shopSample(t, "shopify_orders_paid.json"))
	d.header["X-Shopify-Shop-Domain"] = "someone-else.myshopify.com"
	code, out = e.post(c, d)
	require.Equal(t, http.StatusOK, code, out)
	require.Equal(t, "stored", out["status"], out)

	// Audited, as every admin change.
	for _, action := range []string{"client_shop.set", "client_shop.delete"} {
		code, out = e.json(req{method: http.MethodGet, key: adminKey,
			path: "/api/v1/admin/audit?action=" + action + "&target=" + url.QueryEscape("client_shop:"+c+"/shopify")})
		require.Equal(t, http.StatusOK, code, out)
		entries, _ := out["entries"].([]any)
		require.Len(t, entries, 1, out)
		require.Contains(t, fmt.Sprint(entries[0]), "acme-pottery.myshopify.com")
	}
}

// TestTikTokUnreadablePushFromAnotherShopIsWrongShop: TikTok names its shop in the signed body, so
// the shop was checked only once the push was read. A push of another shop whose order status
// could not be read (no order_status, an unusable order_id) never reached the check: it was
// answered invalid_order and recorded in the bound client's audit log as its own refused order.
func TestTikTokUnreadablePushFromAnotherShopIsWrongShop(t *testing.T) {
	e := newShopEnv(t, nil, "")
	code, out := e.json(req{method: http.MethodPut, path: "/api/v1/admin/clients/" + e.client + "/shops/tiktok",
		key: adminKey, body: map[string]any{"shop": "7000000000000000099"}})
	require.Equal(t, http.StatusCreated, code, out)

	// Shop 7494049642642441621's push, its order status missing.
	body := []byte(`{"type":1,"tts_notification_id":"7327112393057371911","shop_id":"7494049642642441621","timestamp":1644412885,` +
		`"data":{"order_id":"576461413038785752","update_time":1644412882}}`)
	code, out = e.post(e.client, tiktokDelivery(body))
	require.Equal(t, http.StatusOK, code, out)
	require.Equal(t, "wrong_shop", out["status"], out)
	code, out = e.json(req{method: http.MethodGet, key: adminKey,
		path: "/api/v1/admin/audit?action=storefront.order_refused&target=" + url.QueryEscape("client:"+e.client)})
	require.Equal(t, http.StatusOK, code, out)
	entries, _ := out["entries"].([]any)
	require.Empty(t, entries, "another shop's push is recorded as the client's refused order")

	// The client's own shop's unreadable push is refused and recorded as before.
	own := bytes.Replace(body, []byte(`"7494049642642441621"`), []byte(`"7000000000000000099"`), 1)
	code, out = e.post(e.client, tiktokDelivery(own))
	require.Equal(t, http.StatusOK, code, out)
	require.Equal(t, "invalid_order", out["status"], out)
}

// TestClientShopRaceIsOneBinding: admins binding one shop to several clients at once (each
// request's lock is its own client's) bind it to exactly one; the others are 409 shop_taken, not
// a 500 from the unique index.
func TestClientShopRaceIsOneBinding(t *testing.T) {
	e := newShopEnv(t, nil, "")
	clients := []string{e.client}
	for range 5 {
		clients = append(clients, e.newClient("race"))
	}
	shop := strings.ToLower(e.client) + ".myshopify.com"
	codes := make([]int, len(clients))
	outs := make([]map[string]any, len(clients))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			codes[i], outs[i] = e.json(req{method: http.MethodPut, path: "/api/v1/admin/clients/" + c + "/shops/shopify",
				key: adminKey, body: map[string]any{"shop": shop}})
		}()
	}
	close(start)
	wg.Wait()
	created := 0
	for i, code := range codes {
		switch code {
		case http.StatusCreated:
			created++
		case http.StatusConflict:
			require.Equal(t, "shop_taken", outs[i]["error"].(map[string]any)["code"], outs[i])
		default:
			t.Fatalf("PUT for %s: %d %v", clients[i], code, outs[i])
		}
	}
	require.Equal(t, 1, created, codes)
}

// TestIgnoredPushFromAnotherShopStaysIgnored: a bound client checked the shop of every signed
// delivery before its topic, so a push we never act on (a TikTok push type other than an order
// status change, a Shopify or WooCommerce topic not handled) from another shop, or naming none,
// was answered wrong_shop, logged as a warning and counted under the wrong_shop outcome the
// upgrade note says to alert on. Ignored anyway, it stays ignored whatever shop it names; only
// pushes we act on are checked against the binding.
func TestIgnoredPushFromAnotherShopStaysIgnored(t *testing.T) {
	e := newShopEnv(t, nil, "")
	for platform, shop := range map[string]string{
		"shopify": "charlie-glass.myshopify.com", "woocommerce": "https://charlie.example.org/", "tiktok": "7000000000000000077",
	} {
		code, out := e.json(req{method: http.MethodPut, path: "/api/v1/admin/clients/" + e.client + "/shops/" + platform,
			key: adminKey, body: map[string]any{"shop": shop}})
		require.Equal(t, http.StatusCreated, code, out)
	}
	noShopify := shopifyDelivery("products/update", "ignored-2", []byte(`{"id":1}`))
	delete(noShopify.header, "X-Shopify-Shop-Domain")
	noWoo := wooDelivery("product.created", "ignored-4", []byte(`{"id":1}`))
	delete(noWoo.header, "X-WC-Webhook-Source")
	tests := []struct {
		name string
		d    delivery
	}{
		{"shopify topic not handled, another shop", shopifyDelivery("products/update", "ignored-1", []byte(`{"id":1}`))},
		{"shopify topic not handled, no shop", noShopify},
		{"woocommerce topic not handled, another shop", wooDelivery("product.created", "ignored-3", []byte(`{"id":1}`))},
		{"woocommerce topic not handled, no shop", noWoo},
		{"tiktok push type not handled, another shop", tiktokDelivery([]byte(
			`{"type":2,"tts_notification_id":"7327112393057371001","shop_id":"7494049642642441621","timestamp":1644412885,"data":{}}`))},
		{"tiktok push type not handled, no shop", tiktokDelivery([]byte(
			`{"type":2,"tts_notification_id":"7327112393057371002","timestamp":1644412885,"data":{}}`))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out := e.post(e.client, tc.d)
			require.Equal(t, http.StatusOK, code, out)
			require.Equal(t, "ignored", out["status"], out)
			require.NotEmpty(t, scrapeSeries(t, e.url, "paysplit_webhook_events_total", `provider="`+tc.d.platform+`"`, `outcome="ignored"`))
		})
	}
	require.Empty(t, scrapeSeries(t, e.url, "paysplit_webhook_events_total", `outcome="wrong_shop"`), "an ignored push is no wrong shop")
	require.NotContains(t, e.logs.String(), "storefront delivery from another shop than the client's")

	// An order from another shop is still refused.
	code, out := e.post(e.client, shopifyDelivery("orders/paid", "order-1", shopSample(t, "shopify_orders_paid.json")))
	require.Equal(t, http.StatusOK, code, out)
	require.Equal(t, "wrong_shop", out["status"], out)
}

// TestWooCommerceIDNShopBinding: a site on an internationalised host is bound in the form the
// admin types and delivered with the form WordPress's home_url gives, which may be the other
// (Unicode or punycode). Compared as typed, the client's own deliveries were refused wrong_shop.
func TestWooCommerceIDNShopBinding(t *testing.T) {
	e := newShopEnv(t, nil, "")
	woo := shopSample(t, "woocommerce_order_created.json")
	tests := []struct{ client, bind, stored, header, id string }{
		{e.client, "https://bücher.example/", "https://xn--bcher-kva.example/", "https://xn--bcher-kva.example/", "idn-1"},
		{e.newShopClient(), "https://XN--MLLER-KVA.example/", "https://xn--mller-kva.example/", "https://müller.example/", "idn-2"},
	}
	for _, tc := range tests {
		code, out := e.json(req{method: http.MethodPut, path: "/api/v1/admin/clients/" + tc.client + "/shops/woocommerce",
			key: adminKey, body: map[string]any{"shop": tc.bind}})
		require.Equal(t, http.StatusCreated, code, out)
		require.Equal(t, tc.stored, out["shop"], "stored in its ASCII form: %v", out)
		d := wooDelivery("order.created", tc.id, woo)
		d.header["X-WC-Webhook-Source"] = tc.header
		code, out = e.post(tc.client, d)
		require.Equal(t, http.StatusOK, code, out)
		require.Equal(t, "stored", out["status"], "bound to %s, delivered from %s: %v", tc.bind, tc.header, out)
	}

	// A binding stored in Unicode before hosts were compared in ASCII still takes its own site.
	old := e.newShopClient()
	_, _, err := e.store.SetClientShop(context.Background(), store.ClientShop{ClientID: old, Platform: "woocommerce",
		Shop: "https://café-laden.example/", UpdatedBy: "admin:bootstrap"})
	require.NoError(t, err)
	d := wooDelivery("order.created", "idn-3", woo)
	d.header["X-WC-Webhook-Source"] = "https://xn--caf-laden-d4a.example/"
	code, out := e.post(old, d)
	require.Equal(t, http.StatusOK, code, out)
	require.Equal(t, "stored", out["status"], out)
}

// TestClientShopDeleteOfAnUnbindablePlatform: PUT of a platform that cannot be bound is 400 naming
// the platforms that can; DELETE of one was 404, as if merely not bound. It is 400 with the same
// reason, as a malformed path value is elsewhere (DELETE /monitors/{id}).
func TestClientShopDeleteOfAnUnbindablePlatform(t *testing.T) {
	e := newShopEnv(t, nil, "")
	for _, platform := range []string{"etsy", "shopfy"} {
		code, out := e.json(req{method: http.MethodDelete, path: "/api/v1/admin/clients/" + e.client + "/shops/" + platform, key: adminKey})
		require.Equal(t, http.StatusBadRequest, code, out)
		require.Contains(t, out["error"].(map[string]any)["message"], "one of", out)
	}
	code, out := e.json(req{method: http.MethodDelete, path: "/api/v1/admin/clients/" + e.client + "/shops/shopify", key: adminKey})
	require.Equal(t, http.StatusNotFound, code, "a bindable platform not bound is 404: %v", out)
}

// TestInstagramBatchOfAnotherPageIsNotTheClients: one Meta app signs every Page's deliveries alike
// with its app secret, so Page B's commerce_orders delivery posted to the URL of a client whose
// shop is Page A verified and was stored as that client's orders. Bound to its Page (PUT
// …/shops/instagram), a client takes only its Page's entries of a batch: another Page's changes
// are not stored nor recorded as the client's refusals, each counted wrong_shop and logged; its
// own Page's entries are stored whatever else the batch holds (Meta never sends a batch answered
// 2xx again), and a batch with nothing of its Page is 200 wrong_shop. An unbound client takes
// every entry as before, and Meta's GET handshake is answered as before.
func TestInstagramBatchOfAnotherPageIsNotTheClients(t *testing.T) {
	e := newShopEnv(t, nil, "")
	bound, unbound := e.client, e.newShopClient()
	const own, other = "7000000000000000042", "110493227123456" // the samples' entries name 110493227123456
	code, out := e.json(req{method: http.MethodPut, path: "/api/v1/admin/clients/" + bound + "/shops/instagram",
		key: adminKey, body: map[string]any{"shop": " " + own + " "}})
	require.Equal(t, http.StatusCreated, code, out)
	require.Equal(t, own, out["shop"], out)

	refusedOf := func(client string) []any {
		code, out := e.json(req{method: http.MethodGet, key: adminKey,
			path: "/api/v1/admin/audit?action=storefront.order_refused&target=" + url.QueryEscape("client:"+client)})
		require.Equal(t, http.StatusOK, code, out)
		entries, _ := out["entries"].([]any)
		return entries
	}

	// Another Page's batch alone: wrong_shop, nothing stored, for the delivery and a resend.
	sample := shopSample(t, "instagram_commerce_order.json")
	for range 2 {
		code, out = e.post(bound, instagramDelivery(sample))
		require.Equal(t, http.StatusOK, code, out)
		require.Empty(t, e.stored(bound), "another Page's order is stored as the client's: %v", out)
		require.Equal(t, "wrong_shop", out["status"], out)
		require.Contains(t, out["reason"], "bound to", out)
	}
	require.Contains(t, e.logs.String(), "storefront delivery from another shop than the client's")
	require.Contains(t, e.logs.String(), `"shop":"`+other+`"`, "the log names the Page, to bind its client by")
	require.NotEmpty(t, scrapeSeries(t, e.url, "paysplit_webhook_events_total", `provider="instagram"`, `outcome="wrong_shop"`))

	// An unbound client takes it as before; so does the bound one its own Page's.
	code, out = e.post(unbound, instagramDelivery(sample))
	require.Equal(t, http.StatusOK, code, out)
	require.Equal(t, "stored", out["status"], out)
	code, out = e.post(bound, instagramDelivery(bytes.ReplaceAll(sample, []byte(other), []byte(own))))
	require.Equal(t, http.StatusOK, code, out)
	require.Equal(t, "stored", out["status"], out)

	// A batch of both Pages: the client's Page's orders stored and its unreadable one recorded;
	// the other Page's, readable or not, neither stored nor recorded as the client's.
	mixed := []byte(`{"object": "page", "entry": [
		{"id": "` + other + `", "time": 1712755200, "changes": [
			{"field": "commerce_orders", "value": ` + metaOrder("900000000000001", "64.80") + `},
			{"field": "commerce_orders", "value": ` + metaOrder("900000000000002", "99.00") + `}]},
		{"id": "` + own + `", "time": 1712755260, "changes": [
			{"field": "commerce_orders", "value": ` + metaOrder("368508827392901", "64.80") + `},
			{"field": "commerce_orders", "value": ` + metaOrder("368508827392902", "99.00") + `}]}]}`)
	wrongShops := func() int {
		lines := scrapeSeries(t, e.url, "paysplit_webhook_events_total", `provider="instagram"`, `outcome="wrong_shop"`)
		require.Len(t, lines, 1, "one topic: %v", lines)
		n, err := strconv.Atoi(lines[0][strings.LastIndexByte(lines[0], ' ')+1:])
		require.NoError(t, err, lines[0])
		return n
	}
	before := wrongShops()
	code, out = e.post(bound, instagramDelivery(mixed))
	require.Equal(t, http.StatusOK, code, out)
	require.Equal(t, "stored", out["status"], out)
	require.Equal(t, []any{"368508827392901"}, out["order_ids"], out)
	_, err := e.store.GetOrder(t.Context(), bound, "368508827392901")
	require.NoError(t, err, "the client's own order of a batch with another Page's was lost")
	_, err = e.store.GetOrder(t.Context(), bound, "900000000000001")
	require.ErrorIs(t, err, store.ErrNotFound, "another Page's order of the batch is stored as the client's")
	refused := refusedOf(bound)
	require.Len(t, refused, 1, "only the client's own unreadable order is its refusal: %v", refused)
	require.Equal(t, "368508827392902", refused[0].(map[string]any)["after"].(map[string]any)["order_id"])
	require.Equal(t, before+2, wrongShops(), "each of another Page's orders is counted wrong_shop")
	require.Contains(t, e.logs.String(), `"order_id":"900000000000002"`, "each of another Page's orders is logged")

	// Meta's handshake is answered as before for a bound client.
	res, raw := e.send(req{method: http.MethodGet, path: "/webhooks/instagram/" + bound + "?hub.mode=subscribe&hub.verify_token=verify-me-12345&hub.challenge=1158201444"})
	require.Equal(t, http.StatusOK, res.StatusCode, string(raw))
	require.Equal(t, "1158201444", string(raw))
}

// TestInstagramRefusalOfTheBoundPageNamesItsOrder: a bound client's batch whose one change of its
// own Page cannot be read, beside another Page's readable change, is refused and recorded for an
// admin naming the client's order, as the same change alone is: the record is all an admin learns
// of it (Meta never sends the batch again). It named no order, the body's changes being of two.
func TestInstagramRefusalOfTheBoundPageNamesItsOrder(t *testing.T) {
	e := newShopEnv(t, nil, "")
	// A Page of this client's own: a Page is bound to one client, and the package's tests share a database.
	own, other := "71"+strings.TrimPrefix(e.client, "shop-"), "110493227123456"
	code, out := e.json(req{method: http.MethodPut, path: "/api/v1/admin/clients/" + e.client + "/shops/instagram",
		key: adminKey, body: map[string]any{"shop": own}})
	require.Equal(t, http.StatusCreated, code, out)
	mixed := []byte(`{"object": "page", "entry": [
		{"id": "` + other + `", "time": 1712755200, "changes": [
			{"field": "commerce_orders", "value": ` + metaOrder("900000000000001", "64.80") + `}]},
		{"id": "` + own + `", "time": 1712755260, "changes": [
			{"field": "commerce_orders", "value": ` + metaOrder("368508827392902", "99.00") + `}]}]}`)
	code, out = e.post(e.client, instagramDelivery(mixed))
	require.Equal(t, http.StatusOK, code, out)
	require.Equal(t, "invalid_order", out["status"], out)
	require.Equal(t, []any{"368508827392902"}, out["order_ids"], out)
	code, out = e.json(req{method: http.MethodGet, key: adminKey,
		path: "/api/v1/admin/audit?action=storefront.order_refused&target=" + url.QueryEscape("client:"+e.client)})
	require.Equal(t, http.StatusOK, code, out)
	entries, _ := out["entries"].([]any)
	require.Len(t, entries, 1, "%v", out)
	require.Equal(t, "368508827392902", entries[0].(map[string]any)["after"].(map[string]any)["order_id"], entries)
	require.Empty(t, e.stored(e.client))
}
