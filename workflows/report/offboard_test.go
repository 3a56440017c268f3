package report_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"paysplit/internal/store"
	"paysplit/workflows/report"
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

// TestClientOffboardedDuringTheWeeklyRunIsNotEmailed: a client offboarded while the weekly run is
// under way (listed while active; the run can wait hours for the week's KPIs or a source that is
// down) is not emailed the report: the agency no longer serves it. Nothing is recorded as sent,
// so an admin's run still sends it on request, and the other client of the zone is sent its own.
func TestClientOffboardedDuringTheWeeklyRunIsNotEmailed(t *testing.T) {
	const zone = "Europe/Madrid"
	stays, leaves := unique("stays"), unique("leaves")
	s := newStack(t, "")
	s.seedClient(stays, zone, "stays-mid@example.test")
	s.seedClient(leaves, zone, "leaves-mid@example.test")
	offboardOnPut(t, s, leaves)
	got := outcomes(s.runWeekly(zone, "2026-W07"))
	s.onPut.Store(nil)
	require.Equal(t, "sent", got[stays].Status, "%+v", got[stays])
	require.Equal(t, "not_sent", got[leaves].Status, "%+v", got[leaves])
	require.Equal(t, "client_offboarded", got[leaves].Reason)
	require.Empty(t, s.mailTo("leaves-mid@example.test"), "no email to a client offboarded during the run")
	require.Len(t, s.mailTo("stays-mid@example.test"), 1)

	// An admin's send of the report is the admin's call: it goes out.
	res := runClient(t, s, report.ClientInput{ClientID: leaves, Week: "2026-W07", EnsureSends: 1})
	require.True(t, res.Email.Sent, "%+v", res.Email)
	require.Len(t, s.mailTo("leaves-mid@example.test"), 1)
}

// TestRegenerateWithoutEmailSendsNothingToAClientOffboardedDuringTheWeeklyRun: the weekly run of a
// client offboarded while it was under way did not email the report (above). An admin then
// regenerates the week for the departed shop's accounts, without email: that run sends nothing.
// Before, the weekly run's email step had asked for its send before it saw the client had left,
// and the send stayed asked for: the regenerate's email step, which sends what was asked for
// before, emailed the departed shop the report the weekly run had withheld.
func TestRegenerateWithoutEmailSendsNothingToAClientOffboardedDuringTheWeeklyRun(t *testing.T) {
	const zone = "Europe/Vienna"
	leaves := unique("leaves")
	s := newStack(t, "")
	s.seedClient(leaves, zone, "leaves-regen@example.test")
	offboardOnPut(t, s, leaves)
	got := outcomes(s.runWeekly(zone, "2026-W07"))
	s.onPut.Store(nil)
	require.Equal(t, "client_offboarded", got[leaves].Reason, "%+v", got[leaves])
	require.Empty(t, s.mailTo("leaves-regen@example.test"))

	res := runClient(t, s, report.ClientInput{ClientID: leaves, Week: "2026-W07", Regenerate: true})
	require.False(t, res.Email.Sent, "a regenerate without email sends nothing: %+v", res.Email)
	require.Empty(t, s.mailTo("leaves-regen@example.test"), "no email to the offboarded client")
	d, err := s.st.GetReportDelivery(t.Context(), leaves, "2026-W07")
	require.NoError(t, err)
	require.Equal(t, 0, d.SendsDone)

	// The admin's send is the admin's call: it goes out, once.
	res = runClient(t, s, report.ClientInput{ClientID: leaves, Week: "2026-W07", EnsureSends: d.SendsDone + 1})
	require.True(t, res.Email.Sent, "%+v", res.Email)
	require.Len(t, s.mailTo("leaves-regen@example.test"), 1)
}

// TestClientWhoseReportsAreTurnedOffDuringTheWeeklyRunIsNotEmailed: an admin turns a client's
// weekly reports off (report settings `enabled: false`, its recipients kept) while the weekly run
// is under way (listed while on; the run can wait hours for the week's KPIs, days for a service
// that is down). The run does not email the report, as it does not a client offboarded meanwhile,
// and asks for no send: the zone's next run does not list the client either. Before, the email
// step checked only whether the client had left, and the client that had asked to get no more
// reports got this one. An admin's resend still sends it.
func TestClientWhoseReportsAreTurnedOffDuringTheWeeklyRunIsNotEmailed(t *testing.T) {
	const zone = "Europe/Zurich"
	stays, off := unique("stays"), unique("off")
	s := newStack(t, "")
	s.seedClient(stays, zone, "stays-on@example.test")
	s.seedClient(off, zone, "off@example.test")
	ctx := t.Context()
	hook := func(key string) {
		if strings.HasPrefix(key, "reports/"+off+"/") {
			settings, err := s.st.GetReportSettings(ctx, off)
			if err == nil {
				settings.Enabled = false
				_, err = s.st.PutReportSettings(ctx, settings)
			}
			if err != nil {
				t.Errorf("turn off reports of %s: %v", off, err) // an activity's goroutine: no FailNow
			}
		}
	}
	s.onPut.Store(&hook)
	got := outcomes(s.runWeekly(zone, "2026-W07"))
	s.onPut.Store(nil)
	require.Equal(t, "sent", got[stays].Status, "%+v", got[stays])
	require.Len(t, s.mailTo("stays-on@example.test"), 1)
	require.Equal(t, "not_sent", got[off].Status, "%+v", got[off])
	require.Equal(t, "reports_disabled", got[off].Reason)
	require.Empty(t, s.mailTo("off@example.test"), "no email to a client whose reports were turned off")

	res := runClient(t, s, report.ClientInput{ClientID: off, Week: "2026-W07", Regenerate: true})
	require.False(t, res.Email.Sent, "a regenerate without email sends nothing: %+v", res.Email)
	res = runClient(t, s, report.ClientInput{ClientID: off, Week: "2026-W07", EnsureSends: 1})
	require.True(t, res.Email.Sent, "an admin's send goes out: %+v", res.Email)
	require.Len(t, s.mailTo("off@example.test"), 1)
}

// offboardOnPut offboards client once its report is generated (put in S3), before the run emails
// it; the caller clears the hook (s.onPut.Store(nil)) when its run is over.
func offboardOnPut(t *testing.T, s *stack, client string) {
	hook := func(key string) {
		if strings.HasPrefix(key, "reports/"+client+"/") {
			if _, err := s.st.SetClientStatus(context.Background(), client, store.ClientOffboarded); err != nil {
				t.Errorf("offboard %s: %v", client, err) // an activity's goroutine: no FailNow
			}
		}
	}
	s.onPut.Store(&hook)
}
