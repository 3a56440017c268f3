package integrity

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"

	"paysplit/activities"
	"paysplit/internal/alert"
	"paysplit/internal/ledger"
	"paysplit/internal/monitor"
	"paysplit/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

const webhookSecret = "integrity-test-secret"

var seq atomic.Int64

func unique(prefix string) string {
	return fmt.Sprintf("%s-%d-%d", prefix, time.Now().UnixNano(), seq.Add(1))
}

// ownDB is a migrated database for one test: these tests count every alert in it and tamper
// with its journal.
func ownDB(t *testing.T) *pgxpool.Pool {
	t.Helper()
	return testenv.OwnDatabase(t)
}

// hook is an alert receiver that checks signatures the way a customer's endpoint would.
type hook struct {
	srv  *httptest.Server
	mu   sync.Mutex
	msgs []alert.Message
	bad  int
}

func newHook(t *testing.T) *hook {
	h := &hook{}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		defer h.mu.Unlock()
		if err := alert.VerifySignature(webhookSecret, r.Header.Get(alert.SignatureHeader), body, time.Now(), alert.DefaultTolerance); err != nil {
			h.bad++
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		var m alert.Message
		if err := json.Unmarshal(body, &m); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		h.msgs = append(h.msgs, m)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hook) received() []alert.Message {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]alert.Message(nil), h.msgs...)
}

// inbox is an email channel that records, and fails while failing is set.
type inbox struct {
	mu       sync.Mutex
	msgs     []alert.Message
	failing  bool
	attempts int
}

func (b *inbox) SendEmail(_ context.Context, m alert.Message) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.attempts++
	if b.failing {
		return errors.New("smtp: 451 try again later")
	}
	b.msgs = append(b.msgs, m)
	return nil
}

func (b *inbox) received() []alert.Message {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]alert.Message(nil), b.msgs...)
}

func integrityActivities(pool *pgxpool.Pool, h *hook, mail *inbox) *activities.Integrity {
	l := ledger.New(pool)
	a := &activities.Integrity{Ledger: l, Monitors: monitor.NewStore(pool, l)}
	if h != nil {
		a.Webhook = &alert.Webhook{URL: h.srv.URL, Secret: webhookSecret, Client: h.srv.Client()}
	}
	if mail != nil {
		a.Email = mail
	}
	return a
}

func startWorker(t *testing.T, c client.Client, queue string, a *activities.Integrity) {
	t.Helper()
	w := worker.New(c, queue, testenv.WorkerOptions())
	Register(w)
	w.RegisterActivity(a)
	require.NoError(t, w.Start())
	t.Cleanup(w.Stop)
}

func run(t *testing.T, c client.Client, queue string, in Input) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	wr, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: unique("integrity"), TaskQueue: queue}, WorkflowName, in)
	require.NoError(t, err)
	var res Result
	require.NoError(t, wr.Get(ctx, &res))
	return res
}

func events(ms []alert.Message) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.MonitorName+"/"+m.Event)
	}
	return out
}

// The whole path on real servers: a monitor fires, the chain is tampered with, the vendor is
// paid; each change reaches the signed webhook and email exactly once, however many rounds run.
func TestIntegrityRoundsEndToEnd(t *testing.T) {
	pool := ownDB(t)
	c := testenv.TemporalClient(t)
	h, mail := newHook(t), &inbox{}
	queue := unique("integrity")
	startWorker(t, c, queue, integrityActivities(pool, h, mail))
	ctx := t.Context()
	l := ledger.New(pool)
	store := monitor.NewStore(pool, l)

	var entries []ledger.Entry
	for i := range 3 {
		e, _, err := l.Post(ctx, ledger.Entry{IdempotencyKey: unique("sale"), Currency: "usd", Postings: []ledger.Posting{
			{Account: ledger.ProviderBalance("stripe"), Amount: int64(1_000 * (i + 1))},
			{Account: ledger.VendorPayable("v1"), Amount: -int64(1_000 * (i + 1))},
		}})
		require.NoError(t, err)
		entries = append(entries, e)
	}
	owed, err := store.Create(ctx, monitor.Monitor{Name: "v1 owed", Kind: monitor.KindBalanceAbove,
		Params: monitor.Params{Account: ledger.VendorPayable("v1"), Currency: "usd", Threshold: 5_000}}, "test")
	require.NoError(t, err)

	// Round 1: chain intact, v1 is owed 60.00 > 50.00.
	res := run(t, c, queue, Input{VerifyChain: true, EvaluateMonitors: true})
	require.NotNil(t, res.Chain)
	assert.True(t, res.Chain.OK, "%+v", res.Chain.Break)
	assert.EqualValues(t, 3, res.Chain.Entries)
	assert.Equal(t, entries[2].Hash, res.Chain.Head.Hash)
	require.NotNil(t, res.Monitors)
	assert.Equal(t, 1, res.Monitors.Opened)
	assert.Equal(t, 1, res.Alerts.Delivered)
	assert.Equal(t, []string{"v1 owed/firing"}, events(h.received()))
	assert.Equal(t, []string{"v1 owed/firing"}, events(mail.received()))
	assert.Equal(t, owed.ID, h.received()[0].MonitorID)

	// Round 2: nothing changed, nothing sent.
	res = run(t, c, queue, Input{VerifyChain: true, EvaluateMonitors: true})
	assert.Zero(t, res.Alerts.Delivered)
	assert.Len(t, h.received(), 1, "no duplicate alert")

	// Someone edits a posting behind the ledger's back.
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		for _, stmt := range []string{
			"ALTER TABLE postings DISABLE TRIGGER postings_append_only",
			fmt.Sprintf("UPDATE postings SET amount = amount - 1 WHERE entry_id = %d AND amount < 0", entries[1].ID),
			"ALTER TABLE postings ENABLE TRIGGER postings_append_only",
		} {
			if _, err := tx.Exec(ctx, stmt); err != nil {
				return err
			}
		}
		return nil
	})
	require.NoError(t, err)

	for range 2 {
		res = run(t, c, queue, Input{VerifyChain: true})
		require.NotNil(t, res.Chain)
		assert.False(t, res.Chain.OK)
		require.NotNil(t, res.Chain.Break)
		assert.Equal(t, entries[1].ID, res.Chain.Break.EntryID, "exactly the edited entry")
	}
	msgs := h.received()
	assert.Equal(t, []string{"v1 owed/firing", "ledger chain/firing"}, events(msgs), "the break is announced once")
	assert.Contains(t, msgs[1].Summary, fmt.Sprintf("broken at entry %d", entries[1].ID))
	assert.Equal(t, []string{fmt.Sprintf("journal_entry:%d", entries[1].ID)}, msgs[1].Subjects)

	// v1 is paid out: the monitor resolves, once.
	_, _, err = l.Post(ctx, ledger.Entry{IdempotencyKey: unique("payout"), Currency: "usd", Postings: []ledger.Posting{
		{Account: ledger.VendorPayable("v1"), Amount: 6_000}, {Account: ledger.ProviderBalance("stripe"), Amount: -6_000},
	}})
	require.NoError(t, err)
	for range 2 {
		run(t, c, queue, Input{EvaluateMonitors: true})
	}
	assert.Equal(t, []string{"v1 owed/firing", "ledger chain/firing", "v1 owed/resolved"}, events(h.received()))
	assert.Equal(t, events(h.received()), events(mail.received()), "email gets the same messages")
	h.mu.Lock()
	assert.Zero(t, h.bad, "every delivery carried a valid signature")
	h.mu.Unlock()

	alerts, err := store.Alerts(ctx, monitor.AlertFilter{})
	require.NoError(t, err)
	require.Len(t, alerts, 2)
	byMonitor := map[string]monitor.AlertState{}
	for _, a := range alerts {
		byMonitor[a.MonitorName] = a.State
	}
	assert.Equal(t, map[string]monitor.AlertState{"v1 owed": monitor.AlertResolved, "ledger chain": monitor.AlertFiring}, byMonitor)
}

// A channel that took a message is not sent it again when another channel's failure makes the
// activity retry.
func TestDeliverAlertsRetriesOnlyFailedChannels(t *testing.T) {
	pool := ownDB(t)
	h, mail := newHook(t), &inbox{failing: true}
	a := integrityActivities(pool, h, mail)
	ctx := t.Context()
	for _, name := range []string{"holds", "more holds"} {
		m, err := a.Monitors.Create(ctx, monitor.Monitor{Name: name, Kind: monitor.KindHeldLegAge}, "test")
		require.NoError(t, err)
		_, err = a.Monitors.Apply(ctx, m.ID, monitor.Result{Status: monitor.StatusFiring, Summary: "held"}, time.Now())
		require.NoError(t, err)
	}

	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.RegisterActivity(a)
	deliver := func() (activities.DeliverAlertsOutput, error) {
		v, err := env.ExecuteActivity(act.DeliverAlerts, activities.DeliverAlertsInput{})
		var out activities.DeliverAlertsOutput
		if v != nil {
			require.NoError(t, v.Get(&out))
		}
		return out, err
	}

	_, err := deliver()
	require.Error(t, err, "email is down")
	assert.Contains(t, err.Error(), "try again later")
	assert.Len(t, h.received(), 2, "the webhook took both")
	assert.Empty(t, mail.received())
	mail.mu.Lock()
	assert.Equal(t, 1, mail.attempts, "a channel that failed is not tried again in the same round")
	mail.failing = false
	mail.mu.Unlock()

	out, err := deliver()
	require.NoError(t, err)
	assert.Equal(t, 2, out.Delivered)
	assert.Len(t, h.received(), 2, "not sent to the webhook twice")
	assert.Len(t, mail.received(), 2)

	out, err = deliver()
	require.NoError(t, err)
	assert.Zero(t, out.Delivered, "nothing left")
}

func TestEvaluateMonitorsRecordsFailuresAndGoesOn(t *testing.T) {
	pool := ownDB(t)
	a := integrityActivities(pool, nil, nil)
	ctx := t.Context()
	kinds := []monitor.Monitor{
		{Name: "holds", Kind: monitor.KindHeldLegAge, Params: monitor.Params{Days: 1}},
		{Name: "owed", Kind: monitor.KindPayoutFailedAge, Params: monitor.Params{Hours: 24}},
		{Name: "drift", Kind: monitor.KindReconciliationDrift},
		{Name: "kpi", Kind: monitor.KindKPISyncStale, Params: monitor.Params{Hours: 6}},
		{Name: "inbox", Kind: monitor.KindWebhookInboxAge, Params: monitor.Params{Minutes: 15}},
	}
	for _, m := range kinds {
		_, err := a.Monitors.Create(ctx, m, "test")
		require.NoError(t, err)
	}
	// A definition the API would refuse, written straight to the table: it cannot be observed.
	var brokenID int64
	require.NoError(t, pool.QueryRow(ctx, `INSERT INTO monitors (name, kind, params)
		VALUES ('broken', 'balance_above', '{"account": "a", "currency": "zzz"}') RETURNING id`).Scan(&brokenID))

	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.RegisterActivity(a)
	v, err := env.ExecuteActivity(act.EvaluateMonitors, activities.EvaluateMonitorsInput{})
	require.NoError(t, err)
	var out activities.EvaluateMonitorsOutput
	require.NoError(t, v.Get(&out))
	assert.Equal(t, 5, out.Evaluated, "the system's chain monitor is left to verification")
	assert.Equal(t, 2, out.Unavailable, "drift and KPI have no data yet")
	assert.Zero(t, out.Firing)
	require.Len(t, out.Failed, 1)
	assert.Contains(t, out.Failed[0], "broken")

	ms, err := a.Monitors.List(ctx)
	require.NoError(t, err)
	for _, m := range ms {
		if m.System {
			continue
		}
		require.NotNil(t, m.LastEvaluatedAt, m.Name)
		assert.NotEmpty(t, m.LastSummary, m.Name)
		if m.ID == brokenID {
			assert.Equal(t, monitor.StatusError, m.LastStatus)
			continue
		}
		switch m.Kind {
		case monitor.KindHeldLegAge, monitor.KindPayoutFailedAge, monitor.KindWebhookInboxAge:
			assert.Equal(t, monitor.StatusOK, m.LastStatus, m.Name)
		default:
			assert.Equal(t, monitor.StatusUnavailable, m.LastStatus, m.Name)
			assert.True(t, strings.Contains(m.LastSummary, "not available") || strings.Contains(m.LastSummary, " yet"), m.LastSummary)
		}
	}
}
