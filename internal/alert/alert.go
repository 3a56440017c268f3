// Package alert delivers alert messages: to an HTTP webhook, signed with HMAC-SHA256 so the
// receiver can tell they came from us and were not replayed, and by email. It knows nothing about
// monitors; callers hand it a Message.
package alert

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"paysplit/internal/mailer"
)

// Message is one alert notification. It carries identifiers and summaries only, never personal
// data.
type Message struct {
	// DeliveryID is unique per notification: receivers deduplicate retries with it.
	DeliveryID  int64      `json:"delivery_id"`
	AlertID     int64      `json:"alert_id"`
	MonitorID   int64      `json:"monitor_id"`
	MonitorName string     `json:"monitor_name"`
	Kind        string     `json:"kind"`
	Event       string     `json:"event"` // firing or resolved
	Summary     string     `json:"summary"`
	Subjects    []string   `json:"subjects"`
	PeriodStart time.Time  `json:"period_start"`
	FiredAt     time.Time  `json:"fired_at"`
	ResolvedAt  *time.Time `json:"resolved_at,omitempty"`
	// Payment is the payment the alert is about, for an alert about one (see Payment); left out
	// of the JSON otherwise, so every other message has the fields it always had.
	Payment *Payment `json:"payment,omitempty"`
}

// Payment names the one payment an alert is about as the admin API's alert listing does
// (GET /api/v1/admin/alerts): IDs the platform keys it by, never personal data, and where to
// look at it. On-call reads the alert in an inbox or a chat, not in the admin API.
type Payment struct {
	WorkflowID string `json:"workflow_id"`
	Provider   string `json:"provider"`
	ClientID   string `json:"client_id"`
	OrderID    string `json:"order_id"`
	// AdminURL is the payment's page in the admin API, relative to the API's address (the
	// worker does not know where the API is published).
	AdminURL string `json:"admin_url"`
	// WorkflowURL is its workflow in the Temporal UI; empty (left out) when the worker has no
	// TEMPORAL_UI_URL.
	WorkflowURL string `json:"workflow_url,omitempty"`
}

// Subject is the one-line description an alert email carries. The monitor's name is an isolate
// (mailer.Isolate): a Hebrew or Arabic one keeps its own order in the left-to-right line.
func (m Message) Subject() string {
	return fmt.Sprintf("[paysplit] %s: %s", strings.ToUpper(m.Event), mailer.Isolate(m.MonitorName))
}

// Headers of a webhook delivery.
const (
	// SignatureHeader carries "t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">".
	SignatureHeader = "X-Paysplit-Signature"
	// DeliveryHeader repeats Message.DeliveryID for receivers that deduplicate before parsing.
	DeliveryHeader = "X-Paysplit-Delivery"
)

// DefaultTolerance is how old a signature VerifySignature accepts by default.
const DefaultTolerance = 5 * time.Minute

// ErrPermanent marks a delivery the receiver refused in a way retrying cannot fix (a 4xx
// other than 408/429, 401 and 403): the message is still kept for an operator to look at. 401
// and 403 say the receiver does not take our credential (ALERT_WEBHOOK_SECRET set wrong, a
// token rotated): that refuses every message alike, is mended by a setting, and must not make
// the channel give up for good on each message queued meanwhile, so it is retried.
var ErrPermanent = errors.New("alert: delivery refused")

// Webhook posts messages as JSON to one URL.
type Webhook struct {
	URL    string
	Secret string
	Client *http.Client
	// Now is the signing clock; nil means time.Now.
	Now func() time.Time
}

// Send delivers m. The timestamp is part of the signed payload, so a captured request cannot be
// replayed after the receiver's tolerance.
func (w *Webhook) Send(ctx context.Context, m Message) error {
	body, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("alert: webhook: encode message %d: %w", m.DeliveryID, err)
	}
	now := time.Now
	if w.Now != nil {
		now = w.Now
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("alert: webhook: build request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "paysplit-alerts/1")
	req.Header.Set(SignatureHeader, Sign(w.Secret, now(), body))
	req.Header.Set(DeliveryHeader, strconv.FormatInt(m.DeliveryID, 10))
	client := w.Client
	if client == nil {
		client = &http.Client{Timeout: 15 * time.Second}
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("alert: webhook: post message %d: %w", m.DeliveryID, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return nil
	case resp.StatusCode >= 400 && resp.StatusCode < 500 && resp.StatusCode != http.StatusRequestTimeout &&
		resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode != http.StatusUnauthorized &&
		resp.StatusCode != http.StatusForbidden:
		return fmt.Errorf("%w: webhook answered %s to message %d", ErrPermanent, resp.Status, m.DeliveryID)
	}
	return fmt.Errorf("alert: webhook answered %s to message %d", resp.Status, m.DeliveryID)
}

// Sign returns the SignatureHeader value for body sent at t.
func Sign(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + mac(secret, ts, body)
}

func mac(secret, ts string, body []byte) string {
	h := hmac.New(sha256.New, []byte(secret))
	h.Write([]byte(ts))
	h.Write([]byte("."))
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

// Signature errors.
var (
	ErrBadSignature = errors.New("alert: signature does not match")
	ErrStale        = errors.New("alert: signature timestamp outside the tolerance")
	ErrMalformed    = errors.New("alert: malformed signature header")
)

// VerifySignature checks a SignatureHeader value the way a receiver should: the HMAC over
// "<t>.<body>" in constant time, and t within tolerance of now (either direction, for clock
// skew). Several v1 values are accepted so a sender can roll its secret.
func VerifySignature(secret, header string, body []byte, now time.Time, tolerance time.Duration) error {
	var ts string
	var sigs []string
	for part := range strings.SplitSeq(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return ErrMalformed
		}
		switch k {
		case "t":
			ts = v
		case "v1":
			sigs = append(sigs, v)
		}
	}
	if ts == "" || len(sigs) == 0 {
		return ErrMalformed
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return ErrMalformed
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return ErrStale
	}
	want := []byte(mac(secret, ts, body))
	for _, s := range sigs {
		if hmac.Equal([]byte(s), want) {
			return nil
		}
	}
	return ErrBadSignature
}
