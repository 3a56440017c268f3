package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"
)

// Payees per client: a marketplace client has several vendors and a couple of affiliates.
const (
	vendorsPerClient    = 3
	affiliatesPerClient = 2
)

// benchClient is one seeded client: its currency, payees and split rule.
type benchClient struct {
	ID         string
	Currency   string
	Vendors    []string
	Affiliates []string
	Rule       benchRule
}

// benchRule is a client's split rule as the bench sets it (no minimum or maximum fee).
type benchRule struct {
	PlatformBps, AffiliateBps int64
	OnTax, OnShipping         bool
}

// body is the rule as the admin API takes it.
func (r benchRule) body() map[string]any {
	return map[string]any{"platform_bps": r.PlatformBps, "affiliate_bps": r.AffiliateBps,
		"commission_on_tax": r.OnTax, "commission_on_shipping": r.OnShipping}
}

// shares is what the rule gives the platform, the vendor and the affiliate (when the order has
// one) of a payment, worked out here from the README's rules rather than by the split code the
// bench checks: commission on the subtotal less discounts (plus tax or shipping when the rule
// says so), each share rounded down, the platform's never more than what the affiliate leaves of
// the base, the vendor the rest of the gross.
func (r benchRule) shares(gross, subtotal, tax, shipping, discount int64, affiliate bool) (platform, vendor, aff int64) {
	base := subtotal - discount
	if r.OnTax {
		base += tax
	}
	if r.OnShipping {
		base += shipping
	}
	if affiliate {
		aff = base * r.AffiliateBps / 10000
	}
	platform = min(base*r.PlatformBps/10000, base-aff)
	return platform, gross - platform - aff, aff
}

// planClients draws the clients of a run: mostly USD, some EUR, a few JPY shops, each with its
// own rule (commission 5-15 %, affiliate 2-8 %, some taking commission on tax or shipping).
func planClients(rng *rand.Rand, n int, run string) []benchClient {
	out := make([]benchClient, n)
	for i := range out {
		id := fmt.Sprintf("b%s-c%02d", run, i+1)
		c := benchClient{ID: id, Currency: pick(rng, []string{"usd", "usd", "usd", "usd", "usd", "usd", "eur", "eur", "eur", "jpy"})}
		for v := range vendorsPerClient {
			c.Vendors = append(c.Vendors, fmt.Sprintf("%s-vendor-%d", id, v+1))
		}
		for a := range affiliatesPerClient {
			c.Affiliates = append(c.Affiliates, fmt.Sprintf("%s-aff-%d", id, a+1))
		}
		c.Rule = benchRule{
			PlatformBps: 500 + 100*rng.Int64N(11), AffiliateBps: 200 + 100*rng.Int64N(7),
			OnTax: rng.IntN(4) == 0, OnShipping: rng.IntN(4) == 0,
		}
		out[i] = c
	}
	return out
}

func pick[T any](rng *rand.Rand, from []T) T { return from[rng.IntN(len(from))] }

// admin calls the admin API.
type admin struct {
	base, key string
	http      *http.Client
}

// seed creates the clients, their payees (connected accounts stripe-mock accepts, and a PayPal
// receiver for the PayPal payments) and rules.
func (a admin) seed(ctx context.Context, clients []benchClient) error {
	for _, c := range clients {
		if err := a.call(ctx, http.MethodPut, "/api/v1/admin/clients/"+c.ID, map[string]any{"name": "Bench " + c.ID, "default_currency": c.Currency}); err != nil {
			return err
		}
		payees := map[string]string{}
		for _, v := range c.Vendors {
			payees[v] = "vendor"
		}
		for _, f := range c.Affiliates {
			payees[f] = "affiliate"
		}
		for id, kind := range payees {
			body := map[string]any{"client_id": c.ID, "kind": kind, "stripe_account": "acct_" + alnum(id),
				"paypal_receiver": alnum(id) + "@payees.example.com"}
			if err := a.call(ctx, http.MethodPut, "/api/v1/admin/payees/"+id, body); err != nil {
				return err
			}
		}
		if err := a.call(ctx, http.MethodPost, "/api/v1/admin/clients/"+c.ID+"/split-rules", c.Rule.body()); err != nil {
			return err
		}
	}
	return nil
}

// call sends one admin request, waiting out 429s as the API asks.
func (a admin) call(ctx context.Context, method, path string, body any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, method, a.base+path, bytes.NewReader(b))
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+a.key)
		req.Header.Set("Content-Type", "application/json")
		res, err := a.http.Do(req)
		if err != nil {
			return fmt.Errorf("%s %s: %w", method, path, err)
		}
		msg, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
		_ = res.Body.Close()
		switch {
		case res.StatusCode < 300:
			return nil
		case res.StatusCode == http.StatusTooManyRequests && attempt < 30:
			wait, _ := strconv.Atoi(res.Header.Get("Retry-After"))
			select {
			case <-time.After(time.Duration(max(wait, 1)) * time.Second):
			case <-ctx.Done():
				return ctx.Err()
			}
		default:
			return fmt.Errorf("%s %s: %s: %s", method, path, res.Status, bytes.TrimSpace(msg))
		}
	}
}

func alnum(s string) string {
	out := make([]byte, 0, len(s))
	for i := range len(s) {
		if c := s[i]; c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
			out = append(out, c)
		}
	}
	return string(out)
}
