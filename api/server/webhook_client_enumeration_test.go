package server_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"paysplit/api/server"
	"paysplit/internal/secrets"
	"paysplit/internal/store"
	"paysplit/testenv"
)

// answer is what a caller outside sees of a webhook request: its status and exact body.
type answer struct {
	status int
	body   string
}

func (e *shopEnv) answerTo(method, path string, d delivery) answer {
	e.t.Helper()
	hr, err := http.NewRequest(method, e.url+path, bytes.NewReader(d.body))
	require.NoError(e.t, err)
	for k, v := range d.header {
		hr.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(hr)
	require.NoError(e.t, err)
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	require.NoError(e.t, err)
	checkAgainstSpec(e.t, hr, res, raw)
	return answer{res.StatusCode, string(raw)}
}

// A client's webhook paths are public, so their answers must not tell whether a client ID exists:
// a 404 for an unknown client beside a 401 for a known one with a bad signature let anyone list
// the agency's clients. An unknown client, a malformed ID and a client without the platform's
// secret are each answered exactly as a known client's delivery with a bad signature, whatever
// the body (a malformed body is a 400 only once the signature is good), while the server's own
// log and metrics still tell them apart.
func TestStorefrontWebhookAnswersDoNotTellWhetherAClientExists(t *testing.T) {
	e := newShopEnv(t, nil, "")
	bare := e.newClient("bare") // exists, without any secret
	signed := map[string]delivery{
		"shopify":     shopifyDelivery("orders/paid", "enum-1", shopSample(t, "shopify_orders_paid.json")),
		"woocommerce": wooDelivery("order.created", "enum-2", shopSample(t, "woocommerce_order_created.json")),
		"tiktok":      tiktokDelivery(shopSample(t, "tiktok_order_status_change.json")),
		"instagram":   instagramDelivery(shopSample(t, "instagram_commerce_order.json")),
	}
	for platform, good := range signed {
		t.Run(platform, func(t *testing.T) {
			// The same bytes and one more: still JSON, no longer what was signed.
			forged := good
			forged.body = append(append([]byte(nil), good.body...), ' ')
			malformed := good
			malformed.body = []byte(`{"id": 1, "line_items": [`)
			path := func(client string) string { return "/webhooks/" + platform + "/" + client }

			want := e.answerTo(http.MethodPost, path(e.client), forged)
			require.Equal(t, http.StatusUnauthorized, want.status, want.body)
			require.Contains(t, want.body, `"invalid_signature"`)

			for name, got := range map[string]answer{
				"unknown client":                     e.answerTo(http.MethodPost, path("nobody-here"), forged),
				"unknown client, signed as a known":  e.answerTo(http.MethodPost, path("nobody-here"), good),
				"unknown client, malformed body":     e.answerTo(http.MethodPost, path("nobody-here"), malformed),
				"malformed client id":                e.answerTo(http.MethodPost, path("bad..id%20x"), forged),
				"client without the platform secret": e.answerTo(http.MethodPost, path(bare), good),
				"known client, malformed body":       e.answerTo(http.MethodPost, path(e.client), malformed),
			} {
				require.Equal(t, want, got, name)
			}
			require.Empty(t, e.stored(e.client), "nothing stored")
			require.Empty(t, e.stored(bare), "nothing stored")
		})
	}
	signals, _ := e.temporal.sent()
	require.Empty(t, signals, "no workflow signalled")

	// The operator still sees which it was.
	logs := e.logs.String()
	require.Contains(t, logs, "unknown client")
	require.Contains(t, logs, `"client_id":"nobody-here"`)
	require.Contains(t, logs, `"secret":"tiktok-app-key"`, "the missing secret is named in the log")
	require.NotEmpty(t, scrapeSeries(t, e.url, "paysplit_webhook_events_total", `provider="shopify"`, `outcome="unknown_client"`))
	require.NotEmpty(t, scrapeSeries(t, e.url, "paysplit_webhook_events_total", `provider="shopify"`, `outcome="not_configured"`))
	require.NotEmpty(t, scrapeSeries(t, e.url, "paysplit_webhook_events_total", `provider="shopify"`, `outcome="bad_signature"`))

	// WooCommerce's unsigned ping carries nothing to verify: it is answered the same for any path.
	ping := delivery{platform: "woocommerce", body: shopSample(t, "woocommerce_ping.txt"),
		header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}}
	wantPing := e.answerTo(http.MethodPost, "/webhooks/woocommerce/"+e.client, ping)
	require.Equal(t, http.StatusOK, wantPing.status, wantPing.body)
	require.Equal(t, wantPing, e.answerTo(http.MethodPost, "/webhooks/woocommerce/nobody-here", ping))
	require.Equal(t, wantPing, e.answerTo(http.MethodPost, "/webhooks/woocommerce/"+bare, ping))
}

// Meta's handshake is a GET on the same public path: a wrong verify token, an unknown client and
// a client without a verify token are one answer, and a request that is not a handshake is a 400
// only with the right token.
func TestInstagramHandshakeDoesNotTellWhetherAClientExists(t *testing.T) {
	e := newShopEnv(t, nil, "")
	bare := e.newClient("bare")
	get := func(client, query string) answer {
		return e.answerTo(http.MethodGet, "/webhooks/instagram/"+client+"?"+query, delivery{})
	}
	const right = "hub.mode=subscribe&hub.verify_token=verify-me-12345&hub.challenge=1158201444"
	require.Equal(t, answer{http.StatusOK, "1158201444"}, get(e.client, right))

	want := get(e.client, "hub.mode=subscribe&hub.verify_token=guess&hub.challenge=1")
	require.Equal(t, http.StatusForbidden, want.status, want.body)
	require.Contains(t, want.body, `"invalid_verify_token"`)
	for name, got := range map[string]answer{
		"unknown client":                 get("nobody-here", right),
		"malformed client id":            get("bad..id%20x", right),
		"client without a verify token":  get(bare, right),
		"unknown client, not handshake":  get("nobody-here", "hub.mode=unsubscribe&hub.verify_token=x&hub.challenge=1"),
		"known client, wrong token, bad": get(e.client, "hub.mode=unsubscribe&hub.verify_token=guess&hub.challenge=1"),
	} {
		require.Equal(t, want, got, name)
	}
	notHandshake := get(e.client, strings.Replace(right, "subscribe", "unsubscribe", 1))
	require.Equal(t, http.StatusBadRequest, notHandshake.status, notHandshake.body)
	require.Contains(t, e.logs.String(), "unknown client")
}

// A known client's secret that this server cannot open (SECRETS_KEY replaced or mistyped) was a
// 500 while an unknown client was a 401 invalid_signature: the path told which clients have a
// secret set. It is refused as unverifiable, as a missing SECRETS_KEY already was, and the
// operator reads why in the log.
func TestStorefrontWebhookSecretSealedUnderAnotherKeyIsABadSignature(t *testing.T) {
	e := newShopEnv(t, nil, "")
	otherKey := bytes.Repeat([]byte{7}, 32)
	other := *e
	other.apiEnv = newAPI(t, func(d *server.Deps) {
		box, err := secrets.New(otherKey)
		require.NoError(t, err)
		d.Store = store.New(d.Pool, store.WithSecrets(box))
		d.Logger = slog.New(slog.NewJSONHandler(e.logs, nil))
	})
	for platform, good := range map[string]delivery{
		"shopify":   shopifyDelivery("orders/paid", "sealed-1", shopSample(t, "shopify_orders_paid.json")),
		"tiktok":    tiktokDelivery(shopSample(t, "tiktok_order_status_change.json")),
		"instagram": instagramDelivery(shopSample(t, "instagram_commerce_order.json")),
	} {
		want := other.answerTo(http.MethodPost, "/webhooks/"+platform+"/nobody-here", good)
		require.Equal(t, http.StatusUnauthorized, want.status, want.body)
		require.Equal(t, want, other.answerTo(http.MethodPost, "/webhooks/"+platform+"/"+e.client, good), platform)
	}
	handshake := "/webhooks/instagram/%s?hub.mode=subscribe&hub.verify_token=verify-me-12345&hub.challenge=1"
	want := other.answerTo(http.MethodGet, fmt.Sprintf(handshake, "nobody-here"), delivery{})
	require.Equal(t, http.StatusForbidden, want.status, want.body)
	require.Equal(t, want, other.answerTo(http.MethodGet, fmt.Sprintf(handshake, e.client), delivery{}))
	require.Empty(t, e.stored(e.client))
	require.Contains(t, e.logs.String(), "cannot be opened")
}

// When the store cannot read webhook secrets (here their table is gone, as in an outage that
// spares the clients table) a known client's delivery is a 500, which the shop retries; an
// unknown client's was a 401, so the path told the two apart. Both are the 500.
func TestStorefrontWebhookStoreFailureIsAlikeForUnknownClients(t *testing.T) {
	pool := testenv.OwnDatabase(t)
	box, err := secrets.New(testSecretsKey)
	require.NoError(t, err)
	a := newAPI(t, func(d *server.Deps) { d.Pool, d.Store = pool, store.New(pool, store.WithSecrets(box)) })
	e := &shopEnv{apiEnv: a, logs: &testenv.LogBuffer{}}
	e.client = e.newShopClient()
	_, err = pool.Exec(context.Background(), `ALTER TABLE client_webhook_secrets RENAME TO client_webhook_secrets_gone`)
	require.NoError(t, err)
	for platform, good := range map[string]delivery{
		"shopify":     shopifyDelivery("orders/paid", "gone-1", shopSample(t, "shopify_orders_paid.json")),
		"woocommerce": wooDelivery("order.created", "gone-2", shopSample(t, "woocommerce_order_created.json")),
		"tiktok":      tiktokDelivery(shopSample(t, "tiktok_order_status_change.json")),
		"instagram":   instagramDelivery(shopSample(t, "instagram_commerce_order.json")),
	} {
		want := e.answerTo(http.MethodPost, "/webhooks/"+platform+"/"+e.client, good)
		require.Equal(t, http.StatusInternalServerError, want.status, want.body)
		require.Equal(t, want, e.answerTo(http.MethodPost, "/webhooks/"+platform+"/nobody-here", good), platform)
	}
}
