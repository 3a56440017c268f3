package kpi_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paysplit/internal/kpi"
	"paysplit/internal/money"
)

// provider is one payment provider's revenue: gross (and refunds, commission when set) on every
// day of the range, except the days in skip.
type provider struct {
	name           string
	gross, refunds int64
	commission     *int64
	skip           map[time.Time]bool
	err            error
}

func (p *provider) Name() string { return p.name }

func (p *provider) RevenueDays(_ context.Context, _ string, cur money.Currency, from, to time.Time) ([]kpi.RevenueDay, error) {
	if p.err != nil {
		return nil, p.err
	}
	var out []kpi.RevenueDay
	for _, d := range kpi.Days(from, to) {
		if !p.skip[d] {
			out = append(out, kpi.RevenueDay{Day: d, Revenue: kpi.Revenue{Currency: cur, Gross: p.gross, Refunds: p.refunds, Commission: p.commission}})
		}
	}
	return out, nil
}

func ptr(v int64) *int64 { return &v }

// TestRevenueSum: the providers' days add up; commission stays known only when every provider
// knows it; one provider failing fails the sum, named, so no day shows part of the sales as all.
func TestRevenueSum(t *testing.T) {
	from, to := day("2026-05-01"), day("2026-05-02")
	refused := kpi.Permanent(errors.New("list transactions: 403 NOT_AUTHORIZED"))
	for _, tt := range []struct {
		name      string
		parts     []*provider
		want      []kpi.RevenueDay
		wantErr   string
		permanent bool
	}{
		{
			name:  "stripe and paypal summed per day",
			parts: []*provider{{name: kpi.SourceStripe, gross: 5000, refunds: 500}, {name: kpi.SourcePayPal, gross: 2000, refunds: 100}},
			want: []kpi.RevenueDay{
				{Day: from, Revenue: kpi.Revenue{Currency: money.USD, Gross: 7000, Refunds: 600}},
				{Day: to, Revenue: kpi.Revenue{Currency: money.USD, Gross: 7000, Refunds: 600}},
			},
		},
		{
			name:  "commission known only where every part knows it",
			parts: []*provider{{name: "a", gross: 10, commission: ptr(1)}, {name: "b", gross: 20, commission: ptr(2), skip: map[time.Time]bool{to: true}}},
			want: []kpi.RevenueDay{
				{Day: from, Revenue: kpi.Revenue{Currency: money.USD, Gross: 30, Commission: ptr(3)}},
				{Day: to, Revenue: kpi.Revenue{Currency: money.USD, Gross: 10}},
			},
		},
		{
			name:    "a failing part fails the sum",
			parts:   []*provider{{name: kpi.SourceStripe, gross: 5000}, {name: kpi.SourcePayPal, err: refused}},
			wantErr: "paypal: list transactions: 403 NOT_AUTHORIZED", permanent: true,
		},
		{
			name:    "overflow is an error, not a wrapped sum",
			parts:   []*provider{{name: "a", gross: 1 << 62}, {name: "b", gross: 1 << 62}},
			wantErr: "b: gross of 2026-05-01",
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var sum kpi.RevenueSum
			for _, p := range tt.parts {
				sum = append(sum, p)
			}
			got, err := sum.RevenueDays(t.Context(), "northwind", money.USD, from, to)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				require.Equal(t, tt.permanent, kpi.IsPermanent(err))
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
	require.Equal(t, "stripe+paypal", kpi.RevenueSum{&provider{name: kpi.SourceStripe}, &provider{name: kpi.SourcePayPal}}.Name())
}

// TestReaderBothProviders: the cold days of a 30-day range carry Stripe's and PayPal's revenue
// summed and are marked with both; PayPal down leaves the cold days without revenue (and stale),
// never with Stripe's part alone.
func TestReaderBothProviders(t *testing.T) {
	hot := &fakeHot{statuses: []kpi.SourceStatus{{Source: kpi.SourceLedger, LastSuccess: now, LastAttempt: now}}}
	for _, d := range kpi.Days(day("2026-06-09"), day("2026-06-15")) {
		hot.days = append(hot.days, kpi.Day{Day: d, Revenue: &kpi.Revenue{Currency: money.USD, Gross: 1}})
	}
	stripe, paypal := &provider{name: kpi.SourceStripe, gross: 5000}, &provider{name: kpi.SourcePayPal, gross: 2500, refunds: 250}
	r := &kpi.Reader{
		Hot: hot, RetentionDays: 7, StaleAfter: time.Hour, Now: func() time.Time { return now },
		Cold: func(context.Context, string) (kpi.Sources, error) {
			return kpi.Sources{Traffic: &fakeTraffic{}, Revenue: kpi.RevenueSum{stripe, paypal}}, nil
		},
	}
	s, err := r.Series(t.Context(), "northwind", money.USD, day("2026-05-17"), day("2026-06-15"))
	require.NoError(t, err)
	bySource := map[string]int{}
	for _, d := range s.Days[:23] {
		bySource[d.Source]++
		require.EqualValues(t, 7500, d.Revenue.Gross, d.Day)
		require.EqualValues(t, 250, d.Revenue.Refunds, d.Day)
		require.Nil(t, d.Revenue.Commission)
	}
	require.Equal(t, map[string]int{"ga4+stripe+paypal": 23}, bySource)

	paypal.err = errors.New("list transactions: 503 INTERNAL_SERVICE_ERROR")
	s, err = r.Series(t.Context(), "northwind", money.USD, day("2026-05-01"), day("2026-05-02"))
	require.NoError(t, err)
	require.Equal(t, []kpi.SourceError{{Source: "stripe+paypal", Message: "paypal: list transactions: 503 INTERNAL_SERVICE_ERROR"}}, s.ColdErrors)
	for _, d := range s.Days {
		require.Nil(t, d.Revenue, "no revenue rather than Stripe's part alone")
		require.True(t, d.Stale)
	}
}
