package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	ipayment "paysplit/internal/payment"
	"paysplit/internal/store"
	"paysplit/internal/storefront"
)

// audited runs an admin change and its audit entry in one transaction: fn makes the change with
// tx and returns the target's state before and after. Changes to one target are serialised so
// "before" is exactly what was replaced.
func (s *Server) audited(c echo.Context, action, target string, fn func(ctx context.Context, tx *store.Store) (before, after any, err error)) error {
	return s.auditedAs(c, actor(c), action, target, fn)
}

// auditedAs is audited for a change another party than the request's credential made: Stripe's
// event, say ("stripe:account.updated").
func (s *Server) auditedAs(c echo.Context, who, action, target string, fn func(ctx context.Context, tx *store.Store) (before, after any, err error)) error {
	ctx := c.Request().Context()
	return s.deps.Store.InTx(ctx, func(tx *store.Store) error {
		if err := tx.LockTarget(ctx, target); err != nil {
			return err
		}
		before, after, err := fn(ctx, tx)
		if err != nil {
			return err
		}
		return tx.Audit(ctx, who, action, target, requestID(c), before, after)
	})
}

// existing turns "not found" into a nil "before" for create-or-update changes.
func existing[T any](v T, err error) (any, error) {
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return v, nil
}

func requestID(c echo.Context) string { return c.Response().Header().Get(echo.HeaderXRequestID) }

// instantRange reads ?from=&to= for admin searches: RFC 3339 times (parseQueryTime: an offset's
// '+' sent unescaped too), or dates (a "to" date includes that whole UTC day). Both are optional.
func instantRange(c echo.Context) (from, to time.Time, err error) {
	// Each parameter is read by its literal name (not parse's argument): the test that every
	// operation lists exactly what its handler reads finds reads by name in the source.
	parse := func(name, v string, endOfDay bool) (time.Time, error) {
		if v == "" {
			return time.Time{}, nil
		}
		t, err := time.Parse(time.DateOnly, v)
		if err != nil {
			if t, err := parseQueryTime(name, v); err == nil {
				return t, nil
			}
			return time.Time{}, errorf(http.StatusBadRequest, "invalid_request", name+" must be a date like 2026-01-31 or "+timeHint)
		}
		if endOfDay {
			t = t.AddDate(0, 0, 1)
		}
		return t, nil
	}
	if from, err = parse("from", c.QueryParam("from"), false); err != nil {
		return
	}
	if to, err = parse("to", c.QueryParam("to"), true); err != nil {
		return
	}
	if !from.IsZero() && !to.IsZero() && !from.Before(to) {
		return from, to, errorf(http.StatusBadRequest, "invalid_request", "from must be before to")
	}
	return from, to, nil
}

// --- API keys -------------------------------------------------------------------------------------

func (s *Server) createAPIKey(c echo.Context) error {
	var body struct {
		Role     string `json:"role"`
		ClientID string `json:"client_id"`
		Name     string `json:"name"`
	}
	if err := bind(c, &body); err != nil {
		return err
	}
	var k store.APIKey
	var secret string
	err := s.audited(c, "api_key.create", "api_keys", func(ctx context.Context, tx *store.Store) (before, after any, err error) {
		k, secret, err = tx.CreateAPIKey(ctx, body.Role, body.ClientID, body.Name, actor(c))
		return nil, k, err
	})
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusCreated, map[string]any{"api_key": k, "key": secret})
}

// clientFilter reads an admin listing's ?client_id=: a client that does not exist is 404, as it is
// for the client API and every admin endpoint with the client in its path. A typo listed nothing,
// as if the client had no payments, payees or keys.
func (s *Server) clientFilter(c echo.Context) (string, error) {
	id := c.QueryParam("client_id")
	if id == "" {
		return "", nil
	}
	if _, err := s.deps.Store.GetClient(c.Request().Context(), id); err != nil {
		return "", err
	}
	return id, nil
}

func (s *Server) listAPIKeys(c echo.Context) error {
	clientID, err := s.clientFilter(c)
	if err != nil {
		return err
	}
	keys, err := s.deps.Store.ListAPIKeys(c.Request().Context(), clientID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"api_keys": nonNil(keys)})
}

func (s *Server) revokeAPIKey(c echo.Context) error {
	id := c.Param("key_id")
	var k store.APIKey
	err := s.audited(c, "api_key.revoke", "api_key:"+id, func(ctx context.Context, tx *store.Store) (before, after any, err error) {
		if before, err = tx.GetAPIKey(ctx, id); err != nil {
			return nil, nil, err
		}
		k, err = tx.RevokeAPIKey(ctx, id)
		return before, k, err
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, k)
}

// --- client configuration -------------------------------------------------------------------------

func (s *Server) getSettings(c echo.Context) error {
	st, err := s.deps.Store.GetSettings(c.Request().Context(), c.Param("client_id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, st)
}

func (s *Server) putSettings(c echo.Context) error {
	var body struct {
		DefaultPeriod string `json:"default_period"`
		AccentColor   string `json:"accent_color"`
	}
	if err := bind(c, &body); err != nil {
		return err
	}
	id := c.Param("client_id")
	var st store.Settings
	err := s.audited(c, "settings.update", "client:"+id, func(ctx context.Context, tx *store.Store) (before, after any, err error) {
		if before, err = tx.GetSettings(ctx, id); err != nil {
			return nil, nil, err
		}
		st, err = tx.PutSettings(ctx, store.Settings{ClientID: id, DefaultPeriod: body.DefaultPeriod, AccentColor: body.AccentColor})
		return before, st, err
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, st)
}

// webhookSecretNames are the secrets the storefront webhooks verify with (storefront_webhooks.go).
var webhookSecretNames = []string{
	storefront.SecretShopify, storefront.SecretWooCommerce, storefront.SecretTikTokAppSecret, storefront.SecretTikTokAppKey,
	storefront.SecretInstagramAppSecret, storefront.SecretInstagramVerifyToken,
}

// putWebhookSecret stores a storefront's signing secret for a client. It is write-only: no
// endpoint returns it, and the audit log records only that it changed.
func (s *Server) putWebhookSecret(c echo.Context) error {
	var body struct {
		Secret string `json:"secret"`
	}
	if err := bind(c, &body); err != nil {
		return err
	}
	id, provider := c.Param("client_id"), c.Param("provider")
	if !slices.Contains(webhookSecretNames, provider) {
		// Only these are ever read: a secret under another name (a typo, "shopfy") was stored,
		// audited and answered 201, and the shop's deliveries went on failing as not configured.
		return errorf(http.StatusBadRequest, "invalid_request", fmt.Sprintf("provider %q must be one of %s", provider, strings.Join(webhookSecretNames, ", ")))
	}
	if strings.ContainsRune(body.Secret, utf8.RuneError) {
		// What JSON decoding makes of an unpaired surrogate ("\ud800") or bytes that are not
		// UTF-8: the secret stored would not be the one sent, and no delivery would verify.
		return errorf(http.StatusBadRequest, "invalid_request", "secret must be sent as it is: it decodes with U+FFFD (an unpaired surrogate or bytes that are not UTF-8)")
	}
	var info store.WebhookSecretInfo
	var created bool
	err := s.audited(c, "webhook_secret.set", "webhook_secret:"+id+"/"+provider, func(ctx context.Context, tx *store.Store) (before, after any, err error) {
		if _, err := tx.GetClient(ctx, id); err != nil {
			return nil, nil, err
		}
		info, created, err = tx.SetClientWebhookSecret(ctx, id, provider, []byte(body.Secret), actor(c))
		if err != nil {
			return nil, nil, err
		}
		if !created {
			before = map[string]any{"provider": provider, "set": true}
		}
		return before, map[string]any{"provider": provider, "set": true}, nil
	})
	if errors.Is(err, store.ErrNoSecretsKey) {
		return errorf(http.StatusServiceUnavailable, "secrets_unavailable", "the server has no SECRETS_KEY configured")
	}
	if err != nil {
		return err
	}
	return c.JSON(createdOrOK(created), info)
}

func (s *Server) listWebhookSecrets(c echo.Context) error {
	ctx := c.Request().Context()
	if _, err := s.deps.Store.GetClient(ctx, c.Param("client_id")); err != nil {
		return err
	}
	infos, err := s.deps.Store.ListClientWebhookSecrets(ctx, c.Param("client_id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"webhook_secrets": nonNil(infos)})
}

func (s *Server) deleteWebhookSecret(c echo.Context) error {
	id, provider := c.Param("client_id"), c.Param("provider")
	err := s.audited(c, "webhook_secret.delete", "webhook_secret:"+id+"/"+provider, func(ctx context.Context, tx *store.Store) (before, after any, err error) {
		if _, err := tx.DeleteClientWebhookSecret(ctx, id, provider); err != nil {
			return nil, nil, err
		}
		return map[string]any{"provider": provider, "set": true}, nil, nil
	})
	if errors.Is(err, store.ErrNotFound) && !slices.Contains(webhookSecretNames, provider) {
		// A name no storefront webhook reads (a typo) is bad input, as the PUT answers it, not a
		// secret merely unset (404). Looked up rather than refused first: a release before the
		// PUT's check (2026-11-27) stored secrets under such names, and an admin may still remove them.
		return errorf(http.StatusBadRequest, "invalid_request", fmt.Sprintf("provider %q must be one of %s", provider, strings.Join(webhookSecretNames, ", ")))
	}
	if err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// putClientShop binds a client to its shop on a platform: its webhooks of that platform are then
// taken only from that shop (storefrontWebhook's checkShop). The shop is stored in the form the
// platform's deliveries name it, and a value no delivery could name is refused here rather than
// refusing every delivery later.
func (s *Server) putClientShop(c echo.Context) error {
	var body struct {
		Shop string `json:"shop"`
	}
	if err := bind(c, &body); err != nil {
		return err
	}
	id, platform := c.Param("client_id"), c.Param("platform")
	shop, err := storefront.CanonicalShop(platform, body.Shop)
	if err != nil {
		return errorf(http.StatusBadRequest, "invalid_request", err.Error())
	}
	var out store.ClientShop
	var created bool
	err = s.audited(c, "client_shop.set", "client_shop:"+id+"/"+platform, func(ctx context.Context, tx *store.Store) (before, after any, err error) {
		if _, err := tx.GetClient(ctx, id); err != nil {
			return nil, nil, err
		}
		var old *store.ClientShop
		out, old, err = tx.SetClientShop(ctx, store.ClientShop{ClientID: id, Platform: platform, Shop: shop, UpdatedBy: actor(c)})
		if errors.Is(err, store.ErrShopTaken) {
			return nil, nil, errorf(http.StatusConflict, "shop_taken", err.Error())
		}
		if err != nil {
			return nil, nil, err
		}
		created = old == nil
		if old != nil {
			before = map[string]any{"platform": platform, "shop": old.Shop}
		}
		return before, map[string]any{"platform": platform, "shop": shop}, nil
	})
	if err != nil {
		return err
	}
	return c.JSON(createdOrOK(created), out)
}

func (s *Server) listClientShops(c echo.Context) error {
	ctx := c.Request().Context()
	if _, err := s.deps.Store.GetClient(ctx, c.Param("client_id")); err != nil {
		return err
	}
	shops, err := s.deps.Store.ListClientShops(ctx, c.Param("client_id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"shops": nonNil(shops)})
}

// deleteClientShop unbinds a client from its shop. A platform that cannot be bound is 400 with
// the reason PUT gives (a malformed path value is 400 elsewhere too, DELETE /monitors/{id}), not
// 404 as if it merely were not bound.
func (s *Server) deleteClientShop(c echo.Context) error {
	id, platform := c.Param("client_id"), c.Param("platform")
	if !slices.Contains(storefront.BindablePlatforms, platform) {
		return errorf(http.StatusBadRequest, "invalid_request", fmt.Sprintf("platform %q must be one of %s", platform, strings.Join(storefront.BindablePlatforms, ", ")))
	}
	err := s.audited(c, "client_shop.delete", "client_shop:"+id+"/"+platform, func(ctx context.Context, tx *store.Store) (before, after any, err error) {
		old, err := tx.DeleteClientShop(ctx, id, platform)
		if err != nil {
			return nil, nil, err
		}
		return map[string]any{"platform": platform, "shop": old.Shop}, nil, nil
	})
	if err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// --- listings -------------------------------------------------------------------------------------

func (s *Server) listPayees(c echo.Context) error {
	kind := c.QueryParam("kind")
	if kind != "" && kind != store.KindVendor && kind != store.KindAffiliate {
		return errorf(http.StatusBadRequest, "invalid_request", "kind must be vendor or affiliate")
	}
	clientID, err := s.clientFilter(c)
	if err != nil {
		return err
	}
	payees, err := s.deps.Store.ListPayees(c.Request().Context(), store.PayeeFilter{ClientID: clientID, Kind: kind})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"payees": nonNil(payees)})
}

// attentionStatuses are the payments an admin has to act on.
var attentionStatuses = []string{string(ipayment.StatusPayoutFailed), string(ipayment.StatusHeld), string(ipayment.StatusNeedsAttention)}

// listStuckPayouts lists payments whose payout failed, is held or needs attention.
func (s *Server) listStuckPayouts(c echo.Context) error {
	statuses := attentionStatuses
	if st := c.QueryParam("status"); st != "" {
		if !slices.Contains(attentionStatuses, st) {
			return errorf(http.StatusBadRequest, "invalid_request", "status must be payout_failed, held or needs_attention")
		}
		statuses = []string{st}
	}
	// Newest first, so without a page after the limit the oldest stuck payments, those waiting
	// longest, were the ones never shown.
	clientID, err := s.clientFilter(c)
	if err != nil {
		return err
	}
	return s.paymentsPage(c, store.PaymentFilter{ClientID: clientID, Statuses: statuses})
}

type auditCursor struct {
	ID int64 `json:"id"`
}

// complete: IDs start at 1, and 0 is the store's "no cursor".
func (c auditCursor) complete() bool { return c.ID > 0 }

func (s *Server) listAudit(c echo.Context) error {
	from, to, err := instantRange(c)
	if err != nil {
		return err
	}
	limit, err := limitParam(c)
	if err != nil {
		return err
	}
	var cur auditCursor
	if _, err := decodeCursor(c, &cur); err != nil {
		return err
	}
	q := c.QueryParams()
	entries, err := s.deps.Store.ListAudit(c.Request().Context(), store.AuditFilter{
		Actor: q.Get("actor"), Action: q.Get("action"), Target: q.Get("target"), From: from, To: to,
		BeforeID: cur.ID, Limit: limit + 1,
	})
	if err != nil {
		return err
	}
	entries, next := pageOf(entries, limit, func(last store.AuditEntry) any { return auditCursor{ID: last.ID} })
	return c.JSON(http.StatusOK, map[string]any{"entries": nonNil(entries), "next_cursor": next})
}
