package testenv

import (
	"cmp"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"paysplit/internal/paypalhook"
)

// PayPal is a local server that speaks PayPal's REST wire format for what this project uses:
// OAuth tokens, the Payouts API (with PayPal-Request-Id replay and sender_batch_id dedup),
// verify-webhook-signature, the webhook signing certificate, Transaction Search, and captures
// and refunds by ID (Payments API v2). PayPal cannot be reached from
// here, so tests point the real client library at it: HTTPClient resolves PayPal's host names
// to this server over TLS with a certificate for them.
type PayPal struct {
	// APIBase is what the client library is configured with.
	APIBase   string
	CertURL   string
	WebhookID string

	srv   *httptest.Server
	key   *rsa.PrivateKey
	cert  []byte // PEM of the webhook signing certificate
	pool  *x509.CertPool
	caPEM []byte

	mu       sync.Mutex
	requests map[string][]byte // PayPal-Request-Id -> response
	batches  map[string]*fakeBatch
	bySender map[string]string // sender_batch_id -> batch ID
	payouts  []PayPalPayout
	// ItemStatus decides a payout item's final status by receiver; default SUCCESS.
	ItemStatus func(receiver string) string
	// IgnoreRequestIDs stops the replay of an answer for a repeated PayPal-Request-Id, so only
	// sender_batch_id deduplicates: the Payouts API has been seen not to honour the header
	// (paypal/PayPal-Java-SDK#379), and PayPal keeps either for 30 days only.
	IgnoreRequestIDs bool
	// LosePayoutAnswer, when set and true for a sender_batch_id, answers its payout's creation
	// 500 after the batch was made: the caller cannot tell whether it was.
	LosePayoutAnswer func(senderBatchID string) bool
	// PendingReads is how many reads of a new batch answer its item PENDING before its status
	// shows: PayPal takes its time, beyond one attempt's watch.
	PendingReads int
	// OmitDuplicateLink answers a duplicate sender_batch_id without the link to its batch, as
	// PayPal's older answers did ({"field":"SENDER_BATCH_ID","issue":"Duplicate batch request"}).
	OmitDuplicateLink bool
	// ClaimedBeforeCancel has the payee claim an unclaimed item just before its cancel arrives:
	// the item is paid (SUCCESS) and the cancel refused, as PayPal cancels only unclaimed items.
	ClaimedBeforeCancel bool
	// FailPayout, when set, is asked first for every payout creation (before the request ID
	// replay, as PayPal's rate limiter and front end answer before the Payouts API looks at a
	// request): a status it returns (429, 500, 503, ...) is answered with PayPal's error body and
	// nothing is made; 0 lets the request through.
	FailPayout func(senderBatchID string) int
	// PayoutMade, when set, is called with each payout batch just made, before it is answered,
	// with the fake unlocked: a test can hold the answer back (and kill the caller meanwhile).
	PayoutMade func(PayPalPayout)
	// PayoutItemFee, when set, is the fee PayPal states it took for each payout item, on a read of
	// its batch (payout_item_fee): 0.00 in its currency until the item is SUCCESS, the fee once it
	// is, as PayPal charges a paid item. The batch header's fees are the sum of its items' fees, as
	// PayPal states them; a fake batch has one item. Unset, the fake states no fee (as PayPal's
	// older answers did).
	PayoutItemFee *PayPalAmount
	// RefuseCredentials answers the token endpoint 401 invalid_client, as PayPal does once the
	// REST app's secret was rotated.
	RefuseCredentials bool
	// TokenStatus, when not 0, answers the token endpoint with that status and an OAuth error
	// body: 400 invalid_request or 403 access_denied, as PayPal answers for a REST app that is
	// misconfigured or disabled.
	TokenStatus int
	// RefuseTokens answers 401 invalid_token to every bearer token, fresh ones too.
	RefuseTokens bool
	// TokenAnswer, when set, answers the token endpoint with its status, Content-Type and body
	// as they are, no token issued: what a proxy or load balancer in front of PayPal answers
	// (an HTML error page, an empty or cut-off body), or a token answer PayPal's client cannot
	// use (no access_token, an expires_in of 0).
	TokenAnswer *PayPalTokenAnswer

	// tokens counts the OAuth tokens issued (each its own); revokedUpTo, those RevokeTokens
	// revoked.
	tokens, revokedUpTo, tokensRefused int

	captures map[string]PayPalCapture
	refunds  map[string]PayPalRefund

	// certFail is the status the signing certificate's URL answers instead of it (FailCertificate).
	certFail int

	transactions []PayPalTransaction
	searches     []url.Values
	searchFail   int
	searchMax    int
}

// PayPalTokenAnswer is a raw answer of the token endpoint (PayPal.TokenAnswer).
type PayPalTokenAnswer struct {
	Status      int
	ContentType string
	Body        string
}

// PayPalPayout is one payout batch created at the fake.
type PayPalPayout struct {
	RequestID, SenderBatchID, Receiver, Currency, Value string
	// BatchID is PayPal's payout_batch_id, what an admin finds in PayPal.
	BatchID string
	// ItemID is the batch's one payout_item_id, what the books record as the transfer.
	ItemID string
	// At is when the batch was made.
	At time.Time
}

// PayPalAmount is an amount in PayPal's wire format: a currency code and a decimal string.
type PayPalAmount struct {
	Currency string `json:"currency"`
	Value    string `json:"value"`
}

type fakeBatch struct {
	id, itemID, status, senderBatchID string
	item                              map[string]any
	// pending counts the reads of the batch still to answer PENDING (PendingReads).
	pending int
}

// NewPayPal starts the fake PayPal for a test, closed when the test ends.
func NewPayPal(t testing.TB) *PayPal {
	t.Helper()
	p, err := StartPayPal()
	if err != nil {
		t.Fatalf("paypal fake: %v", err)
	}
	t.Cleanup(p.Close)
	return p
}

// StartPayPal starts the fake PayPal outside a test (the benchmark's stack); Close stops it.
// Other processes reach it at LocalURL when they trust CAPEM (SSL_CERT_FILE for Go programs).
func StartPayPal() (*PayPal, error) {
	p := &PayPal{
		APIBase: "https://api-m.sandbox.paypal.com", CertURL: "https://api.sandbox.paypal.com/v1/notifications/certs/CERT-paysplit-test",
		WebhookID: "WH-PAYSPLIT-TEST", requests: map[string][]byte{}, batches: map[string]*fakeBatch{}, bySender: map[string]string{},
		captures: map[string]PayPalCapture{}, refunds: map[string]PayPalRefund{},
	}
	keys := paypalKeys()
	if keys.err != nil {
		return nil, fmt.Errorf("keys: %w", keys.err)
	}
	p.key, p.cert, p.pool, p.caPEM = keys.signing, keys.signingPEM, keys.pool, keys.caPEM
	p.srv = httptest.NewUnstartedServer(http.HandlerFunc(p.serve))
	p.srv.TLS = &tls.Config{Certificates: []tls.Certificate{keys.tls}}
	p.srv.StartTLS()
	return p, nil
}

// Close stops the server.
func (p *PayPal) Close() { p.srv.Close() }

// LocalURL is the server's own address (https://127.0.0.1:port), for a process that cannot be
// given HTTPClient's dialer: its certificate names 127.0.0.1 too.
func (p *PayPal) LocalURL() string { return p.srv.URL }

// CAPEM is the certificate of the CA that signed the server's TLS certificate.
func (p *PayPal) CAPEM() []byte { return p.caPEM }

// paypalKeys are made once per test binary: RSA key generation is the slow part of the fake.
var paypalKeys = sync.OnceValue(func() (k struct {
	signing    *rsa.PrivateKey
	tls        tls.Certificate
	signingPEM []byte
	caPEM      []byte
	pool       *x509.CertPool
	err        error
}) {
	if k.signing, k.err = rsa.GenerateKey(rand.Reader, 2048); k.err != nil {
		return k
	}
	k.tls, k.signingPEM, k.caPEM, k.pool, k.err = paypalCerts(k.signing)
	return k
})

// paypalCerts makes a TLS certificate for PayPal's host names (and 127.0.0.1) and a webhook
// signing certificate, both signed by one test CA that HTTPClient trusts; it returns the TLS
// certificate, the signing certificate's PEM, the CA's PEM and a pool holding the CA.
func paypalCerts(signing *rsa.PrivateKey) (tls.Certificate, []byte, []byte, *x509.CertPool, error) {
	fail := func(err error) (tls.Certificate, []byte, []byte, *x509.CertPool, error) {
		return tls.Certificate{}, nil, nil, nil, err
	}
	caKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return fail(err)
	}
	now := time.Now()
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "paysplit test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		return fail(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	leafKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return fail(err)
	}
	leaf := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "api.paypal.com"},
		DNSNames:    []string{"api.paypal.com", "api-m.paypal.com", "api.sandbox.paypal.com", "api-m.sandbox.paypal.com"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:   now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	leafDER, err := x509.CreateCertificate(rand.Reader, leaf, caCert, &leafKey.PublicKey, caKey)
	if err != nil {
		return fail(err)
	}
	sign := &x509.Certificate{SerialNumber: big.NewInt(3), Subject: pkix.Name{CommonName: "messageverificationcerts.sandbox.paypal.com"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour)}
	signDER, err := x509.CreateCertificate(rand.Reader, sign, caCert, &signing.PublicKey, caKey)
	if err != nil {
		return fail(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(caCert)
	tlsCert := tls.Certificate{Certificate: [][]byte{leafDER, caDER}, PrivateKey: leafKey}
	return tlsCert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: signDER}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), pool, nil
}

// HTTPClient reaches the fake for any *.paypal.com address, over TLS verified against the test CA.
func (p *PayPal) HTTPClient() *http.Client {
	addr := p.srv.Listener.Addr().String()
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: p.pool},
		DialContext: func(ctx context.Context, network, hostport string) (net.Conn, error) {
			host, _, _ := net.SplitHostPort(hostport)
			if host != "paypal.com" && !strings.HasSuffix(host, ".paypal.com") {
				return nil, fmt.Errorf("paypal fake: refusing to dial %s", hostport)
			}
			return dialer.DialContext(ctx, network, addr)
		},
	}}
}

// transmissions numbers the fake's transmissions: the API refuses a transmission ID it saw with
// another body, so two signed in the same clock tick must not share one.
var transmissions atomic.Int64

// Sign returns the transmission headers PayPal would send with body for the fake's webhook.
func (p *PayPal) Sign(body []byte) http.Header {
	return p.SignAt(body, time.Now())
}

// SignAt is Sign for a transmission made at the given time (a delivery PayPal sent earlier).
func (p *PayPal) SignAt(body []byte, at time.Time) http.Header {
	h := paypalhook.Headers{
		TransmissionID:   fmt.Sprintf("tx-%d-%d", time.Now().UnixNano(), transmissions.Add(1)),
		TransmissionTime: at.UTC().Format(time.RFC3339),
		CertURL:          p.CertURL, AuthAlgo: "SHA256withRSA",
	}
	digest := sha256.Sum256(paypalhook.SignedMessage(h, p.WebhookID, body))
	sig, err := rsa.SignPKCS1v15(rand.Reader, p.key, crypto.SHA256, digest[:])
	if err != nil {
		panic(err) // signing with a fresh RSA key cannot fail
	}
	out := http.Header{}
	out.Set("Paypal-Transmission-Id", h.TransmissionID)
	out.Set("Paypal-Transmission-Time", h.TransmissionTime)
	out.Set("Paypal-Transmission-Sig", base64.StdEncoding.EncodeToString(sig))
	out.Set("Paypal-Cert-Url", h.CertURL)
	out.Set("Paypal-Auth-Algo", h.AuthAlgo)
	return out
}

// SettlePayouts lets every batch still PENDING (PendingReads) show its status at the next read.
func (p *PayPal) SettlePayouts() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, b := range p.batches {
		b.pending = 0
	}
}

// ForgetKeys has PayPal forget every sender_batch_id and PayPal-Request-Id it was sent, as it
// does 30 days after each: a payout sent again under its key after that is a new payout. The
// batches stay readable by their ID. A switch for tests, not a clock: no test waits 30 days.
func (p *PayPal) ForgetKeys() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.bySender, p.requests = map[string]string{}, map[string][]byte{}
}

// RevokeTokens has PayPal stop taking every OAuth token issued so far (revoked, the REST app's
// credentials rotated, or dropped before its expires_in): a request bearing one is answered 401
// invalid_token. Tokens issued after are taken.
func (p *PayPal) RevokeTokens() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.revokedUpTo = p.tokens
}

// TokenRequests is how many OAuth tokens were asked for (issued or refused).
func (p *PayPal) TokenRequests() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.tokens + p.tokensRefused
}

func (p *PayPal) tokenRefused(auth string) bool {
	if p.RefuseTokens {
		return true
	}
	var n int
	_, err := fmt.Sscanf(strings.TrimPrefix(auth, "Bearer "), "A21AAFakeToken%04d", &n)
	return err == nil && n <= p.revokedUpTo // a token the fake did not issue is taken, as before
}

// Payouts lists the payout batches created, in order.
func (p *PayPal) Payouts() []PayPalPayout {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]PayPalPayout(nil), p.payouts...)
}

func (p *PayPal) serve(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	defer p.mu.Unlock()
	path := r.URL.Path
	switch {
	case r.Method == http.MethodPost && path == "/v1/oauth2/token" && p.RefuseCredentials:
		p.tokensRefused++
		writeJSON(w, 401, map[string]any{"error": "invalid_client", "error_description": "Client Authentication failed"})
	case r.Method == http.MethodPost && path == "/v1/oauth2/token" && p.TokenAnswer != nil:
		p.tokensRefused++
		w.Header().Set("Content-Type", p.TokenAnswer.ContentType)
		w.WriteHeader(p.TokenAnswer.Status)
		_, _ = io.WriteString(w, p.TokenAnswer.Body)
	case r.Method == http.MethodPost && path == "/v1/oauth2/token" && p.TokenStatus != 0:
		p.tokensRefused++
		code := "invalid_request"
		if p.TokenStatus == http.StatusForbidden {
			code = "access_denied"
		}
		writeJSON(w, p.TokenStatus, map[string]any{"error": code, "error_description": "The REST app cannot be issued a token"})
	case r.Method == http.MethodPost && path == "/v1/oauth2/token":
		p.tokens++
		writeJSON(w, 200, map[string]any{"access_token": fmt.Sprintf("A21AAFakeToken%04d", p.tokens), "token_type": "Bearer", "expires_in": 32400})
	case !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") && path != "/v1/notifications/certs/CERT-paysplit-test":
		writeJSON(w, 401, map[string]any{"name": "AUTHENTICATION_FAILURE", "message": "Authentication failed"})
	case path != "/v1/notifications/certs/CERT-paysplit-test" && p.tokenRefused(r.Header.Get("Authorization")):
		// PayPal's answer to a bearer token it no longer takes (revoked, or dropped before its
		// expires_in), in OAuth's format rather than its API error format.
		writeJSON(w, 401, map[string]any{"error": "invalid_token", "error_description": "Access Token not found in cache"})
	case p.servePayments(w, r):
	case r.Method == http.MethodPost && path == "/v1/payments/payouts":
		p.createPayout(w, r)
	case r.Method == http.MethodGet && strings.HasPrefix(path, "/v1/payments/payouts/"):
		b := p.batches[strings.TrimPrefix(path, "/v1/payments/payouts/")]
		if b == nil {
			writeJSON(w, 404, map[string]any{"name": "INVALID_RESOURCE_ID", "message": "not found"})
			return
		}
		writeJSON(w, 200, p.readBatch(b))
	case r.Method == http.MethodGet && strings.HasPrefix(path, "/v1/payments/payouts-item/"):
		id := strings.TrimPrefix(path, "/v1/payments/payouts-item/")
		for _, b := range p.batches {
			if b.itemID == id {
				writeJSON(w, 200, map[string]any{"payout_item_id": id, "transaction_status": b.status, "payout_batch_id": b.id, "payout_item": b.item})
				return
			}
		}
		writeJSON(w, 404, map[string]any{"name": "INVALID_RESOURCE_ID", "message": "not found"})
	case r.Method == http.MethodPost && strings.HasPrefix(path, "/v1/payments/payouts-item/") && strings.HasSuffix(path, "/cancel"):
		id := strings.TrimSuffix(strings.TrimPrefix(path, "/v1/payments/payouts-item/"), "/cancel")
		for _, b := range p.batches {
			if b.itemID == id && b.status == "UNCLAIMED" && p.ClaimedBeforeCancel {
				b.status = "SUCCESS"
			}
			if b.itemID == id && b.status == "UNCLAIMED" {
				b.status = "RETURNED"
				writeJSON(w, 200, map[string]any{"payout_item_id": id, "transaction_status": b.status, "payout_batch_id": b.id})
				return
			}
		}
		writeJSON(w, 400, map[string]any{"name": "ITEM_CANCELLATION_FAILED", "message": "item is not unclaimed"})
	case r.Method == http.MethodPost && path == "/v1/notifications/verify-webhook-signature":
		p.verify(w, r)
	case r.Method == http.MethodGet && path == "/v1/reporting/transactions":
		p.listTransactions(w, r)
	case r.Method == http.MethodGet && path == "/v1/notifications/certs/CERT-paysplit-test" && p.certFail != 0:
		writeJSON(w, p.certFail, payPalError(p.certFail))
	case r.Method == http.MethodGet && path == "/v1/notifications/certs/CERT-paysplit-test":
		w.Header().Set("Content-Type", "application/x-pem-file")
		_, _ = w.Write(p.cert)
	default:
		writeJSON(w, 404, map[string]any{"name": "NOT_FOUND", "message": r.Method + " " + path})
	}
}

func (p *PayPal) createPayout(w http.ResponseWriter, r *http.Request) {
	reqID := r.Header.Get("PayPal-Request-Id")
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		writeJSON(w, 400, map[string]any{"name": "VALIDATION_ERROR", "message": "Invalid request - see details"})
		return
	}
	if p.FailPayout != nil {
		var head struct {
			Header struct {
				SenderBatchID string `json:"sender_batch_id"`
			} `json:"sender_batch_header"`
		}
		_ = json.Unmarshal(raw, &head)
		if status := p.FailPayout(head.Header.SenderBatchID); status != 0 {
			writeJSON(w, status, payPalError(status))
			return
		}
	}
	if prev, ok := p.requests[reqID]; ok && reqID != "" && !p.IgnoreRequestIDs {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(201)
		_, _ = w.Write(prev) // PayPal replays the original answer for a repeated request ID
		return
	}
	var body struct {
		Header struct {
			SenderBatchID string `json:"sender_batch_id"`
		} `json:"sender_batch_header"`
		Items []struct {
			Receiver     string `json:"receiver"`
			SenderItemID string `json:"sender_item_id"`
			Amount       struct {
				Currency string `json:"currency"`
				Value    string `json:"value"`
			} `json:"amount"`
		} `json:"items"`
	}
	if err := json.Unmarshal(raw, &body); err != nil || len(body.Items) != 1 {
		writeJSON(w, 400, map[string]any{"name": "VALIDATION_ERROR", "message": "Invalid request - see details"})
		return
	}
	if field, limit, value := payoutFieldTooLong(body.Header.SenderBatchID, body.Items[0].SenderItemID, body.Items[0].Receiver); field != "" {
		// PayPal's schema bounds these fields (sender_batch_id 256, sender_item_id 63, receiver
		// 127 characters) and refuses the whole request when one is longer.
		writeJSON(w, 400, map[string]any{"name": "VALIDATION_ERROR", "message": "Invalid request - see details",
			"debug_id": "fakelength", "details": []map[string]string{{"field": field, "value": value, "location": "body",
				"issue": fmt.Sprintf("Length of %s must be at most %d.", field, limit)}}})
		return
	}
	if a := body.Items[0].Amount; payPalNoDecimals[strings.ToUpper(a.Currency)] && strings.Contains(a.Value, ".") {
		// PayPal's currency codes: HUF, JPY and TWD do not support decimals; a decimal amount is an error.
		writeJSON(w, 422, map[string]any{"name": "UNPROCESSABLE_ENTITY", "message": "The requested action could not be performed, semantically incorrect, or failed business validation.",
			"details": []map[string]string{{"field": "items[0].amount.value", "value": a.Value, "issue": "DECIMALS_NOT_SUPPORTED",
				"description": "Currency does not support decimals."}}})
		return
	}
	if id, dup := p.bySender[body.Header.SenderBatchID]; dup {
		// As PayPal answers it (plutov/paypal v4.8.0's fixture of this refusal): the link to the
		// batch made under the key is in the detail, "link".
		detail := map[string]any{"field": "SENDER_BATCH_ID", "issue": "Batch with given sender_batch_id already exists",
			"link": []map[string]string{{"href": p.APIBase + "/v1/payments/payouts/" + id, "rel": "self", "method": "GET"}}}
		if p.OmitDuplicateLink {
			delete(detail, "link")
		}
		answer := map[string]any{"name": "USER_BUSINESS_ERROR", "message": "User business error.",
			"debug_id": "dup" + id, "details": []map[string]any{detail}}
		writeJSON(w, 400, answer)
		return
	}
	item := body.Items[0]
	b := &fakeBatch{id: fmt.Sprintf("BATCH%04d", len(p.batches)+1), itemID: fmt.Sprintf("ITEM%04d", len(p.batches)+1),
		status: "SUCCESS", senderBatchID: body.Header.SenderBatchID, pending: p.PendingReads,
		item: map[string]any{"receiver": item.Receiver, "amount": map[string]string{"currency": item.Amount.Currency, "value": item.Amount.Value}}}
	if p.ItemStatus != nil {
		b.status = p.ItemStatus(item.Receiver)
	}
	p.batches[b.id], p.bySender[body.Header.SenderBatchID] = b, b.id
	made := PayPalPayout{RequestID: reqID, SenderBatchID: body.Header.SenderBatchID, Receiver: item.Receiver,
		Currency: item.Amount.Currency, Value: item.Amount.Value, BatchID: b.id, ItemID: b.itemID, At: time.Now()}
	p.payouts = append(p.payouts, made)
	resp, _ := json.Marshal(map[string]any{"batch_header": map[string]any{"payout_batch_id": b.id, "batch_status": "PENDING",
		"sender_batch_header": map[string]string{"sender_batch_id": b.senderBatchID}}})
	if reqID != "" {
		p.requests[reqID] = resp
	}
	if hook := p.PayoutMade; hook != nil {
		p.mu.Unlock() // serve holds the lock; the hook may block
		hook(made)
		p.mu.Lock()
	}
	if p.LosePayoutAnswer != nil && p.LosePayoutAnswer(body.Header.SenderBatchID) {
		writeJSON(w, 500, map[string]any{"name": "INTERNAL_SERVER_ERROR", "message": "An internal server error has occurred."})
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(201)
	_, _ = w.Write(resp)
}

// readBatch is a read of a batch: its item PENDING while reads of it are still to answer so
// (PendingReads), its status after.
func (p *PayPal) readBatch(b *fakeBatch) map[string]any {
	status := b.status
	if b.pending > 0 {
		b.pending--
		status = "PENDING"
	}
	header := map[string]any{"payout_batch_id": b.id, "batch_status": "SUCCESS", "sender_batch_header": map[string]string{"sender_batch_id": b.senderBatchID}}
	item := map[string]any{"payout_item_id": b.itemID, "transaction_status": status, "payout_batch_id": b.id, "payout_item": b.item}
	if f := p.PayoutItemFee; f != nil {
		fee := PayPalAmount{Currency: f.Currency, Value: "0.00"}
		if status == "SUCCESS" {
			fee.Value = f.Value
		}
		// One item a batch: the header's fees, the sum of its items', are the item's.
		item["payout_item_fee"], header["fees"] = fee, fee
	}
	return map[string]any{"batch_header": header, "items": []map[string]any{item}}
}

// verify answers verify-webhook-signature the way PayPal does, by checking the signature.
func (p *PayPal) verify(w http.ResponseWriter, r *http.Request) {
	var body struct {
		AuthAlgo         string          `json:"auth_algo"`
		CertURL          string          `json:"cert_url"`
		TransmissionID   string          `json:"transmission_id"`
		TransmissionSig  string          `json:"transmission_sig"`
		TransmissionTime string          `json:"transmission_time"`
		WebhookID        string          `json:"webhook_id"`
		Event            json.RawMessage `json:"webhook_event"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		writeJSON(w, 400, map[string]any{"name": "VALIDATION_ERROR", "message": err.Error()})
		return
	}
	status := "FAILURE"
	sig, err := base64.StdEncoding.DecodeString(body.TransmissionSig)
	h := paypalhook.Headers{TransmissionID: body.TransmissionID, TransmissionTime: body.TransmissionTime}
	digest := sha256.Sum256(paypalhook.SignedMessage(h, body.WebhookID, body.Event))
	if err == nil && body.WebhookID == p.WebhookID && rsa.VerifyPKCS1v15(&p.key.PublicKey, crypto.SHA256, digest[:], sig) == nil {
		status = "SUCCESS"
	}
	writeJSON(w, 200, map[string]string{"verification_status": status})
}

// PayPalTransaction is one transaction of the account's history as Transaction Search lists it.
// Value is signed as PayPal reports it ("-5.00" for a refund); ReferenceID points a refund at the
// payment it refunds; CustomField is the capture's custom_id. At is when it was made
// (transaction_initiation_date, which the fake's searches filter on), Updated when it last changed
// (transaction_updated_date: a pending payment's completion; At when zero).
type PayPalTransaction struct {
	ID, EventCode, Status, Currency, Value, CustomField, ReferenceID string
	At, Updated                                                      time.Time
}

// AddTransactions puts transactions in the account's history.
func (p *PayPal) AddTransactions(ts ...PayPalTransaction) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.transactions = append(p.transactions, ts...)
}

// SetTransactionStatus changes a listed transaction's status, as PayPal does when a pending
// payment completes (status S), and when it last changed.
func (p *PayPal) SetTransactionStatus(id, status string, updated time.Time) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := range p.transactions {
		if p.transactions[i].ID == id {
			p.transactions[i].Status, p.transactions[i].Updated = status, updated
			return true
		}
	}
	return false
}

// FailCertificate makes the webhook signing certificate's URL answer status (PayPal's error
// body) until FailCertificate(0).
func (p *PayPal) FailCertificate(status int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.certFail = status
}

// FailTransactions makes Transaction Search answer status until FailTransactions(0).
func (p *PayPal) FailTransactions(status int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.searchFail = status
}

// LimitTransactions sets how many matches a search may have before it answers
// RESULTSET_TOO_LARGE (PayPal's limit, 10,000, when 0).
func (p *PayPal) LimitTransactions(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.searchMax = n
}

// TransactionSearches are the query parameters of the Transaction Search requests, in order.
func (p *PayPal) TransactionSearches() []url.Values {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]url.Values(nil), p.searches...)
}

// listTransactions answers GET /v1/reporting/transactions as PayPal does: start_date and end_date
// (RFC 3339, both inclusive, at most 31 days apart) are required; transaction_currency,
// transaction_type and transaction_status filter; page (from 1) and page_size (1..500, default
// 100) page through the matches, oldest first; too many matches is RESULTSET_TOO_LARGE. Times are
// reported as PayPal writes them, with a +0000 offset.
func (p *PayPal) listTransactions(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p.searches = append(p.searches, q)
	if p.searchFail != 0 {
		writeJSON(w, p.searchFail, map[string]any{"name": http.StatusText(p.searchFail), "message": "injected failure", "debug_id": "fakedebug"})
		return
	}
	invalid := func(field, issue string) {
		writeJSON(w, 400, map[string]any{"name": "INVALID_REQUEST", "debug_id": "fakedebug",
			"message": "Request is not well-formed, syntactically incorrect, or violates schema.",
			"details": []map[string]string{{"field": field, "value": q.Get(field), "location": "query", "issue": issue}}})
	}
	start, err := time.Parse(time.RFC3339, q.Get("start_date"))
	if err != nil {
		invalid("start_date", "INVALID_PARAMETER_SYNTAX")
		return
	}
	end, err := time.Parse(time.RFC3339, q.Get("end_date"))
	if err != nil || end.Before(start) {
		invalid("end_date", "INVALID_PARAMETER_SYNTAX")
		return
	}
	if end.Sub(start) > 31*24*time.Hour {
		invalid("end_date", "Date range is greater than 31 days")
		return
	}
	page, size := 1, 100
	if v := q.Get("page"); v != "" {
		if page, err = strconv.Atoi(v); err != nil || page < 1 {
			invalid("page", "INVALID_PARAMETER_VALUE")
			return
		}
	}
	if v := q.Get("page_size"); v != "" {
		if size, err = strconv.Atoi(v); err != nil || size < 1 || size > 500 {
			invalid("page_size", "INVALID_PARAMETER_VALUE")
			return
		}
	}
	var matched []PayPalTransaction
	for _, t := range p.transactions {
		if t.At.Before(start) || t.At.After(end) ||
			(q.Get("transaction_currency") != "" && !strings.EqualFold(q.Get("transaction_currency"), t.Currency)) ||
			(q.Get("transaction_type") != "" && q.Get("transaction_type") != t.EventCode) ||
			(q.Get("transaction_status") != "" && q.Get("transaction_status") != t.Status) {
			continue
		}
		matched = append(matched, t)
	}
	limit := p.searchMax
	if limit == 0 {
		limit = 10000
	}
	if len(matched) > limit {
		writeJSON(w, 400, map[string]any{"name": "RESULTSET_TOO_LARGE", "debug_id": "fakedebug",
			"message": "Result set size is greater than the maximum limit. Change the filter criteria and try again."})
		return
	}
	sort.SliceStable(matched, func(i, j int) bool {
		if !matched[i].At.Equal(matched[j].At) {
			return matched[i].At.Before(matched[j].At)
		}
		return matched[i].ID < matched[j].ID
	})
	ppTime := func(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05-0700") }
	details := []map[string]any{}
	for _, t := range matched[min((page-1)*size, len(matched)):min(page*size, len(matched))] {
		info := map[string]any{
			"paypal_account_id": "PAYSPLITFAKE1", "transaction_id": t.ID, "transaction_event_code": t.EventCode,
			"transaction_initiation_date": ppTime(t.At), "transaction_updated_date": ppTime(cmp.Or(t.Updated, t.At)),
			"transaction_amount": map[string]string{"currency_code": t.Currency, "value": t.Value},
			"transaction_status": t.Status, "protection_eligibility": "01",
		}
		if t.CustomField != "" {
			info["custom_field"] = t.CustomField
		}
		if t.ReferenceID != "" {
			info["paypal_reference_id"], info["paypal_reference_id_type"] = t.ReferenceID, "TXN"
		}
		details = append(details, map[string]any{"transaction_info": info})
	}
	writeJSON(w, 200, map[string]any{
		"transaction_details": details, "account_number": "PAYSPLITFAKE1", "start_date": ppTime(start), "end_date": ppTime(end),
		"last_refreshed_datetime": ppTime(time.Now()), "page": page, "total_items": len(matched),
		"total_pages": (len(matched) + size - 1) / size,
		"links":       []map[string]string{{"href": p.APIBase + r.URL.RequestURI(), "rel": "self", "method": "GET"}},
	})
}

// payPalError is PayPal's error body for a status FailPayout injects.
func payPalError(status int) map[string]any {
	name, message := strings.ToUpper(strings.ReplaceAll(http.StatusText(status), " ", "_")), "injected failure"
	switch status {
	case http.StatusTooManyRequests:
		name, message = "RATE_LIMIT_REACHED", "Too many requests. Blocked due to rate limiting."
	case http.StatusInternalServerError:
		name, message = "INTERNAL_SERVER_ERROR", "An internal server error has occurred."
	case http.StatusServiceUnavailable:
		name, message = "SERVICE_UNAVAILABLE", "Service Unavailable."
	}
	return map[string]any{"name": name, "message": message, "debug_id": fmt.Sprintf("fail%d", status)}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// payPalNoDecimals are the currencies PayPal takes only in whole units.
var payPalNoDecimals = map[string]bool{"HUF": true, "JPY": true, "TWD": true}

// payoutFieldTooLong names the first field of a one-item payout request longer than PayPal's
// Payouts API takes (its maxLength), with that limit and the value; "" when all fit.
func payoutFieldTooLong(senderBatchID, senderItemID, receiver string) (field string, limit int, value string) {
	for _, f := range []struct {
		name, value string
		limit       int
	}{
		{"sender_batch_header.sender_batch_id", senderBatchID, 256},
		{"items[0].sender_item_id", senderItemID, 63},
		{"items[0].receiver", receiver, 127},
	} {
		if len(f.value) > f.limit {
			return f.name, f.limit, f.value
		}
	}
	return "", 0, ""
}
