package testenv

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// StripeCall is one request that reached the proxy.
type StripeCall struct {
	Method, Path, IdempotencyKey string
	Form, Query                  url.Values
	Status                       int
	// Replayed is set when the proxy answered from an earlier call with the same key.
	Replayed bool
}

// StripeTransfer is a transfer as the proxy's Stripe state holds it.
type StripeTransfer struct {
	ID, Destination, Currency, IdempotencyKey, TransferGroup string
	Amount, AmountReversed                                   int64
	Metadata                                                 map[string]string
	Created                                                  time.Time
	Reversals                                                []StripeReversal
}

// StripeReversal is one reversal of a transfer.
type StripeReversal struct {
	ID, IdempotencyKey string
	Amount             int64
	Metadata           map[string]string
}

// StripeCharge is a charge the proxy answers for, with the fee its balance transaction holds.
// With PaymentIntent set, the proxy also lists its (succeeded) PaymentIntent, created at Created
// with Metadata, in GET /v1/payment_intents. CapturedAt, when set, is when Stripe created the
// charge's balance transaction (its capture; a bank debit's submission to the bank); zero leaves
// stripe-mock's fixture time (2009).
type StripeCharge struct {
	ID, Currency   string
	Amount, Fee    int64
	AmountRefunded int64
	Disputed       bool
	PaymentIntent  string
	Created        time.Time
	CapturedAt     time.Time
	Metadata       map[string]string
}

// StripeFee is Stripe's standard card pricing in the US, 2.9 % + 30 cents, rounded half up and
// never more than the charge.
func StripeFee(amount int64) int64 {
	return min(amount, (amount*29+500)/1000+30)
}

// StripeProxy sits in front of stripe-mock and adds what stripe-mock lacks: state. It records
// every call; gives transfers and reversals unique IDs and remembers them; answers a repeated
// Idempotency-Key with the first answer, as Stripe does; serves the transfer list from what
// was created, so the real client's list calls see real data; and answers for the charges it was
// told of (AddCharge) with their amount and fee. Inject, when set, can answer a request itself (a
// 429 or 500) before it reaches stripe-mock.
type StripeProxy struct {
	URL    string
	mu     sync.Mutex
	calls  []StripeCall
	Inject func(r *http.Request, form url.Values) (status int, body string)
	// AfterForward, when set, runs after Stripe (stripe-mock) answered and before the caller gets
	// the answer; it may block, which is how a test loses an answer (kills the caller first).
	AfterForward func(c StripeCall)
	// LoseAnswer, when set and true for a call, answers it 502 after Stripe (stripe-mock) did
	// what it asked (or, for a repeated key, after the stored answer): the caller cannot tell
	// whether it was done.
	LoseAnswer func(c StripeCall) bool

	answers   map[string]storedAnswer // idempotency key -> first answer
	inFlight  map[string]bool         // idempotency keys of POSTs forwarded and not answered yet
	transfers []*StripeTransfer
	charges   map[string]StripeCharge
	early     map[string][]func(*StripeCharge) // changes told before their charge (updateCharge)
	seq       int
}

// HeldTransfer is the first transfer a test holds at the proxy (HoldFirstTransfer): Stripe made
// it, its answer waits until Release.
type HeldTransfer struct {
	arrived chan string
	held    chan struct{}
	once    sync.Once
}

// Await waits up to a minute for the held transfer to reach Stripe and returns its idempotency
// key; otherwise it releases it and fails t with what describe says then (a worker's log, say).
func (h *HeldTransfer) Await(t testing.TB, describe func() string) string {
	t.Helper()
	select {
	case key := <-h.arrived:
		return key
	case <-time.After(60 * time.Second):
		h.Release()
		t.Fatalf("the held transfer never reached Stripe: %s", describe())
		return ""
	}
}

// Release lets the held transfer's answer go to its caller; calling it again does nothing.
func (h *HeldTransfer) Release() { h.once.Do(func() { close(h.held) }) }

// HoldFirstVendorTransfer holds the answer to the first vendor transfer Stripe made (a fresh key,
// not a replay). A test kills or races the caller meanwhile: the transfer stands, its answer is
// not heard.
func (p *StripeProxy) HoldFirstVendorTransfer() *HeldTransfer {
	return p.HoldFirstTransfer(func(key string) bool { return strings.Contains(key, "/transfer/vendor-") })
}

// HoldFirstTransfer is HoldFirstVendorTransfer for the first transfer whose key matches. It
// replaces AfterForward.
func (p *StripeProxy) HoldFirstTransfer(matches func(key string) bool) *HeldTransfer {
	h := &HeldTransfer{arrived: make(chan string, 1), held: make(chan struct{})}
	var once sync.Once
	p.AfterForward = func(c StripeCall) {
		if c.Path == "/v1/transfers" && !c.Replayed && matches(c.IdempotencyKey) {
			once.Do(func() {
				h.arrived <- c.IdempotencyKey
				<-h.held
			})
		}
	}
	return h
}

// RequireTakenBack fails t unless every transfer made for the payment run workflowID was reversed
// in full, as for a payment refunded in full; state describes the payment for the failure. It
// returns how many of the transfers went to a vendor.
func (p *StripeProxy) RequireTakenBack(t testing.TB, workflowID, state string) (vendorTransfers int) {
	t.Helper()
	for _, tr := range p.Transfers() {
		if tr.Metadata["workflow_id"] != workflowID {
			continue
		}
		if strings.Contains(tr.IdempotencyKey, "/transfer/vendor-") {
			vendorTransfers++
		}
		require.Equal(t, tr.Amount, tr.AmountReversed, "transfer %s (%s) of a payment refunded in full is taken back in full; %s",
			tr.ID, tr.IdempotencyKey, state)
	}
	return vendorTransfers
}

// AddCharge makes the proxy answer for a charge as Stripe would once it was made.
func (p *StripeProxy) AddCharge(c StripeCharge) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if had, ok := p.charges[c.ID]; ok {
		// Told again (a re-delivered capture): what happened to the charge since stands, and so
		// does when its balance transaction was made (a test told it before the capture).
		c.AmountRefunded, c.Disputed = had.AmountRefunded, had.Disputed
		if c.CapturedAt.IsZero() {
			c.CapturedAt = had.CapturedAt
		}
	}
	for _, change := range p.early[c.ID] {
		change(&c)
	}
	delete(p.early, c.ID)
	p.charges[c.ID] = c
}

// RefundCharge records that a charge the proxy knows has had amountRefunded refunded in all
// (cumulative, as Stripe's amount_refunded; never less than before).
func (p *StripeProxy) RefundCharge(id string, amountRefunded int64) {
	p.updateCharge(id, func(c *StripeCharge) { c.AmountRefunded = max(c.AmountRefunded, min(amountRefunded, c.Amount)) })
}

// FailRefund records that a refund of amount on a charge the proxy knows failed: Stripe's
// amount_refunded no longer counts it.
func (p *StripeProxy) FailRefund(id string, amount int64) {
	p.updateCharge(id, func(c *StripeCharge) { c.AmountRefunded = max(c.AmountRefunded-amount, 0) })
}

// ForgetKeys drops every idempotency key's stored answer, as Stripe prunes keys once they are 24
// hours old: a request under a forgotten key is a new request.
func (p *StripeProxy) ForgetKeys() {
	p.mu.Lock()
	defer p.mu.Unlock()
	clear(p.answers)
}

// DisputeCharge marks a charge the proxy knows as disputed.
func (p *StripeProxy) DisputeCharge(id string) {
	p.updateCharge(id, func(c *StripeCharge) { c.Disputed = true })
}

// updateCharge changes a charge the proxy knows; others are left unknown.
// updateCharge changes a charge the proxy knows; a change to one it does not know yet (a refund
// told before its capture) waits for AddCharge, as Stripe had the charge all along.
func (p *StripeProxy) updateCharge(id string, change func(*StripeCharge)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	c, ok := p.charges[id]
	if !ok {
		if p.early == nil {
			p.early = map[string][]func(*StripeCharge){}
		}
		p.early[id] = append(p.early[id], change)
		return
	}
	change(&c)
	p.charges[id] = c
}

type storedAnswer struct {
	status int
	body   []byte
	// params is the request the key was first used with (its form, canonically encoded): Stripe
	// compares every parameter of a later request under the key with it, not the amount alone.
	params string
}

// NewStripeProxy starts a recording proxy in front of the stripe-mock at target.
func NewStripeProxy(t testing.TB, target string) *StripeProxy {
	u, err := url.Parse(target)
	if err != nil {
		t.Fatalf("stripe proxy target %q: %v", target, err)
	}
	p := &StripeProxy{answers: map[string]storedAnswer{}, inFlight: map[string]bool{}, charges: map[string]StripeCharge{}}
	rp := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		form, _ := url.ParseQuery(string(body))
		key := r.Header.Get("Idempotency-Key")
		call := StripeCall{Method: r.Method, Path: r.URL.Path, IdempotencyKey: key, Form: form, Query: r.URL.Query()}
		// reply answers from the proxy itself, without stripe-mock.
		reply := func(status int, body []byte) {
			call.Status = status
			p.record(call)
			writeRaw(w, status, body)
		}
		if p.Inject != nil {
			if status, msg := p.Inject(r, form); status != 0 {
				reply(status, []byte(msg))
				return
			}
		}
		lists := map[string]func(url.Values) []byte{"/v1/transfers": p.listTransfers, "/v1/payment_intents": p.listPaymentIntents}
		if list, ok := lists[r.URL.Path]; ok && r.Method == http.MethodGet {
			reply(http.StatusOK, list(r.URL.Query()))
			return
		}
		if body, found := p.getTransfer(r.URL.Path); found && r.Method == http.MethodGet {
			reply(http.StatusOK, body)
			return
		}
		if id, ok := reversalsOf(r.URL.Path); ok && r.Method == http.MethodGet {
			if body, found := p.listReversals(id); found {
				reply(http.StatusOK, body)
				return
			}
		}
		a, ok, busy := p.claim(key, r.Method)
		if busy { // as Stripe: a second request under a key whose first is still executing
			reply(http.StatusConflict, []byte(keyInUse))
			return
		}
		defer p.release(key, r.Method)
		if ok {
			if a.params != form.Encode() { // Stripe refuses a key's reuse with other parameters
				reply(http.StatusBadRequest, []byte(`{"error":{"type":"idempotency_error","message":"Keys for idempotent requests can only be used with the same parameters they were first used with."}}`))
				return
			}
			call.Replayed = true
			if p.LoseAnswer != nil && p.LoseAnswer(call) {
				reply(http.StatusBadGateway, []byte(lostAnswer))
				return
			}
			reply(a.status, a.body)
			return
		}
		if msg := p.overReversal(r, form); msg != "" {
			reply(http.StatusBadRequest, []byte(`{"error":{"type":"invalid_request_error","code":"parameter_invalid_integer","param":"amount","message":"`+msg+`"}}`))
			return
		}
		rec := &bufferedResponse{header: http.Header{}, status: http.StatusOK}
		rp.ServeHTTP(rec, r)
		out := p.remember(r, key, form, rec.status, rec.body.Bytes())
		call.Status = rec.status
		p.record(call)
		if p.AfterForward != nil {
			p.AfterForward(call)
		}
		if p.LoseAnswer != nil && p.LoseAnswer(call) {
			writeRaw(w, http.StatusBadGateway, []byte(lostAnswer))
			return
		}
		for k, v := range rec.header {
			if k != "Content-Length" {
				w.Header()[k] = v
			}
		}
		writeRaw(w, rec.status, out)
	}))
	t.Cleanup(srv.Close)
	p.URL = srv.URL
	return p
}

// lostAnswer is what a caller gets for a call whose answer LoseAnswer lost.
const lostAnswer = `{"error":{"type":"api_error","message":"upstream connection reset"}}`

func writeRaw(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// keyInUse is Stripe's answer to a request whose idempotency key another request is executing
// under: nothing is done or saved for it, and it may be sent again (stripe-go retries a 409).
const keyInUse = `{"error":{"type":"idempotency_error","code":"idempotency_key_in_use","message":"There is currently another in-progress request using this Idempotent Key (that probably means you submitted twice, and the other request is still going through). Please try again later."}}`

// claim looks a POST's idempotency key up and, in the same critical section, marks it as
// executing when it has no answer yet: the stored answer (ok), or busy when another request is
// executing under the key. Two requests under one key at once were both forwarded, and both made
// a transfer, where Stripe answers the second 409.
func (p *StripeProxy) claim(key, method string) (a storedAnswer, ok, busy bool) {
	if key == "" || method != http.MethodPost {
		return storedAnswer{}, false, false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if a, ok := p.answers[key]; ok {
		return a, true, false
	}
	if p.inFlight[key] {
		return storedAnswer{}, false, true
	}
	p.inFlight[key] = true
	return storedAnswer{}, false, false
}

// release ends the execution claim marks, once its answer is stored (remember) or refused.
func (p *StripeProxy) release(key, method string) {
	if key == "" || method != http.MethodPost {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.inFlight, key)
}

// remember turns stripe-mock's fixture answer for a created transfer or reversal into a stateful
// one (unique ID, the request's metadata, the creation time) and keeps it for its key.
func (p *StripeProxy) remember(r *http.Request, key string, form url.Values, status int, body []byte) []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	if r.Method == http.MethodGet && status < 300 && strings.HasPrefix(r.URL.Path, "/v1/charges/") {
		return p.chargeAnswer(strings.TrimPrefix(r.URL.Path, "/v1/charges/"), body)
	}
	if r.Method != http.MethodPost || status >= 300 {
		return body
	}
	var obj map[string]any
	if json.Unmarshal(body, &obj) != nil {
		return body
	}
	md := formMetadata(form)
	amount, _ := strconv.ParseInt(form.Get("amount"), 10, 64)
	switch {
	case r.URL.Path == "/v1/transfers":
		p.seq++
		tr := &StripeTransfer{ID: fmt.Sprintf("tr_proxy%06d", p.seq), Destination: form.Get("destination"), Currency: form.Get("currency"),
			IdempotencyKey: key, TransferGroup: form.Get("transfer_group"), Amount: amount, Metadata: md, Created: time.Now()}
		p.transfers = append(p.transfers, tr)
		obj["id"], obj["metadata"], obj["created"] = tr.ID, md, tr.Created.Unix()
	case strings.HasPrefix(r.URL.Path, "/v1/transfers/") && strings.HasSuffix(r.URL.Path, "/reversals"):
		id := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/v1/transfers/"), "/reversals")
		for _, tr := range p.transfers {
			if tr.ID == id {
				p.seq++
				rv := StripeReversal{ID: fmt.Sprintf("trr_proxy%06d", p.seq), IdempotencyKey: key, Amount: amount, Metadata: md}
				tr.Reversals = append(tr.Reversals, rv)
				tr.AmountReversed += amount
				obj["id"], obj["transfer"], obj["amount"], obj["currency"], obj["metadata"] = rv.ID, tr.ID, amount, tr.Currency, md
			}
		}
	default:
		return body
	}
	out, err := json.Marshal(obj)
	if err != nil {
		return body
	}
	if key != "" {
		p.answers[key] = storedAnswer{status: status, body: out, params: form.Encode()}
	}
	return out
}

// overReversal is Stripe's refusal of a reversal larger than what its transfer has left, or "".
func (p *StripeProxy) overReversal(r *http.Request, form url.Values) string {
	id, ok := reversalsOf(r.URL.Path)
	if r.Method != http.MethodPost || !ok {
		return ""
	}
	amount, _ := strconv.ParseInt(form.Get("amount"), 10, 64)
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, tr := range p.transfers {
		if left := tr.Amount - tr.AmountReversed; tr.ID == id && amount > left {
			return fmt.Sprintf("Amount must be no more than %d (the amount left on transfer %s)", left, id)
		}
	}
	return ""
}

// Charge is a charge the proxy was told of, as it stands (refunds counted).
func (p *StripeProxy) Charge(id string) (StripeCharge, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	c, ok := p.charges[id]
	return c, ok
}

// ChargeFee is the fee of a charge the proxy was told of; 0 for any other.
func (p *StripeProxy) ChargeFee(id string) int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.charges[id].Fee
}

// chargeAnswer turns stripe-mock's fixture charge into the one the proxy was told of, with its
// balance transaction (expanded or not) carrying the charge's fee; the caller holds p.mu.
func (p *StripeProxy) chargeAnswer(id string, body []byte) []byte {
	c, ok := p.charges[id]
	var obj map[string]any
	if !ok || json.Unmarshal(body, &obj) != nil {
		return body
	}
	obj["amount"], obj["amount_captured"], obj["currency"] = c.Amount, c.Amount, c.Currency
	obj["amount_refunded"], obj["refunded"], obj["disputed"] = c.AmountRefunded, c.AmountRefunded == c.Amount, c.Disputed
	if c.PaymentIntent != "" {
		obj["payment_intent"] = c.PaymentIntent
	}
	if bt, ok := obj["balance_transaction"].(map[string]any); ok {
		bt["amount"], bt["fee"], bt["net"], bt["currency"], bt["source"] = c.Amount, c.Fee, c.Amount-c.Fee, c.Currency, c.ID
		bt["fee_details"] = []map[string]any{{"amount": c.Fee, "currency": c.Currency, "type": "stripe_fee", "description": "Stripe processing fees"}}
		if !c.CapturedAt.IsZero() {
			bt["created"] = c.CapturedAt.Unix()
		}
	}
	out, err := json.Marshal(obj)
	if err != nil {
		return body
	}
	return out
}

func formMetadata(form url.Values) map[string]string {
	md := map[string]string{}
	for k := range form {
		if strings.HasPrefix(k, "metadata[") && strings.HasSuffix(k, "]") {
			md[strings.TrimSuffix(strings.TrimPrefix(k, "metadata["), "]")] = form.Get(k)
		}
	}
	return md
}

// listQuery is what Stripe's list APIs take: a created range (gte/gt/lte/lt), a page size and a
// cursor.
type listQuery struct {
	from, to int64 // inclusive
	limit    int
	after    string
}

func parseListQuery(q url.Values) listQuery {
	l := listQuery{to: 1 << 62, after: q.Get("starting_after")}
	if v, err := strconv.ParseInt(q.Get("created[gte]"), 10, 64); err == nil {
		l.from = v
	}
	if v, err := strconv.ParseInt(q.Get("created[gt]"), 10, 64); err == nil {
		l.from = v + 1
	}
	if v, err := strconv.ParseInt(q.Get("created[lte]"), 10, 64); err == nil {
		l.to = v
	}
	if v, err := strconv.ParseInt(q.Get("created[lt]"), 10, 64); err == nil {
		l.to = v - 1
	}
	l.limit, _ = strconv.Atoi(q.Get("limit"))
	if l.limit <= 0 || l.limit > 100 {
		l.limit = 10
	}
	return l
}

// page cuts the IDs (newest first) to the page after l.after and says whether more follow.
func (l listQuery) page(ids []string) ([]string, bool) {
	if l.after != "" {
		for i, id := range ids {
			if id == l.after {
				ids = ids[i+1:]
				break
			}
		}
	}
	if len(ids) > l.limit {
		return ids[:l.limit], true
	}
	return ids, false
}

// listPaymentIntents answers GET /v1/payment_intents with the succeeded PaymentIntents behind the
// charges the proxy knows, newest first, as Stripe's list API pages them.
func (p *StripeProxy) listPaymentIntents(q url.Values) []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	l := parseListQuery(q)
	byPI := map[string]StripeCharge{}
	var ids []string
	for _, c := range p.charges {
		if at := c.Created.Unix(); c.PaymentIntent != "" && at >= l.from && at <= l.to {
			byPI[c.PaymentIntent] = c
			ids = append(ids, c.PaymentIntent)
		}
	}
	sort.Slice(ids, func(i, j int) bool {
		a, b := byPI[ids[i]], byPI[ids[j]]
		if !a.Created.Equal(b.Created) {
			return a.Created.After(b.Created)
		}
		return ids[i] > ids[j]
	})
	ids, more := l.page(ids)
	data := make([]map[string]any, 0, len(ids))
	for _, id := range ids {
		c := byPI[id]
		data = append(data, map[string]any{"id": id, "object": "payment_intent", "amount": c.Amount, "amount_received": c.Amount,
			"currency": c.Currency, "status": "succeeded", "created": c.Created.Unix(), "metadata": c.Metadata, "latest_charge": c.ID})
	}
	out, _ := json.Marshal(map[string]any{"object": "list", "url": "/v1/payment_intents", "has_more": more, "data": data})
	return out
}

// listTransfers answers GET /v1/transfers from the proxy's state, newest first, honouring
// created[gte]/created[lte], transfer_group, destination, limit and starting_after like Stripe's
// list API.
func (p *StripeProxy) listTransfers(q url.Values) []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	l := parseListQuery(q)
	var all []*StripeTransfer
	for _, tr := range p.transfers {
		if g := q.Get("transfer_group"); g != "" && tr.TransferGroup != g {
			continue
		}
		if d := q.Get("destination"); d != "" && tr.Destination != d {
			continue
		}
		if c := tr.Created.Unix(); c >= l.from && c <= l.to {
			all = append(all, tr)
		}
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].ID > all[j].ID })
	byID := map[string]*StripeTransfer{}
	ids := make([]string, len(all))
	for i, tr := range all {
		byID[tr.ID], ids[i] = tr, tr.ID
	}
	ids, more := l.page(ids)
	data := make([]map[string]any, 0, len(ids))
	for _, id := range ids {
		data = append(data, transferJSON(byID[id]))
	}
	out, _ := json.Marshal(map[string]any{"object": "list", "url": "/v1/transfers", "has_more": more, "data": data})
	return out
}

// transferJSON is a transfer as Stripe shows it.
func transferJSON(tr *StripeTransfer) map[string]any {
	revs := make([]map[string]any, 0, len(tr.Reversals))
	for _, rv := range tr.Reversals {
		revs = append(revs, reversalJSON(tr, rv))
	}
	return map[string]any{
		"id": tr.ID, "object": "transfer", "amount": tr.Amount, "amount_reversed": tr.AmountReversed, "currency": tr.Currency,
		"destination": tr.Destination, "transfer_group": tr.TransferGroup, "metadata": tr.Metadata, "created": tr.Created.Unix(), "reversed": tr.AmountReversed == tr.Amount,
		"reversals": map[string]any{"object": "list", "data": revs, "has_more": false, "url": "/v1/transfers/" + tr.ID + "/reversals"},
	}
}

// getTransfer answers GET /v1/transfers/{id} for a transfer the proxy made, from its state; found
// is false for a transfer it does not know (stripe-mock answers those with its fixture).
func (p *StripeProxy) getTransfer(path string) (body []byte, found bool) {
	id, ok := strings.CutPrefix(path, "/v1/transfers/")
	if !ok || id == "" || strings.Contains(id, "/") {
		return nil, false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, tr := range p.transfers {
		if tr.ID == id {
			out, _ := json.Marshal(transferJSON(tr))
			return out, true
		}
	}
	return nil, false
}

// reversalJSON is a reversal of tr as Stripe shows it.
func reversalJSON(tr *StripeTransfer, rv StripeReversal) map[string]any {
	return map[string]any{"id": rv.ID, "object": "transfer_reversal", "amount": rv.Amount, "currency": tr.Currency, "transfer": tr.ID, "metadata": rv.Metadata}
}

// reversalsOf reads the transfer ID of a /v1/transfers/{id}/reversals path.
func reversalsOf(path string) (string, bool) {
	rest, ok := strings.CutPrefix(path, "/v1/transfers/")
	if !ok {
		return "", false
	}
	id, ok := strings.CutSuffix(rest, "/reversals")
	return id, ok && id != "" && !strings.Contains(id, "/")
}

// listReversals answers GET /v1/transfers/{id}/reversals for a transfer the proxy made, from its
// state (one page, newest first); found is false for a transfer it does not know.
func (p *StripeProxy) listReversals(id string) (body []byte, found bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, tr := range p.transfers {
		if tr.ID != id {
			continue
		}
		data := make([]map[string]any, 0, len(tr.Reversals))
		for k := len(tr.Reversals) - 1; k >= 0; k-- {
			data = append(data, reversalJSON(tr, tr.Reversals[k]))
		}
		out, _ := json.Marshal(map[string]any{"object": "list", "url": "/v1/transfers/" + id + "/reversals", "has_more": false, "data": data})
		return out, true
	}
	return nil, false
}

func (p *StripeProxy) record(c StripeCall) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls = append(p.calls, c)
}

// Calls returns the recorded calls to a path (all when path is empty) that Stripe accepted.
func (p *StripeProxy) Calls(method, path string) []StripeCall {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []StripeCall
	for _, c := range p.calls {
		if c.Method == method && (path == "" || c.Path == path) && c.Status < 300 {
			out = append(out, c)
		}
	}
	return out
}

// Transfers returns the transfers Stripe holds, oldest first.
func (p *StripeProxy) Transfers() []StripeTransfer {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]StripeTransfer, 0, len(p.transfers))
	for _, tr := range p.transfers {
		c := *tr
		c.Reversals = append([]StripeReversal(nil), tr.Reversals...)
		out = append(out, c)
	}
	return out
}

// bufferedResponse collects stripe-mock's answer so the proxy can rewrite it.
type bufferedResponse struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferedResponse) Header() http.Header         { return b.header }
func (b *bufferedResponse) Write(p []byte) (int, error) { return b.body.Write(p) }
func (b *bufferedResponse) WriteHeader(code int)        { b.status = code }
