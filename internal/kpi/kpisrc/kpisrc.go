// Package kpisrc builds each client's KPI sources from its stored settings: GA4 for traffic, our
// own payments (the "ledger" source) for revenue of the hot window, the payment providers
// (Stripe, PayPal) for older revenue.
package kpisrc

import (
	"context"
	"time"

	"github.com/plutov/paypal/v4"
	stripeclient "github.com/stripe/stripe-go/v76/client"

	"paysplit/internal/kpi"
	"paysplit/internal/kpi/ga4"
	"paysplit/internal/kpi/paypalkpi"
	"paysplit/internal/kpi/stripekpi"
	"paysplit/internal/money"
	"paysplit/internal/store"
)

// Factory builds sources per client.
type Factory struct {
	Store *store.Store
	// Stripe and PayPal read older revenue, each the part of the client's sales its provider
	// took; both set sums them ("stripe+paypal"). PayPal is set when the deployment has PayPal
	// credentials. Neither leaves days older than the hot window without revenue.
	Stripe *stripeclient.API
	PayPal *paypal.Client
	GA4    ga4.Options
	// Listings, when set, shares the providers' listings of the platform accounts between the
	// clients filtered from them (NewListings); nil lists them again for each client's call.
	Listings *Listings
}

// Listings are the Stripe and PayPal listings of the platform accounts, shared by every client's
// revenue source: each lists every client's payments and keeps each client's daily sums.
type Listings struct {
	stripe *stripekpi.Shared
	paypal *paypalkpi.Shared
	limit  kpi.Limiter
	// stripeSearch, when set, finds each client's own Stripe charges with Stripe's Search API
	// instead of the shared listing (SearchStripe).
	stripeSearch *stripekpi.Searches
}

// NewListings keeps up to maxListings listings a provider for ttl each, and runs at most
// concurrent listings at once, of both providers together.
func NewListings(ttl time.Duration, maxListings, concurrent int) *Listings {
	limit := kpi.NewLimiter(concurrent)
	return &Listings{stripe: stripekpi.NewShared(ttl, maxListings, limit), paypal: paypalkpi.NewShared(ttl, maxListings, limit), limit: limit}
}

// SearchStripe makes Stripe's revenue searched per client (stripekpi.Searches) rather than listed
// for the whole account, under the same limit on concurrent requests as the listings.
func (l *Listings) SearchStripe() *Listings {
	l.stripeSearch = stripekpi.NewSearches(l.limit)
	return l
}

// Traffic returns the client's analytics source, or kpi.ErrNotConfigured when it has none.
func (f *Factory) Traffic(ctx context.Context, clientID string) (kpi.TrafficSource, error) {
	st, err := f.Store.GetKPISettings(ctx, clientID)
	if err != nil {
		return nil, err
	}
	return f.traffic(ctx, st)
}

// VisitorCounter returns the client's analytics source as a counter of a range's distinct
// visitors (each person once over the range: kpi.VisitorCounter); kpi.ErrNotConfigured when it
// has none. A source that cannot be built answers its error, permanent as in Cold.
func (f *Factory) VisitorCounter(ctx context.Context, clientID string) (kpi.VisitorCounter, error) {
	t, err := f.Traffic(ctx, clientID)
	if err != nil {
		return nil, err
	}
	c, ok := t.(kpi.VisitorCounter)
	if !ok {
		return nil, kpi.ErrNotConfigured
	}
	return c, nil
}

// DistinctVisitors counts the client's distinct visitors from from to to with its VisitorCounter.
func (f *Factory) DistinctVisitors(ctx context.Context, clientID string, from, to time.Time) (kpi.VisitorCount, error) {
	c, err := f.VisitorCounter(ctx, clientID)
	if err != nil {
		return kpi.VisitorCount{}, err
	}
	return c.DistinctVisitors(ctx, from, to)
}

func (f *Factory) traffic(ctx context.Context, st store.KPISettings) (kpi.TrafficSource, error) {
	if st.GA4PropertyID == "" {
		return nil, kpi.ErrNotConfigured
	}
	return ga4.New(ctx, st.GA4PropertyID, st.GA4CredentialsRef, f.GA4)
}

// Cold returns the sources of the client's days older than the hot window. A source the client
// has not set up is nil; one that is set up but cannot be built (a missing credentials file) is
// left out too, and the sync's status for it says why.
func (f *Factory) Cold(ctx context.Context, clientID string) (kpi.Sources, error) {
	st, err := f.Store.GetKPISettings(ctx, clientID)
	if err != nil {
		return kpi.Sources{}, err
	}
	var src kpi.Sources
	if t, err := f.traffic(ctx, st); err == nil {
		src.Traffic = t
	} else {
		src.Traffic = failing{name: kpi.SourceGA4, err: err, configured: st.GA4PropertyID != ""}.orNil()
	}
	if st.ProviderRevenue {
		src.Revenue = f.providerRevenue()
	}
	return src, nil
}

// providerRevenue is every configured payment provider's revenue source, summed when there are
// several: the platform's accounts hold every client's payments, so a client needs no setting
// of its own beyond provider_revenue.
func (f *Factory) providerRevenue() kpi.RevenueSource {
	var parts kpi.RevenueSum
	var shared Listings
	if f.Listings != nil {
		shared = *f.Listings
	}
	if f.Stripe != nil {
		parts = append(parts, stripekpi.Source{API: f.Stripe, Shared: shared.stripe, Search: shared.stripeSearch})
	}
	if f.PayPal != nil {
		parts = append(parts, paypalkpi.Source{Client: f.PayPal, Shared: shared.paypal})
	}
	switch len(parts) {
	case 0:
		return nil
	case 1:
		return parts[0]
	}
	return parts
}

// failing is a configured source that could not be built: it answers its error, so the API
// shows the source as failed instead of silently leaving it out.
type failing struct {
	name       string
	err        error
	configured bool
}

func (f failing) orNil() kpi.TrafficSource {
	if !f.configured {
		return nil
	}
	return f
}

func (f failing) Name() string { return f.name }

func (f failing) TrafficDays(context.Context, time.Time, time.Time) ([]kpi.TrafficDay, error) {
	return nil, f.err
}

func (f failing) TrafficHours(context.Context, time.Time) ([]kpi.TrafficHour, error) {
	return nil, f.err
}

// Ledger is our own payments as a revenue source: what the sync stores for the hot window.
type Ledger struct{ Store *store.Store }

// Name is the source's name in the sync status.
func (Ledger) Name() string { return kpi.SourceLedger }

// RevenueDays returns every day from from to to in cur; days without payments are zeros. Refunds
// are the customers' refunds only, not what lost disputes took (store.RevenueDay.RefundsOnly):
// Stripe's and PayPal's sources count them so, and a day's revenue must not change when it
// leaves the hot window and is read from them instead.
func (l Ledger) RevenueDays(ctx context.Context, clientID string, cur money.Currency, from, to time.Time) ([]kpi.RevenueDay, error) {
	rows, err := l.Store.RevenueByDay(ctx, clientID, from, to)
	if err != nil {
		return nil, err
	}
	byDay := map[time.Time]store.RevenueDay{}
	for _, r := range rows {
		if r.Currency == cur {
			byDay[kpi.DayOf(r.Day)] = r
		}
	}
	var out []kpi.RevenueDay
	for _, d := range kpi.Days(from, to) {
		r := byDay[d]
		commission := r.Commission
		out = append(out, kpi.RevenueDay{Day: d, Revenue: kpi.Revenue{Currency: cur, Gross: r.Gross, Refunds: r.RefundsOnly(), Commission: &commission}})
	}
	return out, nil
}
