package activities_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"paysplit/activities"
	"paysplit/internal/mailer"
	"paysplit/internal/mailer/mailbox"
	"paysplit/internal/objstore/objstoretest"
	"paysplit/internal/report"
	"paysplit/internal/store"
	"paysplit/testenv"
)

// TestReportFileGoneRenderedByAnotherReleaseStaysSendable: the week's file was rendered by an
// older release (another layout, other fallback fonts: other bytes from the same data) and is
// gone from S3. The email step renders the stored data again and puts that file back, which is
// not byte for byte the one the delivery records. The delivery must then describe the file now in
// S3: before, it recorded the new digest as uploaded beside the old one as generated, so the week
// read as "not uploaded" with no local copy left, and every later send (an admin's resend, the
// weekly run) failed "not uploaded yet" for its whole run.
func TestReportFileGoneRenderedByAnotherReleaseStaysSendable(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	st := store.New(pool)
	ctx := t.Context()
	const id = "report-s3-gone-other-release"
	usdClient(t, st, id)
	_, err := st.PutReportSettings(ctx, store.ReportSettings{ClientID: id, TimeZone: "UTC", Recipients: []string{"owner@gone.test"}, Enabled: true})
	require.NoError(t, err)
	generated := generateW24(t, st, id, nil)

	// What an older release rendered from the same data: other bytes.
	pending, err := st.PendingReportPDF(ctx, id, "2026-W24")
	require.NoError(t, err)
	older := report.PDF{Bytes: append(append([]byte{}, pending...), "% rendered by an older release\n"...), Pages: generated.Pages}
	require.NoError(t, st.SaveGeneratedReport(ctx, store.GeneratedReport{Data: *generated.Data, PDF: older, At: generated.GeneratedAt}))

	s3 := objstoretest.Start(t)
	box, err := mailbox.Listen("127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = box.Close() })
	smtp := &mailer.SMTP{Addr: box.Addr(), From: "reports@paysplit.test", TLS: mailer.TLSNone, Timeout: 5 * time.Second}
	var ts testsuite.WorkflowTestSuite

	old := &activities.Reports{Store: st, Files: s3.Bucket(t, "reports-old"), Mail: smtp}
	env := ts.NewTestActivityEnvironment()
	env.RegisterActivity(old)
	_, err = env.ExecuteActivity(old.UploadReport, activities.ReportInput{ClientID: id, Week: "2026-W24"})
	require.NoError(t, err)

	moved := s3.Bucket(t, "reports-new")
	rep := &activities.Reports{Store: st, Files: moved, Mail: smtp}
	for send := 1; send <= 2; send++ {
		env = ts.NewTestActivityEnvironment()
		env.RegisterActivity(rep)
		val, err := env.ExecuteActivity(rep.EmailReport, activities.EmailReportInput{ClientID: id, Week: "2026-W24", EnsureSends: send})
		require.NoErrorf(t, err, "send %d", send)
		var out activities.EmailReportOutput
		require.NoError(t, val.Get(&out))
		require.Truef(t, out.Sent, "send %d: %s", send, out.Reason)
	}
	require.Len(t, box.Messages(), 2)

	d, err := st.GetReportDelivery(ctx, id, "2026-W24")
	require.NoError(t, err)
	require.True(t, d.Uploaded, "the delivery describes the file in S3")
	back, err := moved.Get(ctx, report.ObjectKey(id, report.Week{Year: 2026, Week: 24}))
	require.NoError(t, err)
	require.Equal(t, report.PDF{Bytes: back}.SHA256(), d.SHA256, "the recorded digest is the file's in S3")
	require.EqualValues(t, len(back), d.Bytes)
}
