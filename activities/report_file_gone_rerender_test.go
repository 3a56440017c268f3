package activities_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"paysplit/activities"
	"paysplit/internal/report"
	"paysplit/internal/store"
)

// TestReportFileGoneRenderedByAnotherReleaseStaysSendable: the week's file was rendered by an
// older release (another layout, other fallback fonts: other bytes from the same data) and is
// gone from S3. The email step renders the stored data again and puts that file back, which is
// not byte for byte the one the delivery records. The delivery must then describe the file now in
// S3: before, it recorded the new digest as uploaded beside the old one as generated, so the week
// read as "not uploaded" with no local copy left, and every later send (an admin's resend, the
// weekly run) failed "not uploaded yet" for its whole run.
func TestReportFileGoneRenderedByAnotherReleaseStaysSendable(t *testing.T) {
	w := weekWhoseFileIsGone(t, "report-s3-gone-other-release", func(st *store.Store, generated store.ReportDelivery) {
		// What an older release rendered from the same data: other bytes.
		pending, err := st.PendingReportPDF(t.Context(), generated.ClientID, "2026-W24")
		require.NoError(t, err)
		older := report.PDF{Bytes: append(append([]byte{}, pending...), "% rendered by an older release\n"...), Pages: generated.Pages}
		require.NoError(t, st.SaveGeneratedReport(t.Context(), store.GeneratedReport{Data: *generated.Data, PDF: older, At: generated.GeneratedAt}))
	})
	ctx, id, st := t.Context(), w.id, w.st
	for send := 1; send <= 2; send++ {
		val, err := w.send(send)
		require.NoErrorf(t, err, "send %d", send)
		var out activities.EmailReportOutput
		require.NoError(t, val.Get(&out))
		require.Truef(t, out.Sent, "send %d: %s", send, out.Reason)
	}
	require.Len(t, w.box.Messages(), 2)

	d, err := st.GetReportDelivery(ctx, id, "2026-W24")
	require.NoError(t, err)
	require.True(t, d.Uploaded, "the delivery describes the file in S3")
	back, err := w.moved.Get(ctx, report.ObjectKey(id, report.Week{Year: 2026, Week: 24}))
	require.NoError(t, err)
	require.Equal(t, report.PDF{Bytes: back}.SHA256(), d.SHA256, "the recorded digest is the file's in S3")
	require.EqualValues(t, len(back), d.Bytes)
}
