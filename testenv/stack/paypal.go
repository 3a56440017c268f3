package stack

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"paysplit/internal/money"
	ipayment "paysplit/internal/payment"
	"paysplit/internal/paypalevent"
	"paysplit/internal/split"
	"paysplit/workflows/payment"
)

// PayPal's side of the stack: payees paid by PayPal Payouts, PayPal webhooks signed by the fake,
// and the checks that take PayPal's side from the fake's own record of the payouts it made and
// from the events the test sent, not from the platform's.

// PayPalClientID is the REST client ID the worker program is given (Options.PayPal).
const PayPalClientID = "paysplit-stack"

// payPalEnv is what the worker program needs to pay through the fake: its own address (its
// certificate names 127.0.0.1), credentials, the webhook ID and its CA as SSL_CERT_FILE.
func (s *Stack) payPalEnv() map[string]string {
	return map[string]string{
		"PAYPAL_CLIENT_ID": PayPalClientID, "PAYPAL_SECRET": PayPalSecret, "PAYPAL_API_BASE": s.PayPal.LocalURL(),
		"PAYPAL_WEBHOOK_ID": s.PayPal.WebhookID, "PAYPAL_WEBHOOK_VERIFY": "offline", "SSL_CERT_FILE": s.paypalCA,
	}
}

// SeedPayPal registers a client whose vendor (<client>-vendor) and affiliate (<client>-aff) are
// paid through PayPal, to the receivers given (a 13-character payer ID or an email address),
// and a 10% / 5% rule, through the admin API.
func (s *Stack) SeedPayPal(clientID, vendorReceiver, affiliateReceiver string) {
	s.T.Helper()
	code, body := s.Do(http.MethodPut, "/api/v1/admin/clients/"+clientID, map[string]any{"name": "PayPal shop " + clientID, "default_currency": "usd"}, AdminKey)
	require.Contains(s.T, []int{http.StatusOK, http.StatusCreated}, code, body)
	for _, p := range []struct{ id, kind, receiver string }{
		{clientID + "-vendor", "vendor", vendorReceiver}, {clientID + "-aff", "affiliate", affiliateReceiver},
	} {
		code, body = s.Do(http.MethodPut, "/api/v1/admin/payees/"+p.id, map[string]any{"client_id": clientID, "kind": p.kind, "paypal_receiver": p.receiver}, AdminKey)
		require.Contains(s.T, []int{http.StatusOK, http.StatusCreated}, code, body)
	}
	code, body = s.Do(http.MethodPost, "/api/v1/admin/clients/"+clientID+"/split-rules", map[string]any{"platform_bps": 1000, "affiliate_bps": 500}, AdminKey)
	require.Equal(s.T, http.StatusCreated, code, body)
}

// PayPalCapture is a PAYMENT.CAPTURE.COMPLETED of 110.00 USD for an order of a client seeded by
// SeedPayPal (with its affiliate when affiliate is set), of which PayPal kept 4.33 (3.49 % + 0.49).
func PayPalCapture(clientID, captureID string, affiliate bool) paypalevent.Capture {
	md := map[string]string{
		"client_id": clientID, "order_id": "order-" + captureID, "vendor_id": clientID + "-vendor",
		"subtotal": "10000", "tax": "800", "shipping": "500", "discount": "300", "platform": "woocommerce",
	}
	if affiliate {
		md["affiliate_id"] = clientID + "-aff"
	}
	return paypalevent.Capture{EventID: "WH-CAP-" + captureID, CaptureID: captureID, Currency: "usd", Amount: 11000, Fee: 433,
		Created: time.Now(), Metadata: md}
}

// PayPalWebhook delivers a PayPal event, signed by the fake, and remembers what the API answered
// and, once acknowledged, what the event said.
func (s *Stack) PayPalWebhook(body []byte) (int, map[string]any) {
	s.T.Helper()
	return s.PayPalWebhookTo(s.API.URL, body)
}

// PayPalWebhookTo delivers a PayPal event to the API at baseURL (a replica).
func (s *Stack) PayPalWebhookTo(baseURL string, body []byte) (int, map[string]any) {
	s.T.Helper()
	req, err := http.NewRequest(http.MethodPost, baseURL+"/webhooks/paypal", bytes.NewReader(body))
	require.NoError(s.T, err)
	for k, v := range s.PayPal.Sign(body) {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	s.paypalSent(body)
	code, out := s.send(req)
	s.note(code, out)
	if code == http.StatusOK {
		s.paypalAcknowledged(body)
	}
	return code, out
}

// paypalTold is what the acknowledged PayPal events said about one capture: its gross and fee
// (PayPal states its fee in the capture event), its refunds and reversals, and when the test
// first sent the capture and each refund and had it acknowledged.
type paypalTold struct {
	currency    money.Currency
	gross, fee  int64
	captured    bool
	captureSent time.Time
	refunds     map[string]*paypalRefundTold // refund ID
	reversals   map[string]int64             // reversal ID -> amount
}

type paypalRefundTold struct {
	amount, fee  int64
	failed       bool
	sent, acked  time.Time
	acknowledged bool
}

// refund is what was told of one refund (or reversal), a new entry the first time.
func (p *paypalTold) refund(id string) *paypalRefundTold {
	r := p.refunds[id]
	if r == nil {
		r = &paypalRefundTold{}
		p.refunds[id] = r
	}
	return r
}

// payPalRefunded is what the events said was refunded (refunds that failed since apart), the fee
// PayPal gave back with them (never more than it kept), and what reversals took.
func (p *paypalTold) payPalRefunded() (refunded, feeReturned, reversed int64) {
	for _, r := range p.refunds {
		if r.acknowledged && !r.failed {
			refunded += r.amount
			feeReturned += r.fee
		}
	}
	for _, v := range p.reversals {
		reversed += v
	}
	return refunded, min(feeReturned, p.fee), reversed
}

// payPalEvent is the part of a PayPal event the checks read.
type payPalEvent struct {
	Type     string `json:"event_type"`
	Resource struct {
		ID     string `json:"id"`
		Status string `json:"status"`
		Amount struct {
			Currency string `json:"currency_code"`
			Value    string `json:"value"`
		} `json:"amount"`
		Receivable *struct {
			Fee struct {
				Value string `json:"value"`
			} `json:"paypal_fee"`
		} `json:"seller_receivable_breakdown"`
		Payable *struct {
			Fee *struct {
				Value string `json:"value"`
			} `json:"paypal_fee"`
		} `json:"seller_payable_breakdown"`
		Links []struct {
			Rel  string `json:"rel"`
			Href string `json:"href"`
		} `json:"links"`
	} `json:"resource"`
}

// capture is the ID of the capture the event is about: its own for a capture, the "up" link's
// for a refund or reversal.
func (e payPalEvent) capture() string {
	if e.Type == "PAYMENT.CAPTURE.COMPLETED" {
		return e.Resource.ID
	}
	for _, l := range e.Resource.Links {
		if u, err := url.Parse(l.Href); err == nil && l.Rel == "up" && strings.Contains(u.Path, "/captures/") {
			return path.Base(u.Path)
		}
	}
	return ""
}

// told is the record of the capture an event is about (nil when it names none); s.mu is held.
func (s *Stack) told(e payPalEvent) *paypalTold {
	id := e.capture()
	if id == "" {
		return nil
	}
	wf := payment.WorkflowID("paypal", id)
	if s.paypalTold[wf] == nil {
		s.paypalTold[wf] = &paypalTold{refunds: map[string]*paypalRefundTold{}, reversals: map[string]int64{}}
	}
	return s.paypalTold[wf]
}

// paypalSent notes when a capture or a refund was first sent.
func (s *Stack) paypalSent(body []byte) {
	var e payPalEvent
	if json.Unmarshal(body, &e) != nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.told(e)
	switch {
	case p == nil:
	case e.Type == "PAYMENT.CAPTURE.COMPLETED" && p.captureSent.IsZero():
		p.captureSent = time.Now()
	case e.Type == "PAYMENT.CAPTURE.REFUNDED" || e.Type == "PAYMENT.CAPTURE.REVERSED":
		if p.refunds[e.Resource.ID] == nil {
			p.refunds[e.Resource.ID] = &paypalRefundTold{sent: time.Now()}
		}
	}
}

// paypalAcknowledged remembers what an acknowledged PayPal event said: a capture's gross and
// fee, a refund's amount and the fee PayPal gave back (undone when PayPal tells the refund
// FAILED or CANCELLED), a reversal's amount.
func (s *Stack) paypalAcknowledged(body []byte) {
	var e payPalEvent
	if json.Unmarshal(body, &e) != nil {
		return
	}
	cur := money.Currency(strings.ToLower(e.Resource.Amount.Currency))
	amount := func(v string) int64 {
		a, err := money.ParseAmount(v, cur)
		assert.NoError(s.T, err, "PayPal amount %q %s", v, cur)
		return a
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.told(e)
	if p == nil {
		return
	}
	switch e.Type {
	case "PAYMENT.CAPTURE.COMPLETED":
		p.captured, p.currency, p.gross = true, cur, amount(e.Resource.Amount.Value)
		if e.Resource.Receivable != nil {
			p.fee = amount(e.Resource.Receivable.Fee.Value)
		}
	case "PAYMENT.CAPTURE.REFUNDED":
		r := p.refund(e.Resource.ID)
		if !r.acknowledged {
			r.acknowledged, r.acked, r.amount = true, time.Now(), amount(e.Resource.Amount.Value)
			if e.Resource.Payable != nil && e.Resource.Payable.Fee != nil {
				r.fee = amount(e.Resource.Payable.Fee.Value)
			}
		}
		if e.Resource.Status == "FAILED" || e.Resource.Status == "CANCELLED" {
			r.failed = true
		}
	case "PAYMENT.CAPTURE.REVERSED":
		r := p.refund(e.Resource.ID)
		if !r.acknowledged {
			r.acknowledged, r.acked = true, time.Now()
			p.reversals[e.Resource.ID] = amount(e.Resource.Amount.Value)
		}
	}
}

// receiverSet remembers a PayPal receiver the test gave a payee through the admin API: the
// audit log keeps no email address, so the stack keeps its own list.
func (s *Stack) receiverSet(payee string, body any) {
	b, err := json.Marshal(body)
	require.NoError(s.T, err)
	var p struct {
		Receiver string `json:"paypal_receiver"`
	}
	if json.Unmarshal(b, &p) != nil || p.Receiver == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.receivers[payee] == nil {
		s.receivers[payee] = map[string]bool{}
	}
	s.receivers[payee][p.Receiver] = true
}

// receiversOf is every PayPal receiver the payee has had: those the test set through the admin
// API and the payer IDs in the audit log (payeeHistory; it keeps no email address), or, when
// neither knows any, the payee's receiver now.
func (s *Stack) receiversOf(ctx context.Context, payee string) []string {
	out := s.payeeHistory(ctx, payee, "paypal_receiver")
	s.mu.Lock()
	for r := range s.receivers[payee] {
		out = append(out, r)
	}
	s.mu.Unlock()
	if len(out) == 0 {
		if p, err := s.Store.GetPayee(ctx, payee); err == nil && p.PayPalReceiver != "" {
			out = append(out, p.PayPalReceiver)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// bookedPayout is a payout the books say a PayPal payee leg was paid: its first (under the
// leg's transfer key) or a top-up (known by its payout item only).
type bookedPayout struct {
	wf     string
	leg    legKey
	key    string
	item   string
	amount int64
}

// paypalPaid is what PayPal paid each payment's payee legs, from the fake's record.
type paypalPaid struct {
	sentTo map[string]map[legKey]int64     // workflow ID -> leg -> paid
	at     map[string]map[legKey]time.Time // workflow ID -> leg -> when its first payout was made
}

// checkPayPalPayouts matches the payouts the PayPal fake made one for one with the payouts the
// books record for PayPal payee legs: by sender_batch_id (the leg's key; a top-up by its payout
// item), amount for amount, in the payment's currency and to a receiver the payee has had. A
// payout the books do not know is attributed to the leg its sender_batch_id names, so the leg
// comparison (checkPayPalLegs) counts it; one that names no payment is money lost.
func (s *Stack) checkPayPalPayouts(ctx context.Context, b *Books, recs map[string]ipayment.Record) paypalPaid {
	t := s.T
	out := paypalPaid{sentTo: map[string]map[legKey]int64{}, at: map[string]map[legKey]time.Time{}}
	byKey, byItem := map[string]*bookedPayout{}, map[string]*bookedPayout{}
	var booked []*bookedPayout
	for id, rec := range recs {
		if rec.Provider != "paypal" {
			continue
		}
		out.sentTo[id], out.at[id] = map[legKey]int64{}, map[legKey]time.Time{}
		for _, l := range rec.Legs {
			if l.Party == split.PartyPlatform || l.TransferID == "" {
				continue
			}
			leg := legKey{l.Party, l.PayeeID}
			first := l.Transferred
			for _, tu := range l.TopUps {
				first -= tu.Amount
				p := &bookedPayout{wf: id, leg: leg, item: tu.TransferID, amount: tu.Amount}
				booked, byItem[tu.TransferID] = append(booked, p), p
			}
			p := &bookedPayout{wf: id, leg: leg, key: l.TransferKey, item: l.TransferID, amount: first}
			booked, byKey[l.TransferKey], byItem[l.TransferID] = append(booked, p), p, p
		}
	}
	matched := map[*bookedPayout]bool{}
	for _, p := range s.PayPal.Payouts() {
		b.Transfers++
		bp := byKey[p.SenderBatchID]
		if bp == nil {
			bp = byItem[p.ItemID]
		}
		wf, leg := "", legKey{}
		switch {
		case bp != nil && matched[bp]:
			assert.Failf(t, "paid twice", "PayPal made payout %s (%s %s to %s, sender_batch_id %s) for the %s leg of %s, whose payout under %s it had made already",
				p.BatchID, p.Value, p.Currency, p.Receiver, p.SenderBatchID, bp.leg.party, bp.wf, bp.key)
			wf, leg = bp.wf, bp.leg
		case bp != nil:
			matched[bp] = true
			wf, leg = bp.wf, bp.leg
		default:
			wf, leg = payPalLegOf(p.SenderBatchID, recs)
			if wf == "" {
				amount, _ := money.ParseAmount(p.Value, money.Currency(strings.ToLower(p.Currency)))
				assert.Failf(t, "payout names no payment", "PayPal paid %s %s to %s under sender_batch_id %s, which names no PayPal payment's payee leg",
					p.Value, p.Currency, p.Receiver, p.SenderBatchID)
				b.MoneyLost += amount
				continue
			}
			assert.Failf(t, "payout not in the books", "%s: PayPal paid the %s leg of %s %s %s to %s under sender_batch_id %s, which the books do not record as a payout (theirs: %v)",
				wf, leg.party, leg.payee, p.Value, p.Currency, p.Receiver, p.SenderBatchID, bookedKeys(booked, wf, leg))
		}
		rec := recs[wf]
		amount, err := money.ParseAmount(p.Value, rec.Currency)
		if !assert.NoError(t, err, "%s: payout %s value %s", wf, p.BatchID, p.Value) ||
			!assert.True(t, strings.EqualFold(p.Currency, string(rec.Currency)), "%s: payout %s in %s, the payment is in %s", wf, p.BatchID, p.Currency, rec.Currency) {
			b.MoneyLost += amount
			continue
		}
		if bp != nil {
			assert.Equal(t, bp.amount, amount, "%s: PayPal paid the %s leg of %s %s %s under %s, the books %d", wf, leg.party, leg.payee, p.Value, p.Currency, p.SenderBatchID, bp.amount)
		}
		if receivers := s.receiversOf(ctx, leg.payee); !slices.Contains(receivers, p.Receiver) {
			assert.Failf(t, "paid to the wrong receiver", "%s: payout %s (%s %s, sender_batch_id %s) of %s's leg went to %s, not a PayPal receiver of the payee's (%v)",
				wf, p.BatchID, p.Value, p.Currency, p.SenderBatchID, leg.payee, p.Receiver, receivers)
			b.MoneyLost += amount
		}
		out.sentTo[wf][leg] += amount
		if at, ok := out.at[wf][leg]; !ok || p.At.Before(at) {
			out.at[wf][leg] = p.At
		}
	}
	for _, bp := range booked {
		if !matched[bp] {
			assert.Failf(t, "payout missing", "%s: the books paid the %s leg of %s %d under %q (payout item %s), PayPal made no such payout",
				bp.wf, bp.leg.party, bp.leg.payee, bp.amount, bp.key, bp.item)
		}
	}
	return out
}

// bookedKeys are the keys the books paid a leg under, for messages.
func bookedKeys(booked []*bookedPayout, wf string, leg legKey) []string {
	var out []string
	for _, bp := range booked {
		if bp.wf == wf && bp.leg == leg {
			out = append(out, cmp.Or(bp.key, "item "+bp.item))
		}
	}
	return out
}

// payPalLegOf is the PayPal payment and payee leg a sender_batch_id names
// (<workflow>/.../<party>-<payee>[/...]), the longest leg name that matches a segment's start;
// "" when it names none.
func payPalLegOf(key string, recs map[string]ipayment.Record) (string, legKey) {
	wf, rest, _ := strings.Cut(key, "/")
	rec, ok := recs[wf]
	if !ok || rec.Provider != "paypal" {
		return "", legKey{}
	}
	var best legKey
	for _, l := range rec.Legs {
		if l.Party == split.PartyPlatform || (best.payee != "" && len(l.Name()) <= len(string(best.party))+1+len(best.payee)) {
			continue
		}
		for _, seg := range strings.Split(rest, "/") {
			if strings.HasPrefix(seg, l.Name()) {
				best = legKey{l.Party, l.PayeeID}
				break
			}
		}
	}
	if best.payee == "" {
		return "", legKey{}
	}
	return wf, best
}

// checkPayPalLegs compares, for one PayPal payment, what PayPal paid each payee leg with what the
// leg says it was sent; and a settled leg with what it is owed. A payout cannot be pulled back:
// a leg paid before its payment's refund keeps its whole share (and its payable in the books
// shows the part it owes back, checkLegAccounts), a leg paid after the refund was told got its
// share less its part of the refund; when the refund raced the payout, either is right. And the
// payment's refunds with what the events said was refunded.
func (s *Stack) checkPayPalLegs(b *Books, rec ipayment.Record, paid paypalPaid) {
	t := s.T
	id := rec.WorkflowID
	s.mu.Lock()
	told := s.paypalTold[id]
	var firstRefundSent, lastRefundAcked time.Time
	var captureSent time.Time
	if told != nil {
		captureSent = told.captureSent
		for _, r := range told.refunds {
			if firstRefundSent.IsZero() || r.sent.Before(firstRefundSent) {
				firstRefundSent = r.sent
			}
			if r.acked.After(lastRefundAcked) {
				lastRefundAcked = r.acked
			}
		}
	}
	s.mu.Unlock()

	want := map[legKey]int64{}
	var legsRefunded int64
	for _, l := range rec.Legs {
		legsRefunded += l.Refunded
		if l.Party == split.PartyPlatform {
			continue
		}
		leg := legKey{l.Party, l.PayeeID}
		want[leg] += l.Transferred - l.Reversed
		if !settledStatus[rec.Status] || len(l.Dues) > 0 {
			continue
		}
		got := l.Transferred - l.Reversed
		if l.State != ipayment.LegTransferred {
			if got < l.Remaining() {
				assert.Failf(t, "payee not paid", "%s: the payment is %s, and its %s leg (%s) is %s with %d of its share not paid",
					id, rec.Status, l.Party, l.PayeeID, l.State, l.Remaining()-got)
				b.addDifference(got - l.Remaining())
			}
			continue
		}
		at := paid.at[id][leg]
		switch {
		case l.Refunded == 0 || (!at.IsZero() && !firstRefundSent.IsZero() && at.Before(firstRefundSent)):
			// Paid before any refund was sent: the whole share, kept.
			if !assert.Equal(t, l.Amount, got, "%s: the %s leg of %s was paid %d before the refund was sent; its share is %d", id, l.Party, l.PayeeID, got, l.Amount) {
				b.addDifference(got - l.Amount)
			}
		case !captureSent.IsZero() && lastRefundAcked.Before(captureSent):
			// Every refund was acknowledged before the capture was sent: paid the reduced share.
			if !assert.Equal(t, l.Remaining(), got, "%s: the %s leg of %s was paid %d after its refund of %d; it is owed %d", id, l.Party, l.PayeeID, got, l.Refunded, l.Remaining()) {
				b.addDifference(got - l.Remaining())
			}
		case got > l.Amount:
			assert.Failf(t, "paid more than its share", "%s: the %s leg of %s was paid %d, its share is %d", id, l.Party, l.PayeeID, got, l.Amount)
			b.addDifference(got - l.Amount)
		case got < l.Remaining():
			assert.Failf(t, "paid less than owed", "%s: the %s leg of %s was paid %d, it is owed %d after refunds", id, l.Party, l.PayeeID, got, l.Remaining())
			b.addDifference(got - l.Remaining())
		}
	}
	for leg := range mapsUnion(paid.sentTo[id], want) {
		if sent := paid.sentTo[id][leg]; !assert.Equal(t, want[leg], sent, "%s: PayPal paid the %s leg of %s %d, the leg says %d", id, leg.party, leg.payee, sent, want[leg]) {
			b.addDifference(sent - want[leg])
		}
	}
	if told == nil || !told.captured {
		assert.Fail(t, "no capture event", "%s: a PayPal payment whose capture event the test never had acknowledged", id)
		return
	}
	s.mu.Lock()
	refunded, _, reversed := told.payPalRefunded()
	s.mu.Unlock()
	if !assert.Equal(t, refunded, rec.Refunded-rec.DisputesLost, "%s: refunds booked vs the refund events", id) {
		b.MoneyLost += abs(refunded - (rec.Refunded - rec.DisputesLost))
	}
	if !assert.Equal(t, reversed, rec.DisputesLost, "%s: reversals booked vs the reversal events", id) {
		b.MoneyLost += abs(reversed - rec.DisputesLost)
	}
	if rec.Split() && !assert.Equal(t, rec.Refunded, legsRefunded, "%s: the legs' parts of the refunds add up to them", id) {
		b.MoneyLost += abs(rec.Refunded - legsRefunded)
	}
}

// payPalFees is the fee PayPal kept from a payment and what it gave back with refunds, as its
// events said; ok is false when no capture event was acknowledged for it.
func (s *Stack) payPalFees(id string) (fee, returned int64, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.paypalTold[id]
	if p == nil || !p.captured {
		return 0, 0, false
	}
	_, returned, _ = p.payPalRefunded()
	return p.fee, returned, true
}
