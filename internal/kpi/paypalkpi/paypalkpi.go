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

// Shared is the account's transaction searches, shared by the Sources of every client. A search
// keeps each client's sums per day, not the transactions: a year of the platform's payments and
// their refunds is millions.
type Shared struct {
	l kpi.Listings[map[string]*clientSums]
}

// NewShared keeps up to maxListings searches for ttl each (zero: only concurrent calls share
// one), searching under limit.
func NewShared(ttl time.Duration, maxListings int, limit kpi.Limiter) *Shared {
	return &Shared{l: kpi.Listings[map[string]*clientSums]{
		Cache: &kpi.Cache[map[string]*clientSums]{TTL: ttl, Max: maxListings}, Limit: limit,
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
	byDay := map[time.Time]kpi.Revenue{}
	if s.Shared != nil {
		// The key implies the range the sums are folded for.
		key := string(cur) + "/" + from.Format(time.DateOnly) + ".." + to.Format(time.DateOnly)
		all, err := s.Shared.l.Get(ctx, key, func(ctx context.Context) (map[string]*clientSums, error) {
			f := folder{cur: cur, from: from, paidBefore: paidBefore, byID: map[string][]*clientPayment{}, errs: map[string]error{}}
			if err := s.list(ctx, cur, from, paidBefore, f.add); err != nil {
				return nil, err
			}
			return f.sums(), nil
		})
		if err != nil {
			return nil, err
		}
		if mine := all[clientID]; mine != nil {
			if mine.err != nil {
				return nil, mine.err
			}
			for d, r := range mine.days {
				byDay[d] = kpi.Revenue{Gross: r.gross, Refunds: r.refunds}
			}
		}
	} else {
		var err error
		if byDay, err = s.clientDays(ctx, clientID, cur, from, paidBefore); err != nil {
			return nil, err
		}
	}
	return kpi.RevenueDaysOf(from, to, cur, byDay), nil
}

// clientDays sums the client's payments and refunds of a search of its own, as before searches
// were shared: the reference the shared sums are held to.
func (s Source) clientDays(ctx context.Context, clientID string, cur money.Currency, from, paidBefore time.Time) (map[time.Time]kpi.Revenue, error) {
	payments := map[string]*payment{}
	var refunds []refund
	err := s.list(ctx, cur, from, paidBefore, func(t paypal.SearchTransactionInfo) error {
		if paypalsearch.IsPayment(t) {
			at := time.Time(t.TransactionInitiationDate)
			if at.Before(from) || !at.Before(paidBefore) || paypalsearch.ClientOf(t.CustomField) != clientID {
				return nil
			}
			v, err := amount(t, cur)
			if err != nil {
				return err
			}
			payments[t.TransactionID] = &payment{day: kpi.DayOf(at), amount: v}
			return nil
		}
		// Which client it is for shows once its payment is found (maybe on a later page).
		refunds = append(refunds, refund{payment: t.PayPalReferenceID, info: t})
		return nil
	})
	if err != nil {
		return nil, err
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
	return byDay, nil
}

// clientSums is what a shared search keeps of a client: its sums per day of payment, or the
// error its own search would have answered.
type clientSums struct {
	days map[time.Time]daySum
	err  error
}

type daySum struct{ gross, refunds int64 }

// clientPayment is a client's payment in the range, while a shared search is folded.
type clientPayment struct {
	client string
	payment
}

// refundAmount is a listed refund while a shared search is folded: its amount, or the error
// reading it gave.
type refundAmount struct {
	payment string
	v       int64
	err     error
}

// folder folds a search of every client's transactions into each client's sums, as clientDays
// would for each: a client's first payment in the range whose amount does not parse, in search
// order, is its error; else the first refund of one of its payments that does not; payments
// listed twice under one ID count once, the later. It holds the range's payments (not whole
// transactions) while searching; the sums it leaves are clients x days.
type folder struct {
	cur              money.Currency
	from, paidBefore time.Time
	byID             map[string][]*clientPayment
	refunds          []refundAmount
	errs             map[string]error
}

func (f *folder) add(t paypal.SearchTransactionInfo) error {
	if !paypalsearch.IsPayment(t) {
		v, err := amount(t, f.cur)
		f.refunds = append(f.refunds, refundAmount{payment: t.PayPalReferenceID, v: v, err: err})
		return nil
	}
	at := time.Time(t.TransactionInitiationDate)
	client := paypalsearch.ClientOf(t.CustomField)
	if at.Before(f.from) || !at.Before(f.paidBefore) || f.errs[client] != nil {
		return nil
	}
	v, err := amount(t, f.cur)
	if err != nil {
		f.errs[client] = err
		return nil
	}
	ps := f.byID[t.TransactionID]
	for _, p := range ps {
		if p.client == client {
			p.payment = payment{day: kpi.DayOf(at), amount: v}
			return nil
		}
	}
	f.byID[t.TransactionID] = append(ps, &clientPayment{client: client, payment: payment{day: kpi.DayOf(at), amount: v}})
	return nil
}

// sums applies the refunds in search order and leaves each client's sums per day.
func (f *folder) sums() map[string]*clientSums {
	for _, rf := range f.refunds {
		for _, p := range f.byID[rf.payment] {
			if f.errs[p.client] != nil {
				continue
			}
			if rf.err != nil {
				f.errs[p.client] = rf.err
				continue
			}
			// Refunds are listed as negative amounts; never count more than the payment.
			p.refunded += min(max(-rf.v, 0), p.amount-p.refunded)
		}
	}
	out := map[string]*clientSums{}
	for client, err := range f.errs {
		out[client] = &clientSums{err: err}
	}
	for _, ps := range f.byID {
		for _, p := range ps {
			if f.errs[p.client] != nil {
				continue
			}
			cs := out[p.client]
			if cs == nil {
				cs = &clientSums{days: map[time.Time]daySum{}}
				out[p.client] = cs
			}
			d := cs.days[p.day]
			d.gross += p.amount
			d.refunds += p.refunded
			cs.days[p.day] = d
		}
	}
	return out
}

// list calls each with the account's payments and merchant refunds in cur of every client, in
// search order, searched from from up to now (at most refundHorizon past paidBefore), each
// transaction once; an error from each ends the search with it.
func (s Source) list(ctx context.Context, cur money.Currency, from, paidBefore time.Time, each func(paypal.SearchTransactionInfo) error) error {
	end := paidBefore.Add(refundHorizon)
	if now := s.now().UTC().Truncate(time.Second); now.Before(end) {
		end = now
	}
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
			return each(t)
		}
		return nil
	}
	for start := from; start.Before(end); start = start.Add(paypalsearch.MaxSpan) {
		stop := start.Add(paypalsearch.MaxSpan)
		if stop.After(end) {
			stop = end
		}
		if err := paypalsearch.Each(ctx, s.Client, cur, start, stop, collect); err != nil {
			return classify(err)
		}
	}
	return nil
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
