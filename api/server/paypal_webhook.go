package server

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/labstack/echo/v4"
	"github.com/plutov/paypal/v4"

	"paysplit/activities"
	"paysplit/internal/money"
	"paysplit/internal/monitor"
	ipayment "paysplit/internal/payment"
	"paysplit/internal/paypalauth"
	"paysplit/internal/paypalhook"
	"paysplit/internal/paypalsearch"
	"paysplit/internal/store"
	"paysplit/workflows/payment"
)

const providerPayPal = "paypal"

// PayPalVerifier checks that a delivery really comes from PayPal.
type PayPalVerifier interface {
	Verify(ctx context.Context, h http.Header, body []byte) error
}

// OfflinePayPalVerifier checks the transmission signature against PayPal's certificate.
type OfflinePayPalVerifier struct{ V *paypalhook.Verifier }

// Verify implements PayPalVerifier.
func (o OfflinePayPalVerifier) Verify(ctx context.Context, h http.Header, body []byte) error {
	return o.V.Verify(ctx, paypalhook.HeadersFrom(h), body)
}

// APIPayPalVerifier asks PayPal's verify-webhook-signature API (through the client library).
type APIPayPalVerifier struct {
	Client    *paypal.Client
	WebhookID string
}

// Verify implements PayPalVerifier. A delivery the verification request cannot be built from (a
// body that is not JSON, which the request embeds as the event) is unverified, not PayPal being
// unavailable: asking again would never help.
func (a APIPayPalVerifier) Verify(ctx context.Context, h http.Header, body []byte) error {
	if !json.Valid(body) {
		return fmt.Errorf("%w: the body is not JSON", paypalhook.ErrUnverified)
	}
	// The same window as offline: a stale transmission is refused before PayPal is asked.
	if err := paypalhook.CheckTransmissionTime(h.Get("Paypal-Transmission-Time"), time.Now()); err != nil {
		return err
	}
	req, err := a.verifyRequest(ctx, h, body)
	if err != nil {
		return fmt.Errorf("%w: %v", paypalhook.ErrUnverified, err)
	}
	var res paypal.VerifyWebhookResponse
	// A token PayPal stopped taking before its expiry is renewed once, as the payouts renew theirs:
	// otherwise every delivery was unavailable (503) until the client library renewed it, hours.
	err = activities.PayPalSendWithAuth(ctx, a.Client, req, &res)
	if paypalauth.TokenRequestFailed(err) {
		// The OAuth token request failed (any status, 400 or 403 for a REST app misconfigured or
		// disabled, or an answer with no usable token): PayPal never looked at the delivery, so
		// it is unavailable, never unverified (a 400 to the token request was taken as PayPal
		// refusing to verify the delivery).
		return fmt.Errorf("verify-webhook-signature: PayPal's OAuth token request failed, so the delivery was not checked (%w); "+
			"check PAYPAL_CLIENT_ID and PAYPAL_SECRET and that their REST app is enabled", err)
	}
	var pe *paypal.ErrorResponse
	if errors.As(err, &pe) && pe.Response != nil && (pe.Response.StatusCode == http.StatusBadRequest || pe.Response.StatusCode == http.StatusUnprocessableEntity) {
		// PayPal refused to check what the delivery carries (headers missing or malformed):
		// unverified, as asking again would be refused again. Our own credentials refused (401,
		// 403), a rate limit or PayPal down stay unavailable: the sender tries again later.
		return fmt.Errorf("%w: PayPal refused to verify it: %v", paypalhook.ErrUnverified, err)
	}
	if err != nil {
		return fmt.Errorf("verify-webhook-signature: %w", err)
	}
	if res.VerificationStatus != "SUCCESS" {
		return fmt.Errorf("%w: PayPal answered %s", paypalhook.ErrUnverified, res.VerificationStatus)
	}
	return nil
}

// verifyRequest is the verify-webhook-signature request for a delivery, its body spliced in as
// the webhook_event byte for byte: PayPal checks the signature against that JSON text, which must
// be what it delivered. The client library's VerifyWebhookSignature re-encodes it (json.Marshal
// compacts a RawMessage and escapes &, < and >), so every delivery with a custom_id of ours (its
// '&') or with PayPal's spacing came back FAILURE.
func (a APIPayPalVerifier) verifyRequest(ctx context.Context, h http.Header, body []byte) (*http.Request, error) {
	head, err := json.Marshal(struct {
		AuthAlgo         string `json:"auth_algo,omitempty"`
		CertURL          string `json:"cert_url,omitempty"`
		TransmissionID   string `json:"transmission_id,omitempty"`
		TransmissionSig  string `json:"transmission_sig,omitempty"`
		TransmissionTime string `json:"transmission_time,omitempty"`
		WebhookID        string `json:"webhook_id"`
	}{h.Get("Paypal-Auth-Algo"), h.Get("Paypal-Cert-Url"), h.Get("Paypal-Transmission-Id"), h.Get("Paypal-Transmission-Sig"),
		h.Get("Paypal-Transmission-Time"), a.WebhookID})
	if err != nil {
		return nil, err
	}
	// {"auth_algo":...,"webhook_id":"..."} + ,"webhook_event":<body>}
	payload := append(append(append(head[:len(head)-1:len(head)-1], `,"webhook_event":`...), body...), '}')
	req, err := a.Client.NewRequest(ctx, http.MethodPost, a.Client.APIBase+"/v1/notifications/verify-webhook-signature", nil)
	if err != nil {
		return nil, err
	}
	req.Body, req.ContentLength = io.NopCloser(bytes.NewReader(payload)), int64(len(payload))
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(payload)), nil }
	return req, nil
}

// paypalWebhook verifies a PayPal delivery and hands it to the capture's payment workflow, the
// same workflow shape as Stripe's: the provider only changes how events are read.
func (s *Server) paypalWebhook(c echo.Context) error {
	if s.deps.PayPalVerifier == nil {
		return errorf(http.StatusBadRequest, "not_configured", "PayPal is not configured on this server")
	}
	body, err := io.ReadAll(c.Request().Body)
	if err != nil {
		return errorf(http.StatusBadRequest, "unreadable_body", "could not read the request body")
	}
	if !json.Valid(body) {
		// Whatever its signature, it is no PayPal event: refused as in every verification mode,
		// and before asking PayPal's API about it, which would only fail.
		s.count(providerPayPal, "unknown", "invalid")
		return errorf(http.StatusBadRequest, "invalid_event", "malformed PayPal event: the body is not JSON")
	}
	if err := s.deps.PayPalVerifier.Verify(c.Request().Context(), c.Request().Header, body); err != nil {
		if errors.Is(err, paypalhook.ErrUnverified) {
			s.count(providerPayPal, "unknown", "bad_signature")
			return errorf(http.StatusBadRequest, "invalid_signature", err.Error())
		}
		// PayPal's certificate or verification API could not be reached: let PayPal deliver again.
		// Counted as unavailable, not as a bad signature: an outage at PayPal is no forgery.
		s.count(providerPayPal, "unknown", "unavailable")
		s.deps.Logger.Error("paypal verification unavailable", "error", err)
		return errorf(http.StatusServiceUnavailable, "verification_unavailable", "could not verify the delivery now; retry later")
	}
	if err := s.rememberTransmission(c.Request().Context(), c.Request().Header.Get("Paypal-Transmission-Id"), body); err != nil {
		return err
	}
	if handled, err := s.payoutTakenBack(c, body); handled || err != nil {
		return err
	}
	targets, typ, err := paypalToEvents(body)
	if err != nil || len(targets) == 1 {
		var t paypalTarget
		if err == nil {
			t = targets[0]
		}
		return s.handOver(c, providerPayPal, typ, t.capture, t.ev, err)
	}
	return s.handOverEach(c, typ, targets)
}

// paypalTarget is an event for one capture's payment.
type paypalTarget struct {
	ev      payment.Event
	capture string
}

// handOverEach gives a dispute covering several captures to each one's payment, as handOver
// gives one: every capture must be usable (else 400, none held), and any not held answers 503 so
// that PayPal delivers it again, the ones held then being duplicates by their own event IDs.
func (s *Server) handOverEach(c echo.Context, typ string, targets []paypalTarget) error {
	for _, t := range targets {
		if !providerIDPattern.MatchString(t.capture) {
			s.count(providerPayPal, typ, "invalid")
			return errorf(http.StatusBadRequest, "invalid_event", fmt.Sprintf("payment id %.80q is not a %s ID", t.capture, providerPayPal))
		}
	}
	hold, code, message := s.deliver, "temporal_unavailable", "the workflow service is unavailable; retry later"
	if s.deps.WebhookAck == AckOnStore {
		hold, code, message = s.accept, "storage_unavailable", "the event could not be stored; retry later"
	}
	status, ids := "duplicate", make([]string, 0, len(targets))
	for _, t := range targets {
		outcome, err := hold(c.Request().Context(), providerPayPal, t.capture, t.ev)
		if errors.Is(err, store.ErrInvalid) {
			s.count(providerPayPal, typ, "invalid")
			return errorf(http.StatusBadRequest, "invalid_event", err.Error())
		}
		if err != nil {
			s.count(providerPayPal, typ, "unavailable")
			s.deps.Logger.Error("webhook event not held", "provider", providerPayPal, "event_id", t.ev.ID, "type", typ, "code", code, "error", err)
			return errorf(http.StatusServiceUnavailable, code, message)
		}
		s.count(providerPayPal, typ, outcome)
		if outcome != "duplicate" {
			status = outcome
		}
		ids = append(ids, payment.WorkflowID(providerPayPal, t.capture))
	}
	return c.JSON(http.StatusOK, map[string]any{"status": status, "workflow_id": ids[0], "workflow_ids": ids})
}

// paypalTransmissions is the webhook_deliveries provider of PayPal's transmission records.
const paypalTransmissions = "paypal-transmission"

// rememberTransmission records a verified transmission's ID with its body's SHA-256, and refuses
// an ID seen before with another body. PayPal signs only a CRC32 of the body, which is no MAC:
// four chosen bytes give any body the CRC32 of a genuine one, so the headers of one delivery
// would authenticate any other. The same body again is PayPal retrying, answered as before
// (the event ID makes it a duplicate). Every verified transmission is recorded, ignored types
// too (their headers could carry a capture), in either ack mode, before the event is held: a
// 503 after it leaves the record, which PayPal's retry of the same body matches.
func (s *Server) rememberTransmission(ctx context.Context, transmissionID string, body []byte) error {
	if transmissionID == "" {
		// Both verifiers need it; a verifier that let a delivery through without one has nothing
		// to bind the body to.
		s.count(providerPayPal, "unknown", "bad_signature")
		return errorf(http.StatusBadRequest, "invalid_signature", "missing PAYPAL-TRANSMISSION-ID header")
	}
	err := s.deps.Store.RecordDeliveryBody(ctx, paypalTransmissions, transmissionID, body)
	switch {
	case errors.Is(err, store.ErrBodyChanged):
		s.count(providerPayPal, "unknown", "replayed")
		s.deps.Logger.Warn("paypal transmission replayed with another body", "transmission_id", transmissionID)
		return errorf(http.StatusBadRequest, "replayed_transmission",
			"PAYPAL-TRANSMISSION-ID was delivered before with another body; PayPal's signature covers only the body's CRC32")
	case err != nil:
		s.count(providerPayPal, "unknown", "unavailable")
		s.deps.Logger.Error("paypal transmission not recorded", "transmission_id", transmissionID, "error", err)
		return errorf(http.StatusServiceUnavailable, "storage_unavailable", "the delivery could not be recorded; retry later")
	}
	return nil
}

type paypalAmount struct {
	CurrencyCode string `json:"currency_code"`
	Value        string `json:"value"`
}

func (a paypalAmount) minor() (int64, money.Currency, error) {
	cur, err := money.ParseCurrency(a.CurrencyCode)
	if err != nil {
		return 0, "", err
	}
	v, err := money.ParseAmount(a.Value, cur)
	return v, cur, err
}

type paypalLink struct {
	Href string `json:"href"`
	Rel  string `json:"rel"`
}

// captureFromLinks finds the capture a refund or reversal belongs to: its "up" link.
func captureFromLinks(links []paypalLink) string {
	for _, l := range links {
		if l.Rel == "up" && strings.Contains(l.Href, "/captures/") {
			return path.Base(l.Href)
		}
	}
	return ""
}

// paypalToEvent is paypalToEvents' first event: the only one but for a dispute of several
// transactions.
func paypalToEvent(body []byte) (payment.Event, string, string, error) {
	targets, typ, err := paypalToEvents(body)
	if err != nil {
		return payment.Event{}, "", typ, err
	}
	return targets[0].ev, targets[0].capture, typ, nil
}

// paypalToEvents reduces a PayPal event to the workflow's Events, one per capture it concerns
// (several only for a dispute of several transactions), keeping no payer data.
func paypalToEvents(body []byte) ([]paypalTarget, string, error) {
	ev, capture, typ, err := paypalToOne(body)
	if errors.Is(err, errSeveral) {
		return paypalDisputes(body)
	}
	if err != nil {
		return nil, typ, err
	}
	return []paypalTarget{{ev, capture}}, typ, nil
}

// errSeveral says the event is a dispute, read by paypalDisputes.
var errSeveral = errors.New("a dispute: one event per disputed transaction")

// paypalToOne reads any event but a dispute (errSeveral).
func paypalToOne(body []byte) (payment.Event, string, string, error) {
	var evt struct {
		ID         string          `json:"id"`
		EventType  string          `json:"event_type"`
		CreateTime time.Time       `json:"create_time"`
		Resource   json.RawMessage `json:"resource"`
	}
	if err := json.Unmarshal(body, &evt); err != nil {
		return payment.Event{}, "", "unknown", fmt.Errorf("malformed PayPal event: %w", err)
	}
	typ := evt.EventType
	if evt.ID == "" || typ == "" {
		return payment.Event{}, "", "unknown", errors.New("PayPal event needs an id and an event_type")
	}
	switch typ {
	case "PAYMENT.CAPTURE.COMPLETED", "PAYMENT.CAPTURE.REFUNDED", "PAYMENT.CAPTURE.REVERSED", "CUSTOMER.DISPUTE.CREATED", "CUSTOMER.DISPUTE.RESOLVED":
	default:
		return payment.Event{}, "", typ, errIgnored
	}
	if evt.CreateTime.IsZero() {
		// PayPal dates every event; the ones taken are dated by it (a capture's day, a refund's
		// figure), and without it they were taken as of 0001-01-01.
		return payment.Event{}, "", typ, fmt.Errorf("%s: the event needs its create_time", typ)
	}
	at := evt.CreateTime.UTC()
	switch {
	case typ == "PAYMENT.CAPTURE.COMPLETED":
		var r struct {
			ID         string       `json:"id"`
			Amount     paypalAmount `json:"amount"`
			CustomID   string       `json:"custom_id"`
			InvoiceID  string       `json:"invoice_id"`
			CreateTime string       `json:"create_time"`
			Breakdown  struct {
				Fee *paypalAmount `json:"paypal_fee"`
			} `json:"seller_receivable_breakdown"`
		}
		if err := json.Unmarshal(evt.Resource, &r); err != nil || r.ID == "" {
			return payment.Event{}, "", typ, fmt.Errorf("%s: resource needs a capture id", typ)
		}
		amount, cur, err := r.Amount.minor()
		if err != nil || amount <= 0 {
			return payment.Event{}, "", typ, fmt.Errorf("%s: amount %q %q: %v", typ, r.Amount.Value, r.Amount.CurrencyCode, err)
		}
		fee, err := paypalFee(r.Breakdown.Fee, amount, cur)
		if err != nil {
			return payment.Event{}, "", typ, fmt.Errorf("%s: seller_receivable_breakdown.paypal_fee: %w", typ, err)
		}
		md := paypalMetadata(r.CustomID, r.InvoiceID)
		return payment.Event{ID: evt.ID, Kind: payment.EventCapture, ChargeID: r.ID, Amount: amount, Currency: cur, Fee: fee, Metadata: md, OccurredAt: captureMade(r.CreateTime, at)}, r.ID, typ, nil
	case typ == "PAYMENT.CAPTURE.REFUNDED" || typ == "PAYMENT.CAPTURE.REVERSED":
		var r struct {
			ID         string       `json:"id"`
			Status     string       `json:"status"`
			CreateTime string       `json:"create_time"`
			Amount     paypalAmount `json:"amount"`
			Breakdown  struct {
				TotalRefunded paypalAmount  `json:"total_refunded_amount"`
				Fee           *paypalAmount `json:"paypal_fee"`
			} `json:"seller_payable_breakdown"`
			Links []paypalLink `json:"links"`
		}
		if err := json.Unmarshal(evt.Resource, &r); err != nil {
			return payment.Event{}, "", typ, fmt.Errorf("%s: %w", typ, err)
		}
		capture := captureFromLinks(r.Links)
		if capture == "" || r.ID == "" {
			return payment.Event{}, "", typ, fmt.Errorf("%s: resource needs an id and an \"up\" link to its capture", typ)
		}
		amount, cur, err := r.Amount.minor()
		if err != nil || amount <= 0 {
			return payment.Event{}, "", typ, fmt.Errorf("%s: amount %q: %v", typ, r.Amount.Value, err)
		}
		if typ == "PAYMENT.CAPTURE.REVERSED" {
			// A reversal (chargeback) takes the amount back like a lost dispute, once per reversal.
			return payment.Event{ID: evt.ID, Kind: payment.EventDisputeClosed, DisputeID: r.ID, DisputeStatus: "lost", Amount: amount, OccurredAt: at}, capture, typ, nil
		}
		// The fee PayPal gives back with this refund, in the refund's currency.
		fee, err := paypalFee(r.Breakdown.Fee, amount, cur)
		if err != nil {
			return payment.Event{}, "", typ, fmt.Errorf("%s: seller_payable_breakdown.paypal_fee: %w", typ, err)
		}
		if r.Status == "FAILED" || r.Status == "CANCELLED" {
			// A refund that did not go through (an eCheck that bounced): undone once by its ID if it
			// was applied, with the fee it gave back, and never applied if it comes later.
			made, _ := time.Parse(time.RFC3339, r.CreateTime) // zero when PayPal did not say: then no figure is judged by it
			return payment.Event{ID: evt.ID, Kind: payment.EventRefundFailed, RefundID: r.ID, Amount: amount, Fee: fee, RefundMade: made.UTC(), OccurredAt: at}, capture, typ, nil
		}
		ev := payment.Event{ID: evt.ID, Kind: payment.EventRefund, RefundID: r.ID, Amount: amount, Fee: fee, OccurredAt: at}
		if total, _, err := r.Breakdown.TotalRefunded.minor(); err == nil && total > 0 {
			ev.AmountRefunded = total // cumulative, when PayPal says it
		}
		return ev, capture, typ, nil
	case typ == "CUSTOMER.DISPUTE.CREATED" || typ == "CUSTOMER.DISPUTE.RESOLVED":
		// Only these two are read: .UPDATED and any other changes no money, and read as a dispute
		// first, one whose resource we would not need was refused 400 and retried for days.
		return payment.Event{}, "", typ, errSeveral
	}
	return payment.Event{}, "", typ, errIgnored
}

// captureMade is when a completed capture counts as captured: when PayPal made it (the capture's
// create_time), which is what Transaction Search reports as its transaction_initiation_date and
// the revenue KPIs of older days count by. A capture that was PENDING first (an eCheck clearing,
// a payment under review) completes hours or days later, at the event's time (completed), which
// our payments took as the capture's: the two sides put it on different UTC days, and a range
// whose days came from both counted it twice or not at all (TestPayPalPendingCaptureSameDayHotAndCold).
// Without a create_time, or with one after the event, the event's time stands.
func captureMade(createTime string, completed time.Time) time.Time {
	made, err := time.Parse(time.RFC3339, createTime)
	if err != nil || made.After(completed) {
		return completed
	}
	return made.UTC()
}

// paypalFee reads the fee PayPal kept from a capture, or gave back with a refund, which it states
// in the payment's currency; an absent breakdown (a pending capture has none) is a fee not known
// yet, 0.
func paypalFee(fee *paypalAmount, amount int64, cur money.Currency) (int64, error) {
	if fee == nil {
		return 0, nil
	}
	v, c, err := fee.minor()
	if err != nil {
		return 0, fmt.Errorf("%q %q: %w", fee.Value, fee.CurrencyCode, err)
	}
	if why := money.FeeProblem(v, string(c), cur, amount); why != "" {
		return 0, errors.New(why)
	}
	return v, nil
}

// paypalDisputedTxn is one of a dispute's disputed_transactions.
type paypalDisputedTxn struct {
	SellerTransactionID string        `json:"seller_transaction_id"`
	Gross               *paypalAmount `json:"gross_amount"`
}

// paypalDisputes reads a CUSTOMER.DISPUTE.CREATED or .RESOLVED into one event per disputed
// transaction: a case can cover several of the buyer's payments (disputed_transactions, each
// with its seller_transaction_id and gross_amount: developer.paypal.com/api/customer-disputes/v1/
// disputes-get), and each capture's payment is disputed by it. The first keeps the event's ID
// (as it was delivered when only the first was read), the others <event id>/<capture>, each
// taken once by its payment however often PayPal delivers the event.
func paypalDisputes(body []byte) ([]paypalTarget, string, error) {
	var evt struct {
		ID         string          `json:"id"`
		EventType  string          `json:"event_type"`
		CreateTime time.Time       `json:"create_time"`
		Resource   json.RawMessage `json:"resource"`
	}
	if err := json.Unmarshal(body, &evt); err != nil {
		return nil, "unknown", fmt.Errorf("malformed PayPal event: %w", err)
	}
	typ, at := evt.EventType, evt.CreateTime.UTC()
	var r struct {
		DisputeID    string              `json:"dispute_id"`
		Transactions []paypalDisputedTxn `json:"disputed_transactions"`
		Amount       paypalAmount        `json:"dispute_amount"`
		Outcome      struct {
			Code string `json:"outcome_code"`
		} `json:"dispute_outcome"`
	}
	err := json.Unmarshal(evt.Resource, &r)
	// One without the seller's ID names no capture of ours: the others are still disputed.
	r.Transactions = slices.DeleteFunc(r.Transactions, func(t paypalDisputedTxn) bool { return t.SellerTransactionID == "" })
	if err != nil || r.DisputeID == "" || len(r.Transactions) == 0 {
		return nil, typ, fmt.Errorf("%s: resource needs a dispute_id and a disputed transaction", typ)
	}
	amount, cur, err := r.Amount.minor()
	if err != nil {
		return nil, typ, fmt.Errorf("%s: dispute_amount: %w", typ, err)
	}
	kind, status := payment.EventDisputeCreated, ""
	if typ == "CUSTOMER.DISPUTE.RESOLVED" {
		// The dispute closes here, whatever its outcome; the money a lost one takes moves with its
		// own event, PAYMENT.CAPTURE.REVERSED (or .REFUNDED when the seller refunded), in the
		// capture's currency and once per reversal. Taking it here too would take it twice (the
		// two events carry different IDs), and dispute_amount may be in the buyer's currency.
		kind, status = payment.EventDisputeClosed, cmp.Or(strings.ToLower(r.Outcome.Code), "resolved")
	}
	var out []paypalTarget
	for i, t := range r.Transactions {
		if slices.ContainsFunc(out, func(o paypalTarget) bool { return o.capture == t.SellerTransactionID }) {
			continue // named twice: one event for its payment
		}
		id, disputed := evt.ID, amount
		if i > 0 {
			id = evt.ID + "/" + t.SellerTransactionID
		}
		if len(r.Transactions) > 1 && t.Gross != nil {
			// The dispute's amount is the whole case's: a transaction's share of it is at most
			// its own gross, when PayPal states it in the dispute's currency.
			if gross, gcur, err := t.Gross.minor(); err == nil && gcur == cur && gross > 0 {
				disputed = min(gross, amount)
			}
		}
		out = append(out, paypalTarget{payment.Event{ID: id, Kind: kind, DisputeID: r.DisputeID, DisputeStatus: status, Amount: disputed, OccurredAt: at},
			t.SellerTransactionID})
	}
	return out, typ, nil
}

// paypalMetadata reads the order metadata store plugins put in the purchase unit's custom_id,
// URL-encoded (client_id=...&order_id=...&...), with invoice_id as the order ID when custom_id
// lacks one. Only the order keys survive, as with Stripe metadata. A custom_id that is not all a
// valid query string (another integration's text, a ';' or a bare '%') gives what it names
// validly: the capture is recorded and parks for an admin if that is not enough, where refusing
// it lost the capture after PayPal's retries. paypalsearch.ClientOf reads it alike. A key given
// twice with different values is passed as both, comma-separated (paypalsearch.Value): parseOrder
// refuses that for an amount, an ID or the platform alike, and the payment parks naming them,
// where the first was taken and the second dropped unseen: a vendor_id given twice paid the first.
func paypalMetadata(customID, invoiceID string) map[string]string {
	values, _ := url.ParseQuery(customID) // the valid pairs, whatever the error on the others
	md := map[string]string{}
	for k := range values {
		md[k] = paypalsearch.Value(values, k)
	}
	if md["order_id"] == "" && invoiceID != "" {
		md["order_id"] = invoiceID
	}
	return orderMetadata(md)
}

// ActionPayoutTakenBack is the audit action recording a PayPal payout item our books record as
// paid whose money came back to the platform afterwards.
const ActionPayoutTakenBack = "payment.payout_taken_back"

// payoutTakeBacks are the PAYMENT.PAYOUTS-ITEM events that can follow an item's SUCCESS and
// bring its money back to the platform (developer.paypal.com/payouts/webhooks; transaction_status
// REFUNDED, REVERSED, RETURNED: payouts-batch/v1 transaction_enum). PayPal's event list names
// REFUNDED and RETURNED; REVERSED is a status it documents and is taken alike should it come.
var payoutTakeBacks = map[string]bool{
	"PAYMENT.PAYOUTS-ITEM.REFUNDED": true, "PAYMENT.PAYOUTS-ITEM.REVERSED": true, "PAYMENT.PAYOUTS-ITEM.RETURNED": true,
}

// paypalPayoutItem is what a PAYMENT.PAYOUTS-ITEM event's resource (PayPal's payout item
// details) says that we read: never the receiver, who is personal data.
type paypalPayoutItem struct {
	ItemID        string `json:"payout_item_id"`
	Status        string `json:"transaction_status"`
	BatchID       string `json:"payout_batch_id"`
	SenderBatchID string `json:"sender_batch_id"`
	Item          struct {
		Amount struct {
			Currency string `json:"currency"`
			Value    string `json:"value"`
		} `json:"amount"`
	} `json:"payout_item"`
}

// payoutTakenBack records, for an admin, a payout item taken back after it was paid: the payee
// refunded it, PayPal reversed it, or it was returned. The run stops watching an item once it is
// SUCCESS and reconciliation checks again only payments with entries that day, so this event is
// the only word that the money is back with the platform while the books still say the payee was
// paid. Nothing is moved and the run is not told: what is owed now (pay again, or not) is an
// admin's call. The record is an audit entry on the payment (actor paypal), written once per
// event ID and per item and status, so PayPal's redeliveries record nothing twice, and an alert
// of the system's payout_taken_back monitor, written with it, so an admin is told: the entry
// alone waited for someone to read the audit log.
//
// handled is false for every other event type. An item whose sender_batch_id (our key,
// <wf>/transfer/<party>-<payee>/<attempt> or a top-up's <wf>/<cause>/<party>-<payee>) names no
// payment of ours, or a movement not booked as paid (the item RETURNED after we cancelled it
// UNCLAIMED, which the run took as refused), is answered 200 ignored as before. Only an event
// about an item we booked as paid that we cannot read is 400: PayPal may then deliver it again.
func (s *Server) payoutTakenBack(c echo.Context, body []byte) (handled bool, err error) {
	var evt struct {
		ID        string          `json:"id"`
		EventType string          `json:"event_type"`
		Resource  json.RawMessage `json:"resource"`
	}
	if json.Unmarshal(body, &evt) != nil || !payoutTakeBacks[evt.EventType] {
		return false, nil
	}
	typ, ctx := evt.EventType, c.Request().Context()
	ignored := func(why string, args ...any) (bool, error) {
		s.count(providerPayPal, typ, "ignored")
		s.deps.Logger.Info("paypal payout item event ignored: "+why, append([]any{"event_id", evt.ID, "type", typ}, args...)...)
		return true, c.JSON(http.StatusOK, map[string]string{"status": "ignored", "type": typ})
	}
	var r paypalPayoutItem
	if err := json.Unmarshal(evt.Resource, &r); err != nil {
		return ignored("the resource is not a payout item", "error", err)
	}
	wf, _, _ := strings.Cut(r.SenderBatchID, "/")
	if r.SenderBatchID == "" || !strings.HasPrefix(wf, "payment-"+providerPayPal+"-") {
		return ignored("sender_batch_id is no key of ours", "sender_batch_id", r.SenderBatchID)
	}
	rec, err := s.deps.Store.GetPayment(ctx, wf)
	if errors.Is(err, store.ErrNotFound) {
		return ignored("sender_batch_id names no payment", "sender_batch_id", r.SenderBatchID)
	}
	if err != nil {
		s.count(providerPayPal, typ, "unavailable")
		s.deps.Logger.Error("paypal payout item event: payment not read", "event_id", evt.ID, "workflow_id", wf, "error", err)
		return true, errorf(http.StatusServiceUnavailable, "storage_unavailable", "the payment could not be read; retry later")
	}
	leg, ok := paidLeg(rec, r.ItemID, r.BatchID)
	if !ok {
		return ignored("the item is not booked as paid", "workflow_id", wf, "sender_batch_id", r.SenderBatchID, "item_id", r.ItemID)
	}

	// From here we act on it: what we would record must be readable.
	invalid := func(why string) (bool, error) {
		s.count(providerPayPal, typ, "invalid")
		return true, errorf(http.StatusBadRequest, "invalid_event", typ+": "+why)
	}
	if evt.ID == "" {
		return invalid("the event needs an id")
	}
	cur, err := money.ParseCurrency(r.Item.Amount.Currency)
	if err != nil {
		return invalid(fmt.Sprintf("payout_item.amount currency %.20q: %v", r.Item.Amount.Currency, err))
	}
	amount, err := money.ParseAmount(r.Item.Amount.Value, cur)
	if err != nil || amount <= 0 {
		return invalid(fmt.Sprintf("payout_item.amount %.40q %s is not an amount", r.Item.Amount.Value, cur.Upper()))
	}
	// The event's type says what happened; a transaction_status that says otherwise (the item
	// read later, changed again) is kept beside it, not taken as the record's key.
	status := typ[strings.LastIndex(typ, ".")+1:]
	target, takenBack := "payment:"+wf, r.ItemID+"/"+status
	// The admin's alert: identifiers and the amount, never the receiver.
	summary := fmt.Sprintf("PayPal payout item %s of payment %s (%s %s) was %s after it was paid: %s is back with the platform "+
		"while the books say the payee was paid; an admin decides what is owed (audit %s on %s)",
		r.ItemID, wf, leg.Party, leg.PayeeID, status, money.Format(amount, cur), ActionPayoutTakenBack, target)
	recorded := false
	// The audit entry and its alert are one transaction: a redelivery finds the entry and raises
	// nothing, and a failure (a crash) between the two writes neither, so PayPal's next delivery
	// writes both. Both go through the one connection the transaction holds (see changeMonitor).
	err = pgx.BeginFunc(ctx, s.deps.Pool, func(ptx pgx.Tx) error {
		tx := s.deps.Store.Joining(ptx)
		if err := tx.LockTarget(ctx, target); err != nil {
			return err
		}
		done, err := tx.AuditRecordedAny(ctx, ActionPayoutTakenBack, target, map[string]string{"event_id": evt.ID, "taken_back": takenBack})
		if err != nil || done {
			return err
		}
		recorded = true
		err = tx.Audit(ctx, providerPayPal, ActionPayoutTakenBack, target, "",
			map[string]any{"payment_status": rec.Status, "party": leg.Party, "payee_id": leg.PayeeID, "leg_state": leg.State},
			map[string]any{"event_id": evt.ID, "event_type": typ, "key": r.SenderBatchID, "item_id": r.ItemID, "batch_id": r.BatchID,
				"status": status, "transaction_status": cmp.Or(r.Status, status), "amount": amount, "currency": cur, "taken_back": takenBack})
		if err != nil {
			return err
		}
		_, err = s.monitors().InTx(ptx).RaiseEvent(ctx, monitor.KindPayoutTakenBack, summary, amount, []string{wf}, time.Now())
		return err
	})
	if err != nil {
		s.count(providerPayPal, typ, "unavailable")
		s.deps.Logger.Error("paypal payout taken back not recorded", "event_id", evt.ID, "workflow_id", wf, "error", err)
		return true, errorf(http.StatusServiceUnavailable, "storage_unavailable", "the event could not be recorded; retry later")
	}
	outcome := "duplicate"
	if recorded {
		outcome = "recorded"
		s.deps.Logger.Warn("paypal payout taken back after it was paid: an admin decides what is owed",
			"workflow_id", wf, "key", r.SenderBatchID, "item_id", r.ItemID, "status", status, "amount", money.Format(amount, cur))
	}
	s.count(providerPayPal, typ, outcome)
	return true, c.JSON(http.StatusOK, map[string]string{"status": outcome, "workflow_id": wf, "type": typ})
}

// paidLeg finds the leg whose transfer, or one of whose top-ups, is the payout item: the rail
// books a PayPal movement as made only when its item is SUCCESS, with the item's ID; an admin's
// resolve of one in doubt records the batch PayPal shows.
func paidLeg(rec ipayment.Record, itemID, batchID string) (ipayment.Leg, bool) {
	made := func(id string) bool { return id != "" && (id == itemID || id == batchID) }
	for _, l := range rec.Legs {
		if made(l.TransferID) || slices.ContainsFunc(l.TopUps, func(t ipayment.TopUp) bool { return made(t.TransferID) }) {
			return l, true
		}
	}
	return ipayment.Leg{}, false
}
