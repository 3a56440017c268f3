package testenv

import (
	"cmp"
	"net/http"
	"strings"
)

// PayPalCapture is a capture as the Payments API v2 shows it (GET /v2/payments/captures/{id}):
// decimal strings in PayPal's format, the fee in seller_receivable_breakdown, Status COMPLETED
// unless set (PARTIALLY_REFUNDED, REFUNDED, REVERSED). Order, when set, is the checkout order it
// was captured for: its "up" link, and GET /v2/checkout/orders/{Order} lists it with its refunds.
type PayPalCapture struct {
	ID, Currency, Amount, Fee, Status, Order string
}

// PayPalRefund is a refund of a capture (GET /v2/payments/refunds/{id}); Fee is the part of the
// capture's fee PayPal gave back, in seller_payable_breakdown.
type PayPalRefund struct {
	ID, CaptureID, Currency, Amount, Fee string
}

// AddCapture makes the fake know a capture, or changes one it knows (as PayPal might after an
// adjustment).
func (p *PayPal) AddCapture(c PayPalCapture) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.captures[c.ID] = c
}

// AddRefund makes the fake know a refund.
func (p *PayPal) AddRefund(r PayPalRefund) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.refunds[r.ID] = r
}

// SetPayoutValue changes what PayPal says a payout item paid, found by its batch's
// sender_batch_id (the leg's idempotency key): drift for reconciliation tests.
func (p *PayPal) SetPayoutValue(senderBatchID, value string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	b := p.batches[p.bySender[senderBatchID]]
	if b == nil {
		return false
	}
	amount, _ := b.item["amount"].(map[string]string)
	b.item["amount"] = map[string]string{"currency": amount["currency"], "value": value}
	return true
}

// servePayments answers GET /v2/payments/captures/{id}, /v2/payments/refunds/{id} and
// /v2/checkout/orders/{id}; p.mu is held.
func (p *PayPal) servePayments(w http.ResponseWriter, r *http.Request) bool {
	if r.Method != http.MethodGet {
		return false
	}
	money := func(cur, value string) map[string]string {
		return map[string]string{"currency_code": cur, "value": value}
	}
	notFound := func(id string) {
		writeJSON(w, 404, map[string]any{"name": "RESOURCE_NOT_FOUND", "debug_id": "fakedebug",
			"message": "The specified resource does not exist.",
			"details": []map[string]string{{"issue": "INVALID_RESOURCE_ID", "description": "Specified resource ID does not exist. " + id}}})
	}
	switch id, ok := strings.CutPrefix(r.URL.Path, "/v2/payments/captures/"); {
	case ok:
		c, known := p.captures[id]
		if !known {
			notFound(id)
			return true
		}
		status := c.Status
		if status == "" {
			status = "COMPLETED"
		}
		body := map[string]any{"id": c.ID, "status": status, "amount": money(c.Currency, c.Amount), "final_capture": true}
		if c.Order != "" {
			body["links"] = []map[string]string{
				{"href": p.APIBase + "/v2/payments/captures/" + c.ID, "rel": "self", "method": "GET"},
				{"href": p.APIBase + "/v2/payments/captures/" + c.ID + "/refund", "rel": "refund", "method": "POST"},
				{"href": p.APIBase + "/v2/checkout/orders/" + c.Order, "rel": "up", "method": "GET"},
			}
		}
		if c.Fee != "" {
			body["seller_receivable_breakdown"] = map[string]any{"gross_amount": money(c.Currency, c.Amount), "paypal_fee": money(c.Currency, c.Fee)}
		}
		writeJSON(w, 200, body)
		return true
	}
	if order, ok := strings.CutPrefix(r.URL.Path, "/v2/checkout/orders/"); ok {
		p.serveOrder(w, order, money, notFound)
		return true
	}
	id, ok := strings.CutPrefix(r.URL.Path, "/v2/payments/refunds/")
	if !ok {
		return false
	}
	f, known := p.refunds[id]
	if !known {
		notFound(id)
		return true
	}
	body := map[string]any{"id": f.ID, "status": "COMPLETED", "amount": money(f.Currency, f.Amount),
		"links": []map[string]string{{"href": p.APIBase + "/v2/payments/captures/" + f.CaptureID, "rel": "up", "method": "GET"}}}
	if f.Fee != "" {
		body["seller_payable_breakdown"] = map[string]any{"gross_amount": money(f.Currency, f.Amount), "paypal_fee": money(f.Currency, f.Fee)}
	}
	writeJSON(w, 200, body)
	return true
}

// serveOrder answers GET /v2/checkout/orders/{id} for an order of captures the fake knows: one
// purchase unit with its captures and their refunds (all COMPLETED), and the payer PayPal shows,
// which readers must not keep; p.mu is held.
func (p *PayPal) serveOrder(w http.ResponseWriter, order string, money func(cur, value string) map[string]string, notFound func(string)) {
	var captures, refunds []map[string]any
	for _, c := range p.captures {
		if c.Order != order {
			continue
		}
		captures = append(captures, map[string]any{"id": c.ID, "status": cmp.Or(c.Status, "COMPLETED"), "amount": money(c.Currency, c.Amount)})
		for _, f := range p.refunds {
			if f.CaptureID == c.ID {
				refunds = append(refunds, map[string]any{"id": f.ID, "status": "COMPLETED", "amount": money(f.Currency, f.Amount),
					"links": []map[string]string{{"href": p.APIBase + "/v2/payments/captures/" + c.ID, "rel": "up", "method": "GET"}}})
			}
		}
	}
	if len(captures) == 0 {
		notFound(order)
		return
	}
	writeJSON(w, 200, map[string]any{"id": order, "intent": "CAPTURE", "status": "COMPLETED",
		"payer":          map[string]any{"name": map[string]string{"given_name": "Buyer", "surname": "Example"}, "email_address": "buyer@example.com"},
		"purchase_units": []map[string]any{{"reference_id": "default", "payments": map[string]any{"captures": captures, "refunds": refunds}}}})
}
