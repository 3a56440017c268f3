// Package paypalkpi reads a client's revenue for days older than the hot window from PayPal's
// Transaction Search API (GET /v1/reporting/transactions) with the plutov/paypal client: every
// payment the platform's PayPal account received for the client (its custom_id, reported as
// transaction_info.custom_field, is URL-encoded and carries client_id), by UTC day of the
// payment, and the merchant refunds of those payments.
package paypalkpi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/plutov/paypal/v4"

	"paysplit/internal/kpi"
	"paysplit/internal/money"
	"paysplit/internal/paypalsearch"
)

// Source is the platform's PayPal account. The REST app needs the Transaction Search permission.
type Source struct {
	Client *paypal.Client
	// Now bounds the search; nil means time.Now.
	Now func() time.Time
	// Shared, when set, searches the account once for every client asking for the same days in
	// the same currency (see kpi.Listings); nil searches for each call.
	Shared *Shared
}

// Shared is the account's transaction searches, shared by the Sources of every client.
type Shared struct {
	l kpi.Listings[[]paypal.SearchTransactionInfo]
}

// NewShared keeps up to maxListings searches for ttl each (zero: only concurrent calls share
// one), searching under limit.
func NewShared(ttl time.Duration, maxListings int, limit kpi.Limiter) *Shared {
	return &Shared{l: kpi.Listings[[]paypal.SearchTransactionInfo]{
		Cache: &kpi.Cache[[]paypal.SearchTransactionInfo]{TTL: ttl, Max: maxListings}, Limit: limit,
	}}
}

// Name is the source's name in API answers.
func (Source) Name() string { return kpi.SourcePayPal }

const (
	// refundHorizon is how long after a payment PayPal lets the merchant refund it: refunds are
	// searched that far past the range, as they count on the payment's day.
	refundHorizon = 180 * 24 * time.Hour
	// eventRefund is the T-code of a refund the merchant (our plugins, an admin) initiated.
	eventRefund = "T1107"
)

// payment is one of the client's payments in the range, in minor units.
type payment struct {
	day      time.Time
	amount   int64
	refunded int64
}

// refund is a refund transaction, pointing at the payment it refunds.
type refund struct {
	payment string
	info    paypal.SearchTransactionInfo
}

// RevenueDays sums the client's received payments in cur per UTC day of the payment, from from to
// to (inclusive), and their refunds on the payment's day, as our own KPIs and the Stripe source
// count them; so refunds are searched up to now (at most 180 days past the range). Days without
// payments are zeros. Commission is nil: PayPal knows the payments, not how we split them.
func (s Source) RevenueDays(ctx context.Context, clientID string, cur money.Currency, from, to time.Time) ([]kpi.RevenueDay, error) {
	from, to = kpi.DayOf(from), kpi.DayOf(to)
	paidBefore := to.AddDate(0, 0, 1)
	var listed []paypal.SearchTransactionInfo
	var err error
	if s.Shared != nil {
		key := string(cur) + "/" + from.Format(time.DateOnly) + ".." + to.Format(time.DateOnly)
		listed, err = s.Shared.l.Get(ctx, key, func(ctx context.Context) ([]paypal.SearchTransactionInfo, error) {
			return s.list(ctx, cur, from, paidBefore)
		})
	} else {
		listed, err = s.list(ctx, cur, from, paidBefore)
	}
	if err != nil {
		return nil, err
	}
	payments := map[string]*payment{}
	var refunds []refund
	for _, t := range listed {
		switch {
		case paypalsearch.IsPayment(t):
			at := time.Time(t.TransactionInitiationDate)
			if at.Before(from) || !at.Before(paidBefore) || paypalsearch.ClientOf(t.CustomField) != clientID {
				continue
			}
			v, err := amount(t, cur)
			if err != nil {
				return nil, err
			}
			payments[t.TransactionID] = &payment{day: kpi.DayOf(at), amount: v}
		case t.TransactionEventCode == eventRefund && t.TransactionStatus == "S":
			// Which client it is for shows once its payment is found (maybe later in the list).
			refunds = append(refunds, refund{payment: t.PayPalReferenceID, info: t})
		}
	}
	byDay := map[time.Time]kpi.Revenue{}
	for _, p := range payments {
		r := byDay[p.day]
		r.Gross += p.amount
		byDay[p.day] = r
	}
	for _, rf := range refunds {
		p := payments[rf.payment]
		if p == nil {
			continue // another client's payment, or one outside the range
		}
		v, err := amount(rf.info, cur)
		if err != nil {
			return nil, err
		}
		// Refunds are listed as negative amounts; never count more than the payment.
		add := min(max(-v, 0), p.amount-p.refunded)
		p.refunded += add
		r := byDay[p.day]
		r.Refunds += add
		byDay[p.day] = r
	}
	var out []kpi.RevenueDay
	for _, d := range kpi.Days(from, to) {
		r := byDay[d]
		r.Currency = cur
		out = append(out, kpi.RevenueDay{Day: d, Revenue: r})
	}
	return out, nil
}

// list is the account's payments and merchant refunds in cur of every client, searched from
// from up to now (at most refundHorizon past paidBefore), each transaction once.
func (s Source) list(ctx context.Context, cur money.Currency, from, paidBefore time.Time) ([]paypal.SearchTransactionInfo, error) {
	end := paidBefore.Add(refundHorizon)
	if now := s.now().UTC().Truncate(time.Second); now.Before(end) {
		end = now
	}
	var out []paypal.SearchTransactionInfo
	seen := map[string]bool{}
	collect := func(t paypal.SearchTransactionInfo) error {
		// Windows meet at their edges and PayPal's end_date is inclusive: a transaction on the
		// edge is listed twice.
		key := t.TransactionID + "/" + t.TransactionEventCode
		if seen[key] || !strings.EqualFold(t.TransactionAmount.Currency, cur.Upper()) {
			return nil
		}
		seen[key] = true
		if paypalsearch.IsPayment(t) || (t.TransactionEventCode == eventRefund && t.TransactionStatus == "S") {
			out = append(out, t)
		}
		return nil
	}
	for start := from; start.Before(end); start = start.Add(paypalsearch.MaxSpan) {
		stop := start.Add(paypalsearch.MaxSpan)
		if stop.After(end) {
			stop = end
		}
		if err := paypalsearch.Each(ctx, s.Client, cur, start, stop, collect); err != nil {
			return nil, classify(err)
		}
	}
	return out, nil
}

func (s Source) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// amount is the transaction's amount in minor units of cur (collect skips other currencies).
func amount(t paypal.SearchTransactionInfo, cur money.Currency) (int64, error) {
	v, err := money.ParseAmount(t.TransactionAmount.Value, cur)
	if err != nil {
		return 0, kpi.Permanent(fmt.Errorf("paypal: transaction %s: %w", t.TransactionID, err))
	}
	return v, nil
}

// classify marks PayPal's refusals (bad credentials, Transaction Search not enabled for the app,
// a malformed search) as permanent; rate limits, server errors and network errors stay
// retryable. The message carries PayPal's error name and debug ID, never the credentials.
func classify(err error) error {
	var pe *paypal.ErrorResponse
	if !errors.As(err, &pe) || pe.Response == nil {
		return err
	}
	code := pe.Response.StatusCode
	msg := fmt.Errorf("%w (%s, debug_id %s)", err, pe.Name, pe.DebugID)
	if code >= 400 && code < 500 && code != http.StatusTooManyRequests {
		return kpi.Permanent(msg)
	}
	return msg
}
