// Package stripeevent builds signed Stripe webhook deliveries in Stripe's wire format, for the
// demo and for tests that drive the real webhook endpoint.
package stripeevent

import (
	"cmp"
	"encoding/json"
	"fmt"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"
)

// Delivery is one webhook request: the body and its Stripe-Signature header.
type Delivery struct {
	Body      []byte
	Signature string
}

func build(id, typ string, created time.Time, object map[string]any) []byte {
	return buildWith(id, typ, created, object, nil)
}

// buildWith is build with the event's data.previous_attributes (left out when nil).
func buildWith(id, typ string, created time.Time, object, previous map[string]any) []byte {
	data := map[string]any{"object": object}
	if previous != nil {
		data["previous_attributes"] = previous
	}
	body, err := json.Marshal(map[string]any{
		"id": id, "object": "event", "api_version": stripe.APIVersion, "created": created.Unix(),
		"livemode": false, "pending_webhooks": 1, "type": typ, "data": data,
	})
	if err != nil {
		panic(fmt.Sprintf("stripeevent: marshal %s: %v", typ, err)) // only plain maps: cannot fail
	}
	return body
}

// Sign signs a body the way Stripe does, at the given time.
func Sign(body []byte, secret string, at time.Time) Delivery {
	p := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: secret, Timestamp: at})
	return Delivery{Body: body, Signature: p.Header}
}

// Capture is a payment_intent.succeeded event.
type Capture struct {
	EventID, PaymentIntent, Charge, Currency string
	Amount                                   int64
	Metadata                                 map[string]string
	// Created is the event's time; IntentCreated the PaymentIntent's own (its created, when the
	// customer's checkout made it), Created when zero: a card paid at once.
	Created, IntentCreated time.Time
}

// Body renders the event.
func (c Capture) Body() []byte {
	object := map[string]any{
		"id": c.PaymentIntent, "object": "payment_intent", "amount": c.Amount, "amount_received": c.Amount,
		"currency": c.Currency, "status": "succeeded", "latest_charge": c.Charge, "metadata": c.Metadata,
	}
	if made := cmp.Or(c.IntentCreated, c.Created); !made.IsZero() {
		object["created"] = made.Unix()
	}
	return build(c.EventID, "payment_intent.succeeded", c.Created, object)
}

// Refund is a charge.refunded event; AmountRefunded is the charge's cumulative refunded amount.
// AmountCaptured is what of Amount was captured (Amount when zero): in the API version events are
// built in, a partial capture's uncaptured rest counts in AmountRefunded, as Stripe released it.
type Refund struct {
	EventID, PaymentIntent, Charge, Currency string
	Amount, AmountRefunded, AmountCaptured   int64
	// PreviousRefunded, when set, is the charge's amount_refunded before this refund, rendered in
	// data.previous_attributes as Stripe renders a charge.refunded (with refunded, and the refunds
	// list, left empty here); nil leaves previous_attributes out.
	PreviousRefunded *int64
	Created          time.Time
}

// Body renders the event.
func (r Refund) Body() []byte {
	var previous map[string]any
	if r.PreviousRefunded != nil {
		previous = map[string]any{"amount_refunded": *r.PreviousRefunded, "refunded": *r.PreviousRefunded == r.Amount,
			"refunds": map[string]any{"data": []any{}, "total_count": 0}}
	}
	return buildWith(r.EventID, "charge.refunded", r.Created, map[string]any{
		"id": r.Charge, "object": "charge", "amount": r.Amount, "amount_captured": cmp.Or(r.AmountCaptured, r.Amount),
		"amount_refunded": r.AmountRefunded, "captured": true,
		"currency": r.Currency, "payment_intent": r.PaymentIntent, "refunded": r.AmountRefunded == r.Amount,
	}, previous)
}

// RefundUpdate is a refund's charge.refund.updated (or, Type set, refund.updated or
// refund.failed) event; Status "failed" or "canceled" says the refund did not happen.
type RefundUpdate struct {
	EventID, Type, Refund, PaymentIntent, Charge, Currency, Status string
	Amount                                                         int64
	// Created is the event's time; Made the refund's own (its created), Created when zero.
	Created, Made time.Time
}

// Body renders the event.
func (r RefundUpdate) Body() []byte {
	typ := r.Type
	if typ == "" {
		typ = "charge.refund.updated"
	}
	object := map[string]any{
		"id": r.Refund, "object": "refund", "amount": r.Amount, "charge": r.Charge, "currency": r.Currency,
		"payment_intent": r.PaymentIntent, "status": r.Status, "created": cmp.Or(r.Made, r.Created).Unix(),
	}
	if r.Status == "failed" {
		object["failure_reason"] = "expired_or_canceled_card"
		object["failure_balance_transaction"] = "txn_" + r.Refund
	}
	return build(r.EventID, typ, r.Created, object)
}

// Dispute is a charge.dispute.created or charge.dispute.closed event; Funds are its balance
// transactions so far (funds withdrawn, and reinstated).
type Dispute struct {
	EventID, Type, Dispute, PaymentIntent, Charge, Currency, Status string
	Amount                                                          int64
	Funds                                                           []DisputeFunds
	Created                                                         time.Time
}

// DisputeFunds is one balance transaction of a dispute: Amount negative when withdrawn, Fee the
// dispute fee (negative when returned).
type DisputeFunds struct {
	ID          string
	Amount, Fee int64
}

// Body renders the event.
func (d Dispute) Body() []byte {
	bts := make([]map[string]any, 0, len(d.Funds))
	for _, f := range d.Funds {
		bts = append(bts, map[string]any{
			"id": f.ID, "object": "balance_transaction", "amount": f.Amount, "currency": d.Currency, "fee": f.Fee,
			"net": f.Amount - f.Fee, "reporting_category": "dispute", "type": "adjustment", "status": "available",
			"fee_details": []map[string]any{{"amount": f.Fee, "currency": d.Currency, "type": "stripe_fee", "description": "Dispute fee"}},
		})
	}
	return build(d.EventID, d.Type, d.Created, map[string]any{
		"id": d.Dispute, "object": "dispute", "amount": d.Amount, "charge": d.Charge,
		"currency": d.Currency, "payment_intent": d.PaymentIntent, "status": d.Status, "balance_transactions": bts,
	})
}

// AccountUpdated is a connected account's account.updated event, as a Connect endpoint gets it:
// the account named at the top (account) and as the object, Transfers its transfers
// capability's status ("active", "inactive", "pending"; "" leaves the capability out).
type AccountUpdated struct {
	EventID, Account, Transfers string
	Created                     time.Time
}

// Body renders the event.
func (a AccountUpdated) Body() []byte {
	object := map[string]any{"id": a.Account, "object": "account", "type": "express", "charges_enabled": true, "payouts_enabled": true}
	if a.Transfers != "" {
		object["capabilities"] = map[string]any{"transfers": a.Transfers, "card_payments": a.Transfers}
	}
	return connect(build(a.EventID, "account.updated", a.Created, object), a.Account)
}

// CapabilityUpdated is a connected account's capability.updated event: Capability ("transfers",
// "card_payments") now has Status.
type CapabilityUpdated struct {
	EventID, Account, Capability, Status string
	Created                              time.Time
}

// Body renders the event.
func (c CapabilityUpdated) Body() []byte {
	return connect(build(c.EventID, "capability.updated", c.Created, map[string]any{
		"id": c.Capability, "object": "capability", "account": c.Account, "requested": true,
		"requested_at": c.Created.Unix(), "status": c.Status,
	}), c.Account)
}

// connect adds the connected account an event happened on (its top-level account), as Stripe
// sends events to Connect endpoints.
func connect(body []byte, account string) []byte {
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		panic(fmt.Sprintf("stripeevent: %v", err)) // build's own output
	}
	m["account"] = account
	out, err := json.Marshal(m)
	if err != nil {
		panic(fmt.Sprintf("stripeevent: %v", err))
	}
	return out
}
