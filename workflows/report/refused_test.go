package report_test

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"paysplit/workflows/report"
)

// envelopeTo counts the messages the SMTP server took for addr (RCPT TO accepted, DATA taken):
// who actually got a mail, whatever its To header lists.
func (s *stack) envelopeTo(addr string) int {
	n := 0
	for _, m := range s.box.Messages() {
		if slices.Contains(m.To, addr) {
			n++
		}
	}
	return n
}

// TestWeeklyReportGoesToTheRecipientsTheServerAccepts: the client's accountant's address went
// stale (550 no such mailbox). The owner still gets the week's report, the run counts it as sent,
// and the delivery record says which recipient was refused (its position in the client's
// recipients, never the address) so an admin sees it. Before, the one refusal failed the whole
// send: nobody got the report, week after week.
func TestWeeklyReportGoesToTheRecipientsTheServerAccepts(t *testing.T) {
	const zone = "Europe/Lisbon"
	id := unique("stale-accountant")
	owner, gone := "owner@"+id+".test", "accountant@"+id+".test"
	s := newStack(t, "")
	s.seedClient(id, zone, owner, gone)
	s.box.RejectRecipients(func(addr string) (int, string) {
		if addr == gone {
			return 550, "5.1.1 <" + addr + ">: no such mailbox"
		}
		return 0, ""
	})

	got := outcomes(s.runWeekly(zone, "2026-W07"))[id]
	require.Equal(t, 1, s.envelopeTo(owner), "the owner gets the week's report (outcome %+v)", got)
	require.Equal(t, 0, s.envelopeTo(gone))
	require.Equal(t, report.ClientOutcome{ClientID: id, Status: "sent"}, got)

	d, err := s.st.GetReportDelivery(t.Context(), id, "2026-W07")
	require.NoError(t, err)
	require.Equal(t, 1, d.SendsDone, "the send is made once the server took the message")
	require.Equal(t, 1, d.Recipients, "one recipient got it")
	require.Equal(t, []int{1}, d.RefusedRecipients, "the second recipient was refused")

	// The week's second run sends nothing more: not to the owner again, not to the stale address.
	again := outcomes(s.runWeekly(zone, "2026-W07"))[id]
	require.Equal(t, "already_sent", again.Reason)
	require.Equal(t, 1, s.envelopeTo(owner))
}
