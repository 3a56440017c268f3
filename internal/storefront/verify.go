package storefront

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

func mac(secret []byte, parts ...[]byte) []byte {
	m := hmac.New(sha256.New, secret)
	for _, p := range parts {
		m.Write(p)
	}
	return m.Sum(nil)
}

// checkMAC compares in constant time; an empty secret never verifies anything.
func checkMAC(got, secret []byte, parts ...[]byte) error {
	if len(secret) == 0 || len(got) == 0 || !hmac.Equal(got, mac(secret, parts...)) {
		return ErrSignature
	}
	return nil
}

func decodeBase64(header string) []byte {
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(header))
	if err != nil {
		return nil
	}
	return b
}

func decodeHex(header string) []byte {
	b, err := hex.DecodeString(strings.ToLower(strings.TrimSpace(header)))
	if err != nil {
		return nil
	}
	return b
}

// VerifyShopify checks X-Shopify-Hmac-Sha256: the base64 HMAC-SHA256 of the raw body under the
// app's client secret (or the shop's webhook signing secret for webhooks made in the admin).
func VerifyShopify(body []byte, header string, secret []byte) error {
	return checkMAC(decodeBase64(header), secret, body)
}

// VerifyWooCommerce checks X-WC-Webhook-Signature: the base64 HMAC-SHA256 of the raw body under
// the secret entered on the webhook in WooCommerce → Settings → Advanced → Webhooks.
func VerifyWooCommerce(body []byte, header string, secret []byte) error {
	return checkMAC(decodeBase64(header), secret, body)
}

// VerifyTikTok checks TikTok Shop's push signature: the Authorization header holds the lower-case
// hex HMAC-SHA256, keyed by the app secret, of the app key followed by the raw body. There is no
// timestamp in it, so replays are stopped by deduplicating tts_notification_id.
func VerifyTikTok(body []byte, header string, appKey, appSecret []byte) error {
	if len(appKey) == 0 {
		return ErrSignature
	}
	return checkMAC(decodeHex(header), appSecret, appKey, body)
}

// VerifyInstagram checks Meta's X-Hub-Signature-256: "sha256=" and the hex HMAC-SHA256 of the raw
// body under the app secret.
func VerifyInstagram(body []byte, header string, appSecret []byte) error {
	hexSig, ok := strings.CutPrefix(strings.TrimSpace(header), "sha256=")
	if !ok {
		return ErrSignature
	}
	return checkMAC(decodeHex(hexSig), appSecret, body)
}

// challengePattern bounds what the handshake echoes back: Meta sends a number, and echoing
// arbitrary text from a query string is how reflected content gets in.
var challengePattern = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,256}$`)

// InstagramChallenge answers Meta's subscription handshake (GET ?hub.mode=subscribe&
// hub.verify_token=…&hub.challenge=…): the challenge when the token is the one configured,
// ErrSignature when it is not, ErrMalformed when the request is not a handshake. The token is
// checked first: what is wrong with a request is told only to whoever holds the token (the
// webhook path is public, and a 400 beside a 403 told a known client from an unknown one).
func InstagramChallenge(q url.Values, verifyToken []byte) (string, error) {
	token := []byte(q.Get("hub.verify_token"))
	if len(verifyToken) == 0 || subtle.ConstantTimeCompare(token, verifyToken) != 1 {
		return "", ErrSignature
	}
	if q.Get("hub.mode") != "subscribe" {
		return "", fmt.Errorf("%w: hub.mode must be subscribe", ErrMalformed)
	}
	challenge := q.Get("hub.challenge")
	if !challengePattern.MatchString(challenge) {
		return "", fmt.Errorf("%w: hub.challenge must be 1-256 letters or digits", ErrMalformed)
	}
	return challenge, nil
}

var wooPingPattern = regexp.MustCompile(`^webhook_id=[0-9]{1,20}$`)

// IsWooCommercePing tells the request WooCommerce sends when a webhook is created or activated: a
// form-encoded "webhook_id=<n>" body and no signature. It is answered 200 and nothing else.
func IsWooCommercePing(body []byte, signature string) bool {
	return signature == "" && wooPingPattern.Match(bytes.TrimSpace(body))
}
