package monitor_test

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"paysplit/internal/ledger"
	"paysplit/internal/monitor"
	"paysplit/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

var seq atomic.Int64

func unique(prefix string) string {
	return fmt.Sprintf("%s-%d-%d", prefix, time.Now().UnixNano(), seq.Add(1))
}

type fixture struct {
	store  *monitor.Store
	ledger *ledger.Ledger
}

func newFixture(t *testing.T) fixture {
	t.Helper()
	pool, _ := testenv.Postgres(t)
	l := ledger.New(pool)
	return fixture{store: monitor.NewStore(pool, l), ledger: l}
}

// evaluate is one scheduled evaluation of m at the given time: observe, judge, record.
func (f fixture) evaluate(t *testing.T, m monitor.Monitor, at time.Time) (monitor.Result, monitor.Outcome) {
	t.Helper()
	obs, err := f.store.Observe(t.Context(), m, at)
	require.NoError(t, err)
	r := monitor.Evaluate(m, obs, at)
	out, err := f.store.Apply(t.Context(), m.ID, r, at)
	require.NoError(t, err)
	return r, out
}

func (f fixture) alerts(t *testing.T, monitorID int64) []monitor.Alert {
	t.Helper()
	as, err := f.store.Alerts(t.Context(), monitor.AlertFilter{MonitorID: monitorID})
	require.NoError(t, err)
	return as
}

// notifications lists every queued message of a monitor, delivered or not.
func (f fixture) notifications(t *testing.T, monitorID int64) []monitor.Notification {
	t.Helper()
	pending, err := f.store.Pending(t.Context(), 1000, time.Time{}, 0)
	require.NoError(t, err)
	var out []monitor.Notification
	for _, n := range pending {
		if n.MonitorID == monitorID {
			out = append(out, n)
		}
	}
	return out
}

func events(ns []monitor.Notification) []monitor.Event {
	var out []monitor.Event
	for _, n := range ns {
		out = append(out, n.Event)
	}
	return out
}

// A vendor payable stays above the line for longer than the window: one alert, one message,
// however often the schedule evaluates it; paying the vendor resolves it with one more message.
func TestBalanceMonitorFiresOnceAndResolves(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	vendor := unique("vendor")
	m, err := f.store.Create(ctx, monitor.Monitor{Name: unique("owed"), Kind: monitor.KindBalanceAbove,
		Params: monitor.Params{Account: ledger.VendorPayable(vendor), Currency: "usd", Threshold: 500, Days: 2}}, "test")
	require.NoError(t, err)
	assert.Equal(t, monitor.SideCredit, m.Params.Side)

	_, _, err = f.ledger.Post(ctx, ledger.Entry{IdempotencyKey: unique("sale"), Currency: "usd", Postings: []ledger.Posting{
		{Account: ledger.ProviderBalance("stripe"), Amount: 1_000},
		{Account: ledger.PlatformRevenue, Amount: -100},
		{Account: ledger.VendorPayable(vendor), Amount: -900},
	}})
	require.NoError(t, err)

	// Owed 9.00 > 5.00 now, but not for two days yet.
	r, out := f.evaluate(t, m, time.Now())
	assert.Equal(t, monitor.StatusOK, r.Status, r.Summary)
	assert.Equal(t, monitor.ActionNone, out.Action)
	assert.Empty(t, f.alerts(t, m.ID))

	// Evaluations days later, well inside one UTC day so they share a period.
	later := monitor.PeriodStart(time.Now().Add(72*time.Hour), monitor.DefaultPeriod).Add(time.Hour)
	r, out = f.evaluate(t, m, later)
	require.Equal(t, monitor.StatusFiring, r.Status, r.Summary)
	assert.EqualValues(t, 900, r.Value)
	assert.Equal(t, monitor.ActionOpen, out.Action)
	assert.NotZero(t, out.NotificationID)
	for i := range 3 {
		_, again := f.evaluate(t, m, later.Add(time.Duration(i+1)*time.Minute))
		assert.Equal(t, monitor.ActionKeep, again.Action)
		assert.Equal(t, out.AlertID, again.AlertID, "the same incident")
		assert.Zero(t, again.NotificationID, "no second message in the period")
	}
	alerts := f.alerts(t, m.ID)
	require.Len(t, alerts, 1, "fires once")
	assert.Equal(t, monitor.AlertFiring, alerts[0].State)
	assert.Contains(t, alerts[0].Summary, "has been above 5.00 USD")
	assert.Equal(t, []monitor.Event{monitor.EventFiring}, events(f.notifications(t, m.ID)))

	got, err := f.store.Get(ctx, m.ID)
	require.NoError(t, err)
	assert.Equal(t, monitor.StatusFiring, got.LastStatus)
	require.NotNil(t, got.LastEvaluatedAt)

	// The vendor is paid: the payable is back to zero.
	_, _, err = f.ledger.Post(ctx, ledger.Entry{IdempotencyKey: unique("transfer"), Currency: "usd", Postings: []ledger.Posting{
		{Account: ledger.VendorPayable(vendor), Amount: 900},
		{Account: ledger.ProviderBalance("stripe"), Amount: -900},
	}})
	require.NoError(t, err)
	r, out = f.evaluate(t, m, later.Add(time.Hour))
	assert.Equal(t, monitor.StatusOK, r.Status, r.Summary)
	assert.Equal(t, monitor.ActionResolve, out.Action)
	assert.NotZero(t, out.NotificationID)
	_, out = f.evaluate(t, m, later.Add(2*time.Hour))
	assert.Equal(t, monitor.ActionNone, out.Action)

	alerts = f.alerts(t, m.ID)
	require.Len(t, alerts, 1, "resolving reuses the incident")
	assert.Equal(t, monitor.AlertResolved, alerts[0].State)
	require.NotNil(t, alerts[0].ResolvedAt)
	assert.Equal(t, []monitor.Event{monitor.EventFiring, monitor.EventResolved}, events(f.notifications(t, m.ID)))
}

func TestHeldLegMonitorReadsPayments(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	pool, _ := testenv.Postgres(t)
	client := unique("client")
	m, err := f.store.Create(ctx, monitor.Monitor{Name: unique("holds"), Kind: monitor.KindHeldLegAge,
		Params: monitor.Params{Days: 3, ClientID: client}}, "test")
	require.NoError(t, err)

	now := time.Now()
	insert := func(id, status string, legState string, since time.Time, clientID string) {
		insertPayment(t, pool, id, status, legState, since, clientID)
	}
	old, paidWithHeldAffiliate := unique("payment-stripe-old"), unique("payment-stripe-mixed")
	insert(old, "held", "held", now.Add(-5*24*time.Hour), client)
	insert(paidWithHeldAffiliate, "paid", "held", now.Add(-4*24*time.Hour), client)
	insert(unique("payment-stripe-new"), "held", "held", now.Add(-time.Hour), client)
	insert(unique("payment-stripe-paid"), "paid", "transferred", now.Add(-9*24*time.Hour), client)
	insert(unique("payment-stripe-other"), "held", "held", now.Add(-9*24*time.Hour), unique("other-client"))

	r, out := f.evaluate(t, m, now)
	require.Equal(t, monitor.StatusFiring, r.Status, r.Summary)
	assert.Equal(t, []string{old, paidWithHeldAffiliate}, r.Subjects, "oldest first, this client's only")
	assert.Equal(t, monitor.ActionOpen, out.Action)
}

// insertPayment stores a payment row with one vendor leg in legState, last saved at since.
func insertPayment(t *testing.T, pool *pgxpool.Pool, id, status, legState string, since time.Time, clientID string) {
	t.Helper()
	_, err := pool.Exec(t.Context(), `INSERT INTO payments (workflow_id, provider, payment_id, client_id, status, state, updated_at, status_since)
		VALUES ($1, 'stripe', $1, $2, $3, $4, $5, $5)`, id, clientID, status,
		fmt.Sprintf(`{"legs": [{"party": "vendor", "state": %q}]}`, legState), since)
	require.NoError(t, err)
}

// payoutFailedMonitor is a payout_failed_age monitor of 24 hours on a client of its own.
func payoutFailedMonitor(t *testing.T, f fixture) (m monitor.Monitor, client string) {
	t.Helper()
	client = unique("client")
	m, err := f.store.Create(t.Context(), monitor.Monitor{Name: unique("owed"), Kind: monitor.KindPayoutFailedAge,
		Params: monitor.Params{Hours: 24, ClientID: client}}, "test")
	require.NoError(t, err)
	return m, client
}

// The payout_failed monitor reads the payments left payout_failed (a failed payout waiting for
// a decision, or a movement due) longer than its hours, this client's only.
func TestPayoutFailedMonitorReadsPayments(t *testing.T) {
	f := newFixture(t)
	pool, _ := testenv.Postgres(t)
	m, client := payoutFailedMonitor(t, f)
	now := time.Now()
	old, older := unique("payment-stripe-due"), unique("payment-stripe-failed")
	insertPayment(t, pool, old, "payout_failed", "transferred", now.Add(-30*time.Hour), client)
	insertPayment(t, pool, older, "payout_failed", "failed", now.Add(-50*time.Hour), client)
	insertPayment(t, pool, unique("payment-stripe-recent"), "payout_failed", "failed", now.Add(-time.Hour), client)
	insertPayment(t, pool, unique("payment-stripe-paid"), "paid", "transferred", now.Add(-90*time.Hour), client)
	insertPayment(t, pool, unique("payment-stripe-other"), "payout_failed", "failed", now.Add(-90*time.Hour), unique("other-client"))

	r, out := f.evaluate(t, m, now)
	require.Equal(t, monitor.StatusFiring, r.Status, r.Summary)
	assert.Equal(t, []string{older, old}, r.Subjects, "oldest first, this client's only")
	assert.Equal(t, monitor.ActionOpen, out.Action)
}

// The inbox monitor reads the events still waiting for Temporal, oldest first; forwarded ones
// do not count.
func TestInboxMonitorReadsWaitingEvents(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	pool, _ := testenv.Postgres(t)
	m, err := f.store.Create(ctx, monitor.Monitor{Name: unique("inbox"), Kind: monitor.KindWebhookInboxAge,
		Params: monitor.Params{Minutes: 10}}, "test")
	require.NoError(t, err)
	now := time.Now()
	insert := func(id string, received time.Time, forwarded bool) {
		var at *time.Time
		if forwarded {
			at = &now
		}
		_, err := pool.Exec(ctx, `INSERT INTO webhook_inbox (provider, event_id, payment_id, task_queue, event, received_at, forwarded_at)
			VALUES ('stripe', $1, 'pi_1', 'payments', '{}', $2, $3)`, id, received, at)
		require.NoError(t, err)
	}
	stuck, recent := unique("evt_stuck"), unique("evt_recent")
	insert(unique("evt_done"), now.Add(-time.Hour), true)
	insert(recent, now.Add(-time.Minute), false)
	insert(stuck, now.Add(-30*time.Minute), false)

	r, out := f.evaluate(t, m, now)
	require.Equal(t, monitor.StatusFiring, r.Status, r.Summary)
	assert.Equal(t, []string{"stripe/" + stuck}, r.Subjects, "only what waited too long")
	assert.EqualValues(t, 2, r.Value, "both waiting events count, the forwarded one does not")
	assert.Equal(t, monitor.ActionOpen, out.Action)

	_, err = pool.Exec(ctx, `UPDATE webhook_inbox SET forwarded_at = now() WHERE event_id = $1`, stuck)
	require.NoError(t, err)
	r, out = f.evaluate(t, m, now)
	require.Equal(t, monitor.StatusOK, r.Status, r.Summary)
	assert.Equal(t, monitor.ActionResolve, out.Action)
}

// Reconciliation drift reads the latest run per provider, where the reconciliation tables exist.
func TestReconciliationMonitorReadsLatestRuns(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	pool, _ := testenv.Postgres(t)
	m, err := f.store.Create(ctx, monitor.Monitor{Name: unique("drift"), Kind: monitor.KindReconciliationDrift}, "test")
	require.NoError(t, err)

	var exists bool
	require.NoError(t, pool.QueryRow(ctx, `SELECT to_regclass('reconciliation_runs') IS NOT NULL`).Scan(&exists))
	if !exists {
		r, _ := f.evaluate(t, m, time.Now())
		assert.Equal(t, monitor.StatusUnavailable, r.Status, r.Summary)
		return
	}
	provider := unique("prov")
	run := func(end time.Time, drifts ...string) {
		var id int64
		require.NoError(t, pool.QueryRow(ctx, `INSERT INTO reconciliation_runs (provider, window_start, window_end, drift_count)
			VALUES ($1, $2, $3, $4) RETURNING id`, provider, end.Add(-time.Hour), end, len(drifts)).Scan(&id))
		for _, p := range drifts {
			_, err := pool.Exec(ctx, `INSERT INTO reconciliation_drifts (run_id, payment, payee_id, currency, kind, ledger_amount, provider_amount)
				VALUES ($1, $2, 'v1', 'usd', 'amount_differs', 100, 90)`, id, p)
			require.NoError(t, err)
		}
	}
	now := time.Now()
	run(now.Add(-2*time.Hour), "payment-stripe-old")
	run(now.Add(-time.Hour), "payment-stripe-a", "payment-stripe-b")
	r, _ := f.evaluate(t, m, now)
	require.Equal(t, monitor.StatusFiring, r.Status, r.Summary)
	assert.Subset(t, r.Subjects, []string{"payment-stripe-a", "payment-stripe-b"})
	assert.NotContains(t, r.Subjects, "payment-stripe-old", "only the latest run counts")

	run(now) // the next run is clean
	obs, err := f.store.Observe(ctx, m, now)
	require.NoError(t, err)
	for _, rr := range obs.Recon {
		if rr.Provider == provider {
			assert.Zero(t, rr.Drifts)
		}
	}
}

// The state machine against the database: each incident is announced once when it opens and
// once when it resolves, however often it is evaluated in a period, also when it flaps (before
// 2026-11-27 a flap's new incident was deduplicated against the first one's messages:
// TestApplyAnnouncesAReFireInTheSamePeriod); an incident still firing in a later period is
// reminded once.
func TestApplyDeduplicatesPerIncidentAndPeriod(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	m, err := f.store.Create(ctx, monitor.Monitor{Name: unique("flappy"), Kind: monitor.KindHeldLegAge,
		Period: time.Hour, Params: monitor.Params{Days: 1}}, "test")
	require.NoError(t, err)
	firing := monitor.Result{Status: monitor.StatusFiring, Summary: "bad", Value: 1, Subjects: []string{"payment-stripe-x"}}
	ok := monitor.Result{Status: monitor.StatusOK, Summary: "fine"}
	unknown := monitor.Result{Status: monitor.StatusUnavailable, Summary: "no data"}
	hour := monitor.PeriodStart(time.Now(), time.Hour)

	steps := []struct {
		at         time.Time
		r          monitor.Result
		wantAction monitor.Action
		wantNotify bool
	}{
		{hour.Add(1 * time.Minute), firing, monitor.ActionOpen, true},
		{hour.Add(2 * time.Minute), firing, monitor.ActionKeep, false},
		{hour.Add(3 * time.Minute), unknown, monitor.ActionNone, false},
		{hour.Add(4 * time.Minute), ok, monitor.ActionResolve, true},
		{hour.Add(5 * time.Minute), firing, monitor.ActionOpen, true}, // flapped: a new incident
		{hour.Add(6 * time.Minute), ok, monitor.ActionResolve, true},
		{hour.Add(7 * time.Minute), firing, monitor.ActionOpen, true},
		{hour.Add(8 * time.Minute), firing, monitor.ActionKeep, false},
		{hour.Add(61 * time.Minute), firing, monitor.ActionKeep, true}, // next period: reminder
		{hour.Add(62 * time.Minute), firing, monitor.ActionKeep, false},
	}
	for i, s := range steps {
		out, err := f.store.Apply(ctx, m.ID, s.r, s.at)
		require.NoError(t, err)
		assert.Equal(t, s.wantAction, out.Action, "step %d", i)
		assert.Equal(t, s.wantNotify, out.NotificationID != 0, "step %d notification", i)
	}
	alerts := f.alerts(t, m.ID)
	require.Len(t, alerts, 3, "three incidents")
	assert.Equal(t, monitor.AlertFiring, alerts[0].State)
	assert.Equal(t, monitor.AlertResolved, alerts[1].State)
	assert.Equal(t, monitor.AlertResolved, alerts[2].State)
	ns := f.notifications(t, m.ID)
	assert.Equal(t, []monitor.Event{monitor.EventFiring, monitor.EventResolved, monitor.EventFiring, monitor.EventResolved,
		monitor.EventFiring, monitor.EventFiring}, events(ns))
	var periods []time.Time
	for _, n := range ns {
		periods = append(periods, n.PeriodStart.UTC())
	}
	assert.Equal(t, []time.Time{hour, hour, hour.Add(5 * time.Minute), hour.Add(6 * time.Minute), hour.Add(7 * time.Minute), hour.Add(time.Hour)},
		periods, "the period's first message of each event has its start, a later incident's the time it was evaluated")
}

// The schedule, an activity retry and an admin may evaluate the same monitor at once.
func TestApplyConcurrentlyOpensOneIncident(t *testing.T) {
	const evaluators = 12
	f := newFixture(t)
	ctx := t.Context()
	m, err := f.store.Create(ctx, monitor.Monitor{Name: unique("busy"), Kind: monitor.KindHeldLegAge, Params: monitor.Params{Days: 1}}, "test")
	require.NoError(t, err)
	at := time.Now()

	outs := make([]monitor.Outcome, evaluators)
	errs := make([]error, evaluators)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range evaluators {
		wg.Go(func() {
			<-start
			outs[i], errs[i] = f.store.Apply(ctx, m.ID, monitor.Result{Status: monitor.StatusFiring, Summary: "bad"}, at)
		})
	}
	close(start)
	wg.Wait()

	opened, notified := 0, 0
	for i := range evaluators {
		require.NoError(t, errs[i])
		if outs[i].Action == monitor.ActionOpen {
			opened++
		}
		if outs[i].NotificationID != 0 {
			notified++
		}
	}
	assert.Equal(t, 1, opened)
	assert.Equal(t, 1, notified)
	assert.Len(t, f.alerts(t, m.ID), 1)
	assert.Len(t, f.notifications(t, m.ID), 1)
}

func TestMonitorLifecycle(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	name := unique("lifecycle")
	m, err := f.store.Create(ctx, monitor.Monitor{Name: name, Kind: monitor.KindHeldLegAge, Params: monitor.Params{Days: 2}}, "admin")
	require.NoError(t, err)
	assert.Equal(t, "admin", m.CreatedBy)

	_, err = f.store.Create(ctx, monitor.Monitor{Name: name, Kind: monitor.KindHeldLegAge}, "admin")
	require.ErrorIs(t, err, monitor.ErrInvalid, "names are unique among live monitors")
	accented := unique("café")
	_, err = f.store.Create(ctx, monitor.Monitor{Name: accented, Kind: monitor.KindHeldLegAge, Params: monitor.Params{Days: 2}}, "admin")
	require.NoError(t, err)
	_, err = f.store.Create(ctx, monitor.Monitor{Name: strings.Replace(accented, "é", "e\u0301", 1), Kind: monitor.KindHeldLegAge, Params: monitor.Params{Days: 2}}, "admin")
	require.ErrorIs(t, err, monitor.ErrInvalid, "the same name typed in NFD is the same name")
	_, err = f.store.Create(ctx, monitor.Monitor{Name: unique("bad"), Kind: "vibes"}, "admin")
	require.ErrorIs(t, err, monitor.ErrInvalid)

	list, err := f.store.List(ctx)
	require.NoError(t, err)
	assert.True(t, containsMonitor(list, m.ID))
	chain, err := f.store.System(ctx, monitor.KindLedgerChain)
	require.NoError(t, err)
	assert.True(t, chain.System)
	assert.True(t, containsMonitor(list, chain.ID), "the system's chain monitor is listed")

	out, err := f.store.Apply(ctx, m.ID, monitor.Result{Status: monitor.StatusFiring, Summary: "bad"}, time.Now())
	require.NoError(t, err)
	require.Equal(t, monitor.ActionOpen, out.Action)

	require.NoError(t, f.store.Delete(ctx, m.ID, time.Now()))
	alerts := f.alerts(t, m.ID)
	require.Len(t, alerts, 1)
	assert.Equal(t, monitor.AlertResolved, alerts[0].State, "deleting resolves the open incident")
	_, err = f.store.Get(ctx, m.ID)
	require.ErrorIs(t, err, monitor.ErrNotFound)
	require.ErrorIs(t, f.store.Delete(ctx, m.ID, time.Now()), monitor.ErrNotFound)
	require.ErrorIs(t, f.store.Delete(ctx, chain.ID, time.Now()), monitor.ErrSystem)

	again, err := f.store.Create(ctx, monitor.Monitor{Name: name, Kind: monitor.KindHeldLegAge}, "admin")
	require.NoError(t, err, "a deleted monitor's name is free again")
	assert.NotEqual(t, m.ID, again.ID)
}

func TestOutboxTracksChannels(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	m, err := f.store.Create(ctx, monitor.Monitor{Name: unique("outbox"), Kind: monitor.KindHeldLegAge}, "test")
	require.NoError(t, err)
	out, err := f.store.Apply(ctx, m.ID, monitor.Result{Status: monitor.StatusFiring, Summary: "bad", Subjects: []string{"s1"}}, time.Now())
	require.NoError(t, err)
	find := func() (monitor.Notification, bool) {
		pending, err := f.store.Pending(ctx, 1000, time.Time{}, 0)
		require.NoError(t, err)
		for _, n := range pending {
			if n.ID == out.NotificationID {
				return n, true
			}
		}
		return monitor.Notification{}, false
	}

	n, ok := find()
	require.True(t, ok)
	assert.Equal(t, monitor.EventFiring, n.Event)
	assert.Equal(t, m.Name, n.MonitorName)
	assert.Equal(t, []string{"s1"}, n.Subjects)
	assert.False(t, n.Sent[monitor.ChannelWebhook])

	require.NoError(t, f.store.MarkSent(ctx, n.ID, monitor.ChannelWebhook, time.Now()))
	// A server's reply in another encoding, or with a NUL, is the reason still: recorded, not refused.
	require.NoError(t, f.store.Finish(ctx, n.ID, false, "smtp: 554 Zustellung abgelehnt: Gr\xfc\xdfe\x00", time.Now()))
	n, ok = find()
	require.True(t, ok, "still pending after a failed attempt")
	assert.True(t, n.Sent[monitor.ChannelWebhook], "the webhook is not sent twice")
	assert.False(t, n.Sent[monitor.ChannelEmail])
	assert.Equal(t, 1, n.Attempts)

	require.NoError(t, f.store.MarkSent(ctx, n.ID, monitor.ChannelEmail, time.Now()))
	require.NoError(t, f.store.Finish(ctx, n.ID, true, "", time.Now()))
	_, ok = find()
	assert.False(t, ok, "delivered messages leave the outbox")
	require.ErrorIs(t, f.store.MarkSent(ctx, n.ID, "pigeon", time.Now()), monitor.ErrInvalid)
	require.ErrorIs(t, f.store.Refuse(ctx, n.ID, "pigeon", "no", time.Now()), monitor.ErrInvalid)
}

// A channel that refused a message for good is recorded with the first reason; once no channel is
// left to try, the message is given up: neither delivered nor pending.
func TestOutboxGivesUpARefusedMessage(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	m, err := f.store.Create(ctx, monitor.Monitor{Name: unique("refused"), Kind: monitor.KindHeldLegAge}, "test")
	require.NoError(t, err)
	out, err := f.store.Apply(ctx, m.ID, monitor.Result{Status: monitor.StatusFiring, Summary: "bad"}, time.Now())
	require.NoError(t, err)
	id := out.NotificationID
	pending := func() (monitor.Notification, bool) {
		ns, err := f.store.Pending(ctx, 1000, time.Time{}, 0)
		require.NoError(t, err)
		for _, n := range ns {
			if n.ID == id {
				return n, true
			}
		}
		return monitor.Notification{}, false
	}

	require.NoError(t, f.store.Refuse(ctx, id, monitor.ChannelWebhook, "webhook answered 410 Gone\x00\xff", time.Now()))
	require.NoError(t, f.store.Refuse(ctx, id, monitor.ChannelWebhook, "webhook answered 404 Not Found", time.Now()))
	require.NoError(t, f.store.Finish(ctx, id, false, "email: try again later", time.Now()))
	n, ok := pending()
	require.True(t, ok, "the email is still to be tried")
	assert.True(t, n.Refused[monitor.ChannelWebhook])
	assert.False(t, n.Refused[monitor.ChannelEmail])

	require.NoError(t, f.store.MarkSent(ctx, id, monitor.ChannelEmail, time.Now()))
	require.NoError(t, f.store.Finish(ctx, id, true, "", time.Now()))
	_, ok = pending()
	assert.False(t, ok, "nothing is left to try")
	var delivered, gaveUp bool
	var reason string
	pool, _ := testenv.Postgres(t)
	require.NoError(t, pool.QueryRow(ctx, `SELECT delivered_at IS NOT NULL, given_up_at IS NOT NULL, webhook_refusal
		FROM alert_notifications WHERE id = $1`, id).Scan(&delivered, &gaveUp, &reason))
	assert.False(t, delivered, "the webhook never took it")
	assert.True(t, gaveUp)
	assert.Equal(t, "webhook answered 410 Gone\uFFFD", reason, "the first refusal's reason, made storable")
}

func containsMonitor(ms []monitor.Monitor, id int64) bool {
	for _, m := range ms {
		if m.ID == id {
			return true
		}
	}
	return false
}

// TestApplyAnnouncesAReFireInTheSamePeriod: an incident that resolves and a new one that opens in
// the same period (the default is a day). The on-call admin got FIRING, then RESOLVED; the new
// incident's message was deduplicated against the first's, so the last word they had was
// "resolved" while the monitor was firing again, until the next period's reminder. Each incident
// is announced when it opens and when it resolves; repeats of one incident's state in a period
// are still one message.
func TestApplyAnnouncesAReFireInTheSamePeriod(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	m, err := f.store.Create(ctx, monitor.Monitor{Name: unique("refire"), Kind: monitor.KindHeldLegAge,
		Period: 24 * time.Hour, Params: monitor.Params{Days: 1}}, "test")
	require.NoError(t, err)
	firing := monitor.Result{Status: monitor.StatusFiring, Summary: "bad", Value: 1, Subjects: []string{"payment-stripe-x"}}
	ok := monitor.Result{Status: monitor.StatusOK, Summary: "fine"}
	day := monitor.PeriodStart(time.Now(), 24*time.Hour)

	steps := []struct {
		at         time.Time
		r          monitor.Result
		wantNotify bool
	}{
		{day.Add(1 * time.Hour), firing, true},
		{day.Add(2 * time.Hour), ok, true},
		{day.Add(3 * time.Hour), firing, true}, // fires again: the admin's last word was "resolved"
		{day.Add(4 * time.Hour), firing, false},
		{day.Add(5 * time.Hour), ok, true},
	}
	for i, s := range steps {
		out, err := f.store.Apply(ctx, m.ID, s.r, s.at)
		require.NoError(t, err)
		assert.Equal(t, s.wantNotify, out.NotificationID != 0, "step %d notification", i)
	}
	ns := f.notifications(t, m.ID)
	require.Equal(t, []monitor.Event{monitor.EventFiring, monitor.EventResolved, monitor.EventFiring, monitor.EventResolved}, events(ns))
	alerts := f.alerts(t, m.ID)
	require.Len(t, alerts, 2)
	assert.Equal(t, []int64{alerts[1].ID, alerts[1].ID, alerts[0].ID, alerts[0].ID},
		[]int64{ns[0].AlertID, ns[1].AlertID, ns[2].AlertID, ns[3].AlertID}, "each message is about its own incident")
}
