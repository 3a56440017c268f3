package report_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"

	"paysplit/activities"
	"paysplit/internal/mailer"
	"paysplit/internal/mailer/mailbox"
	"paysplit/internal/money"
	"paysplit/internal/objstore"
	"paysplit/internal/objstore/objstoretest"
	"paysplit/internal/payment"
	ireport "paysplit/internal/report"
	"paysplit/internal/split"
	"paysplit/internal/store"
	"paysplit/testenv"
	"paysplit/workflows/report"
)

func TestMain(m *testing.M) { testenv.Main(m) }

var seq atomic.Int64

func unique(prefix string) string {
	return fmt.Sprintf("%s-%d-%d", prefix, time.Now().UnixNano()%1_000_000_000, seq.Add(1))
}

// refusingFiles is S3 refusing one client's uploads outright (a bucket policy, say): that client
// fails for good, which must not hold back the others. onPut, when set, sees each upload first:
// something that happens while a run is between generating a report and emailing it.
type refusingFiles struct {
	*objstore.Store
	clientID string
	onPut    *atomic.Pointer[func(key string)]
}

func (f refusingFiles) Put(ctx context.Context, o objstore.Object) error {
	if hook := f.onPut.Load(); hook != nil {
		(*hook)(o.Key)
	}
	if strings.HasPrefix(o.Key, "reports/"+f.clientID+"/") {
		return temporal.NewNonRetryableApplicationError("access denied to "+o.Key, "AccessDenied", nil)
	}
	return f.Store.Put(ctx, o)
}

// stack is a worker serving the report workflows against real Postgres, Temporal, an S3-API
// server and an SMTP server.
type stack struct {
	t         *testing.T
	st        *store.Store
	tc        client.Client
	taskQueue string
	s3        *objstoretest.Server
	files     *objstore.Store
	box       *mailbox.Server
	// weeklyID is the workflow ID of the latest runWeekly.
	weeklyID string
	// onPut runs before each upload of a report file (refusingFiles.onPut).
	onPut atomic.Pointer[func(key string)]
}

func newStack(t *testing.T, refuseClient string) *stack {
	t.Helper()
	pool, _ := testenv.Postgres(t)
	tc := testenv.TemporalClient(t)
	s3 := objstoretest.Start(t)
	files := s3.Bucket(t, "paysplit-reports")
	box, err := mailbox.Listen("127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = box.Close() })

	s := &stack{t: t, st: store.New(pool), tc: tc, taskQueue: unique("reports"), s3: s3, files: files, box: box}
	w := worker.New(tc, s.taskQueue, testenv.WorkerOptions())
	report.Register(w)
	w.RegisterActivity(&activities.Reports{
		Store: s.st,
		Files: refusingFiles{Store: files, clientID: refuseClient, onPut: &s.onPut},
		Mail:  &mailer.SMTP{Addr: box.Addr(), From: "paysplit reports <reports@paysplit.test>", TLS: mailer.TLSNone, Timeout: 10 * time.Second},
	})
	require.NoError(t, w.Start())
	t.Cleanup(w.Stop)
	return s
}

// seedClient creates a client with two weeks of KPIs before and in 2026-W07 and payments
// around that week's edges in zone.
func (s *stack) seedClient(id, zone string, recipients ...string) {
	t, ctx := s.t, s.t.Context()
	_, _, err := s.st.UpsertClient(ctx, store.Client{ID: id, Name: "Shop " + id, DefaultCurrency: money.EUR})
	require.NoError(t, err)
	_, err = s.st.PutReportSettings(ctx, store.ReportSettings{ClientID: id, TimeZone: zone, Recipients: recipients, Enabled: true})
	require.NoError(t, err)
	w := ireport.Week{Year: 2026, Week: 7}
	for i, day := range append(w.Prev().Days(), w.Days()...) {
		require.NoError(t, s.st.UpsertKPIDay(ctx, store.KPIDay{ClientID: id, Day: day, Visitors: int64(1000 + 10*i),
			NewVisitors: int64(600 + i), Sessions: int64(1200 + i), BounceRateBps: 4000, Revenue: int64(100_000 + 1000*i), Currency: money.EUR}))
	}
	loc, err := time.LoadLocation(zone)
	require.NoError(t, err)
	captures := []time.Time{
		w.Start(loc).Add(30 * time.Minute),              // Monday 00:30 local: in the week
		w.Start(loc).Add(3*24*time.Hour + 14*time.Hour), // Thursday afternoon
		w.End(loc).Add(-time.Minute),                    // Sunday 23:59 local
		w.End(loc).Add(30 * time.Minute),                // next Monday 00:30 local: not in the week
		w.Start(loc).Add(-time.Hour),                    // the week before
	}
	for i, at := range captures {
		wf := fmt.Sprintf("payment-test-%s-%d", id, i)
		require.NoError(t, s.st.SavePayment(ctx, payment.Record{
			WorkflowID: wf, Provider: "stripe", PaymentID: wf, Currency: money.EUR, Gross: 10_000, Status: payment.StatusPaid,
			Order: payment.Order{ClientID: id, OrderID: wf, VendorID: id + "-vendor", Platform: "shopify", Subtotal: 10_000},
			Legs: []payment.Leg{
				{Party: split.PartyPlatform, PayeeID: "platform", Amount: 1_000, State: payment.LegRetained},
				{Party: split.PartyVendor, PayeeID: id + "-vendor", Amount: 8_500, Transferred: 8_500, State: payment.LegTransferred},
				{Party: split.PartyAffiliate, PayeeID: id + "-aff", Amount: 500, State: payment.LegHeld, Reason: "payee account not verified"},
			},
			CapturedAt: at,
		}))
	}
}

func (s *stack) runWeekly(zone, week string) report.WeeklyResult {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(s.t.Context(), 2*time.Minute)
	defer cancel()
	s.weeklyID = unique("weekly-test")
	run, err := s.tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: s.weeklyID, TaskQueue: s.taskQueue},
		report.WeeklyWorkflowName, report.WeeklyInput{TimeZone: zone, Week: week})
	require.NoError(s.t, err)
	var res report.WeeklyResult
	require.NoError(s.t, run.Get(ctx, &res))
	return res
}

// record saves the latest run of workflow id for the replay tests (replay_test.go) when
// RECORD_HISTORY is set (`make record-histories`).
func (s *stack) record(name, id string) {
	s.t.Helper()
	if os.Getenv("RECORD_HISTORY") == "" {
		return
	}
	testenv.RecordHistory(s.t, s.tc, id, name)
}

func outcomes(res report.WeeklyResult) map[string]report.ClientOutcome {
	out := map[string]report.ClientOutcome{}
	for _, o := range res.Outcomes {
		out[o.ClientID] = o
	}
	return out
}

func (s *stack) mailTo(addr string) []mailbox.Parsed {
	s.t.Helper()
	var out []mailbox.Parsed
	for _, m := range s.box.Messages() {
		p, err := mailbox.Parse(m.Data)
		require.NoError(s.t, err)
		for _, to := range p.To {
			if to == addr {
				out = append(out, p)
			}
		}
	}
	return out
}

func TestWeeklyReportsEndToEnd(t *testing.T) {
	const zone = "Pacific/Auckland"
	good, broken, silent := unique("good"), unique("broken"), unique("silent")
	s := newStack(t, broken)
	s.seedClient(good, zone, "Owner@Example.test", "finance@example.test")
	s.seedClient(broken, zone, "broken@example.test")
	s.seedClient(silent, zone) // no recipients yet
	ctx := t.Context()

	// First run: the good client gets its report, the broken one fails alone.
	res := s.runWeekly(zone, "2026-W07")
	require.Equal(t, "2026-W07", res.Week)
	got := outcomes(res)
	require.Equal(t, "sent", got[good].Status, "%+v", got[good])
	require.Equal(t, "failed", got[broken].Status)
	require.Contains(t, got[broken].Error, "access denied")
	require.Equal(t, "not_sent", got[silent].Status)
	require.Equal(t, "no_recipients", got[silent].Reason)
	s.record("weekly.json", s.weeklyID)
	s.record("client_sent.json", report.ClientWorkflowID(good, "2026-W07"))
	s.record("client_failed.json", report.ClientWorkflowID(broken, "2026-W07"))

	// The file is in S3: private, encrypted at rest, typed, where the issue says.
	key := "reports/" + good + "/2026-W07.pdf"
	info, err := s.files.Head(ctx, key)
	require.NoError(t, err)
	require.Equal(t, "application/pdf", info.ContentType)
	stored, err := s.files.Get(ctx, key)
	require.NoError(t, err)
	require.True(t, bytes.HasPrefix(stored, []byte("%PDF-")))
	var sse []string
	for _, h := range s.s3.Puts() {
		sse = append(sse, h.Get("X-Amz-Server-Side-Encryption"))
	}
	require.NotEmpty(t, sse)
	for _, v := range sse {
		require.Equal(t, "AES256", v, "every upload asks for server-side encryption")
	}
	putsAfterFirstRun := len(s.s3.Puts())

	// The mail reached the SMTP server with the stored PDF attached and the headline numbers.
	mails := s.mailTo("owner@example.test")
	require.Len(t, mails, 1)
	m := mails[0]
	require.ElementsMatch(t, []string{"owner@example.test", "finance@example.test"}, m.To)
	require.Contains(t, m.Subject, "2026-W07")
	require.Equal(t, "report-"+good+"-2026-W07-1@paysplit.reports", m.MessageID)
	require.Len(t, m.Attachments, 1)
	require.Equal(t, "paysplit-report-"+good+"-2026-W07.pdf", m.Attachments[0].FileName)
	require.Equal(t, "application/pdf", m.Attachments[0].ContentType)
	require.Equal(t, stored, m.Attachments[0].Data, "the mail carries exactly the stored file")
	require.Contains(t, m.Text, "Sum of daily visitors:")
	require.Contains(t, m.Text, "7,700") // 1070+1080+...+1130 over the week's seven days
	require.Contains(t, m.HTML, "7,700")
	require.Empty(t, s.mailTo("broken@example.test"))

	// The week is cut at local midnight in the client's zone: 3 of the 5 payments are in it.
	d, err := s.st.GetReportDelivery(ctx, good, "2026-W07")
	require.NoError(t, err)
	require.Len(t, d.Data.Payments, 1)
	require.Equal(t, int64(3), d.Data.Payments[0].Count)
	require.Equal(t, int64(1), d.Data.PreviousPayments[0].Count)
	require.Equal(t, 1, d.SendsDone)
	require.Equal(t, 2, d.Recipients)
	listed, err := s.st.ListReports(ctx, good, "", 10)
	require.NoError(t, err)
	require.Len(t, listed, 1)
	require.Equal(t, key, listed[0].S3Key)

	// A second run sends nothing and uploads nothing.
	res = s.runWeekly(zone, "2026-W07")
	got = outcomes(res)
	require.Equal(t, "not_sent", got[good].Status)
	require.Equal(t, "already_sent", got[good].Reason)
	require.Len(t, s.mailTo("owner@example.test"), 1)
	require.Len(t, s.s3.Puts(), putsAfterFirstRun)

	// An admin's resend sends it again, with a new Message-ID.
	runClient(t, s, report.ClientInput{ClientID: good, Week: "2026-W07", EnsureSends: d.SendsDone + 1})
	mails = s.mailTo("owner@example.test")
	require.Len(t, mails, 2)
	require.Equal(t, "report-"+good+"-2026-W07-2@paysplit.reports", mails[1].MessageID)
	require.Equal(t, stored, mails[1].Attachments[0].Data)
	// The same resend request repeated (a retried API call) does not send a third time.
	res2 := runClient(t, s, report.ClientInput{ClientID: good, Week: "2026-W07", EnsureSends: d.SendsDone + 1})
	require.Equal(t, "already_sent", res2.Email.Reason)
	require.Len(t, s.mailTo("owner@example.test"), 2)

	// Recipients set later: the next run delivers the report the client never got.
	_, err = s.st.PutReportSettings(ctx, store.ReportSettings{ClientID: silent, TimeZone: zone, Recipients: []string{"late@example.test"}, Enabled: true})
	require.NoError(t, err)
	res = s.runWeekly(zone, "2026-W07")
	require.Equal(t, "sent", outcomes(res)[silent].Status)
	require.Len(t, s.mailTo("late@example.test"), 1)
	require.Len(t, s.mailTo("owner@example.test"), 2, "the good client is not sent a third time")
}

func TestRegenerateReplacesTheFileOnlyWhenTheDataChanged(t *testing.T) {
	const zone = "Asia/Kathmandu"
	id := unique("regen")
	s := newStack(t, "")
	s.seedClient(id, zone, "regen@example.test")
	ctx := t.Context()
	require.Equal(t, "sent", outcomes(s.runWeekly(zone, "2026-W07"))[id].Status)
	puts := len(s.s3.Puts())
	before, err := s.st.GetReportDelivery(ctx, id, "2026-W07")
	require.NoError(t, err)

	// Same data: the same bytes, so nothing is uploaded and nothing is sent.
	res := runClient(t, s, report.ClientInput{ClientID: id, Week: "2026-W07", Regenerate: true})
	require.True(t, res.Generate.Generated)
	require.Equal(t, before.SHA256, res.Generate.SHA256, "rendering is deterministic")
	require.False(t, res.Upload.Uploaded)
	require.Equal(t, "already_sent", res.Email.Reason)
	require.Len(t, s.s3.Puts(), puts)

	// Corrected KPIs: a new file replaces the old one under the same key; still no mail.
	require.NoError(t, s.st.UpsertKPIDay(ctx, store.KPIDay{ClientID: id, Day: time.Date(2026, 2, 11, 0, 0, 0, 0, time.UTC),
		Visitors: 99_999, NewVisitors: 10, Sessions: 1, BounceRateBps: 100, Revenue: 1, Currency: money.EUR}))
	res = runClient(t, s, report.ClientInput{ClientID: id, Week: "2026-W07", Regenerate: true})
	require.NotEqual(t, before.SHA256, res.Generate.SHA256)
	require.True(t, res.Upload.Uploaded)
	stored, err := s.files.Get(ctx, "reports/"+id+"/2026-W07.pdf")
	require.NoError(t, err)
	require.Equal(t, res.Generate.Bytes, len(stored))
	require.Len(t, s.mailTo("regen@example.test"), 1)
}

func runClient(t *testing.T, s *stack, in report.ClientInput) report.ClientResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	id, runID, err := report.StartClient(ctx, s.tc, s.taskQueue, in)
	require.NoError(t, err)
	var res report.ClientResult
	require.NoError(t, s.tc.GetWorkflow(ctx, id, runID).Get(ctx, &res))
	return res
}

func TestSchedulesPerTimeZone(t *testing.T) {
	s := newStack(t, "")
	ctx := t.Context()
	zoneA, zoneB := "America/Argentina/Buenos_Aires", "Australia/Eucla"
	require.NoError(t, report.EnsureSchedules(ctx, s.tc, s.taskQueue, []string{zoneA, zoneB}))
	require.NoError(t, report.EnsureSchedules(ctx, s.tc, s.taskQueue, []string{zoneA, zoneB}), "a second worker start finds them")
	require.NoError(t, report.EnsureZoneSchedule(ctx, s.tc, s.taskQueue, zoneA))

	desc, err := s.tc.ScheduleClient().GetHandle(ctx, report.ScheduleID(zoneA)).Describe(ctx)
	require.NoError(t, err)
	require.Equal(t, "weekly-reports-America.Argentina.Buenos_Aires", report.ScheduleID(zoneA))
	spec := desc.Schedule.Spec
	require.Equal(t, zoneA, spec.TimeZoneName)
	require.Len(t, spec.Calendars, 1)
	cal := spec.Calendars[0]
	require.Equal(t, []client.ScheduleRange{{Start: 1, End: 1, Step: 1}}, cal.DayOfWeek)
	require.Equal(t, []client.ScheduleRange{{Start: 6, End: 6, Step: 1}}, cal.Hour)
	require.Equal(t, []client.ScheduleRange{{Start: 0, End: 0, Step: 1}}, cal.Minute)
	// The next run is a Monday at 06:00 in the zone.
	loc, err := time.LoadLocation(zoneA)
	require.NoError(t, err)
	require.NotEmpty(t, desc.Info.NextActionTimes)
	next := desc.Info.NextActionTimes[0].In(loc)
	require.Equal(t, time.Monday, next.Weekday())
	require.Equal(t, 6, next.Hour())
	require.Equal(t, 0, next.Minute())

	// Triggered now, the schedule's run reports the week that ended before now in that zone.
	id := unique("sched")
	s.seedClient(id, zoneA, "sched@example.test")
	require.NoError(t, s.tc.ScheduleClient().GetHandle(ctx, report.ScheduleID(zoneA)).Trigger(ctx, client.ScheduleTriggerOptions{}))
	want := ireport.LastCompleteWeek(time.Now(), loc).String()
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		_, err := s.st.GetReportDelivery(ctx, id, want)
		assert.NoError(c, err)
		assert.Len(c, s.mailTo("sched@example.test"), 1)
	}, time.Minute, 200*time.Millisecond)

	// A zone whose schedule the API made a moment ago, for a client whose zone it has not saved
	// yet, keeps it when a worker starts without it.
	zoneC := "Pacific/Chatham"
	require.NoError(t, report.EnsureZoneSchedule(ctx, s.tc, s.taskQueue, zoneC))
	t.Cleanup(func() {
		_ = s.tc.ScheduleClient().GetHandle(context.Background(), report.ScheduleID(zoneC)).Delete(context.Background())
	})
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		listed := false
		it, err := s.tc.ScheduleClient().List(ctx, client.ScheduleListOptions{})
		require.NoError(c, err)
		for it.HasNext() {
			e, err := it.Next()
			require.NoError(c, err)
			listed = listed || e.ID == report.ScheduleID(zoneC)
		}
		assert.True(c, listed, "the listing shows the new schedule")
	}, 30*time.Second, 200*time.Millisecond)
	require.NoError(t, report.EnsureSchedules(ctx, s.tc, s.taskQueue, []string{zoneA, zoneB}))
	_, err = s.tc.ScheduleClient().GetHandle(ctx, report.ScheduleID(zoneC)).Describe(ctx)
	require.NoError(t, err, "a schedule made moments ago is not deleted as stale")

	// A zone nobody uses any more loses its schedule (once the schedule listing, which is
	// eventually consistent, shows it, and once it is older than a moment).
	report.SetStaleScheduleMinAge(t, 0)
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		assert.NoError(c, report.EnsureSchedules(ctx, s.tc, s.taskQueue, []string{zoneA}))
		_, err := s.tc.ScheduleClient().GetHandle(ctx, report.ScheduleID(zoneB)).Describe(ctx)
		assert.Error(c, err)
	}, 30*time.Second, 200*time.Millisecond)
	require.NoError(t, s.tc.ScheduleClient().GetHandle(ctx, report.ScheduleID(zoneA)).Delete(ctx))
}
