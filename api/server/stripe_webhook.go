package server

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"
	"go.opentelemetry.io/otel/propagation"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"paysplit/activities"
	"paysplit/internal/money"
	"paysplit/internal/store"
	"paysplit/workflows/payment"
)

// signatureTolerance is how old a signed delivery may be: Stripe's recommended five minutes.
const signatureTolerance = 5 * time.Minute

const providerStripe = "stripe"

// stripeWebhook verifies a Stripe delivery and hands it over (handOver): 2xx once the event is
// durably held (by Temporal, or by the inbox), 503 when it cannot be, so Stripe delivers again and
// nothing is lost.
func (s *Server) stripeWebhook(c echo.Context) error {
	body, err := io.ReadAll(c.Request().Body)
	if err != nil {
		return errorf(http.StatusBadRequest, "unreadable_body", "could not read the request body")
	}
	evt, badSignature, err := verifiedStripeEvent(body, c.Request().Header.Get("Stripe-Signature"), s.deps.StripeWebhookSecret)
	if err != nil {
		if !badSignature {
			s.count(providerStripe, "unknown", "invalid")
			return errorf(http.StatusBadRequest, "invalid_event", "signed body is not a Stripe event: "+err.Error())
		}
		s.count(providerStripe, "unknown", "bad_signature")
		return errorf(http.StatusBadRequest, "invalid_signature", "Stripe-Signature verification failed: "+err.Error())
	}
	if evt.Account != "" {
		// Only a Connect endpoint gets these: its deliveries belong at /webhooks/stripe-connect.
		s.deps.Logger.Warn("stripe webhook: a connected account's event ignored on the platform endpoint",
			"event_id", evt.ID, "type", evt.Type, "account", evt.Account)
	}
	ev, paymentID, err := stripeToEvent(evt)
	return s.handOver(c, providerStripe, string(evt.Type), paymentID, ev, err)
}

// verifiedStripeEvent checks a delivery's Stripe-Signature against secret (within
// signatureTolerance; any of its v1 signatures, as Stripe signs with the old and the new secret
// while one is rolled) and decodes its event (decodeStripeEvent); badSignature says the signature
// did not hold.
func verifiedStripeEvent(body []byte, sig, secret string) (evt stripe.Event, badSignature bool, err error) {
	if err := webhook.ValidatePayloadWithTolerance(body, sig, secret, signatureTolerance); err != nil {
		return stripe.Event{}, true, err
	}
	evt, err = decodeStripeEvent(body)
	return evt, false, err
}

// decodeStripeEvent reads an event in whichever API version Stripe rendered it (its endpoint's;
// api_version is not compared with the library's). Before 2017-05-25 an event's request was the
// request's ID, a string where later versions have {id, idempotency_key}, and a connected
// account's event named its account in user_id instead of account: stripe-go reads only the
// later forms, and refused the whole event.
func decodeStripeEvent(body []byte) (stripe.Event, error) {
	var legacy struct {
		Request json.RawMessage `json:"request"`
		UserID  string          `json:"user_id"`
	}
	if err := json.Unmarshal(body, &legacy); err != nil {
		return stripe.Event{}, fmt.Errorf("parse the event JSON: %w", err)
	}
	if len(legacy.Request) > 0 && legacy.Request[0] == '"' {
		var fields map[string]json.RawMessage
		var id string
		if err := errors.Join(json.Unmarshal(body, &fields), json.Unmarshal(legacy.Request, &id)); err != nil {
			return stripe.Event{}, fmt.Errorf("parse the event JSON: %w", err)
		}
		fields["request"], _ = json.Marshal(stripe.EventRequest{ID: id}) // plain strings: cannot fail
		body, _ = json.Marshal(fields)
	}
	var evt stripe.Event
	if err := json.Unmarshal(body, &evt); err != nil {
		return stripe.Event{}, fmt.Errorf("parse the event JSON: %w", err)
	}
	evt.Account = cmp.Or(evt.Account, legacy.UserID)
	return evt, nil
}

// handOver answers a verified provider event: ignored types 200, unusable ones 400. The rest go
// to the payment's workflow, acknowledged as Deps.WebhookAck says: AckOnTemporal (the default)
// answers 200 once Temporal durably took the start or signal and 503 when it cannot be reached,
// so the provider delivers again; AckOnStore answers 200 once the event is stored in the webhook
// inbox ("duplicate" when it was delivered before) and lets the relay forward it, 503 only when
// Postgres cannot store it.
func (s *Server) handOver(c echo.Context, provider, typ, paymentID string, ev payment.Event, err error) error {
	if errors.Is(err, errIgnored) {
		s.count(provider, typ, "ignored")
		return c.JSON(http.StatusOK, map[string]string{"status": "ignored", "type": typ})
	}
	if err == nil && !providerIDPattern.MatchString(paymentID) {
		err = fmt.Errorf("payment id %.80q is not a %s ID", paymentID, provider)
	}
	if err == nil && ev.ID == "" {
		err = fmt.Errorf("the %s event has no id", provider)
	}
	if err != nil {
		s.count(provider, typ, "invalid")
		return errorf(http.StatusBadRequest, "invalid_event", err.Error())
	}
	hold, code, message := s.deliver, "temporal_unavailable", "the workflow service is unavailable; retry later"
	if s.deps.WebhookAck == AckOnStore {
		hold, code, message = s.accept, "storage_unavailable", "the event could not be stored; retry later"
	}
	outcome, err := hold(c.Request().Context(), provider, paymentID, ev)
	if errors.Is(err, store.ErrInvalid) {
		// Postgres refused the event's text (a NUL character): sending it again cannot help.
		s.count(provider, typ, "invalid")
		return errorf(http.StatusBadRequest, "invalid_event", err.Error())
	}
	if err != nil {
		s.count(provider, typ, "unavailable")
		s.deps.Logger.Error("webhook event not held", "provider", provider, "event_id", ev.ID, "type", typ, "code", code, "error", err)
		return errorf(http.StatusServiceUnavailable, code, message)
	}
	s.count(provider, typ, outcome)
	return c.JSON(http.StatusOK, map[string]string{"status": outcome, "workflow_id": payment.WorkflowID(provider, paymentID)})
}

// accept stores a verified event in the inbox and gives it to the relay: from memory, leased
// to this API, while its buffer has room; else through the table, for a claim to take.
func (s *Server) accept(ctx context.Context, provider, paymentID string, ev payment.Event) (string, error) {
	raw, err := json.Marshal(ev)
	if err != nil {
		return "", fmt.Errorf("encode %s event %s: %w", provider, ev.ID, err)
	}
	trace := propagation.MapCarrier{}
	propagation.TraceContext{}.Inject(ctx, trace)
	e := store.InboxEvent{Provider: provider, EventID: ev.ID, PaymentID: paymentID, TaskQueue: s.deps.TaskQueue, Event: raw, Trace: trace}
	r := s.relay
	var lease time.Duration
	reserved := r.reserve()
	if reserved {
		lease = r.opts.Lease
	}
	leasedUntil := relayClock().Add(lease) // before the insert: never later than the stored lease
	id, first, err := s.inbox.Accept(ctx, e, lease)
	switch {
	case err != nil || !first:
		if reserved {
			r.release()
		}
		if err != nil {
			return "", err
		}
		return "duplicate", nil
	case reserved:
		e.ID, e.Attempts, e.LeasedUntil = id, 1, leasedUntil
		r.hand(e)
	default:
		r.wake()
	}
	return "accepted", nil
}

func (s *Server) count(provider, typ, outcome string) {
	s.metrics.webhooks.WithLabelValues(provider, typ, outcome).Inc()
}

var errIgnored = errors.New("event type not handled")

// handled lists the Stripe event types the platform acts on.
var handled = map[stripe.EventType]bool{
	"payment_intent.succeeded": true, "charge.refunded": true, "charge.dispute.created": true, "charge.dispute.closed": true,
	"charge.refund.updated": true, "refund.updated": true, "refund.failed": true,
}

// providerIDPattern bounds the payment IDs that become workflow IDs and idempotency keys.
var providerIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,100}$`)

// stripeToEvent reduces a Stripe event to the workflow's Event, keeping no customer data.
//
// An event of a connected account (it names the account, as Stripe sends to a Connect endpoint)
// is ignored: a direct charge on a vendor's own account put the money in the vendor's balance,
// not the platform's, and split here it would be paid out of the platform's balance.
func stripeToEvent(evt stripe.Event) (payment.Event, string, error) {
	if evt.Account != "" {
		return payment.Event{}, "", errIgnored
	}
	at := time.Unix(evt.Created, 0).UTC()
	if evt.Data == nil {
		if handled[evt.Type] {
			return payment.Event{}, "", fmt.Errorf("%s event without data.object", evt.Type)
		}
		return payment.Event{}, "", errIgnored
	}
	switch evt.Type {
	case "payment_intent.succeeded":
		var pi stripe.PaymentIntent
		if err := json.Unmarshal(evt.Data.Raw, &pi); err != nil {
			return payment.Event{}, "", fmt.Errorf("payment_intent.succeeded: %w", err)
		}
		cur, err := money.ParseCurrency(string(pi.Currency))
		if err != nil {
			return payment.Event{}, "", fmt.Errorf("payment_intent %s: %w", pi.ID, err)
		}
		amount := pi.AmountReceived
		if amount == 0 {
			amount = pi.Amount
		}
		if pi.ID == "" || amount <= 0 {
			return payment.Event{}, "", fmt.Errorf("payment_intent.succeeded needs an id and a positive amount")
		}
		if amount, err = money.FromStripe(amount, cur); err != nil {
			return payment.Event{}, "", fmt.Errorf("payment_intent %s: %w", pi.ID, err)
		}
		// Captured at the event's time, until Enrich reads the charge's balance transaction: a
		// bank debit (ACH, SEPA, BECS) counts from when Stripe submitted it, days before it
		// succeeded, as Stripe's own lists count it (activities.stripeCapturedAt).
		ev := payment.Event{ID: evt.ID, Kind: payment.EventCapture, Amount: amount, Currency: cur, Metadata: orderMetadata(pi.Metadata), OccurredAt: at, ISOUnits: true}
		if pi.Created > 0 {
			ev.IntentCreated = time.Unix(pi.Created, 0).UTC()
		}
		ev.ChargeID = succeededCharge(pi, evt.Data.Raw)
		return ev, pi.ID, nil
	case "charge.refunded":
		var ch stripe.Charge
		if err := json.Unmarshal(evt.Data.Raw, &ch); err != nil {
			return payment.Event{}, "", fmt.Errorf("charge.refunded: %w", err)
		}
		if ch.PaymentIntent == nil || ch.PaymentIntent.ID == "" {
			return payment.Event{}, "", errIgnored // a charge outside PaymentIntents was never split here
		}
		// Checked as a capture is: the workflow takes the figure as the payment's cumulative
		// refund in the payment's currency, so a charge Stripe could not have sent (no or an
		// unknown currency, a negative figure, more refunded than charged) is refused here.
		cur, err := money.ParseCurrency(string(ch.Currency))
		if err != nil {
			return payment.Event{}, "", fmt.Errorf("charge %s: %w", ch.ID, err)
		}
		if ch.ID == "" || ch.Amount <= 0 {
			return payment.Event{}, "", fmt.Errorf("charge.refunded needs the charge's id and a positive amount")
		}
		if ch.AmountRefunded < 0 || ch.AmountRefunded > ch.Amount {
			return payment.Event{}, "", fmt.Errorf("charge %s: amount_refunded %d outside 0..%d (its amount)", ch.ID, ch.AmountRefunded, ch.Amount)
		}
		customers, released := customerRefunded(evt.APIVersion, evt.Data.Raw, ch)
		if customers == 0 && released > 0 {
			return payment.Event{}, "", errIgnored // an uncaptured amount released: nothing of the payment refunded
		}
		refunded, err := money.FromStripe(customers, cur)
		if err != nil {
			return payment.Event{}, "", fmt.Errorf("charge %s: %w", ch.ID, err)
		}
		return payment.Event{ID: evt.ID, Kind: payment.EventRefund, ChargeID: ch.ID, AmountRefunded: refunded, Currency: cur,
			PreviousRefunded: previousRefunded(evt, ch, cur, refunded), OccurredAt: at, ISOUnits: true}, ch.PaymentIntent.ID, nil
	case "charge.refund.updated", "refund.updated", "refund.failed":
		return refundUpdateToEvent(evt, at)
	case "charge.dispute.created", "charge.dispute.closed":
		var d stripe.Dispute
		if err := json.Unmarshal(evt.Data.Raw, &d); err != nil {
			return payment.Event{}, "", fmt.Errorf("%s: %w", evt.Type, err)
		}
		if d.PaymentIntent == nil || d.PaymentIntent.ID == "" {
			return payment.Event{}, "", errIgnored
		}
		kind := payment.EventDisputeCreated
		if evt.Type == "charge.dispute.closed" {
			kind = payment.EventDisputeClosed
		}
		cur, err := money.ParseCurrency(string(d.Currency))
		if err != nil {
			return payment.Event{}, "", fmt.Errorf("dispute %s: %w", d.ID, err)
		}
		if d.ID == "" || d.Amount <= 0 {
			return payment.Event{}, "", fmt.Errorf("%s needs the dispute's id and a positive amount", evt.Type)
		}
		amount, err := money.FromStripe(d.Amount, cur)
		if err != nil {
			return payment.Event{}, "", fmt.Errorf("dispute %s: %w", d.ID, err)
		}
		fees, err := disputeFees(d)
		if err != nil {
			return payment.Event{}, "", fmt.Errorf("dispute %s: %w", d.ID, err)
		}
		return payment.Event{ID: evt.ID, Kind: kind, Amount: amount, Currency: cur, DisputeID: d.ID, DisputeStatus: string(d.Status),
			DisputeFees: fees, OccurredAt: at, ISOUnits: true}, d.PaymentIntent.ID, nil
	}
	return payment.Event{}, "", errIgnored
}

// succeededCharge is the charge a succeeded PaymentIntent was paid with: its latest_charge or,
// rendered in an API version before 2022-11-15 (which has none), the one of its listed charges
// (charges, failed attempts among them) that succeeded; "" when it names none.
func succeededCharge(pi stripe.PaymentIntent, raw []byte) string {
	if pi.LatestCharge != nil && pi.LatestCharge.ID != "" {
		return pi.LatestCharge.ID
	}
	var legacy struct {
		Charges struct {
			Data []struct {
				ID     string `json:"id"`
				Status string `json:"status"`
			} `json:"data"`
		} `json:"charges"`
	}
	if json.Unmarshal(raw, &legacy) != nil {
		return ""
	}
	for _, ch := range legacy.Charges.Data { // newest first
		if ch.Status == string(stripe.ChargeStatusSucceeded) {
			return ch.ID
		}
	}
	return ""
}

// customerRefunded is activities.StripeRefunded of a charge.refunded event: in the event's API
// version (the endpoint's, as Stripe renders it), with its amount_captured if it states one. A
// charge that says it was never captured captured nothing, whatever its amount_captured: before
// basil a canceled authorization states it null.
func customerRefunded(apiVersion string, raw []byte, ch stripe.Charge) (customers, released int64) {
	var c struct {
		AmountCaptured *int64 `json:"amount_captured"`
		Captured       *bool  `json:"captured"`
	}
	if json.Unmarshal(raw, &c) != nil {
		c.AmountCaptured, c.Captured = nil, nil
	}
	if c.Captured != nil && !*c.Captured {
		c.AmountCaptured = new(int64)
	}
	return activities.StripeRefunded(apiVersion, ch.Amount, c.AmountCaptured, ch.AmountRefunded)
}

// previousRefunded is what a charge.refunded's charge had refunded to customers before the event's
// refund (data.previous_attributes.amount_refunded, read as its amount_refunded is), in the
// payment's units; nil when the event does not say it, or says what cannot be (not a whole
// number, negative, not below the figure refunded now: refunds only add). The workflow orders
// a failure told in the refund's second by it (code path 26); without it, it reads as before.
func previousRefunded(evt stripe.Event, ch stripe.Charge, cur money.Currency, refunded int64) *int64 {
	v, ok := evt.Data.PreviousAttributes["amount_refunded"]
	if !ok {
		return nil
	}
	// Decoded into a map, a JSON number is a float64: re-encoded, a whole one reads as an int64
	// and anything else (a fraction, a string, null) does not.
	raw, err := json.Marshal(v)
	var before *int64 // null stays nil
	if err != nil || json.Unmarshal(raw, &before) != nil || before == nil || *before < 0 || *before >= ch.AmountRefunded {
		return nil
	}
	ch.AmountRefunded = *before
	customers, _ := customerRefunded(evt.APIVersion, evt.Data.Raw, ch)
	prev, err := money.FromStripe(customers, cur)
	if err != nil || prev >= refunded {
		return nil
	}
	return &prev
}

// refundUpdateToEvent turns the news of a refund that failed or was canceled (its money came
// back to the platform) into EventRefundFailed; any other refund update changes nothing the
// workflow keeps (charge.refunded says what was refunded) and is ignored.
func refundUpdateToEvent(evt stripe.Event, at time.Time) (payment.Event, string, error) {
	var re stripe.Refund
	if err := json.Unmarshal(evt.Data.Raw, &re); err != nil {
		return payment.Event{}, "", fmt.Errorf("%s: %w", evt.Type, err)
	}
	if re.Status != stripe.RefundStatusFailed && re.Status != stripe.RefundStatusCanceled {
		return payment.Event{}, "", errIgnored
	}
	if re.PaymentIntent == nil || re.PaymentIntent.ID == "" {
		return payment.Event{}, "", errIgnored // a charge outside PaymentIntents was never split here
	}
	if re.ID == "" || re.Amount <= 0 {
		return payment.Event{}, "", fmt.Errorf("%s of a %s refund needs the refund's id and a positive amount", evt.Type, re.Status)
	}
	cur, err := money.ParseCurrency(string(re.Currency))
	if err != nil {
		return payment.Event{}, "", fmt.Errorf("refund %s: %w", re.ID, err)
	}
	amount, err := money.FromStripe(re.Amount, cur)
	if err != nil {
		return payment.Event{}, "", fmt.Errorf("refund %s: %w", re.ID, err)
	}
	ev := payment.Event{ID: evt.ID, Kind: payment.EventRefundFailed, RefundID: re.ID, Amount: amount, Currency: cur,
		OccurredAt: at, ISOUnits: true}
	if re.Created > 0 {
		ev.RefundMade = time.Unix(re.Created, 0).UTC()
	}
	return ev, re.PaymentIntent.ID, nil
}

// disputeFees reads the fees of a dispute's balance transactions (the dispute fee Stripe charges
// when funds are withdrawn, and its return if they are reinstated with it), by transaction ID, so
// each is booked once whatever order the events come in. Fees in another currency than the
// dispute's are left out, as a capture's are.
func disputeFees(d stripe.Dispute) (map[string]int64, error) {
	var out map[string]int64
	for _, bt := range d.BalanceTransactions {
		if bt == nil || bt.ID == "" || bt.Fee == 0 || bt.Currency != d.Currency {
			continue
		}
		fee, err := money.FromStripe(bt.Fee, money.Currency(bt.Currency))
		if err != nil {
			return nil, fmt.Errorf("fee of %s: %w", bt.ID, err)
		}
		if out == nil {
			out = map[string]int64{}
		}
		out[bt.ID] = fee
	}
	return out, nil
}

// orderMetadata keeps only the order fields the split needs; anything else a plugin sends
// (possibly customer data) is dropped here, before it reaches workflow history.
func orderMetadata(md map[string]string) map[string]string {
	keep := []string{"client_id", "order_id", "vendor_id", "affiliate_id", "subtotal", "tax", "shipping", "discount", "extras", "platform"}
	out := make(map[string]string, len(keep))
	for _, k := range keep {
		if v, ok := md[k]; ok {
			out[k] = v
		}
	}
	return out
}

// deliver signals the payment's workflow, starting it if needed. A capture never starts a second
// run of a closed payment (the duplicate is acknowledged); a refund or dispute after the run
// closed starts a follow-up run that resumes from the stored state. A capture starts its run with
// a plain start, the event in the input (code path 8), which spares the server a signal; when the
// run exists (a refund came first, or a re-delivery), the signal-with-start says which. A run
// that an event other than a capture starts carries the stored payment's search attributes.
func (s *Server) deliver(ctx context.Context, provider, paymentID string, ev payment.Event) (string, error) {
	return s.deliverStored(ctx, provider, paymentID, ev, nil)
}

// storedFirst is a capture's start input with the event as the inbox stored it (JSON) in First.
type storedFirst struct {
	payment.Input
	First json.RawMessage
}

// deliverStored is deliver of an event the inbox stored: stored, when set, is the event as it was
// stored, and what Temporal is sent (in the start input, as the signal), ev being this build's
// reading of it, which only decides how it is sent. Every replica's relay forwards from the one
// inbox, so during a rolling deploy an older replica forwards what a newer one stored: re-encoded
// from this build's Event, the fields a newer build added (say ISOUnits, which says in what units
// a Stripe event's amounts are) were dropped on the way to workers that knew them.
func (s *Server) deliverStored(ctx context.Context, provider, paymentID string, ev payment.Event, stored json.RawMessage) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	id := payment.WorkflowID(provider, paymentID)
	in := payment.Input{Provider: provider, PaymentID: paymentID, Settings: s.deps.Settings, CodePath: payment.CurrentCodePath}
	reuse := enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if ev.Kind == payment.EventCapture {
		reuse = enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE
		var first any = storedFirst{Input: in, First: stored}
		if stored == nil {
			plain := in
			plain.First = &ev
			first = plain
		}
		_, err := s.deps.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
			ID: id, TaskQueue: s.deps.TaskQueue, WorkflowIDReusePolicy: reuse,
			WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL, WorkflowExecutionErrorWhenAlreadyStarted: true,
			TypedSearchAttributes: captureAttributes(ev),
		}, payment.WorkflowName, first)
		if !errors.As(err, &started) {
			if err != nil {
				return "", err
			}
			return "accepted", nil
		}
	}
	opts := client.StartWorkflowOptions{ID: id, TaskQueue: s.deps.TaskQueue, WorkflowIDReusePolicy: reuse}
	if ev.Kind != payment.EventCapture {
		// It may start a follow-up run (a capture never does): one admins find as the first.
		opts.TypedSearchAttributes = s.startAttributes(ctx, id)
	}
	var signal any = ev
	if stored != nil {
		signal = stored
	}
	_, err := s.deps.Temporal.SignalWithStartWorkflow(ctx, id, payment.SignalEvent, signal, opts, payment.WorkflowName, in)
	if errors.As(err, &started) {
		return "duplicate", nil
	}
	if err != nil {
		return "", err
	}
	return "accepted", nil
}
