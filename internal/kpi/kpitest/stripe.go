package kpitest

import (
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Charge is a charge as the Stripe server holds it. ClientOnCharge puts client_id in the
// charge's own metadata; otherwise it is on the PaymentIntent only, as our plugins send it.
// Created is when the charge was made (its authorization); CapturedAt when it was captured, which
// is when Stripe creates its balance transaction (zero: at Created, as a charge captured at once).
// ChargeClientID, when set, is the client_id on the charge's own metadata while the PaymentIntent
// names ClientID: a charge that counts for two clients. IntentCreated is when its PaymentIntent
// was created (zero: at Created), what the PaymentIntents' search filters on.
type Charge struct {
	ID, PaymentIntent, ClientID, Currency, Status string
	ChargeClientID                                string
	Amount, AmountRefunded                        int64
	Captured, ClientOnCharge                      bool
	Created, CapturedAt, IntentCreated            time.Time
}

// intentCreated is when the charge's PaymentIntent was created.
func (c Charge) intentCreated() time.Time {
	if c.IntentCreated.IsZero() {
		return c.Created
	}
	return c.IntentCreated
}

// Stripe is a local Stripe API serving GET /v1/charges as a list object with has_more
// pagination, created[gte]/created[lt] filters and expand[]=data.payment_intent and
// data.balance_transaction.
type Stripe struct {
	URL string

	mu      sync.Mutex
	charges []Charge
	fail    int
	calls   int
	queries []string

	// mock, when set, is a stripe-mock every search request is first sent to, so that its
	// parameters are checked against Stripe's OpenAPI spec (stripe-mock answers fixtures and
	// does not filter: the answer is this server's).
	mock     string
	searches []string
}

// CheckSearchesWith sends every search request to the stripe-mock at base (testenv.StripeMock)
// before answering it, and answers stripe-mock's refusal when it refuses the parameters.
func (s *Stripe) CheckSearchesWith(base string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mock = base
}

// Searches are the search requests' paths and queries ("/v1/charges/search?query=..."), one per
// page.
func (s *Stripe) Searches() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.searches...)
}

// NewStripe starts the server; it stops when the test ends.
func NewStripe(t testing.TB) *Stripe {
	s := &Stripe{}
	srv := httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

// Add stores charges.
func (s *Stripe) Add(cs ...Charge) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.charges = append(s.charges, cs...)
}

// Fail makes the list answer status until Fail(0).
func (s *Stripe) Fail(status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail = status
}

// Calls counts list requests (one per page).
func (s *Stripe) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

// Queries are the raw query strings of the list requests.
func (s *Stripe) Queries() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.queries...)
}

func (s *Stripe) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.Method == http.MethodGet && (r.URL.Path == "/v1/charges/search" || r.URL.Path == "/v1/payment_intents/search") {
		s.search(w, r)
		return
	}
	if r.Method != http.MethodGet || r.URL.Path != "/v1/charges" {
		stripeError(w, http.StatusNotFound, "invalid_request_error", "Unrecognized request URL ("+r.Method+": "+r.URL.Path+")")
		return
	}
	s.calls++
	s.queries = append(s.queries, r.URL.RawQuery)
	if r.Header.Get("Authorization") == "" {
		stripeError(w, http.StatusUnauthorized, "invalid_request_error", "You did not provide an API key.")
		return
	}
	if s.failInjected(w) {
		return
	}
	q := r.URL.Query()
	gte, _ := strconv.ParseInt(q.Get("created[gte]"), 10, 64)
	lt, err := strconv.ParseInt(q.Get("created[lt]"), 10, 64)
	if err != nil {
		lt = 1 << 62
	}
	limit, err := strconv.Atoi(q.Get("limit"))
	if err != nil || limit < 1 || limit > 100 {
		limit = 10
	}
	expandPI, expandBT := false, false
	// Stripe takes expand[]=x and expand[0]=x alike (stripe-go sends the indexed form).
	for k, vs := range q {
		if strings.HasPrefix(k, "expand[") {
			for _, e := range vs {
				expandPI = expandPI || e == "data.payment_intent"
				expandBT = expandBT || e == "data.balance_transaction"
			}
		}
	}
	// Newest first, as Stripe lists; ties broken by ID so pages are stable.
	list := append([]Charge(nil), s.charges...)
	sort.Slice(list, func(i, j int) bool {
		if !list[i].Created.Equal(list[j].Created) {
			return list[i].Created.After(list[j].Created)
		}
		return list[i].ID > list[j].ID
	})
	var matched []Charge
	for _, c := range list {
		if ts := c.Created.Unix(); ts >= gte && ts < lt {
			matched = append(matched, c)
		}
	}
	if after := q.Get("starting_after"); after != "" {
		for i, c := range matched {
			if c.ID == after {
				matched = matched[i+1:]
				break
			}
		}
	}
	hasMore := len(matched) > limit
	if hasMore {
		matched = matched[:limit]
	}
	data := make([]map[string]any, 0, len(matched))
	for _, c := range matched {
		data = append(data, chargeObject(c, expandPI, expandBT))
	}
	writeJSON(w, http.StatusOK, map[string]any{"object": "list", "url": "/v1/charges", "has_more": hasMore, "data": data})
}

// chargeMetadata is the charge's own metadata.
func chargeMetadata(c Charge) map[string]string {
	chargeMeta := map[string]string{}
	if c.ClientOnCharge {
		chargeMeta["client_id"] = c.ClientID
	}
	if c.ChargeClientID != "" {
		chargeMeta["client_id"] = c.ChargeClientID
	}
	return chargeMeta
}

// intentStatus is the status of the charge's PaymentIntent: succeeded once captured, waiting for
// the capture while authorized, waiting for another payment method after a failed charge.
func intentStatus(c Charge) string {
	switch {
	case c.Status == "succeeded" && c.Captured:
		return "succeeded"
	case c.Status == "succeeded":
		return "requires_capture"
	}
	return "requires_payment_method"
}

// intentObject is the charge's PaymentIntent, created with it; latest is its latest_charge.
func intentObject(c Charge, latest any) map[string]any {
	received := int64(0)
	if c.Captured {
		received = c.Amount
	}
	return map[string]any{
		"id": c.PaymentIntent, "object": "payment_intent", "amount": c.Amount, "amount_received": received,
		"currency": c.Currency, "status": intentStatus(c), "created": c.intentCreated().Unix(), "livemode": false,
		"latest_charge": latest, "metadata": map[string]string{"client_id": c.ClientID, "order_id": c.ClientID + "-" + c.ID},
	}
}

func chargeObject(c Charge, expandPI, expandBT bool) map[string]any {
	chargeMeta := chargeMetadata(c)
	var pi any = c.PaymentIntent
	if expandPI {
		pi = intentObject(c, c.ID)
	}
	captured := int64(0)
	var bt any // an uncaptured charge has no balance transaction yet
	if c.Captured {
		captured = c.Amount
		bt = "txn_" + c.ID
		if expandBT {
			at := c.CapturedAt
			if at.IsZero() {
				at = c.Created
			}
			bt = map[string]any{"id": "txn_" + c.ID, "object": "balance_transaction", "amount": c.Amount, "currency": c.Currency,
				"created": at.Unix(), "available_on": at.Unix(), "type": "charge", "status": "pending", "source": c.ID}
		}
	}
	return map[string]any{
		"id": c.ID, "object": "charge", "amount": c.Amount, "amount_captured": captured,
		"amount_refunded": c.AmountRefunded, "balance_transaction": bt, "captured": c.Captured,
		"created": c.Created.Unix(), "currency": c.Currency, "disputed": false, "livemode": false,
		"metadata": chargeMeta, "paid": c.Status == "succeeded", "payment_intent": pi,
		"refunded": c.AmountRefunded == c.Amount && c.Amount > 0, "status": c.Status,
		"refunds": map[string]any{"object": "list", "data": []any{}, "has_more": false, "url": "/v1/charges/" + c.ID + "/refunds"},
	}
}

func stripeError(w http.ResponseWriter, status int, typ, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]any{"type": typ, "message": msg}})
}

// failInjected answers the failure a test injected (Fail), as Stripe words one of its status:
// api_error for a 5xx, invalid_request_error otherwise; false when none is.
func (s *Stripe) failInjected(w http.ResponseWriter) bool {
	if s.fail == 0 {
		return false
	}
	typ := "api_error"
	if s.fail < 500 {
		typ = "invalid_request_error"
	}
	stripeError(w, s.fail, typ, "injected failure")
	return true
}
