package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"paysplit/internal/paypalhook"
)

// PayPal's share of the day: captures and refunds as PayPal's webhooks carry them (paypalevent),
// signed by the in-process PayPal fake, whose certificate the api verifies them with and through
// which the worker pays payouts.
const (
	providerStripe = "stripe"
	providerPayPal = "paypal"
)

// paypalSigner signs a body with PayPal's transmission headers (testenv.PayPal).
type paypalSigner interface {
	Sign(body []byte) http.Header
}

// paypalProxy is an HTTP CONNECT proxy that tunnels connections for PayPal's host names to the
// PayPal fake and refuses every other host. The api runs with HTTPS_PROXY pointing at it, so
// verifying a webhook offline, its default, fetches the signing certificate from the
// Paypal-Cert-Url (a sandbox certificate host, as the verifier insists: PAYPAL_API_BASE is the
// fake, which makes the api's PayPal environment the sandbox) without DNS for PayPal's names.
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
	if r.Method != http.MethodConnect || err != nil || port != "443" || !paypalhook.Sandbox.HostAllowed(host) {
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
