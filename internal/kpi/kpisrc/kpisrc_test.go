package kpisrc_test

import (
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
func TestColdSources(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	st := store.New(pool)
	ctx := t.Context()
	f := &kpisrc.Factory{Store: st, Stripe: activities.NewStripeClient("sk_test_x", "http://127.0.0.1:1", nil),
		GA4: ga4.Options{Getenv: func(string) string { return "" }}}
	for _, tt := range []struct {
		name                    string
		settings                store.KPISettings
		traffic, revenue, fails bool
	}{
		{"defaults: revenue only", store.KPISettings{ProviderRevenue: true}, false, true, false},
		{"no provider revenue", store.KPISettings{}, false, false, false},
		{"ga4 with a key that is not there", store.KPISettings{GA4PropertyID: "5", GA4CredentialsRef: "env:GA4_MISSING", ProviderRevenue: true}, true, true, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			id := "src-" + map[bool]string{true: "t", false: "f"}[tt.traffic] + map[bool]string{true: "r", false: "n"}[tt.revenue]
			_, _, err := st.UpsertClient(ctx, store.Client{ID: id, Name: id, DefaultCurrency: money.USD})
			require.NoError(t, err)
			tt.settings.ClientID = id
			_, err = st.PutKPISettings(ctx, tt.settings)
			require.NoError(t, err)
			src, err := f.Cold(ctx, id)
			require.NoError(t, err)
			require.Equal(t, tt.traffic, src.Traffic != nil)
			require.Equal(t, tt.revenue, src.Revenue != nil)
			if tt.fails {
				_, err := src.Traffic.TrafficDays(ctx, time.Now(), time.Now())
				require.ErrorContains(t, err, "GA4_MISSING is empty")
				require.Equal(t, kpi.SourceGA4, src.Traffic.Name())
			}
		})
	}
	_, err := f.Cold(ctx, "ghost")
	require.ErrorIs(t, err, store.ErrNotFound)
}
