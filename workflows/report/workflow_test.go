package report

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"paysplit/activities"
	ireport "paysplit/internal/report"
)

// TestClientWaitsForTheWeeksKPIs: a run started before the week's last UTC day has ended and
// been synced (the schedule's Monday 06:00 east of UTC+6) sleeps until then before it generates;
// a run after that, or of a week long over, generates at once.
func TestClientWaitsForTheWeeksKPIs(t *testing.T) {
	const syncEvery = 15 * time.Minute
	for _, tt := range []struct {
		name      string
		zone      string
		week      string
		wantAsked bool          // ReportReadyAt called
		wantWait  time.Duration // from the start to GenerateReport
	}{
		{"Tokyo Monday 06:00", "Asia/Tokyo", "2026-W24", true, 3*time.Hour + 20*time.Minute},
		{"Auckland Monday 06:00", "Pacific/Auckland", "2026-W24", true, 6*time.Hour + 20*time.Minute},
		{"Berlin Monday 06:00", "Europe/Berlin", "2026-W24", true, 0},
		{"Tokyo regenerating a week long over", "Asia/Tokyo", "2026-W20", false, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			loc, err := time.LoadLocation(tt.zone)
			require.NoError(t, err)
			start := time.Date(2026, 6, 15, 6, 0, 0, 0, loc) // the schedule's Monday 06:00

			var ts testsuite.WorkflowTestSuite
			env := ts.NewTestWorkflowEnvironment()
			env.SetStartTime(start)
			env.RegisterActivity(&activities.Reports{})
			asked := false
			env.OnActivity(act.ReportReadyAt, mock.Anything, mock.Anything).Return(
				func(_ context.Context, in activities.ReportInput) (activities.ReportReadyOutput, error) {
					asked = true
					w, err := ireport.ParseWeek(in.Week)
					require.NoError(t, err)
					return activities.ReportReadyOutput{At: w.KPIsCompleteAt(syncEvery)}, nil
				}).Maybe()
			var generatedAt time.Time
			env.OnActivity(act.GenerateReport, mock.Anything, mock.Anything).Return(
				func(context.Context, activities.GenerateReportInput) (activities.GenerateReportOutput, error) {
					generatedAt = env.Now()
					return activities.GenerateReportOutput{Generated: true}, nil
				})
			env.OnActivity(act.UploadReport, mock.Anything, mock.Anything).Return(activities.UploadReportOutput{Uploaded: true}, nil)
			env.OnActivity(act.EmailReport, mock.Anything, mock.Anything).Return(activities.EmailReportOutput{Sent: true}, nil)

			env.ExecuteWorkflow(Client, ClientInput{ClientID: "acme", Week: tt.week, EnsureSends: 1})
			require.True(t, env.IsWorkflowCompleted())
			require.NoError(t, env.GetWorkflowError())
			require.Equal(t, tt.wantAsked, asked)
			require.Equal(t, tt.wantWait, generatedAt.Sub(start).Round(time.Second), "generated at %s UTC", generatedAt.UTC())
			w, err := ireport.ParseWeek(tt.week)
			require.NoError(t, err)
			require.False(t, generatedAt.Before(w.Days()[6].AddDate(0, 0, 1).Add(syncEvery)),
				"generated at %s UTC, before the week's last UTC day ended and was synced", generatedAt.UTC())
			env.AssertExpectations(t)
		})
	}
}
