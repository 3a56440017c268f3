package activities_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"paysplit/activities"
	"paysplit/internal/kpi"
	"paysplit/internal/kpi/kpisrc"
	"paysplit/internal/money"
	"paysplit/internal/store"
	"paysplit/testenv"
)

// TestWeeklyReportHasItsOwnMonday: the KPI sync stored revenue for every day of 2026-W24
// (8-14 June) in Postgres; the weekly report, generated at the schedule's Monday 06:00 (UTC zone)
// through the reader the worker wires (7 hot days, cold sources), must show all seven days.
// The week's Monday is 7 days before the generation day: when the hot window counted today among
// its 7 days, the stored row was ignored (and pruned by the 03:15 retention the same morning), and
// a client without provider revenue got Monday as "missing" in every report.
func TestWeeklyReportHasItsOwnMonday(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	st := store.New(pool)
	ctx := t.Context()
	const id = "report-own-monday"
	_, _, err := st.UpsertClient(ctx, store.Client{ID: id, Name: id, DefaultCurrency: money.USD})
	require.NoError(t, err)
	_, err = st.PutKPISettings(ctx, store.KPISettings{ClientID: id, ProviderRevenue: false})
	require.NoError(t, err)
	monday := time.Date(2026, 6, 8, 0, 0, 0, 0, time.UTC)
	var days []kpi.RevenueDay
	for i := range 7 {
		c := int64(100)
		days = append(days, kpi.RevenueDay{Day: monday.AddDate(0, 0, i), Revenue: kpi.Revenue{Currency: money.USD, Gross: 1000, Commission: &c}})
	}
	require.NoError(t, st.UpsertKPIRevenue(ctx, id, kpi.SourceLedger, days))
	require.NoError(t, st.MarkKPISynced(ctx, id, kpi.SourceLedger, time.Date(2026, 6, 15, 5, 45, 0, 0, time.UTC)))

	now := time.Date(2026, 6, 15, 6, 0, 0, 0, time.UTC) // the UTC zone's Monday 06:00
	rep := &activities.Reports{Store: st, Now: func() time.Time { return now },
		KPIs: &kpi.Reader{Hot: st, RetentionDays: 7, StaleAfter: time.Hour, Now: func() time.Time { return now },
			Cold: (&kpisrc.Factory{Store: st}).Cold}} // as worker/reports.go wires it
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestActivityEnvironment()
	env.RegisterActivity(rep)
	_, err = env.ExecuteActivity(rep.GenerateReport, activities.GenerateReportInput{ClientID: id, Week: "2026-W24"})
	require.NoError(t, err)
	d, err := st.GetReportDelivery(ctx, id, "2026-W24")
	require.NoError(t, err)
	for _, day := range d.Data.Days {
		require.Truef(t, day.HasRevenue, "%s has no revenue in the report though the sync stored it; notes: %q", day.Date, d.Data.NotesAll())
	}
}
