package store_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paysplit/internal/money"
	"paysplit/internal/report"
	"paysplit/internal/report/reporttest"
	"paysplit/internal/store"
	"paysplit/testenv"
)

func TestReportSettingsNormalize(t *testing.T) {
	tests := []struct {
		name    string
		in      store.ReportSettings
		want    []string
		zone    string
		wantErr string
	}{
		{name: "defaults to UTC", in: store.ReportSettings{ClientID: "c"}, want: []string{}, zone: "UTC"},
		{name: "addresses trimmed, lower-cased, deduplicated in order",
			in:   store.ReportSettings{ClientID: "c", TimeZone: "Asia/Tokyo", Recipients: []string{" B@x.test", "a@x.test", "b@X.test"}},
			want: []string{"b@x.test", "a@x.test"}, zone: "Asia/Tokyo"},
		{name: "named address", in: store.ReportSettings{ClientID: "c", Recipients: []string{"Ann <ann@x.test>"}}, wantErr: "recipients[0]"},
		{name: "not an address", in: store.ReportSettings{ClientID: "c", Recipients: []string{"ann"}}, wantErr: "recipients[0]"},
		{name: "unknown zone", in: store.ReportSettings{ClientID: "c", TimeZone: "Europe/Atlantis"}, wantErr: "IANA"},
		{name: "bad client id", in: store.ReportSettings{ClientID: "a b"}, wantErr: "client_id"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.in.Normalize()
			if tc.wantErr != "" {
				require.ErrorIs(t, err, store.ErrInvalid)
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got.Recipients)
			require.Equal(t, tc.zone, got.TimeZone)
		})
	}
}

func TestReportDeliveryRecord(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	st := store.New(pool)
	ctx := t.Context()
	id := fmt.Sprintf("rd-%d", time.Now().UnixNano())
	_, _, err := st.UpsertClient(ctx, store.Client{ID: id, Name: "RD", DefaultCurrency: money.EUR})
	require.NoError(t, err)

	// Settings: defaults, then a zone that shows up among the schedules' zones.
	s, err := st.GetReportSettings(ctx, id)
	require.NoError(t, err)
	require.Equal(t, "UTC", s.TimeZone)
	_, err = st.GetReportSettings(ctx, "no-such-client")
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = st.PutReportSettings(ctx, store.ReportSettings{ClientID: id, TimeZone: "Pacific/Chatham", Enabled: true})
	require.NoError(t, err)
	zones, err := st.ReportTimeZones(ctx)
	require.NoError(t, err)
	require.Contains(t, zones, "Pacific/Chatham")
	require.Contains(t, zones, "UTC")
	clients, err := st.ReportClients(ctx, "Pacific/Chatham")
	require.NoError(t, err)
	require.Contains(t, clients, id)
	// In pages: after the client before it, the first page of one is this client.
	at := slices.Index(clients, id)
	before := ""
	if at > 0 {
		before = clients[at-1]
	}
	page, err := st.ReportClientsPage(ctx, "Pacific/Chatham", before, 1)
	require.NoError(t, err)
	require.Equal(t, []string{id}, page)
	rest, err := st.ReportClientsPage(ctx, "Pacific/Chatham", id, 0)
	require.NoError(t, err)
	require.Equal(t, clients[at+1:], rest)

	// A delivery: generated, uploaded, sends asked for and made.
	d := reporttest.Sample()
	d.ClientID = id
	pdf, err := report.Render(d)
	require.NoError(t, err)
	week := d.Week.String()
	require.NoError(t, st.SaveGeneratedReport(ctx, store.GeneratedReport{Data: d, PDF: pdf, At: time.Now()}))
	pending, err := st.PendingReportPDF(ctx, id, week)
	require.NoError(t, err)
	require.Equal(t, pdf.Bytes, pending)
	got, err := st.GetReportDelivery(ctx, id, week)
	require.NoError(t, err)
	require.Equal(t, d, *got.Data, "the data round-trips through jsonb unchanged")
	require.False(t, got.Uploaded)

	require.NoError(t, st.MarkReportUploaded(ctx, id, week, "reports/"+id+"/"+week+".pdf", pdf.SHA256()))
	pending, err = st.PendingReportPDF(ctx, id, week)
	require.NoError(t, err)
	require.Nil(t, pending, "the local copy goes once S3 has it")
	// Regenerating the same bytes keeps it uploaded.
	require.NoError(t, st.SaveGeneratedReport(ctx, store.GeneratedReport{Data: d, PDF: pdf, At: time.Now()}))
	got, err = st.GetReportDelivery(ctx, id, week)
	require.NoError(t, err)
	require.True(t, got.Uploaded)

	tests := []struct {
		name             string
		do               func() error
		wantWanted, done int
	}{
		{"schedule asks for one send", func() error { _, err := st.WantReportSends(ctx, id, week, 1); return err }, 1, 0},
		{"asking again asks once", func() error { _, err := st.WantReportSends(ctx, id, week, 1); return err }, 1, 0},
		{"send 1 made", func() error {
			return st.MarkReportEmailed(ctx, id, week, store.ReportSend{Seq: 1, MessageID: "m1", Recipients: 2, Refused: []int{2}, Run: "run-a"})
		}, 1, 1},
		{"a repeated record changes nothing", func() error {
			return st.MarkReportEmailed(ctx, id, week, store.ReportSend{Seq: 1, MessageID: "m1-again", Recipients: 5, Run: "run-b"})
		}, 1, 1},
		{"a resend asks for send 2", func() error { _, err := st.WantReportSends(ctx, id, week, 2); return err }, 2, 1},
		{"a lower ask does not lower it", func() error { _, err := st.WantReportSends(ctx, id, week, 1); return err }, 2, 1},
		{"a weekly run's withdrawal leaves an admin's resend asked for", func() error { return st.WithdrawReportSends(ctx, id, week, 1) }, 2, 1},
		{"a withdrawal up to the resend takes it back", func() error { return st.WithdrawReportSends(ctx, id, week, 2) }, 1, 1},
		{"nothing left to take back", func() error { return st.WithdrawReportSends(ctx, id, week, 2) }, 1, 1},
	}
	for _, tc := range tests {
		require.NoError(t, tc.do(), tc.name)
		got, err := st.GetReportDelivery(ctx, id, week)
		require.NoError(t, err)
		require.Equal(t, tc.wantWanted, got.SendsWanted, tc.name)
		require.Equal(t, tc.done, got.SendsDone, tc.name)
	}
	got, err = st.GetReportDelivery(ctx, id, week)
	require.NoError(t, err)
	require.Equal(t, "m1", got.MessageID)
	require.Equal(t, 2, got.Recipients)
	require.Equal(t, []int{2}, got.RefusedRecipients, "the refused recipient's position is kept")
	require.Equal(t, "run-a", got.SentByRun)
	_, err = st.WantReportSends(ctx, id, "2020-W01", 1)
	require.ErrorIs(t, err, store.ErrNotFound)

	list, err := st.ListReportDeliveries(ctx, id, "", "", 10)
	require.NoError(t, err)
	require.Len(t, list, 1)
	require.Equal(t, week, list[0].ISOWeek)
}
