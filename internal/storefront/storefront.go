// Package storefront turns the order webhooks of the shops our clients sell on (Shopify,
// WooCommerce, TikTok Shop, Instagram/Meta) into normalized orders: it verifies each platform's
// signature and reads each platform's wire format into a payment.Order that holds only what splits
// and reports need. Customer data (names, emails, addresses, phones, card details) is never decoded
// in the first place: every parser reads into structs that have no field for it.
//
// The package is pure: no database, no Temporal. The API looks the secrets up, calls Verify* and
// Parse*, and stores the result.
package storefront

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"paysplit/internal/money"
	"paysplit/internal/payment"
)

// Platforms, as stored on orders and named in payment metadata.
const (
	Shopify     = "shopify"
	WooCommerce = "woocommerce"
	TikTok      = "tiktok"
	Instagram   = "instagram"
)

// DeliversOrders says whether the platform's webhooks deliver whole orders (stored, and joined
// to their payments) or only their status changes: TikTok Shop's pushes carry no order, so a
// TikTok order is never stored and a status change kept for it would wait for nothing.
func DeliversOrders(platform string) bool {
	return platform == Shopify || platform == WooCommerce || platform == Instagram
}

// Names of the per-client secrets (store.SetClientWebhookSecret's provider argument). TikTok Shop
// signs with the app key and the app secret, Meta needs the verify token of the subscription
// handshake besides the app secret, so those two platforms have two entries each.
const (
	SecretShopify              = "shopify"
	SecretWooCommerce          = "woocommerce"
	SecretTikTokAppSecret      = "tiktok"
	SecretTikTokAppKey         = "tiktok-app-key"
	SecretInstagramAppSecret   = "instagram"
	SecretInstagramVerifyToken = "instagram-verify-token"
)

var (
	// ErrSignature is a delivery whose signature is missing or does not match.
	ErrSignature = errors.New("signature verification failed")
	// ErrMalformed is a body that is not the JSON the platform sends.
	ErrMalformed = errors.New("malformed payload")
	// ErrInvalidOrder is well-formed JSON that cannot be normalized into an order (no vendor on a
	// line, amounts that do not add up, an unknown currency, ...).
	ErrInvalidOrder = errors.New("invalid order")
)

// Order is one normalized order and the shop's status for it.
type Order struct {
	payment.Order
	// Status is the shop's own word for the order's state (paid, processing, cancelled, ...).
	Status string
	// ShopTime is when the shop made this state of the order (zero when the event names no time),
	// on the one clock the source's events are all timed by (Shopify updated_at and refund
	// created_at, WooCommerce date_modified_gmt, Meta the entry's time): an older state never
	// replaces a newer one stored (store.SaveOrderIfNewer).
	ShopTime time.Time
	// ReferralCodes are payee IDs made from the order's discount or coupon codes. A discount code
	// is not always a referral, so the caller takes the first one that is a registered affiliate
	// of the client, and only when the order names no affiliate of its own.
	ReferralCodes []string
}

// shopFields are Order's own fields, beside its payment.Order.
type shopFields struct {
	Status        string
	ShopTime      time.Time
	ReferralCodes []string
}

// MarshalJSON encodes the order as one object, as before payment.Order had an encoding of its
// own: that one, promoted, would stand for the whole Order and leave the shop's fields out.
func (o Order) MarshalJSON() ([]byte, error) {
	order, err := json.Marshal(o.Order)
	if err != nil {
		return nil, err
	}
	shop, err := json.Marshal(shopFields{Status: o.Status, ShopTime: o.ShopTime, ReferralCodes: o.ReferralCodes})
	if err != nil {
		return nil, err
	}
	return append(append(order[:len(order)-1], ','), shop[1:]...), nil
}

// UnmarshalJSON reads what MarshalJSON writes (payment.Order's promoted one would drop the
// shop's fields).
func (o *Order) UnmarshalJSON(b []byte) error {
	var shop shopFields
	if err := json.Unmarshal(b, &shop); err != nil {
		return err
	}
	if err := json.Unmarshal(b, &o.Order); err != nil {
		return err
	}
	o.Status, o.ShopTime, o.ReferralCodes = shop.Status, shop.ShopTime, shop.ReferralCodes
	return nil
}

// StatusUpdate changes the status of an order stored earlier; it carries no amounts.
type StatusUpdate struct {
	OrderID string
	Status  string
	// Refunded is what one refund gave back (Shopify refunds/create), in Currency; the caller
	// compares it with the stored order to tell a full refund from a partial one.
	Refunded int64
	Currency money.Currency
	// ShopTime is when the shop made the change (zero when the event names no time), on the
	// clock of the source's orders (TikTok update_time; Shopify refund created_at; Meta the
	// entry's time). It dates the status only, not the stored amounts.
	ShopTime time.Time
}

// Result is what one verified delivery asks for.
type Result struct {
	// Topic is the platform's name for the event, for metrics and logs.
	Topic string
	// Ignored is a topic we do not handle: answered 200, nothing stored.
	Ignored bool
	// DeliveryID is the platform's ID of the delivery when it travels in the body (TikTok Shop's
	// tts_notification_id); the others send it in a header.
	DeliveryID string
	// Shop is the shop the delivery names in its signed body (TikTok Shop's shop_id), "" when it
	// names none there (Shopify and WooCommerce name it in a header). For Meta, named per entry of
	// a batch, it is the Page (comma-separated Pages) of the changes read, for the log only.
	Shop    string
	Orders  []Order
	Updates []StatusUpdate
	// Refused are the orders of a batch that could not be read while others of it could (Meta
	// batches several objects' changes in one delivery): the others are stored, these recorded for
	// an admin. A delivery with nothing readable is refused as a whole (the parser's error), and
	// Refused, beside that error, still names each of its changes and why.
	Refused []Refusal
	// Foreign are the changes of a batch from another shop than the one the client is bound to (a
	// Meta entry naming another Page, ParseInstagramOf): not read, neither stored nor refused.
	Foreign []ForeignChange
}

// ForeignChange is one change of a batch that names another shop than the client's.
type ForeignChange struct {
	// Shop is the shop the change's entry names, as sent ("" when it names none).
	Shop string
	// OrderID is the order the change names, "" when it names no valid ID.
	OrderID string
}

// Refusal is one order of a delivery that could not be read.
type Refusal struct {
	// OrderID is the order the unreadable change names, "" when it names no valid ID.
	OrderID string
	Reason  error
}

// idPattern is store.ValidID's alphabet: IDs end up in workflow IDs, idempotency keys and URLs.
var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

const maxIDLen = 64

func validID(field, v string) error {
	if !idPattern.MatchString(v) {
		return fmt.Errorf("%w: %s %q must be 1-64 characters of letters, digits, '_', '-', '.'", ErrInvalidOrder, field, v)
	}
	return nil
}

// PayeeID turns a shop's name for a vendor or affiliate (a Shopify vendor name, a WooCommerce
// vendor user ID, a referral code) into our payee ID: the client ID, a dash and a slug of the
// name, e.g. ("acme", "Blue Fox Ceramics") -> "acme-blue-fox-ceramics". Payee IDs are global, so
// the client prefix keeps two clients' "Studio A" apart. The slug is lower case, so "Blue Fox"
// and "blue-fox" are the same vendor. When the name loses characters to the slug (non-ASCII
// letters) or the ID would pass 64 characters, 8 hex digits of the name's SHA-256 are appended so
// that different names never share an ID; a client ID too long for that (over 55 characters) is
// cut short and followed by 16 hex digits of the SHA-256 of client and name.
func PayeeID(clientID, name string) (string, error) {
	name = strings.TrimSpace(name)
	var b strings.Builder
	lossy, dash := false, false
	for _, r := range strings.ToLower(name) {
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			b.WriteRune(r)
			dash = false
		case r < 0x80:
			dash = true // punctuation and spaces separate words
		default:
			lossy, dash = true, true
		}
	}
	slug := b.String()
	if slug == "" && name == "" {
		return "", fmt.Errorf("%w: empty vendor or referral name", ErrInvalidOrder)
	}
	id := clientID + "-" + slug
	if len(clientID)+1+8 > maxIDLen {
		// No room for the client, a dash and the name's hash: the client ID is cut short and
		// the rest is a longer hash of both, so two vendors (or two clients cut alike) still
		// never share an ID. Before, such IDs lost the hash and every vendor of the client
		// became one payee.
		sum := sha256.Sum256([]byte(clientID + "\x00" + name))
		suffix := hex.EncodeToString(sum[:8])
		id = strings.TrimRight(clientID[:maxIDLen-1-len(suffix)], "-_.") + "-" + suffix
	} else if lossy || slug == "" || len(id) > maxIDLen {
		sum := sha256.Sum256([]byte(name))
		suffix := hex.EncodeToString(sum[:4])
		keep := maxIDLen - len(clientID) - 2 - len(suffix)
		if keep < 0 {
			keep = 0
		}
		slug = strings.Trim(slug[:min(len(slug), keep)], "-")
		id = clientID + "-" + slug
		if slug != "" {
			id += "-"
		}
		id += suffix
		if len(id) > maxIDLen {
			id = id[:maxIDLen]
		}
	}
	if err := validID("payee id", id); err != nil {
		return "", err
	}
	return id, nil
}

// decimal is an amount as a shop sends it: a JSON string ("12.34") or, from some WooCommerce
// fields, a JSON number. The text is kept as it came and parsed with money.ParseAmount: no floats.
type decimal string

func (d *decimal) UnmarshalJSON(b []byte) error {
	v, err := stringOrNumber(b, "amount")
	*d = decimal(v)
	return err
}

// minor converts an amount to minor units of cur. Missing amounts are zero. Digits beyond the
// currency's precision are accepted only when they are zeros ("12.3400" is 12.34, as WooCommerce
// prints unrounded tax), never rounded away.
func (d decimal) minor(field string, cur money.Currency) (int64, error) {
	s := strings.TrimSpace(string(d))
	if s == "" {
		return 0, nil
	}
	if dot := strings.IndexByte(s, '.'); dot >= 0 {
		exp := cur.Exponent()
		// Only zeros may be cut, and only after digits: a second '.' among the digits kept
		// ("1.5.00") would otherwise be cut off with the zeros and the rest read as an amount.
		if frac := s[dot+1:]; exp >= 0 && len(frac) > exp && !strings.Contains(frac, ".") && strings.Trim(frac[exp:], "0") == "" {
			s = s[:dot+1+exp]
			s = strings.TrimSuffix(s, ".")
		}
	}
	v, err := money.ParseAmount(s, cur)
	if err != nil {
		return 0, fmt.Errorf("%w: %s: %v", ErrInvalidOrder, field, err)
	}
	return v, nil
}

// nonNegative is minor for amounts that can never be below zero.
func (d decimal) nonNegative(field string, cur money.Currency) (int64, error) {
	v, err := d.minor(field, cur)
	if err == nil && v < 0 {
		err = fmt.Errorf("%w: %s is negative", ErrInvalidOrder, field)
	}
	return v, err
}

// flexID is an ID a shop sends as a JSON number or a string.
type flexID string

func (f *flexID) UnmarshalJSON(b []byte) error {
	v, err := stringOrNumber(b, "id")
	*f = flexID(v)
	return err
}

// stringOrNumber reads a JSON string or number as the text it came as (null is ""), so amounts
// and IDs keep every digit the shop sent.
func stringOrNumber(b []byte, what string) (string, error) {
	if string(b) == "null" {
		return "", nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		err := json.Unmarshal(b, &s)
		return s, err
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return "", fmt.Errorf("%s: %w", what, err)
	}
	return string(n), nil
}

func parseCurrency(s string) (money.Currency, error) {
	cur, err := money.ParseCurrency(s)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrInvalidOrder, err)
	}
	return cur, nil
}

// shopTime reads an event's time as a shop writes it: RFC 3339 (Shopify, Meta, which may leave
// the colon out of the offset), or a zone-less time in UTC (WooCommerce's *_gmt fields). Empty is
// no time; anything else is an invalid order, as the time decides whether the event is stored.
func shopTime(field, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05-0700", "2006-01-02T15:04:05"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%w: %s %.40q is not a time", ErrInvalidOrder, field, v)
}

// unixTime is a Unix time in seconds; zero or less is no time.
func unixTime(sec int64) time.Time {
	if sec <= 0 {
		return time.Time{}
	}
	return time.Unix(sec, 0).UTC()
}

func malformed(platform string, err error) error {
	return fmt.Errorf("%w: %s: %v", ErrMalformed, platform, err)
}

// add sums amounts with an overflow check: a hostile payload must not wrap around.
func add(field string, vs ...int64) (int64, error) {
	var sum int64
	for _, v := range vs {
		var err error
		if sum, err = money.AddInt(sum, v); err != nil {
			return 0, fmt.Errorf("%w: %s: %v", ErrInvalidOrder, field, err)
		}
	}
	return sum, nil
}

func sub(field string, a, b int64) (int64, error) {
	d, err := money.SubInt(a, b)
	if err != nil {
		return 0, fmt.Errorf("%w: %s: %v", ErrInvalidOrder, field, err)
	}
	return d, nil
}

// vendorLines gathers per-line amounts into one OrderLine per vendor, in order of first appearance.
type vendorLines struct {
	order []string
	by    map[string]*payment.OrderLine
}

func (v *vendorLines) add(vendor string, subtotal, tax, discount int64) error {
	if v.by == nil {
		v.by = map[string]*payment.OrderLine{}
	}
	l, ok := v.by[vendor]
	if !ok {
		l = &payment.OrderLine{VendorID: vendor}
		v.by[vendor] = l
		v.order = append(v.order, vendor)
	}
	var err error
	if l.Subtotal, err = add("line subtotal", l.Subtotal, subtotal); err != nil {
		return err
	}
	if l.Tax, err = add("line tax", l.Tax, tax); err != nil {
		return err
	}
	l.Discount, err = add("line discount", l.Discount, discount)
	return err
}

func (v *vendorLines) lines() []payment.OrderLine {
	out := make([]payment.OrderLine, 0, len(v.order))
	for _, id := range v.order {
		out = append(out, *v.by[id])
	}
	return out
}

// finish fills the order's totals from its vendor lines: one vendor sets VendorID and no Lines,
// several set Lines. Every line must be non-negative.
func finish(o *payment.Order, v *vendorLines) error {
	lines := v.lines()
	if len(lines) == 0 {
		return fmt.Errorf("%w: order %s has no line items", ErrInvalidOrder, o.OrderID)
	}
	var err error
	o.Subtotal, o.Tax, o.Discount = 0, 0, 0
	for i, l := range lines {
		if l.Subtotal < 0 || l.Tax < 0 || l.Discount < 0 {
			return fmt.Errorf("%w: order %s: vendor %s has a negative amount", ErrInvalidOrder, o.OrderID, l.VendorID)
		}
		if l.Discount > l.Subtotal {
			return fmt.Errorf("%w: order %s: vendor %s's discount exceeds its subtotal", ErrInvalidOrder, o.OrderID, lines[i].VendorID)
		}
		if o.Subtotal, err = add("subtotal", o.Subtotal, l.Subtotal); err != nil {
			return err
		}
		if o.Tax, err = add("tax", o.Tax, l.Tax); err != nil {
			return err
		}
		if o.Discount, err = add("discount", o.Discount, l.Discount); err != nil {
			return err
		}
	}
	if len(lines) == 1 {
		o.VendorID, o.Lines = lines[0].VendorID, nil
	} else {
		o.VendorID, o.Lines = "", lines
	}
	return nil
}

// addShippingTax counts the tax charged on an order's shipping as tax, not shipping, once finish
// has set the order's lines: tax is pass-through money the vendor owes the tax authority, so a rule
// that commissions shipping and not tax (split.commissionBase) must not take its cut of it, as it
// did while shipping tax counted as shipping. A multi-vendor order's lines share it as the split
// shares shipping: in proportion to what each sells for (evenly when they sell for nothing).
func addShippingTax(o *payment.Order, tax int64) error {
	if tax == 0 {
		return nil
	}
	if tax < 0 {
		return fmt.Errorf("%w: order %s: shipping tax is negative", ErrInvalidOrder, o.OrderID)
	}
	var err error
	if o.Tax, err = add("tax", o.Tax, tax); err != nil {
		return err
	}
	if len(o.Lines) == 0 {
		return nil
	}
	weights := make([]int64, len(o.Lines))
	var total int64
	for i, l := range o.Lines {
		weights[i] = max(l.Subtotal-l.Discount, 0)
		if total, err = add("shipping tax weights", total, weights[i]); err != nil {
			return err
		}
	}
	if total == 0 {
		for i := range weights {
			weights[i] = 1
		}
	}
	parts, err := money.AllocateLargestRemainder(tax, weights)
	if err != nil {
		return fmt.Errorf("%w: order %s: shipping tax: %v", ErrInvalidOrder, o.OrderID, err)
	}
	for i := range o.Lines {
		if o.Lines[i].Tax, err = add("line tax", o.Lines[i].Tax, parts[i]); err != nil {
			return err
		}
	}
	return nil
}

// referralCodes turns discount codes into candidate affiliate payee IDs, dropping ones that make
// no valid ID and duplicates.
func referralCodes(clientID string, codes []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, c := range codes {
		if strings.TrimSpace(c) == "" {
			continue
		}
		id, err := PayeeID(clientID, c)
		if err != nil || seen[id] {
			continue
		}
		seen[id] = true
		out = append(out, id)
	}
	return out
}

// status keeps a shop's status word short and plain: it is stored and shown, never interpreted.
func status(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	var b strings.Builder
	for _, r := range s {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-' {
			b.WriteRune(r)
		} else if r == ' ' {
			b.WriteByte('_')
		}
		if b.Len() >= 32 {
			break
		}
	}
	return b.String()
}
