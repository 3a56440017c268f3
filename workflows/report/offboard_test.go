package report_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"paysplit/internal/store"
)

// TestOffboardedClientGetsNoWeeklyReport: the weekly run of a zone reports its active clients
// only. An offboarded client's report is neither generated nor emailed while the other client of
// the zone gets its own; back active, the next run of the week reports it.
func TestOffboardedClientGetsNoWeeklyReport(t *testing.T) {
	const zone = "Europe/Lisbon"
	stays, leaves := unique("stays"), unique("leaves")
	s := newStack(t, "")
	s.seedClient(stays, zone, "stays@example.test")
	s.seedClient(leaves, zone, "leaves@example.test")
	ctx := t.Context()
	_, err := s.st.SetClientStatus(ctx, leaves, store.ClientOffboarded)
	require.NoError(t, err)

	got := outcomes(s.runWeekly(zone, "2026-W07"))
	require.Equal(t, "sent", got[stays].Status, "%+v", got[stays])
	require.NotContains(t, got, leaves, "the run does not list the offboarded client")
	require.Len(t, s.mailTo("stays@example.test"), 1)
	require.Empty(t, s.mailTo("leaves@example.test"), "no email to the offboarded client")
	_, err = s.st.GetReportDelivery(ctx, leaves, "2026-W07")
	require.ErrorIs(t, err, store.ErrNotFound, "no report generated for it")

	_, err = s.st.SetClientStatus(ctx, leaves, store.ClientActive)
	require.NoError(t, err)
	got = outcomes(s.runWeekly(zone, "2026-W07"))
	require.Equal(t, "sent", got[leaves].Status, "%+v", got[leaves])
	require.Len(t, s.mailTo("leaves@example.test"), 1)
	require.Len(t, s.mailTo("stays@example.test"), 1, "the other client is not sent twice")
}
