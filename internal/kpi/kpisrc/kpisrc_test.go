package kpisrc_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paysplit/activities"
	"paysplit/internal/kpi"
	"paysplit/internal/kpi/ga4"
	"paysplit/internal/kpi/kpisrc"
	"paysplit/internal/money"
	"paysplit/internal/store"
	"paysplit/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// TestColdSources: what a client has set up decides its sources; a GA4 set up with credentials
// that cannot be loaded answers its error (shown as a failed source), never silently nothing.
// Older revenue comes from every payment provider the deployment is configured for, summed.
func TestColdSources(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	st := store.New(pool)
	ctx := t.Context()
	stripe := activities.NewStripeClient("sk_test_x", "http://127.0.0.1:1", nil)
	pp, err := activities.NewPayPalClient("paypal-client", "paypal-secret", "https://api-m.sandbox.paypal.com", nil)
	require.NoError(t, err)
	f := &kpisrc.Factory{Store: st, Stripe: stripe, GA4: ga4.Options{Getenv: func(string) string { return "" }}}
	for i, tt := range []struct {
		name          string
		settings      store.KPISettings
		withPayPal    bool
		withoutStripe bool
		traffic       bool
		revenue       string // the revenue source's name; "" for none
		fails         bool
	}{
		{name: "defaults: revenue only", settings: store.KPISettings{ProviderRevenue: true}, revenue: kpi.SourceStripe},
		{name: "no provider revenue", settings: store.KPISettings{}, withPayPal: true},
		{name: "ga4 with a key that is not there", settings: store.KPISettings{GA4PropertyID: "5", GA4CredentialsRef: "env:GA4_MISSING", ProviderRevenue: true},
			traffic: true, revenue: kpi.SourceStripe, fails: true},
		{name: "stripe and paypal configured: summed", settings: store.KPISettings{ProviderRevenue: true}, withPayPal: true, revenue: "stripe+paypal"},
		{name: "paypal only", settings: store.KPISettings{ProviderRevenue: true}, withPayPal: true, withoutStripe: true, revenue: kpi.SourcePayPal},
		{name: "no provider configured", settings: store.KPISettings{ProviderRevenue: true}, withoutStripe: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			id := fmt.Sprintf("src-%d", i)
			_, _, err := st.UpsertClient(ctx, store.Client{ID: id, Name: id, DefaultCurrency: money.USD})
			require.NoError(t, err)
			tt.settings.ClientID = id
			_, err = st.PutKPISettings(ctx, tt.settings)
			require.NoError(t, err)
			f.Stripe, f.PayPal = stripe, nil
			if tt.withoutStripe {
				f.Stripe = nil
			}
			if tt.withPayPal {
				f.PayPal = pp
			}
			src, err := f.Cold(ctx, id)
			require.NoError(t, err)
			require.Equal(t, tt.traffic, src.Traffic != nil)
			if tt.revenue == "" {
				require.Nil(t, src.Revenue)
			} else {
				require.NotNil(t, src.Revenue)
				require.Equal(t, tt.revenue, src.Revenue.Name())
			}
			if tt.fails {
				_, err := src.Traffic.TrafficDays(ctx, time.Now(), time.Now())
				require.ErrorContains(t, err, "GA4_MISSING is empty")
				require.Equal(t, kpi.SourceGA4, src.Traffic.Name())
			}
		})
	}
	_, err = f.Cold(ctx, "ghost")
	require.ErrorIs(t, err, store.ErrNotFound)
}
