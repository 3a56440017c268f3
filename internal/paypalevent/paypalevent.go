// Package paypalevent builds PayPal webhook deliveries in PayPal's wire format, for tests that
// drive the real webhook endpoint and for the benchmark; the PayPal fake (testenv) signs them.
// It is the PayPal twin of stripeevent.
package paypalevent

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"

	"paysplit/internal/money"
)

// Build renders an event of type typ around its resource. PayPal writes '&', '<' and '>' as they
// are (a custom_id of ours is "client_id=...&order_id=..."), not as Go's \u0026 escapes: a
// reader or verifier that re-encodes the body must meet them.
func Build(id, typ string, created time.Time, resource map[string]any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	err := enc.Encode(map[string]any{"id": id, "event_version": "1.0", "create_time": created.UTC().Format(time.RFC3339),
		"resource_type": "capture", "event_type": typ, "summary": typ, "resource": resource})
	if err != nil {
		panic(fmt.Sprintf("paypalevent: marshal %s: %v", typ, err)) // only plain maps: cannot fail
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

// Amount is PayPal's amount object: the currency code and a decimal string in the currency's own
// exponent ("110.00", "1200" for JPY). The currency must be one money knows.
func Amount(minor int64, currency money.Currency) map[string]string {
	value, err := money.Decimal(minor, currency)
	if err != nil {
		panic(fmt.Sprintf("paypalevent: %v", err))
	}
	return map[string]string{"currency_code": strings.ToUpper(string(currency)), "value": value}
}

// Capture is a PAYMENT.CAPTURE.COMPLETED event carrying the order metadata in custom_id,
// URL-encoded, as the store plugins put it; InvoiceID is left out when empty. A Fee above 0 comes
// as the seller_receivable_breakdown PayPal adds to a completed capture.
type Capture struct {
	EventID, CaptureID, InvoiceID string
	Currency                      money.Currency
	Amount, Fee                   int64
	Metadata                      map[string]string
	// Created is when the capture completed (the event's create_time and the capture's
	// update_time); Made when the capture was created (its create_time), earlier for one that
	// was PENDING first (an eCheck clearing, a payment under review): Created when zero.
	Created, Made time.Time
}

// Body renders the event.
func (c Capture) Body() []byte {
	custom := url.Values{}
	for k, v := range c.Metadata {
		custom.Set(k, v)
	}
	made := c.Made
	if made.IsZero() {
		made = c.Created
	}
	resource := map[string]any{
		"id": c.CaptureID, "status": "COMPLETED", "amount": Amount(c.Amount, c.Currency), "custom_id": custom.Encode(),
		"final_capture": true, "payee": map[string]string{"email_address": "merchant@example.com"},
		"create_time": made.UTC().Format(time.RFC3339), "update_time": c.Created.UTC().Format(time.RFC3339),
	}
	if c.InvoiceID != "" {
		resource["invoice_id"] = c.InvoiceID
	}
	if c.Fee > 0 {
		resource["seller_receivable_breakdown"] = map[string]any{
			"gross_amount": Amount(c.Amount, c.Currency), "paypal_fee": Amount(c.Fee, c.Currency),
			"net_amount": Amount(c.Amount-c.Fee, c.Currency),
		}
	}
	return Build(c.EventID, "PAYMENT.CAPTURE.COMPLETED", c.Created, resource)
}

// Refund is a PAYMENT.CAPTURE.REFUNDED event: Amount is this refund, TotalRefunded the capture's
// cumulative refunded amount, Fee (when above 0) the part of the capture's fee PayPal gave back;
// its "up" link names the capture.
type Refund struct {
	EventID, RefundID, CaptureID string
	Currency                     money.Currency
	Amount, TotalRefunded, Fee   int64
	Created                      time.Time
	// Status is the refund's (COMPLETED when empty; PENDING, FAILED, CANCELLED), and Made when it
	// was created (the event's time when zero).
	Status string
	Made   time.Time
}

// Body renders the event.
func (r Refund) Body() []byte {
	breakdown := map[string]any{"total_refunded_amount": Amount(r.TotalRefunded, r.Currency)}
	if r.Fee > 0 {
		breakdown["gross_amount"], breakdown["paypal_fee"], breakdown["net_amount"] = Amount(r.Amount, r.Currency), Amount(r.Fee, r.Currency), Amount(r.Amount-r.Fee, r.Currency)
	}
	status, made := r.Status, r.Made
	if status == "" {
		status = "COMPLETED"
	}
	if made.IsZero() {
		made = r.Created
	}
	return Build(r.EventID, "PAYMENT.CAPTURE.REFUNDED", r.Created, map[string]any{
		"id": r.RefundID, "status": status, "create_time": made.UTC().Format(time.RFC3339), "amount": Amount(r.Amount, r.Currency),
		"seller_payable_breakdown": breakdown,
		"links":                    []map[string]string{{"rel": "up", "href": "https://api.paypal.com/v2/payments/captures/" + r.CaptureID, "method": "GET"}},
	})
}

// Reversal is a PAYMENT.CAPTURE.REVERSED event: PayPal took Amount of the capture back (a
// chargeback, or a dispute decided for the buyer), with a refund resource of its own ID.
type Reversal struct {
	EventID, ReversalID, CaptureID string
	Currency                       money.Currency
	Amount                         int64
	Created                        time.Time
}

// Body renders the event.
func (r Reversal) Body() []byte {
	return Build(r.EventID, "PAYMENT.CAPTURE.REVERSED", r.Created, map[string]any{
		"id": r.ReversalID, "status": "COMPLETED", "amount": Amount(r.Amount, r.Currency), "note_to_payer": "Payment reversed",
		"links": []map[string]string{{"rel": "up", "href": "https://api.paypal.com/v2/payments/captures/" + r.CaptureID, "method": "GET"}},
	})
}

// Dispute is a CUSTOMER.DISPUTE.* event (Type) about a capture: Amount in Currency is what the
// buyer disputes (the buyer's currency may not be the capture's), Outcome the outcome code of a
// resolved one (RESOLVED_BUYER_FAVOUR, RESOLVED_SELLER_FAVOUR, ...).
type Dispute struct {
	EventID, Type, DisputeID, CaptureID, Outcome string
	Currency                                     money.Currency
	Amount                                       int64
	Created                                      time.Time
	// Transactions, when set, are the disputed transactions in place of CaptureID alone: a case
	// can cover several of the buyer's payments to the seller.
	Transactions []Disputed
}

// Disputed is one of a dispute's disputed_transactions: the seller's capture ID and, when Gross
// is above 0, its gross_amount in Currency.
type Disputed struct {
	CaptureID string
	Gross     int64
	Currency  money.Currency
}

// Body renders the event.
func (d Dispute) Body() []byte {
	txns := []map[string]any{{"seller_transaction_id": d.CaptureID}}
	if len(d.Transactions) > 0 {
		txns = nil
		for _, t := range d.Transactions {
			txn := map[string]any{"seller_transaction_id": t.CaptureID, "transaction_status": "COMPLETED"}
			if t.Gross > 0 {
				txn["gross_amount"] = Amount(t.Gross, t.Currency)
			}
			txns = append(txns, txn)
		}
	}
	resource := map[string]any{
		"dispute_id": d.DisputeID, "reason": "MERCHANDISE_OR_SERVICE_NOT_RECEIVED", "status": "OPEN",
		"dispute_amount":        Amount(d.Amount, d.Currency),
		"disputed_transactions": txns,
	}
	if d.Outcome != "" {
		resource["status"] = "RESOLVED"
		resource["dispute_outcome"] = map[string]string{"outcome_code": d.Outcome}
	}
	b := Build(d.EventID, d.Type, d.Created, resource)
	return []byte(strings.Replace(string(b), `"resource_type":"capture"`, `"resource_type":"dispute"`, 1))
}

// PayoutItem is a PAYMENT.PAYOUTS-ITEM.* event (Type) about one payout item, its resource as
// PayPal's "Show payout item details" (developer.paypal.com/api/payments.payouts-batch/v1/
// payouts-item-get): the item's payout_item_id, transaction_status (Status; the event type's last
// word when empty), payout_batch_id and sender_batch_id (ours: the movement's idempotency key),
// and payout_item with the amount ({"currency", "value"}, not a capture's currency_code) and the
// receiver.
type PayoutItem struct {
	EventID, Type, ItemID, BatchID, SenderBatchID, Status, Receiver string
	Currency                                                        money.Currency
	Amount                                                          int64
	Created                                                         time.Time
}

// Body renders the event.
func (p PayoutItem) Body() []byte {
	status := p.Status
	if status == "" {
		status = p.Type[strings.LastIndex(p.Type, ".")+1:]
	}
	amount := Amount(p.Amount, p.Currency)
	resource := map[string]any{
		"payout_item_id": p.ItemID, "transaction_id": "T-" + p.ItemID, "transaction_status": status,
		"payout_batch_id": p.BatchID, "sender_batch_id": p.SenderBatchID,
		"payout_item_fee": map[string]string{"currency": amount["currency_code"], "value": "0.25"},
		"payout_item": map[string]any{
			"recipient_type": "EMAIL", "receiver": p.Receiver, "sender_item_id": "payee-item",
			"amount": map[string]string{"currency": amount["currency_code"], "value": amount["value"]},
		},
		"time_processed": p.Created.UTC().Format(time.RFC3339),
		"links": []map[string]string{
			{"rel": "self", "href": "https://api.paypal.com/v1/payments/payouts-item/" + p.ItemID, "method": "GET"},
			{"rel": "batch", "href": "https://api.paypal.com/v1/payments/payouts/" + p.BatchID, "method": "GET"},
		},
	}
	b := Build(p.EventID, p.Type, p.Created, resource)
	return []byte(strings.Replace(string(b), `"resource_type":"capture"`, `"resource_type":"payouts_item"`, 1))
}
