package activities_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"

	"paysplit/activities"
	"paysplit/internal/mailer"
	"paysplit/internal/mailer/mailbox"
	"paysplit/internal/objstore"
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
	w := weekWhoseFileIsGone(t, "report-s3-gone", nil)
	ctx, id := t.Context(), w.id
	val, err := w.send(1)
	require.NoError(t, err, "the file is rendered again from the stored data")
	var out activities.EmailReportOutput
	require.NoError(t, val.Get(&out))
	require.True(t, out.Sent, out.Reason)

	msgs := w.box.Messages()
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
	require.Equal(t, w.generated.SHA256, report.PDF{Bytes: pdf}.SHA256(), "the same report as generated")
	back, err := w.moved.Get(ctx, report.ObjectKey(id, report.Week{Year: 2026, Week: 24}))
	require.NoError(t, err, "and is in the bucket again, for the download links")
	require.True(t, bytes.Equal(pdf, back))
}

// fileGoneWeek is a client's week 2026-W24 whose report was uploaded to the bucket the deployment
// used then ("reports-old") and whose reports now go to another ("reports-new"), where its file
// is not: what a send finds after S3_BUCKET changed, a lifecycle rule or an operator's removal.
type fileGoneWeek struct {
	id        string
	st        *store.Store
	generated store.ReportDelivery
	box       *mailbox.Server
	moved     *objstore.Store
	rep       *activities.Reports
	ts        testsuite.WorkflowTestSuite
}

// weekWhoseFileIsGone sets up fileGoneWeek for client id; rendered, when not nil, replaces the
// generated file (what an older release rendered from the same data) before it is uploaded.
func weekWhoseFileIsGone(t *testing.T, id string, rendered func(*store.Store, store.ReportDelivery)) *fileGoneWeek {
	t.Helper()
	pool, _ := testenv.Postgres(t)
	w := &fileGoneWeek{id: id, st: store.New(pool)}
	usdClient(t, w.st, id)
	_, err := w.st.PutReportSettings(t.Context(), store.ReportSettings{ClientID: id, TimeZone: "UTC", Recipients: []string{"owner@gone.test"}, Enabled: true})
	require.NoError(t, err)
	w.generated = generateW24(t, w.st, id, nil)
	if rendered != nil {
		rendered(w.st, w.generated)
	}

	s3 := objstoretest.Start(t)
	w.box, err = mailbox.Listen("127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = w.box.Close() })
	smtp := &mailer.SMTP{Addr: w.box.Addr(), From: "reports@paysplit.test", TLS: mailer.TLSNone, Timeout: 5 * time.Second}

	old := &activities.Reports{Store: w.st, Files: s3.Bucket(t, "reports-old"), Mail: smtp}
	env := w.ts.NewTestActivityEnvironment()
	env.RegisterActivity(old)
	_, err = env.ExecuteActivity(old.UploadReport, activities.ReportInput{ClientID: id, Week: "2026-W24"})
	require.NoError(t, err)

	w.moved = s3.Bucket(t, "reports-new")
	w.rep = &activities.Reports{Store: w.st, Files: w.moved, Mail: smtp}
	return w
}

// send runs the week's email step as the n-th send the run ensures.
func (w *fileGoneWeek) send(n int) (converter.EncodedValue, error) {
	env := w.ts.NewTestActivityEnvironment()
	env.RegisterActivity(w.rep)
	return env.ExecuteActivity(w.rep.EmailReport, activities.EmailReportInput{ClientID: w.id, Week: "2026-W24", EnsureSends: n})
}
