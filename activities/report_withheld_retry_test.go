package activities_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paysplit/activities"
	"paysplit/internal/store"
	"paysplit/testenv"
)

// TestWeeklySendWithheldOnARetryStaysUnasked: the weekly run's email step asks for its send, and
// its first attempt fails (the mail server answers 450: try later). Before the retry the client is
// offboarded, or its weekly reports are turned off: the retry withholds the report. The send its
// first attempt asked for must not stay asked for: an admin's later regenerate without email,
// whose email step sends what was asked for before, mailed the client the report the weekly run
// withheld. An admin's send still goes out.
func TestWeeklySendWithheldOnARetryStaysUnasked(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	st := store.New(pool)
	ctx := t.Context()
	rep, box, env := reportsWithMailbox(t, st)

	for _, tt := range []struct {
		reason   string
		withhold func(id string) error
	}{
		{"client_offboarded", func(id string) error {
			_, err := st.SetClientStatus(ctx, id, store.ClientOffboarded)
			return err
		}},
		{"reports_disabled", func(id string) error {
			s, err := st.GetReportSettings(ctx, id)
			if err == nil {
				s.Enabled = false
				_, err = st.PutReportSettings(ctx, s)
			}
			return err
		}},
	} {
		t.Run(tt.reason, func(t *testing.T) {
			id := fmt.Sprintf("report-withheld-retry-%s-%d", tt.reason, time.Now().UnixNano())
			rcpt := tt.reason + "@withheld.test"
			usdClient(t, st, id)
			_, err := st.PutReportSettings(ctx, store.ReportSettings{ClientID: id, TimeZone: "UTC", Recipients: []string{rcpt}, Enabled: true})
			require.NoError(t, err)
			generateW24(t, st, id, nil)
			_, err = env.ExecuteActivity(rep.UploadReport, activities.ReportInput{ClientID: id, Week: "2026-W24"})
			require.NoError(t, err)
			mailed := func() int {
				n := 0
				for _, m := range box.Messages() {
					if len(m.To) == 1 && m.To[0] == rcpt {
						n++
					}
				}
				return n
			}

			weekly := activities.EmailReportInput{ClientID: id, Week: "2026-W24", EnsureSends: 1, Weekly: true}
			box.RejectRecipients(func(string) (int, string) { return 450, "4.2.1 mailbox busy, try later" })
			_, err = env.ExecuteActivity(rep.EmailReport, weekly)
			require.Error(t, err, "the first attempt fails for now")
			box.RejectRecipients(nil)
			require.NoError(t, tt.withhold(id))
			v, err := env.ExecuteActivity(rep.EmailReport, weekly)
			require.NoError(t, err)
			var out activities.EmailReportOutput
			require.NoError(t, v.Get(&out))
			require.Equal(t, tt.reason, out.Reason, "%+v", out)
			require.Zero(t, mailed())

			// An admin's regenerate without email: its email step asks for no send.
			v, err = env.ExecuteActivity(rep.EmailReport, activities.EmailReportInput{ClientID: id, Week: "2026-W24"})
			require.NoError(t, err)
			require.NoError(t, v.Get(&out))
			require.False(t, out.Sent, "a regenerate without email sends nothing: %+v", out)
			require.Zero(t, mailed(), "no email to the client the weekly run withheld it from")

			// An admin's send is the admin's call: it goes out, once.
			d, err := st.GetReportDelivery(ctx, id, "2026-W24")
			require.NoError(t, err)
			v, err = env.ExecuteActivity(rep.EmailReport, activities.EmailReportInput{ClientID: id, Week: "2026-W24", EnsureSends: d.SendsDone + 1})
			require.NoError(t, err)
			require.NoError(t, v.Get(&out))
			require.True(t, out.Sent, "%+v", out)
			require.Equal(t, 1, mailed())
		})
	}
}
