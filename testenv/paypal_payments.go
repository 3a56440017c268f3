package testenv

import (
	"net/http"
	"strings"
)

// PayPalCapture is a capture as the Payments API v2 shows it (GET /v2/payments/captures/{id}):
// decimal strings in PayPal's format, the fee in seller_receivable_breakdown, Status COMPLETED
// unless set (PARTIALLY_REFUNDED, REFUNDED, REVERSED).
type PayPalCapture struct {
	ID, Currency, Amount, Fee, Status string
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

// servePayments answers GET /v2/payments/captures/{id} and /v2/payments/refunds/{id}; p.mu is held.
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
		if c.Fee != "" {
			body["seller_receivable_breakdown"] = map[string]any{"gross_amount": money(c.Currency, c.Amount), "paypal_fee": money(c.Currency, c.Fee)}
		}
		writeJSON(w, 200, body)
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
