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
	// Search, when set, asks Stripe's Search API for the client's own charges instead of
	// listing the account's (Shared is then unused): see Searches.
	Search *Searches
}

// Shared is the account's charge listings, shared by the Sources of every client. A listing
// keeps each client's sums per currency and capture day, not the charges: a year of the
// platform's charges is millions, several hundred MB a listing.
type Shared struct{ l kpi.Listings[*sums] }

// NewShared keeps up to maxListings listings for ttl each (zero: only concurrent calls share
// one), listing under limit.
func NewShared(ttl time.Duration, maxListings int, limit kpi.Limiter) *Shared {
	return &Shared{l: kpi.Listings[*sums]{Cache: &kpi.Cache[*sums]{TTL: ttl, Max: maxListings}, Limit: limit}}
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

// charge is what RevenueDays reads of a listed charge.
type charge struct {
	id                             string
	created                        int64
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
	key, gte, lt := listing(from, to)
	var byDay map[time.Time]kpi.Revenue
	if s.Search != nil {
		var err error
		if byDay, err = s.searchDays(ctx, clientID, cur, from, to, gte, lt); err != nil {
			return nil, err
		}
	} else if s.Shared != nil {
		all, err := s.Shared.l.Get(ctx, key, func(ctx context.Context) (*sums, error) {
			all := &sums{from: from, to: to, of: map[sumKey]*clientSums{}}
			return all, s.list(ctx, gte, lt, all.add)
		})
		if err != nil {
			return nil, err
		}
		mine := all.of[sumKey{client: clientID, currency: cur}]
		if mine != nil && mine.err != nil {
			return nil, mine.err
		}
		byDay = map[time.Time]kpi.Revenue{}
		if mine != nil {
			for d, r := range mine.days {
				byDay[d] = kpi.Revenue{Gross: r.gross, Refunds: r.refunds}
			}
		}
	} else {
		var err error
		if byDay, err = s.clientDays(ctx, clientID, cur, from, to, gte, lt); err != nil {
			return nil, err
		}
	}
	return kpi.RevenueDaysOf(from, to, cur, byDay), nil
}

// listing is the range of charges listed for the days from to to (Unix seconds, created from gte
// to before lt), and its key among the shared listings; the key implies from and to.
func listing(from, to time.Time) (key string, gte, lt int64) {
	gte, lt = from.AddDate(0, 0, -captureDays).Unix(), to.AddDate(0, 0, 1).Unix()
	return fmt.Sprintf("%d..%d", gte, lt), gte, lt
}

// clientDays sums the client's charges of one listing of its own, as before listings were
// shared: the reference the shared sums and the searches are held to.
func (s Source) clientDays(ctx context.Context, clientID string, cur money.Currency, from, to time.Time, gte, lt int64) (map[time.Time]kpi.Revenue, error) {
	return daysOf(clientID, cur, from, to, func(each func(charge)) error { return s.list(ctx, gte, lt, each) })
}

// daysOf sums the client's captured charges in cur that charges passes to each, per capture day
// from from to to; the first charge whose amount does not convert is the answer, as an error.
func daysOf(clientID string, cur money.Currency, from, to time.Time, charges func(each func(charge)) error) (map[time.Time]kpi.Revenue, error) {
	byDay := map[time.Time]kpi.Revenue{}
	var convErr error
	err := charges(func(c charge) {
		if convErr != nil || !counts(c, clientID, cur) {
			return
		}
		day := kpi.DayOf(c.capturedAt)
		if day.Before(from) || day.After(to) {
			return // made before the range and captured before it too, or captured after it
		}
		gross, refunded, err := c.revenue()
		if err != nil {
			convErr = err
			return
		}
		r := byDay[day]
		r.Gross += gross
		r.Refunds += refunded
		byDay[day] = r
	})
	if convErr != nil {
		return nil, convErr
	}
	if err != nil {
		return nil, err
	}
	return byDay, nil
}

// revenue is what the charge adds to its capture day, in ISO minor units of its currency.
func (c charge) revenue() (gross, refunded int64, err error) {
	captured := c.amountCaptured
	if captured == 0 {
		captured = c.amount // API versions before amount_captured existed
	}
	// Stripe counts a few currencies in another unit than ISO, which revenue is kept in.
	if gross, err = money.FromStripe(captured, c.currency); err != nil {
		return 0, 0, fmt.Errorf("charge %s: %w", c.id, err)
	}
	if refunded, err = money.FromStripe(min(c.refund, captured), c.currency); err != nil {
		return 0, 0, fmt.Errorf("charge %s: %w", c.id, err)
	}
	return gross, refunded, nil
}

// sums is a shared listing: every client's revenue per currency and capture day from from to to,
// the range a listing's key (created from gte to before lt) is asked for. Its size is clients x
// currencies x days, whatever the number of charges.
type sums struct {
	from, to time.Time
	of       map[sumKey]*clientSums
}

type sumKey struct {
	client   string
	currency money.Currency
}

type clientSums struct {
	days map[time.Time]daySum
	// err is the first charge, in listing order, whose amount did not convert: the client's own
	// listing stopped there with that error, so its answer is that error too.
	err error
}

type daySum struct{ gross, refunds int64 }

// add folds a listed charge into the sums of each client it counts for (counts): the one on its
// metadata and the one on its PaymentIntent, when they differ.
func (s *sums) add(c charge) {
	if !c.succeededCaptured {
		return
	}
	day := kpi.DayOf(c.capturedAt)
	if day.Before(s.from) || day.After(s.to) {
		return
	}
	clients := []string{c.chargeClient}
	if c.intentClient != c.chargeClient {
		clients = append(clients, c.intentClient)
	}
	var gross, refunded int64
	var err error
	converted := false
	for _, client := range clients {
		k := sumKey{client: client, currency: c.currency}
		cs := s.of[k]
		if cs == nil {
			cs = &clientSums{days: map[time.Time]daySum{}}
			s.of[k] = cs
		}
		if cs.err != nil {
			continue // the client's own listing stopped at that charge
		}
		if !converted {
			gross, refunded, err = c.revenue()
			converted = true
		}
		if err != nil {
			cs.err, cs.days = err, nil
			continue
		}
		d := cs.days[day]
		d.gross += gross
		d.refunds += refunded
		cs.days[day] = d
	}
}

// list calls each with every charge of the account made from gte to before lt (Unix seconds),
// of all clients, in Stripe's order.
func (s Source) list(ctx context.Context, gte, lt int64, each func(charge)) error {
	params := &stripe.ChargeListParams{
		ListParams:   stripe.ListParams{Context: ctx, Limit: stripe.Int64(pageSize)},
		CreatedRange: &stripe.RangeQueryParams{GreaterThanOrEqual: gte, LesserThan: lt},
	}
	// The client is named on the PaymentIntent; Stripe does not copy its metadata to the charge.
	params.AddExpand("data.payment_intent")
	params.AddExpand("data.balance_transaction")
	it := s.API.Charges.List(params)
	for it.Next() {
		each(chargeOf(it.Charge(), it.Charge().PaymentIntent))
	}
	if err := it.Err(); err != nil {
		return classify("list charges", err)
	}
	return nil
}

// chargeOf is what RevenueDays reads of c, whose PaymentIntent is pi (nil: none, or not read).
func chargeOf(c *stripe.Charge, pi *stripe.PaymentIntent) charge {
	ch := charge{
		id:                c.ID,
		created:           c.Created,
		succeededCaptured: c.Status == stripe.ChargeStatusSucceeded && c.Captured,
		currency:          money.Currency(c.Currency),
		chargeClient:      c.Metadata["client_id"],
		capturedAt:        capturedAt(c),
		amount:            c.Amount,
		amountCaptured:    c.AmountCaptured,
		refund:            c.AmountRefunded,
	}
	if pi != nil {
		ch.intentClient = pi.Metadata["client_id"]
	}
	return ch
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
func classify(op string, err error) error {
	var se *stripe.Error
	if errors.As(err, &se) {
		msg := fmt.Errorf("stripe: %s: %d %s", op, se.HTTPStatusCode, se.Msg)
		if se.HTTPStatusCode >= 400 && se.HTTPStatusCode < 500 && se.HTTPStatusCode != http.StatusTooManyRequests {
			return kpi.Permanent(msg)
		}
		return msg
	}
	return fmt.Errorf("stripe: %s: %w", op, err)
}
