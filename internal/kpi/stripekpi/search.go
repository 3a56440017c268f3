package stripekpi

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v76"

	"paysplit/internal/kpi"
	"paysplit/internal/money"
)

// Searches asks Stripe's Search API for one client's charges of a range, instead of listing
// every charge the platform account made in it (Shared): a range one client asks for no longer
// pages through all the others' charges, which ate the per-account rate limit payouts and refunds
// need. A client's charges are found two ways, as RevenueDays counts them: by the client on the
// charge's own metadata (GET /v1/charges/search) and by the client on its PaymentIntent's, which
// Stripe does not copy to the charge and which is where our plugins put it
// (GET /v1/payment_intents/search, each with its latest charge, the one a succeeded intent
// succeeded with). Searches run under the listings' Limit; concurrent callers for the same
// client, currency and range share one (the Reader caches the days). Search is not available to
// every account (not to merchants in India) and answers changes after up to about a minute,
// which days older than the hot window do not feel; a deployment without it lists
// (KPI_STRIPE_REVENUE=list in the API).
type Searches struct {
	l kpi.Listings[map[time.Time]kpi.Revenue]
}

// NewSearches runs searches under limit, shared with the listings of the same account.
func NewSearches(limit kpi.Limiter) *Searches {
	return &Searches{l: kpi.Listings[map[time.Time]kpi.Revenue]{Limit: limit}}
}

// intentDays is how long before the charges searched a PaymentIntent naming the client may have
// been created and still be searched: the intent's created is what Search filters on, not its
// charge's. A checkout pays within minutes of the intent; a week covers a bank redirect or a
// payment link paid days later. A charge whose intent was created more than captureDays+intentDays
// (14) days before the charge's capture day, with the client on the intent only, is not counted
// by the search in any range (the listing counted it).
const intentDays = 7

// searchDays sums the client's charges in cur made from gte to before lt as clientDays does, from
// the client's own charges that Stripe's Search finds.
func (s Source) searchDays(ctx context.Context, clientID string, cur money.Currency, from, to time.Time, gte, lt int64) (map[time.Time]kpi.Revenue, error) {
	key := fmt.Sprintf("%s/%s/%d..%d", clientID, cur, gte, lt)
	return s.Search.l.Get(ctx, key, func(ctx context.Context) (map[time.Time]kpi.Revenue, error) {
		found, err := s.search(ctx, clientID, cur, gte, lt)
		if err != nil {
			return nil, err
		}
		return daysOf(clientID, cur, from, to, func(each func(charge)) error {
			for _, c := range found {
				each(c)
			}
			return nil
		})
	})
}

// search returns the client's succeeded charges in cur made from gte to before lt, each once, in
// the order the account's listing gives them (newest first, then by ID), so that an amount that
// does not convert fails the client naming the charge its own listing would have met first.
func (s Source) search(ctx context.Context, clientID string, cur money.Currency, gte, lt int64) ([]charge, error) {
	byID := map[string]charge{}
	keep := func(c charge) {
		// The intents' search reaches further back than the charges' range.
		if c.created >= gte && c.created < lt {
			byID[c.id] = c
		}
	}
	named := fmt.Sprintf("metadata['client_id']:%s AND currency:%s AND status:'succeeded'", quote(clientID), quote(string(cur)))

	cp := &stripe.ChargeSearchParams{SearchParams: stripe.SearchParams{Context: ctx, Limit: stripe.Int64(pageSize),
		Query: fmt.Sprintf("%s AND created>=%d AND created<%d", named, gte, lt)}}
	cp.AddExpand("data.payment_intent")
	cp.AddExpand("data.balance_transaction")
	cit := s.API.Charges.Search(cp)
	for cit.Next() {
		c := cit.Charge()
		keep(chargeOf(c, c.PaymentIntent))
	}
	if err := cit.Err(); err != nil {
		return nil, classify("search charges", err)
	}

	pp := &stripe.PaymentIntentSearchParams{SearchParams: stripe.SearchParams{Context: ctx, Limit: stripe.Int64(pageSize),
		Query: fmt.Sprintf("%s AND created>=%d AND created<%d", named, gte-intentDays*24*60*60, lt)}}
	pp.AddExpand("data.latest_charge")
	pp.AddExpand("data.latest_charge.balance_transaction")
	pit := s.API.PaymentIntents.Search(pp)
	for pit.Next() {
		pi := pit.PaymentIntent()
		if pi.LatestCharge == nil || pi.LatestCharge.Created == 0 { // expanded: a succeeded intent has one
			continue
		}
		c := chargeOf(pi.LatestCharge, pi)
		// Counted by a rule of the charge's own, not of the range asked: the search reaches
		// intents made up to captureDays+intentDays before the range's first day, so an intent
		// made earlier before its charge's capture day was found in a longer range and not in a
		// shorter one, and the day's figure (cached by day) depended on the range that asked.
		if pi.Created < kpi.DayOf(c.capturedAt).AddDate(0, 0, -(captureDays+intentDays)).Unix() {
			continue // found by the charges' search too when the charge names the client
		}
		keep(c)
	}
	if err := pit.Err(); err != nil {
		return nil, classify("search payment intents", err)
	}

	out := make([]charge, 0, len(byID))
	for _, c := range byID {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].created != out[j].created {
			return out[i].created > out[j].created
		}
		return out[i].id > out[j].id
	})
	return out, nil
}

// quote is v as a string of Stripe's search query language: in single quotes, a quote or a
// backslash in it escaped. Client IDs hold neither (store.ValidID); the query must not change
// meaning if one did.
func quote(v string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(v) + "'"
}
