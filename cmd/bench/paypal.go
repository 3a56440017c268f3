package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"paysplit/internal/money"
	"paysplit/internal/paypalhook"
)

// PayPal's share of the day: captures and refunds as PayPal's webhooks carry them
// (PAYMENT.CAPTURE.COMPLETED with the order in custom_id, PAYMENT.CAPTURE.REFUNDED pointing at its
// capture), signed by the in-process PayPal fake that the api asks to verify them and the worker
// pays payouts through.
const (
	providerStripe = "stripe"
	providerPayPal = "paypal"
)

// paypalSigner signs a body with PayPal's transmission headers (testenv.PayPal).
type paypalSigner interface {
	Sign(body []byte) http.Header
}

// paypalAmount is PayPal's amount object: the currency code and a decimal string in the
// currency's own exponent ("110.00", "1200" for JPY).
func paypalAmount(amount int64, currency string) map[string]string {
	value, err := money.Decimal(amount, money.Currency(currency))
	if err != nil {
		panic(fmt.Sprintf("bench: %d %s: %v", amount, currency, err)) // the day only draws known currencies
	}
	return map[string]string{"currency_code": strings.ToUpper(currency), "value": value}
}

func paypalEvent(id, typ string, at time.Time, resource map[string]any) []byte {
	b, err := json.Marshal(map[string]any{"id": id, "event_version": "1.0", "create_time": at.UTC().Format(time.RFC3339),
		"resource_type": "capture", "event_type": typ, "summary": typ, "resource": resource})
	if err != nil {
		panic(err) // maps of strings always encode
	}
	return b
}

// paypalCapture is a completed capture carrying the order metadata in custom_id, URL-encoded, as
// the store plugins put it.
func paypalCapture(eventID, captureID, currency string, gross int64, md map[string]string, at time.Time) []byte {
	custom := url.Values{}
	for k, v := range md {
		custom.Set(k, v)
	}
	return paypalEvent(eventID, "PAYMENT.CAPTURE.COMPLETED", at, map[string]any{
		"id": captureID, "status": "COMPLETED", "amount": paypalAmount(gross, currency), "custom_id": custom.Encode(),
		"final_capture": true, "payee": map[string]string{"email_address": "merchant@example.com"},
	})
}

// paypalRefund refunds amount of a capture; the day sends one refund per payment, so it is also
// the capture's total refunded.
func paypalRefund(eventID, refundID, captureID, currency string, amount int64, at time.Time) []byte {
	return paypalEvent(eventID, "PAYMENT.CAPTURE.REFUNDED", at, map[string]any{
		"id": refundID, "status": "COMPLETED", "amount": paypalAmount(amount, currency),
		"seller_payable_breakdown": map[string]any{"total_refunded_amount": paypalAmount(amount, currency)},
		"links":                    []map[string]string{{"rel": "up", "href": "https://api.paypal.com/v2/payments/captures/" + captureID, "method": "GET"}},
	})
}

// paypalProxy is an HTTP CONNECT proxy that tunnels connections for PayPal's host names to the
// PayPal fake and refuses every other host. The api runs with HTTPS_PROXY pointing at it, so
// verifying a webhook offline, its default, fetches the signing certificate from the
// Paypal-Cert-Url (a PayPal host, as the verifier insists) without DNS for PayPal's names.
// Go clients never proxy loopback addresses, so nothing else the programs call goes through it.
type paypalProxy struct {
	srv    *http.Server
	ln     net.Listener
	target string
}

func startPayPalProxy(target string) (*paypalProxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("paypal proxy: %w", err)
	}
	p := &paypalProxy{ln: ln, target: target}
	p.srv = &http.Server{Handler: http.HandlerFunc(p.serve), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = p.srv.Serve(ln) }()
	return p, nil
}

// URL is what HTTPS_PROXY is set to.
func (p *paypalProxy) URL() string { return "http://" + p.ln.Addr().String() }

func (p *paypalProxy) Close() { _ = p.srv.Close() }

func (p *paypalProxy) serve(w http.ResponseWriter, r *http.Request) {
	host, port, err := net.SplitHostPort(r.Host)
	if r.Method != http.MethodConnect || err != nil || port != "443" || !paypalhook.CertHostAllowed("https://"+host+"/") {
		http.Error(w, "this proxy only tunnels to PayPal's hosts", http.StatusForbidden)
		return
	}
	upstream, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		upstream.Close()
		http.Error(w, "no hijacking", http.StatusInternalServerError)
		return
	}
	conn, buf, err := hj.Hijack()
	if err != nil {
		upstream.Close()
		return
	}
	if _, err := conn.Write([]byte("HTTP/1.1 200 Connection established\r\n\r\n")); err != nil {
		conn.Close()
		upstream.Close()
		return
	}
	go func() {
		defer upstream.Close()
		_, _ = io.Copy(upstream, buf) // what the client sent after CONNECT, then the rest
	}()
	go func() {
		defer conn.Close()
		_, _ = io.Copy(conn, upstream)
	}()
}
