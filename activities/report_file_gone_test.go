package activities_test

import (
	"bytes"
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

// TestReportResendWhoseFileIsGoneFromS3: the week's report was uploaded to the bucket the
// deployment used then; the reports moved to a new bucket (S3_BUCKET changed; a lifecycle rule
// or an operator removing old files does the same), and an admin resends the week. The stored
// data renders the same PDF again: the email step puts it back under its key and sends it. Before,
// S3's NoSuchKey failed every attempt, retried for the run's whole 24 hours (a resend or
// regenerate of the week answering 409 meanwhile), and the report was never sent.
func TestReportResendWhoseFileIsGoneFromS3(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	st := store.New(pool)
	ctx := t.Context()
	const id = "report-s3-gone"
	usdClient(t, st, id)
	_, err := st.PutReportSettings(ctx, store.ReportSettings{ClientID: id, TimeZone: "UTC", Recipients: []string{"owner@gone.test"}, Enabled: true})
	require.NoError(t, err)
	generated := generateW24(t, st, id, nil)

	s3 := objstoretest.Start(t)
	box, err := mailbox.Listen("127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = box.Close() })
	smtp := &mailer.SMTP{Addr: box.Addr(), From: "reports@paysplit.test", TLS: mailer.TLSNone, Timeout: 5 * time.Second}
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestActivityEnvironment()

	old := &activities.Reports{Store: st, Files: s3.Bucket(t, "reports-old"), Mail: smtp}
	env.RegisterActivity(old)
	_, err = env.ExecuteActivity(old.UploadReport, activities.ReportInput{ClientID: id, Week: "2026-W24"})
	require.NoError(t, err)

	moved := s3.Bucket(t, "reports-new")
	rep := &activities.Reports{Store: st, Files: moved, Mail: smtp}
	env = ts.NewTestActivityEnvironment()
	env.RegisterActivity(rep)
	val, err := env.ExecuteActivity(rep.EmailReport, activities.EmailReportInput{ClientID: id, Week: "2026-W24", EnsureSends: 1})
	require.NoError(t, err, "the file is rendered again from the stored data")
	var out activities.EmailReportOutput
	require.NoError(t, val.Get(&out))
	require.True(t, out.Sent, out.Reason)

	msgs := box.Messages()
	require.Len(t, msgs, 1)
	got, err := mailbox.Parse(msgs[0].Data)
	require.NoError(t, err)
	var pdf []byte
	for _, p := range got.Attachments {
		if p.ContentType == "application/pdf" {
			pdf = p.Data
		}
	}
	require.NotEmpty(t, pdf, "the PDF is attached")
	require.Equal(t, generated.SHA256, report.PDF{Bytes: pdf}.SHA256(), "the same report as generated")
	back, err := moved.Get(ctx, report.ObjectKey(id, report.Week{Year: 2026, Week: 24}))
	require.NoError(t, err, "and is in the bucket again, for the download links")
	require.True(t, bytes.Equal(pdf, back))
}
