// Package stripekpi reads a client's revenue for days older than the hot window from Stripe's
// charges list with the stripe-go client: every charge the platform account captured for the
// client (its PaymentIntent carries metadata client_id), by UTC day of the charge's capture.
package stripekpi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/stripe/stripe-go/v76"
	stripeclient "github.com/stripe/stripe-go/v76/client"

	"paysplit/internal/kpi"
	"paysplit/internal/money"
)

// Source is the platform's Stripe account.
type Source struct {
	API *stripeclient.API
	// Shared, when set, lists the account's charges once for every client asking for the same
	// days (see kpi.Listings); nil lists them for each call.
	Shared *Shared
}

// Shared is the account's charge listings, shared by the Sources of every client.
type Shared struct{ l kpi.Listings[[]charge] }

// NewShared keeps up to maxListings listings for ttl each (zero: only concurrent calls share
// one), listing under limit.
func NewShared(ttl time.Duration, maxListings int, limit kpi.Limiter) *Shared {
	return &Shared{l: kpi.Listings[[]charge]{Cache: &kpi.Cache[[]charge]{TTL: ttl, Max: maxListings}, Limit: limit}}
}

// Name is the source's name in API answers.
func (Source) Name() string { return kpi.SourceStripe }

// pageSize is Stripe's maximum; the iterator follows has_more with starting_after.
const pageSize = 100

// captureDays is how long before its capture a charge may have been made: Stripe lets an online
// card payment be captured up to 7 days after it was authorized (a storefront that captures when
// the order ships). Our payments count on the day of the capture (its balance transaction's, as
// here: a bank debit's is its submission, activities.stripeCapturedAt), so charges are listed
// from that far before the range and counted by their capture.
const captureDays = 7

// charge is what RevenueDays reads of a listed charge: a listing of the whole account is kept
// for every client's Source, so it keeps only that, not the expanded objects.
type charge struct {
	id                             string
	succeededCaptured              bool
	currency                       money.Currency
	chargeClient, intentClient     string
	capturedAt                     time.Time
	amount, amountCaptured, refund int64
}

// RevenueDays sums the client's captured charges in cur per UTC day of their capture, from from
// to to (inclusive); refunds count on that day, as in our own KPIs. The capture's time is that of
// the charge's balance transaction, which Stripe creates when the charge is captured: by the
// charge's own created (its authorization) an order captured days later, when it shipped, was on
// another day here than in Postgres, and counted twice or not at all where a range's days from
// both meet (activities TestCapturedLaterSameDayHotAndCold). Days without charges are zeros.
// Commission is nil: Stripe knows the charges, not how we split them.
func (s Source) RevenueDays(ctx context.Context, clientID string, cur money.Currency, from, to time.Time) ([]kpi.RevenueDay, error) {
	from, to = kpi.DayOf(from), kpi.DayOf(to)
	gte, lt := from.AddDate(0, 0, -captureDays).Unix(), to.AddDate(0, 0, 1).Unix()
	var charges []charge
	var err error
	if s.Shared != nil {
		charges, err = s.Shared.l.Get(ctx, fmt.Sprintf("%d..%d", gte, lt), func(ctx context.Context) ([]charge, error) {
			return s.list(ctx, gte, lt)
		})
	} else {
		charges, err = s.list(ctx, gte, lt)
	}
	if err != nil {
		return nil, err
	}
	byDay := map[time.Time]kpi.Revenue{}
	for _, c := range charges {
		if !counts(c, clientID, cur) {
			continue
		}
		day := kpi.DayOf(c.capturedAt)
		if day.Before(from) || day.After(to) {
			continue // made before the range and captured before it too, or captured after it
		}
		r := byDay[day]
		captured := c.amountCaptured
		if captured == 0 {
			captured = c.amount // API versions before amount_captured existed
		}
		// Stripe counts a few currencies in another unit than ISO, which revenue is kept in.
		gross, err := money.FromStripe(captured, cur)
		if err != nil {
			return nil, fmt.Errorf("charge %s: %w", c.id, err)
		}
		refunded, err := money.FromStripe(min(c.refund, captured), cur)
		if err != nil {
			return nil, fmt.Errorf("charge %s: %w", c.id, err)
		}
		r.Gross += gross
		r.Refunds += refunded
		byDay[day] = r
	}
	var out []kpi.RevenueDay
	for _, d := range kpi.Days(from, to) {
		r := byDay[d]
		r.Currency = cur
		out = append(out, kpi.RevenueDay{Day: d, Revenue: r})
	}
	return out, nil
}

// list is every charge of the account made from gte to before lt (Unix seconds), of all clients.
func (s Source) list(ctx context.Context, gte, lt int64) ([]charge, error) {
	params := &stripe.ChargeListParams{
		ListParams:   stripe.ListParams{Context: ctx, Limit: stripe.Int64(pageSize)},
		CreatedRange: &stripe.RangeQueryParams{GreaterThanOrEqual: gte, LesserThan: lt},
	}
	// The client is named on the PaymentIntent; Stripe does not copy its metadata to the charge.
	params.AddExpand("data.payment_intent")
	params.AddExpand("data.balance_transaction")
	var out []charge
	it := s.API.Charges.List(params)
	for it.Next() {
		c := it.Charge()
		ch := charge{
			id:                c.ID,
			succeededCaptured: c.Status == stripe.ChargeStatusSucceeded && c.Captured,
			currency:          money.Currency(c.Currency),
			chargeClient:      c.Metadata["client_id"],
			capturedAt:        capturedAt(c),
			amount:            c.Amount,
			amountCaptured:    c.AmountCaptured,
			refund:            c.AmountRefunded,
		}
		if c.PaymentIntent != nil {
			ch.intentClient = c.PaymentIntent.Metadata["client_id"]
		}
		out = append(out, ch)
	}
	if err := it.Err(); err != nil {
		return nil, classify(err)
	}
	return out, nil
}

// capturedAt is when the charge was captured: when Stripe created its balance transaction, or the
// charge's own time when the answer has none (captured at once, as most are).
func capturedAt(c *stripe.Charge) time.Time {
	if bt := c.BalanceTransaction; bt != nil && bt.Created > 0 {
		return time.Unix(bt.Created, 0)
	}
	return time.Unix(c.Created, 0)
}

// counts says whether a charge is one of the client's captured sales in cur.
func counts(c charge, clientID string, cur money.Currency) bool {
	if !c.succeededCaptured || c.currency != cur {
		return false
	}
	// The client is on the charge's own metadata or on its PaymentIntent's (our plugins').
	return c.chargeClient == clientID || c.intentClient == clientID
}

// classify marks Stripe's refusals (bad key, missing permission, bad request) as permanent;
// rate limits, server errors and network errors stay retryable.
func classify(err error) error {
	var se *stripe.Error
	if errors.As(err, &se) {
		msg := fmt.Errorf("stripe: list charges: %d %s", se.HTTPStatusCode, se.Msg)
		if se.HTTPStatusCode >= 400 && se.HTTPStatusCode < 500 && se.HTTPStatusCode != http.StatusTooManyRequests {
			return kpi.Permanent(msg)
		}
		return msg
	}
	return fmt.Errorf("stripe: list charges: %w", err)
}
