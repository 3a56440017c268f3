package server

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"
	"go.temporal.io/api/serviceerror"

	"paysplit/internal/money"
	ipayment "paysplit/internal/payment"
	"paysplit/internal/secrets"
	"paysplit/internal/store"
	"paysplit/internal/storefront"
	"paysplit/workflows/payment"
)

// storefrontSource is what differs between shops: where the signature, topic and delivery ID are
// and how the body reads. The handling around them (client, body limit, dedup, storing, waking
// waiting payments) is the same for all.
type storefrontSource struct {
	platform string
	// ping recognizes a handshake request that is answered 200 without a signature.
	ping func(r *http.Request, body []byte) bool
	// verify checks the delivery's signature with the secrets secret gives (webhookSecrets.get).
	verify func(secret func(name string) ([]byte, error), r *http.Request, body []byte) error
	parse  func(client string, r *http.Request, body []byte) (storefront.Result, error)
	// deliveryID is the platform's ID of the delivery, the same on its retries.
	deliveryID func(r *http.Request, body []byte, res storefront.Result) string
	// shopHeader is the shop a delivery names in a header (Shopify, WooCommerce), checked against
	// the client's binding before the body is read; shopInBody says the parser names it
	// (storefront.Result.Shop: TikTok's shop_id).
	shopHeader func(r *http.Request) string
	shopInBody bool
	// parseOf, when set, parses in parse's stead for a platform that names a shop per entry of a
	// batch (Meta's entry[].id): given the client's shop ("" not bound), it reads that shop's
	// entries only and names the others' changes in storefront.Result.Foreign.
	parseOf func(client string, body []byte, shop string) (storefront.Result, error)
}

var storefrontSources = map[string]storefrontSource{
	storefront.Shopify: {
		platform: storefront.Shopify,
		verify: func(secrets func(string) ([]byte, error), r *http.Request, body []byte) error {
			secret, err := secrets(storefront.SecretShopify)
			if err != nil {
				return err
			}
			return storefront.VerifyShopify(body, r.Header.Get("X-Shopify-Hmac-Sha256"), secret)
		},
		parse: func(client string, r *http.Request, body []byte) (storefront.Result, error) {
			return storefront.ParseShopify(client, r.Header.Get("X-Shopify-Topic"), body)
		},
		deliveryID: func(r *http.Request, _ []byte, _ storefront.Result) string {
			return r.Header.Get("X-Shopify-Webhook-Id")
		},
		shopHeader: func(r *http.Request) string { return r.Header.Get("X-Shopify-Shop-Domain") },
	},
	storefront.WooCommerce: {
		platform: storefront.WooCommerce,
		ping: func(r *http.Request, body []byte) bool {
			return storefront.IsWooCommercePing(body, r.Header.Get("X-WC-Webhook-Signature"))
		},
		verify: func(secrets func(string) ([]byte, error), r *http.Request, body []byte) error {
			secret, err := secrets(storefront.SecretWooCommerce)
			if err != nil {
				return err
			}
			return storefront.VerifyWooCommerce(body, r.Header.Get("X-WC-Webhook-Signature"), secret)
		},
		parse: func(client string, r *http.Request, body []byte) (storefront.Result, error) {
			return storefront.ParseWooCommerce(client, r.Header.Get("X-WC-Webhook-Topic"), body)
		},
		// WooCommerce's delivery ID is wp_hash(webhook ID . the second it was made): two
		// deliveries of one webhook in the same second (two orders paid together, an order
		// updated twice) share it. With the body's hash a resend of the same delivery is still
		// one, and a different delivery is not dropped as its duplicate.
		deliveryID: func(r *http.Request, body []byte, _ storefront.Result) string {
			id := r.Header.Get("X-WC-Webhook-Delivery-ID")
			if id == "" {
				return ""
			}
			sum := sha256.Sum256(body)
			return id + ":" + hex.EncodeToString(sum[:8])
		},
		shopHeader: func(r *http.Request) string { return r.Header.Get("X-WC-Webhook-Source") },
	},
	storefront.TikTok: {
		platform: storefront.TikTok,
		verify: func(secrets func(string) ([]byte, error), r *http.Request, body []byte) error {
			appKey, err := secrets(storefront.SecretTikTokAppKey)
			if err != nil {
				return err
			}
			appSecret, err := secrets(storefront.SecretTikTokAppSecret)
			if err != nil {
				return err
			}
			return storefront.VerifyTikTok(body, r.Header.Get("Authorization"), appKey, appSecret)
		},
		parse: func(_ string, _ *http.Request, body []byte) (storefront.Result, error) {
			return storefront.ParseTikTok(body)
		},
		deliveryID: func(_ *http.Request, _ []byte, res storefront.Result) string { return res.DeliveryID },
		shopInBody: true,
	},
	storefront.Instagram: {
		platform: storefront.Instagram,
		verify: func(secrets func(string) ([]byte, error), r *http.Request, body []byte) error {
			secret, err := secrets(storefront.SecretInstagramAppSecret)
			if err != nil {
				return err
			}
			return storefront.VerifyInstagram(body, r.Header.Get("X-Hub-Signature-256"), secret)
		},
		parse: func(client string, _ *http.Request, body []byte) (storefront.Result, error) {
			return storefront.ParseInstagram(client, body)
		},
		parseOf: storefront.ParseInstagramOf,
		// Meta sends no delivery ID; a retry resends the same bytes, so their hash is one.
		deliveryID: func(_ *http.Request, body []byte, _ storefront.Result) string {
			sum := sha256.Sum256(body)
			return "sha256-" + hex.EncodeToString(sum[:])
		},
	},
}

// errNotConfigured is a client without the secret a platform's deliveries are verified with.
var errNotConfigured = errors.New("webhook secret not configured")

// missingSecret is errNotConfigured for the secret named: TikTok needs two secrets and Meta's
// handshake another than its deliveries, so the answer says which one is missing (it said "no
// tiktok webhook secret" to a client that had set "tiktok" but not "tiktok-app-key").
type missingSecret struct{ name, why string }

func (e missingSecret) Error() string        { return errNotConfigured.Error() + ": " + e.name + e.why }
func (e missingSecret) Is(target error) bool { return target == errNotConfigured }

// webhookSecret reads one of a client's webhook secrets. It is never logged.
func (s *Server) webhookSecret(ctx context.Context, client, name string) ([]byte, error) {
	secret, err := s.deps.Store.ClientWebhookSecret(ctx, client, name)
	switch {
	case errors.Is(err, store.ErrNoSecretsKey):
		// Without the key no client's secret can be read: every delivery is refused as
		// unverifiable, and the operator is told why.
		s.deps.Logger.Error("storefront webhook refused: the server has no SECRETS_KEY", "client_id", client, "secret", name)
		return nil, missingSecret{name: name, why: " (no secrets key)"}
	case errors.Is(err, store.ErrNotFound):
		return nil, missingSecret{name: name}
	case errors.Is(err, secrets.ErrDecrypt):
		// Sealed under another key (SECRETS_KEY replaced or mistyped): as unverifiable as no key
		// at all. A 500 here, beside the 401 of a client without the secret or an unknown one,
		// told which clients have the secret set.
		s.deps.Logger.Error("storefront webhook refused: the client's secret cannot be opened with this SECRETS_KEY",
			"client_id", client, "secret", name)
		return nil, missingSecret{name: name, why: " (cannot be opened with this SECRETS_KEY)"}
	}
	return secret, err
}

// knownClient says whether a client exists; a malformed ID is one that does not, without asking
// the store.
func (s *Server) knownClient(ctx context.Context, client string) (bool, error) {
	if store.ValidID("client", client) != nil {
		return false, nil
	}
	if _, err := s.deps.Store.GetClient(ctx, client); errors.Is(err, store.ErrNotFound) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	return true, nil
}

// dummyWebhookSecret stands in for the secret of a client that does not exist or has not set it:
// the delivery is verified against it, and refused, exactly as one with a bad signature. Random
// per process, so no signature can match it.
var dummyWebhookSecret = func() []byte {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("webhook dummy secret: %v", err))
	}
	return b
}()

// webhookSecrets gives a delivery's verification its client's secrets. A client's webhook paths
// are public, and their answers told anyone which client IDs exist: 404 for an unknown client,
// 401 "webhook_not_configured" naming the client's missing secret, 401 "invalid_signature" for a
// known one. Now an unknown client, or a missing secret, gets dummyWebhookSecret and the same
// store lookup and HMAC as any delivery, so the caller sees only a bad signature; unknown and
// missing record which it was, for the log and the metrics.
type webhookSecrets struct {
	s       *Server
	ctx     context.Context
	client  string
	known   bool
	missing error // the first secret not set, a missingSecret
}

func (w *webhookSecrets) get(name string) ([]byte, error) {
	var secret []byte
	var err error
	if w.known || store.ValidID("client", w.client) == nil {
		// Asked for an unknown client too, so it is not answered a round trip sooner.
		secret, err = w.s.webhookSecret(w.ctx, w.client, name)
	}
	switch {
	case !w.known:
		if err != nil && !errors.Is(err, errNotConfigured) {
			return nil, err
		}
		return dummyWebhookSecret, nil
	case errors.Is(err, errNotConfigured):
		if w.missing == nil {
			w.missing = err
		}
		return dummyWebhookSecret, nil
	}
	return secret, err
}

// badSignature is the one answer to a delivery that is not authenticated, whatever the reason.
func badSignature(platform string) error {
	return errorf(http.StatusUnauthorized, "invalid_signature", platform+" signature verification failed")
}

// logClient is a client ID from the URL as the log takes it: an unknown one is anyone's text.
func logClient(client string) string {
	if len(client) > 80 {
		return client[:80] + "…"
	}
	return client
}

// readBody reads the whole body; past the global BodyLimit the limit's own 413 comes back as is.
func readBody(c echo.Context) ([]byte, error) {
	body, err := io.ReadAll(c.Request().Body)
	var he *echo.HTTPError
	if errors.As(err, &he) {
		return nil, he
	}
	if err != nil {
		return nil, errorf(http.StatusBadRequest, "unreadable_body", "could not read the request body")
	}
	return body, nil
}

// otherTopic is the metric label of every topic a platform's deliveries are not handled for.
const otherTopic = "other"

// handledTopics are the topics counted under their own name in paysplit_webhook_events_total.
// The topic comes from an unsigned header (X-Shopify-Topic, X-WC-Webhook-Topic) or from a body
// every client can sign for its own shop: as a label verbatim, each new one would be a new time
// series, without bound.
var handledTopics = map[string]map[string]bool{
	storefront.Shopify:     {storefront.ShopifyOrdersPaid: true, storefront.ShopifyOrdersCreate: true, storefront.ShopifyRefundsCreate: true},
	storefront.WooCommerce: {storefront.WooOrderCreated: true, storefront.WooOrderUpdated: true},
	storefront.TikTok:      {"order_status_change": true},
	storefront.Instagram:   {"page/" + storefront.MetaOrdersField: true, "instagram/" + storefront.MetaOrdersField: true},
}

// topicLabel is the topic as a metric label: its name when handled, otherTopic otherwise.
func topicLabel(platform, topic string) string {
	if handledTopics[platform][topic] {
		return topic
	}
	return otherTopic
}

var deliveryIDPattern = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,128}$`)

// storefrontWebhook handles a shop's order webhook. Bad signature, unknown client or a secret not
// set 401 invalid_signature (one answer: see webhookSecrets), malformed body 400 (only once the
// signature is good), body over the limit 413, unhandled topic 200: none of them stores anything
// or signals a workflow. A delivery is claimed by its ID in the same transaction that stores the
// order, so a duplicate (even one arriving concurrently) does nothing and a failure leaves no
// claim behind for the shop's retry to trip on.
func (s *Server) storefrontWebhook(platform string) echo.HandlerFunc {
	src := storefrontSources[platform]
	return func(c echo.Context) error {
		ctx, req, client := c.Request().Context(), c.Request(), c.Param("client")
		body, err := readBody(c)
		if err != nil {
			s.count(platform, "unknown", "unreadable")
			return err
		}
		// The unsigned ping stores nothing and is answered alike for any client, known or not:
		// answered for known ones only, it would tell which exist.
		if src.ping != nil && src.ping(req, body) {
			s.count(platform, "ping", "ping")
			return c.JSON(http.StatusOK, map[string]string{"status": "ping"})
		}
		known, err := s.knownClient(ctx, client)
		if err != nil {
			return err
		}
		secrets := &webhookSecrets{s: s, ctx: ctx, client: client, known: known}
		verr := src.verify(secrets.get, req, body)
		if err := s.unverified(platform, client, secrets, verr); err != nil {
			return err
		}
		// Authenticated: from here on the answers may differ by client.
		shop := shopCheck{bound: "-"}
		// Only a delivery we act on is checked against the binding: a topic not handled is
		// answered ignored, nothing stored, whatever shop it names (answered wrong_shop, it
		// raised the warning and the metric an operator alerts on for nothing).
		if src.shopHeader != nil && !ignoredTopic(src, client, req) {
			if shop, err = s.checkShop(ctx, platform, client, src.shopHeader(req)); err != nil || shop.wrong {
				return s.wrongShop(c, platform, client, deliveryTopic(platform, req), shop, err)
			}
		}
		if !utf8.Valid(body) {
			// JSON is UTF-8, and no shop sends anything else; decoded, the bad bytes became U+FFFD,
			// and a vendor named with one was stored under a payee ID no spelling registers.
			s.count(platform, "unknown", "invalid")
			return errorf(http.StatusBadRequest, "malformed_payload", "malformed payload: "+platform+": the body is not UTF-8")
		}
		var res storefront.Result
		if src.parseOf != nil {
			var done bool
			if res, shop, done, err = s.parseOfShop(c, src, client, body); done {
				return err
			}
		} else {
			res, err = src.parse(client, req, body)
		}
		if src.shopInBody && !res.Ignored && (err == nil || res.Shop != "") {
			// Before an unreadable push is refused and recorded as the client's (refuseOrder):
			// another shop's is not the client's to record.
			var serr error
			if shop, serr = s.checkShop(ctx, platform, client, res.Shop); serr != nil || shop.wrong {
				return s.wrongShop(c, platform, client, res.Topic, shop, serr)
			}
		}
		if err != nil {
			if len(res.Refused) > 1 {
				// A Meta batch of several changes, none readable: each is kept for an admin.
				return s.refuseEach(c, src, platform, client, res, body)
			}
			if errors.Is(err, storefront.ErrMalformed) {
				// Not the platform's JSON at all: a webhook set up in another format or API
				// version, which whoever set it up can correct. The 400 says so.
				s.count(platform, "unknown", "invalid")
				return errorf(http.StatusBadRequest, "malformed_payload", err.Error())
			}
			// The one change refused names its order (a bound client's Meta batch may hold another
			// Page's changes beside it, so the body's changes do not name one order).
			return s.refuseOrder(c, src, platform, client, storefront.Result{Refused: res.Refused}, body, err)
		}
		if res.Ignored {
			s.count(platform, otherTopic, "ignored")
			return c.JSON(http.StatusOK, map[string]string{"status": "ignored", "topic": res.Topic})
		}
		deliveryID := src.deliveryID(req, body, res)
		if !deliveryIDPattern.MatchString(deliveryID) {
			s.count(platform, topicLabel(platform, res.Topic), "invalid")
			return errorf(http.StatusBadRequest, "missing_delivery_id", "the delivery has no usable delivery ID")
		}
		outcome, waiters, refused, err := s.applyStorefront(ctx, platform, client, deliveryID, res)
		if errors.Is(err, store.ErrInvalid) {
			if all := append(slices.Clip(res.Refused), refused...); len(all) > 1 {
				// Nothing of a batch stored, and several of its orders refused (unreadable, or
				// another platform's): one entry for the delivery would name none of them.
				res.Refused = all
				return s.refuseEach(c, src, platform, client, res, body)
			}
			return s.refuseOrder(c, src, platform, client, res, body, err)
		}
		if err != nil {
			s.count(platform, topicLabel(platform, res.Topic), "failed")
			return err
		}
		if err := s.wakeWaiters(ctx, platform, deliveryID, waiters); err != nil {
			// The order is stored, but a waiting payment did not hear of it: let the shop deliver
			// again (storing is idempotent, the event ID makes the signal so) rather than leave
			// the payment to its next poll.
			s.forgetStorefrontDelivery(ctx, platform, client, deliveryID)
			s.count(platform, topicLabel(platform, res.Topic), "unavailable")
			s.deps.Logger.Error("storefront order stored but waiting payments not signalled", "platform", platform,
				"client_id", client, "delivery_id", deliveryID, "error", err)
			return errorf(http.StatusServiceUnavailable, "temporal_unavailable", "the workflow service is unavailable; retry later")
		}
		res.Refused = append(res.Refused, refused...)
		if err := s.recordRefusals(ctx, platform, client, deliveryID, res); err != nil {
			// The readable orders are stored; the unreadable ones must reach an admin too: let the
			// shop deliver again (storing is idempotent, each refusal recorded once).
			s.forgetStorefrontDelivery(ctx, platform, client, deliveryID)
			s.count(platform, topicLabel(platform, res.Topic), "unavailable")
			s.deps.Logger.Error("storefront orders stored but refused ones not recorded", "platform", platform,
				"client_id", client, "delivery_id", deliveryID, "error", err)
			return errorf(http.StatusServiceUnavailable, "store_unavailable", "the refused orders could not be recorded; retry later")
		}
		s.count(platform, topicLabel(platform, res.Topic), outcome)
		applied := slices.DeleteFunc(orderIDs(res), func(id string) bool {
			return slices.ContainsFunc(refused, func(r storefront.Refusal) bool { return r.OrderID == id })
		})
		s.deps.Logger.Info("storefront webhook", "platform", platform, "client_id", client, "topic", res.Topic,
			"delivery_id", deliveryID, "outcome", outcome, "order_ids", applied, "woken", len(waiters),
			"shop", shop.named, "client_shop", shop.bound)
		return c.JSON(http.StatusOK, map[string]any{"status": outcome, "topic": res.Topic, "order_ids": applied})
	}
}

// ignoredTopic says a delivery's topic, named in a header (Shopify, WooCommerce), is one its
// parser ignores. The parser itself is asked, without the body (an ignored topic's body is never
// read; a handled one's fails to parse, so it is not ignored): a topic a parser comes to handle is
// checked against the binding without a second list here to keep in step.
func ignoredTopic(src storefrontSource, client string, req *http.Request) bool {
	res, err := src.parse(client, req, nil)
	return err == nil && res.Ignored
}

// shopCheck is what checkShop found of a delivery's shop.
type shopCheck struct {
	named string // the shop the delivery names, as it names it (bounded, for the log)
	bound string // the client's shop on the platform: "" not bound, "-" not checked (a topic not acted on)
	wrong bool   // bound, and the delivery names another shop (or none)
}

// parseOfShop parses a delivery whose shop is named per entry of a batch (src.parseOf: Meta's
// entry[].id) for the client's binding. One Meta app signs every Page's deliveries alike, so
// another Page's batch posted to a bound client's URL verified; a batch may hold entries of
// several Pages, so the binding cannot refuse the delivery whole as a header's shop does: the
// client's own Page's changes are read and go on as ever (Meta never sends a batch answered 2xx
// again, so none may be lost for a foreign one beside it), each change of another Page is
// answered for as wrongShop answers a delivery (counted wrong_shop and logged, not stored, not
// audited as the client's), and a batch with nothing of the client's Page is 200 wrong_shop.
// done says the delivery is answered (err is the answer).
func (s *Server) parseOfShop(c echo.Context, src storefrontSource, client string, body []byte) (res storefront.Result, sc shopCheck, done bool, err error) {
	ctx, platform := c.Request().Context(), src.platform
	stored, bound, err := s.boundShop(ctx, platform, client)
	if err != nil {
		return res, sc, true, err
	}
	sc.bound = stored
	res, err = src.parseOf(client, body, bound)
	sc.named = logClient(res.Shop)
	for _, f := range res.Foreign {
		s.foreignChange(platform, client, res.Topic, stored, f)
	}
	if len(res.Foreign) > 0 && err == nil && res.Ignored {
		// Nothing of the client's Page: answered as a delivery from another shop, each of its
		// changes already counted and logged.
		sc.named, sc.wrong = logClient(res.Foreign[0].Shop), true
		return res, sc, true, wrongShopAnswer(c, platform, res.Topic, sc)
	}
	return res, sc, false, err
}

// foreignChange counts and logs one change of a batch from another shop than the client's, as
// wrongShop does a whole delivery: it is not stored, and not audited (its order is not the client's).
func (s *Server) foreignChange(platform, client, topic, bound string, f storefront.ForeignChange) {
	s.countWrongShop("storefront delivery from another shop than the client's: this order of it not stored",
		platform, client, topic, logClient(f.Shop), bound, "order_id", f.OrderID)
}

// countWrongShop counts (outcome wrong_shop) and logs as a warning what came from shop named,
// not the client's shop bound, with the fix an operator makes.
func (s *Server) countWrongShop(msg, platform, client, topic, named, bound string, attrs ...any) {
	label := topicLabel(platform, topic)
	s.count(platform, label, "wrong_shop")
	s.deps.Logger.Warn(msg, append([]any{"platform", platform, "client_id", client, "topic", label, "shop", named, "client_shop", bound},
		append(attrs, "fix", fmt.Sprintf("point the shop's webhook at its own client's URL, or if %s is the client's shop: PUT /api/v1/admin/clients/%s/shops/%s", named, client, platform))...)...)
}

// boundShop is the client's shop on a platform as stored ("" not bound) and in the canonical form
// a delivery's shop is compared in. A binding stored before hosts were compared in their ASCII
// form (an internationalised WooCommerce host bound in Unicode) is put in that form again, so it
// still matches.
func (s *Server) boundShop(ctx context.Context, platform, client string) (stored, canonical string, err error) {
	cs, err := s.deps.Store.ClientShop(ctx, client, platform)
	if errors.Is(err, store.ErrNotFound) {
		return "", "", nil
	}
	if err != nil {
		return "", "", fmt.Errorf("shop of client %s: %w", client, err)
	}
	canonical = cs.Shop
	if b, err := storefront.CanonicalShop(platform, cs.Shop); err == nil {
		canonical = b
	}
	return cs.Shop, canonical, nil
}

// checkShop compares the shop a delivery names with the one its client is bound to (PUT
// /api/v1/admin/clients/{client}/shops/{platform}). One Shopify app signs every shop's webhooks
// with its one client secret, so an agency sets the same secret for several clients, and the
// signature alone let a delivery of one client's shop, sent to another client's URL (a webhook
// pointed at the wrong client, or a captured delivery replayed), be stored as that client's order.
// Called only once the signature verifies, so it tells an unauthenticated caller nothing. A
// client not bound is taken from any shop, as before, and the shop it came from is logged.
func (s *Server) checkShop(ctx context.Context, platform, client, named string) (shopCheck, error) {
	sc := shopCheck{named: logClient(named)}
	stored, bound, err := s.boundShop(ctx, platform, client)
	if err != nil || stored == "" {
		return sc, err
	}
	sc.bound = stored
	got, err := storefront.CanonicalShop(platform, named)
	sc.wrong = err != nil || got != bound
	return sc, nil
}

// wrongShop answers a delivery checkShop refused (err: the binding could not be read, 500 so
// the shop retries). The delivery is signed and the shop would only send it again, to the same
// URL with the same shop: a 4xx gains nothing and each shop punishes it (Shopify retries for 4
// hours and then deletes the subscription, WooCommerce disables the webhook; see refuseOrder), so
// it is answered 200 "wrong_shop", and nothing is stored or claimed. It is counted (outcome
// wrong_shop) and logged as a warning with the shop named and the client's, not audited: its order
// is not the client's, and Shopify's delivery ID is unsigned, so a replayer could write an entry
// per request. The answer does not name the client's own shop.
func (s *Server) wrongShop(c echo.Context, platform, client, topic string, sc shopCheck, err error) error {
	if err != nil {
		return err
	}
	s.countWrongShop("storefront delivery from another shop than the client's: refused, nothing stored",
		platform, client, topic, sc.named, sc.bound)
	return wrongShopAnswer(c, platform, topic, sc)
}

// wrongShopAnswer is the 200 wrong_shop answer, which does not name the client's own shop.
func wrongShopAnswer(c echo.Context, platform, topic string, sc shopCheck) error {
	label := topicLabel(platform, topic)
	named := sc.named
	if named == "" {
		named = "(none)"
	}
	return c.JSON(http.StatusOK, map[string]any{"status": "wrong_shop", "topic": label, "order_ids": []string{},
		"reason": fmt.Sprintf("the delivery is from %s shop %s, not the shop this client is bound to", platform, named)})
}

// refuseOrder answers a signed delivery whose order cannot be read (storefront.ErrInvalidOrder
// from the parser, store.ErrInvalid from storing it: a line without a vendor, amounts that do not
// add up, an unknown currency). The shop sent it, and will only ever send these bytes again: a
// 4xx would not get a better body, only retries, and each shop punishes it. Shopify retries a
// delivery 8 times over 4 hours and then deletes a subscription made through its API (developer
// changelog "Updates to webhook retry mechanism", 2024-09-10), so one odd order (a POS or draft
// order's custom line with no vendor) lost every later order of the client; WooCommerce disables
// a webhook after 5 failures in a row. So it is answered 200 with status "invalid_order" and the
// reason, and kept where an admin sees it: an audit entry per delivery
// (store.RecordRefusedDelivery: platform, order ID, topic, delivery ID, reason; nothing of the
// customer), the invalid outcome of paysplit_webhook_events_total and a warning in the log. If the
// entry cannot be written the delivery is not answered 2xx, so the shop delivers it again.
func (s *Server) refuseOrder(c echo.Context, src storefrontSource, platform, client string, res storefront.Result, body []byte, reason error) error {
	ctx, req := c.Request().Context(), c.Request()
	topic := res.Topic
	if topic == "" {
		topic = deliveryTopic(platform, req)
	}
	label := topicLabel(platform, topic)
	deliveryID := src.deliveryID(req, body, res)
	if !deliveryIDPattern.MatchString(deliveryID) {
		// TikTok's ID is in the body that could not be read: the body's hash is one per delivery.
		sum := sha256.Sum256(body)
		deliveryID = "sha256-" + hex.EncodeToString(sum[:])
	}
	orderID := storefront.RefusedOrderID(platform, topic, body)
	if orderID == "" && len(res.Refused) == 1 {
		// The parser named the one change it refused: of a bound client's Meta batch, whose other
		// changes are another Page's, the body names no one order.
		orderID = res.Refused[0].OrderID
	}
	if ids := orderIDs(res); orderID == "" && len(ids) == 1 {
		orderID = ids[0]
	}
	// The topic is unsigned header text (Shopify, WooCommerce): kept as its label, bounded.
	d := store.RefusedDelivery{Platform: platform, ClientID: client, OrderID: orderID, Topic: label,
		DeliveryID: deliveryID, Reason: reason.Error()}
	if _, err := s.deps.Store.RecordRefusedDelivery(ctx, d); err != nil {
		s.count(platform, label, "unavailable")
		s.deps.Logger.Error("storefront order refused but not recorded", "platform", platform, "client_id", client,
			"delivery_id", deliveryID, "error", err)
		return errorf(http.StatusServiceUnavailable, "store_unavailable", "the refused delivery could not be recorded; retry later")
	}
	s.count(platform, label, "invalid")
	s.deps.Logger.Warn("storefront order refused: it cannot be read; recorded for an admin", "platform", platform,
		"client_id", client, "topic", label, "delivery_id", deliveryID, "order_id", orderID, "reason", d.Reason)
	return c.JSON(http.StatusOK, map[string]any{"status": "invalid_order", "reason": d.Reason, "topic": label, "order_ids": orderIDList(orderID)})
}

// refuseEach answers a delivery refused whole that names several refused orders (res.Refused: a
// Meta batch none of whose changes can be stored) as refuseOrder answers one: 200 invalid_order,
// recorded for an admin, 503 if that cannot be written. Meta never sends a batch answered 2xx
// again, so the entries are all an admin learns of its orders: one per refused order, naming it
// and why, as a batch partly stored records them (recordRefusals). One entry for the whole
// delivery named no order (its changes are of several) and gave only one of the reasons.
func (s *Server) refuseEach(c echo.Context, src storefrontSource, platform, client string, res storefront.Result, body []byte) error {
	ctx, req := c.Request().Context(), c.Request()
	label := topicLabel(platform, res.Topic)
	deliveryID := src.deliveryID(req, body, res)
	if !deliveryIDPattern.MatchString(deliveryID) {
		sum := sha256.Sum256(body)
		deliveryID = "sha256-" + hex.EncodeToString(sum[:])
	}
	if err := s.recordRefusals(ctx, platform, client, deliveryID, res); err != nil {
		s.count(platform, label, "unavailable")
		s.deps.Logger.Error("storefront orders refused but not recorded", "platform", platform, "client_id", client,
			"delivery_id", deliveryID, "error", err)
		return errorf(http.StatusServiceUnavailable, "store_unavailable", "the refused delivery could not be recorded; retry later")
	}
	ids, reasons := []string{}, make([]string, 0, len(res.Refused))
	for _, r := range res.Refused {
		if r.OrderID != "" && !slices.Contains(ids, r.OrderID) {
			ids = append(ids, r.OrderID)
		}
		reasons = append(reasons, r.Reason.Error())
	}
	return c.JSON(http.StatusOK, map[string]any{"status": "invalid_order", "reason": strings.Join(reasons, "; "), "topic": label, "order_ids": ids})
}

// recordRefusals keeps for an admin the orders of a delivery that could not be read while others
// of it were stored (a Meta batch, storefront.Result.Refused): one audit entry per refused order,
// keyed by the delivery and the order's place in it, so a resend records nothing twice.
func (s *Server) recordRefusals(ctx context.Context, platform, client, deliveryID string, res storefront.Result) error {
	label := topicLabel(platform, res.Topic)
	for i, r := range res.Refused {
		d := store.RefusedDelivery{Platform: platform, ClientID: client, OrderID: r.OrderID, Topic: label,
			DeliveryID: fmt.Sprintf("%s:%d", deliveryID, i), Reason: r.Reason.Error()}
		recorded, err := s.deps.Store.RecordRefusedDelivery(ctx, d)
		if err != nil {
			return err
		}
		if recorded {
			s.count(platform, label, "invalid")
			s.deps.Logger.Warn("storefront order refused: it cannot be read; recorded for an admin", "platform", platform,
				"client_id", client, "topic", label, "delivery_id", d.DeliveryID, "order_id", r.OrderID, "reason", d.Reason)
		}
	}
	return nil
}

// deliveryTopic is the topic a platform names in a header (Shopify, WooCommerce), for a delivery
// whose body could not be read; "" for the platforms that name it in the body.
func deliveryTopic(platform string, r *http.Request) string {
	switch platform {
	case storefront.Shopify:
		return r.Header.Get("X-Shopify-Topic")
	case storefront.WooCommerce:
		return r.Header.Get("X-WC-Webhook-Topic")
	}
	return ""
}

// orderIDList is the order ID as the answer's order_ids: empty, not null, without one.
func orderIDList(id string) []string {
	if id == "" {
		return []string{}
	}
	return []string{id}
}

// unverified is the answer to a delivery that is not authenticated (nil if it is): one answer to
// the caller for every reason, each reason its own outcome and log line for the operator. An
// unknown client or a missing secret is refused even if the dummy secret somehow verified.
func (s *Server) unverified(platform, client string, secrets *webhookSecrets, verr error) error {
	switch {
	case verr != nil && !errors.Is(verr, storefront.ErrSignature):
		// The store failed reading a secret: the same for a known client and an unknown one
		// (whose secret is looked up too), so a 500 for both, which the shop retries.
		return verr
	case !secrets.known:
		s.count(platform, "unknown", "unknown_client")
		s.deps.Logger.Warn("storefront webhook for an unknown client: answered as a bad signature", "platform", platform,
			"client_id", logClient(client))
		return badSignature(platform)
	case secrets.missing != nil:
		s.count(platform, "unknown", "not_configured")
		m := missingSecret{name: platform}
		errors.As(secrets.missing, &m)
		s.deps.Logger.Warn("storefront webhook for a client without its secret: answered as a bad signature", "platform", platform,
			"client_id", client, "secret", m.name, "error", secrets.missing,
			"fix", fmt.Sprintf("PUT /api/v1/admin/clients/%s/webhook-secrets/%s", client, m.name))
		return badSignature(platform)
	case errors.Is(verr, storefront.ErrSignature):
		s.count(platform, "unknown", "bad_signature")
		return badSignature(platform)
	}
	return verr
}

func orderIDs(res storefront.Result) []string {
	ids := make([]string, 0, len(res.Orders)+len(res.Updates))
	for _, o := range res.Orders {
		ids = append(ids, o.OrderID)
	}
	for _, u := range res.Updates {
		ids = append(ids, u.OrderID)
	}
	return ids
}

// errNothingApplied rolls back the delivery's claim when it holds no order state at all (every
// status change is applied, stale or kept): nothing is kept of such a delivery.
var errNothingApplied = errors.New("nothing applied")

// stateResult is what one order state of a delivery did.
type stateResult int

const (
	stateSaved   stateResult = iota
	stateStale               // a newer state is stored
	stateKept                // a status change for an order not stored yet, kept for when it arrives
	stateUnknown             // a status change for an order its platform never delivers (TikTok)
)

// applied counts what a delivery's order states did.
type applied struct{ saved, stale, kept int }

func (a *applied) add(r stateResult) {
	switch r {
	case stateSaved:
		a.saved++
	case stateStale:
		a.stale++
	case stateKept:
		a.kept++
	}
}

func savedOrStale(saved bool) stateResult {
	if saved {
		return stateSaved
	}
	return stateStale
}

// outcome is the delivery's answer: "stored" when an order was saved, "updated" when only status
// changes were, "kept" when nothing was saved but a status change was kept for its order, "stale"
// when every state was older than the one stored.
func (a applied) outcome(orders int) (string, error) {
	switch {
	case a.saved > 0 && orders == 0:
		return "updated", nil
	case a.saved > 0:
		return "stored", nil
	case a.kept > 0:
		return "kept", nil
	case a.stale > 0:
		return "stale", nil
	}
	return "", errNothingApplied
}

// applyStorefront claims the delivery and stores what it says, in one transaction. It returns the
// outcome and the payment workflows waiting for the delivery's orders. An order state older than
// the one stored (by the shop's own time) changes nothing; a delivery of nothing but such states
// is "stale", and keeps its claim, as it was handled; the payments waiting for its orders are
// still returned, to be woken: the order they wait for is stored either way, and a shop's retry
// of a delivery whose wake-up failed (503, its claim forgotten) must reach them even when a newer
// state was stored in between (a refund, which wakes nobody). Waking twice is once: the signal's
// event ID is the delivery's. A status change for an order not stored yet is kept (its claim too,
// so a retry is a duplicate) and applied when the order arrives.
func (s *Server) applyStorefront(ctx context.Context, platform, client, deliveryID string, res storefront.Result) (string, []string, []storefront.Refusal, error) {
	outcome := "stored"
	var refused []storefront.Refusal
	// A delivery of several orders (a Meta batch) refuses an order of another platform alone:
	// refusing the whole delivery lost every other order in it. A delivery of nothing else is
	// refused whole (orderConflict is store.ErrInvalid).
	states := len(res.Orders) + len(res.Updates)
	conflict := func(id string, err error) bool {
		var c orderConflict
		if states < 2 || !errors.As(err, &c) {
			return false
		}
		refused = append(refused, storefront.Refusal{OrderID: id, Reason: err})
		return len(refused) < states
	}
	// refuse names the order a state refused for (store.ErrInvalid) besides those refused alone,
	// so a delivery refused whole records each of its refused orders (refuseEach).
	refuse := func(id string, err error) error {
		var c orderConflict
		if errors.Is(err, store.ErrInvalid) && (states < 2 || !errors.As(err, &c)) { // else conflict named it
			refused = append(refused, storefront.Refusal{OrderID: id, Reason: err})
		}
		return err
	}
	err := s.deps.Store.InTx(ctx, func(tx *store.Store) error {
		refused = nil // a retried transaction starts over
		// Delivery IDs are only unique within a shop (WooCommerce's are per store).
		first, err := tx.RecordDelivery(ctx, platform, client+"/"+deliveryID, client)
		if err != nil {
			return err
		}
		if !first {
			outcome = "duplicate"
			return nil
		}
		if err := lockDeliveryOrders(ctx, tx, client, res); err != nil {
			return err
		}
		var a applied
		for _, o := range res.Orders {
			ok, err := s.saveStorefrontOrder(ctx, tx, o)
			if conflict(o.OrderID, err) {
				continue
			}
			if err != nil {
				return refuse(o.OrderID, err)
			}
			a.add(savedOrStale(ok))
		}
		for _, u := range res.Updates {
			r, err := s.updateStorefrontOrder(ctx, tx, platform, client, u)
			if conflict(u.OrderID, err) {
				continue
			}
			if err != nil {
				return refuse(u.OrderID, err)
			}
			a.add(r)
		}
		outcome, err = a.outcome(len(res.Orders))
		return err
	})
	switch {
	case errors.Is(err, errNothingApplied):
		return "unknown_order", nil, refused, nil
	case errors.Is(err, store.ErrInvalid):
		return "", nil, refused, err
	case err != nil:
		return "", nil, nil, err
	}
	if outcome == "duplicate" {
		// The delivery was stored before, and may have died before its refused orders were
		// recorded (recordRefusals runs after the commit): the store, not run again, named the
		// other platform's orders, so they are named again here, in the same places, and
		// recorded under the same keys (each once).
		refused, err := otherPlatformsOrders(ctx, s.deps.Store, platform, client, res)
		return outcome, nil, refused, err
	}
	// The waiters are read once the orders are committed: a payment's Enrich that found no order
	// records itself as waiting and then looks again, so a waiter this read misses finds the
	// order. Read in the transaction, both could miss each other (the payment recorded between
	// this read and the commit) and the payment waited for its next poll with its order stored.
	var waiters []string
	for _, o := range res.Orders {
		if slices.ContainsFunc(refused, func(r storefront.Refusal) bool { return r.OrderID == o.OrderID }) {
			continue // another platform's order: neither its waiters nor its payments are this delivery's
		}
		ws, err := s.deps.Store.OrderWaiters(ctx, o.ClientID, o.OrderID)
		if err != nil {
			// Stored, but whom to wake is unknown: let the shop deliver again, as when a wake fails.
			s.forgetStorefrontDelivery(ctx, platform, client, deliveryID)
			return "", nil, nil, fmt.Errorf("payments waiting for order %s: %w", o.OrderID, err)
		}
		waiters = append(waiters, ws...)
		if err := s.flagSplitsOnOtherVendors(ctx, platform, o.ClientID, o.OrderID); err != nil {
			// Stored, but a payment split on other vendors may be unflagged: let the shop deliver
			// again (the flag is written once per disagreement).
			s.forgetStorefrontDelivery(ctx, platform, client, deliveryID)
			return "", nil, nil, err
		}
	}
	return outcome, waiters, refused, nil
}

// otherPlatformsOrders names the states of a delivery of several (a Meta batch) whose order is
// stored from another platform, in the order applyStorefront refuses them alone (orders, then
// status changes). It reads only: for a duplicate, whose store is not run again.
func otherPlatformsOrders(ctx context.Context, st *store.Store, platform, client string, res storefront.Result) ([]storefront.Refusal, error) {
	ids := orderIDs(res)
	if len(ids) < 2 {
		return nil, nil // a delivery of one state is refused whole, its claim not kept
	}
	var refused []storefront.Refusal
	for _, id := range ids {
		if _, _, err := storedOrder(ctx, st, client, id, platform); errors.As(err, new(orderConflict)) {
			refused = append(refused, storefront.Refusal{OrderID: id, Reason: err})
		} else if err != nil {
			return nil, fmt.Errorf("order %s of a duplicate delivery: %w", id, err)
		}
	}
	return refused, nil
}

// forgetStorefrontDelivery drops a delivery's claim, so the shop's retry is handled again: for
// a delivery stored whose follow-up (waking its payments, reading them) failed.
func (s *Server) forgetStorefrontDelivery(ctx context.Context, platform, client, deliveryID string) {
	if err := s.deps.Store.ForgetDelivery(context.WithoutCancel(ctx), platform, client+"/"+deliveryID); err != nil {
		s.deps.Logger.Error("forget storefront delivery", "platform", platform, "client_id", client, "error", err)
	}
}

// flagSplitsOnOtherVendors makes visible the payments of an order already split on other vendors
// than the order, as the shop stored it, sells from: a payment whose metadata carried a
// one-vendor order before the shop delivered an order of several (or of another vendor). The
// shop's order says who sold what, but what was paid stays paid: nothing is sent or taken back
// here; an admin decides. Each such payment gets an audit entry (store.FlagSplitOnOtherVendors,
// once per disagreement) and an error in the log. Called once the order is committed: a payment
// split meanwhile and saved after this read checks the order itself when it is saved
// (activities' SavePayment). A payment not split yet reads the shop's order when it is (Enrich).
func (s *Server) flagSplitsOnOtherVendors(ctx context.Context, platform, client, orderID string) error {
	shop, err := s.deps.Store.GetOrder(ctx, client, orderID)
	if err != nil {
		return fmt.Errorf("order %s just stored: %w", orderID, err)
	}
	recs, err := s.deps.Store.ListPayments(ctx, store.PaymentFilter{ClientID: client, OrderID: orderID, Limit: store.MaxPageSize})
	if err != nil {
		return fmt.Errorf("payments of order %s: %w", orderID, err)
	}
	for _, r := range recs {
		flagged, err := s.deps.Store.FlagSplitOnOtherVendors(ctx, "storefront:"+platform, r, shop)
		if err != nil {
			return err
		}
		if flagged {
			s.deps.Logger.Error("payment split on other vendors than the shop's order sells from: an admin must decide",
				"workflow_id", r.WorkflowID, "client_id", client, "order_id", orderID)
		}
	}
	return nil
}

// lockDeliveryOrders takes the per-order lock (store.LockOrderKey) of every order a delivery
// names, in one order (sorted by ID), before any is looked at. A Meta delivery may name several
// orders: taken as each came, two deliveries naming the same two in opposite orders each held one
// and waited for the other, and Postgres failed one of them (500, deadlock detected). The locks
// saveStorefrontOrder and updateStorefrontOrder look at an order only under it.
func lockDeliveryOrders(ctx context.Context, tx *store.Store, client string, res storefront.Result) error {
	ids := make([]string, 0, len(res.Orders)+len(res.Updates))
	for _, o := range res.Orders {
		ids = append(ids, o.OrderID) // o.ClientID is the delivery's client
	}
	for _, u := range res.Updates {
		ids = append(ids, u.OrderID)
	}
	slices.Sort(ids)
	for _, id := range slices.Compact(ids) {
		if err := tx.LockOrderKey(ctx, client, id); err != nil {
			return err
		}
	}
	return nil
}

// saveStorefrontOrder stores one order, unless both its stored status and its stored amounts are
// newer (saved is false), then applies the status changes kept for it (they arrived before it),
// each as if delivered now: by the shop's times, or the rank when one is unknown (takesState).
// The caller holds the order's lock (lockDeliveryOrders).
func (s *Server) saveStorefrontOrder(ctx context.Context, tx *store.Store, o storefront.Order) (saved bool, err error) {
	if _, _, err := storedOrder(ctx, tx, o.ClientID, o.OrderID, o.Platform); err != nil {
		return false, err
	}
	if o.AffiliateID == "" {
		aff, err := referralAffiliate(ctx, tx, o.ClientID, o.ReferralCodes)
		if err != nil {
			return false, err
		}
		o.AffiliateID = aff
	}
	if saved, err = tx.SaveOrderIfNewer(ctx, o.Order, o.Status, o.ShopTime); err != nil {
		return false, err
	}
	kept, err := tx.TakeEarlyStatuses(ctx, o.ClientID, o.OrderID, o.Platform)
	if err != nil || len(kept) == 0 {
		return saved, err
	}
	stored, err := tx.GetOrder(ctx, o.ClientID, o.OrderID)
	if err != nil {
		return false, err
	}
	for _, k := range kept {
		u := storefront.StatusUpdate{OrderID: k.OrderID, Status: k.Status, Refunded: k.Refunded,
			Currency: money.Currency(k.Currency), ShopTime: k.ShopTime}
		ok, err := tx.UpdateOrderStatusIfNewer(ctx, o.ClientID, o.OrderID, statusOf(stored, u), u.ShopTime)
		if err != nil {
			return false, err
		}
		saved = saved || ok
	}
	return saved, nil
}

// orderConflict is an order ID stored from another platform of the client. It is for good: the
// shop can only send the same bytes again, so it is refused as an unreadable order is (it is
// store.ErrInvalid: 200 invalid_order, kept for an admin), not answered 409, which each shop
// retries and then punishes (Shopify deletes the subscription, WooCommerce disables the webhook).
type orderConflict struct{ orderID, stored string }

func (e orderConflict) Error() string {
	return fmt.Sprintf("order %s is already stored from %s; order IDs must be unique per client", e.orderID, e.stored)
}
func (e orderConflict) Is(target error) bool { return target == store.ErrInvalid }

// storedOrder reads an order stored earlier (found is false for a new one). It refuses to let one
// platform's order be overwritten by another's with the same ID (a client selling on two shops
// whose order numbers collide): its payments would be split on the wrong order.
func storedOrder(ctx context.Context, tx *store.Store, client, orderID, platform string) (o ipayment.Order, found bool, err error) {
	o, err = tx.GetOrder(ctx, client, orderID)
	if errors.Is(err, store.ErrNotFound) {
		return ipayment.Order{}, false, nil
	}
	if err != nil {
		return ipayment.Order{}, false, err
	}
	if o.Platform != platform {
		return ipayment.Order{}, false, orderConflict{orderID: orderID, stored: o.Platform}
	}
	return o, true, nil
}

// referralAffiliate is the first discount code that is a registered affiliate of the client, as
// registered: a code's ID is lower case, an admin may have registered it with capitals
// (store.RegisteredPayeeID).
func referralAffiliate(ctx context.Context, tx *store.Store, client string, codes []string) (string, error) {
	for _, code := range codes {
		id, err := tx.RegisteredPayeeID(ctx, client, code)
		if err != nil {
			return "", err
		}
		p, err := tx.GetPayee(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return "", err
		}
		if p.ClientID == client && p.Kind == store.KindAffiliate {
			return p.ID, nil
		}
	}
	return "", nil
}

// updateStorefrontOrder changes the status of a stored order: stale when the stored status is
// newer than the update (or, at the same or an unknown time, further on: store.OrderStateRank).
// A change for an order not stored yet is kept for when it is (saveStorefrontOrder).
// The caller holds the order's lock (lockDeliveryOrders), taken before the look: an order stored
// at the same time either is seen here or, once this transaction commits, takes what it keeps.
func (s *Server) updateStorefrontOrder(ctx context.Context, tx *store.Store, platform, client string, u storefront.StatusUpdate) (stateResult, error) {
	o, found, err := storedOrder(ctx, tx, client, u.OrderID, platform)
	if err != nil {
		return stateStale, err
	}
	if !found && !storefront.DeliversOrders(platform) {
		return stateUnknown, nil // answered unknown_order, as nothing would ever apply it
	}
	if !found {
		return stateKept, tx.KeepEarlyStatus(ctx, store.EarlyStatus{ClientID: client, OrderID: u.OrderID, Platform: platform,
			Status: u.Status, Refunded: u.Refunded, Currency: string(u.Currency), ShopTime: u.ShopTime})
	}
	// The status only: the stored amounts keep the time of the body they come from.
	saved, err := tx.UpdateOrderStatusIfNewer(ctx, client, u.OrderID, statusOf(o, u), u.ShopTime)
	return savedOrStale(saved), err
}

// statusOf is the status a change gives the stored order o: a refund of all of it in its currency
// (Shopify's refunds/create, which names only what it gave back) refunds it, not partially.
func statusOf(o ipayment.Order, u storefront.StatusUpdate) string {
	if total, ok := o.Total(); ok && u.Refunded > 0 && u.Currency == o.Currency && u.Refunded >= total {
		return "refunded"
	}
	return u.Status
}

// wakeWaiters tells every payment waiting for the order that it has arrived. A workflow that has
// closed since it started waiting is not an error.
func (s *Server) wakeWaiters(ctx context.Context, platform, deliveryID string, waiters []string) error {
	if len(waiters) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	ev := payment.Event{ID: "order-" + platform + "-" + deliveryID, Kind: payment.EventOrderReady}
	for _, id := range waiters {
		err := s.deps.Temporal.SignalWorkflow(ctx, id, "", payment.SignalEvent, ev)
		var nf *serviceerror.NotFound
		if errors.As(err, &nf) {
			continue
		}
		if err != nil {
			return fmt.Errorf("signal %s: %w", id, err)
		}
	}
	return nil
}

// instagramHandshake answers Meta's subscription check (GET with hub.mode, hub.verify_token and
// hub.challenge) with the challenge, as plain text, when the verify token is the client's. An
// unknown client, or one without a verify token, is checked against dummyWebhookSecret and
// answered as a wrong token (see webhookSecrets); a request that is not a handshake is a 400 only
// with the right token.
func (s *Server) instagramHandshake(c echo.Context) error {
	ctx, client := c.Request().Context(), c.Param("client")
	known, err := s.knownClient(ctx, client)
	if err != nil {
		return err
	}
	secrets := &webhookSecrets{s: s, ctx: ctx, client: client, known: known}
	token, err := secrets.get(storefront.SecretInstagramVerifyToken)
	if err != nil {
		return err
	}
	challenge, err := storefront.InstagramChallenge(c.QueryParams(), token)
	wrongToken := errorf(http.StatusForbidden, "invalid_verify_token", "hub.verify_token does not match")
	switch {
	case !known:
		s.count(storefront.Instagram, "handshake", "unknown_client")
		s.deps.Logger.Warn("instagram handshake for an unknown client: answered as a wrong verify token", "client_id", logClient(client))
		return wrongToken
	case secrets.missing != nil:
		s.count(storefront.Instagram, "handshake", "not_configured")
		s.deps.Logger.Warn("instagram handshake for a client without its verify token: answered as a wrong verify token",
			"client_id", client, "secret", storefront.SecretInstagramVerifyToken, "error", secrets.missing,
			"fix", fmt.Sprintf("PUT /api/v1/admin/clients/%s/webhook-secrets/%s", client, storefront.SecretInstagramVerifyToken))
		return wrongToken
	case errors.Is(err, storefront.ErrSignature):
		s.count(storefront.Instagram, "handshake", "bad_signature")
		return wrongToken
	case err != nil:
		return errorf(http.StatusBadRequest, "invalid_handshake", err.Error())
	}
	s.count(storefront.Instagram, "handshake", "accepted")
	return c.String(http.StatusOK, challenge)
}
