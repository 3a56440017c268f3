package activities_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"paysplit/activities"
	"paysplit/internal/alert"
	"paysplit/internal/ledger"
	"paysplit/internal/mailer/mailbox"
	"paysplit/internal/monitor"
	"paysplit/testenv"
)

// countingEmail counts the messages handed to the real SMTP sender it wraps, per delivery: the
// mailbox keeps only what it accepted, and a refused message must not be tried again.
type countingEmail struct {
	alert.EmailSender
	mu    sync.Mutex
	tries map[int64]int
}

func (c *countingEmail) SendEmail(ctx context.Context, m alert.Message) error {
	c.mu.Lock()
	c.tries[m.DeliveryID]++
	c.mu.Unlock()
	return c.EmailSender.SendEmail(ctx, m)
}

func (c *countingEmail) triesOf(id int64) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.tries[id]
}

// countingHook is a webhook receiver answering status to every POST, counting them per delivery.
type countingHook struct {
	srv    *httptest.Server
	mu     sync.Mutex
	status int
	hits   map[string]int
}

func newCountingHook(t *testing.T, status int) *countingHook {
	h := &countingHook{status: status, hits: map[string]int{}}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.hits[r.Header.Get(alert.DeliveryHeader)]++
		if h.status != http.StatusOK {
			http.Error(w, http.StatusText(h.status), h.status)
		}
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *countingHook) hitsOf(id int64) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.hits[fmt.Sprint(id)]
}

// gaveUpFixture is the integrity activities on a database of their own, logging to logs.
type gaveUpFixture struct {
	pool *pgxpool.Pool
	a    *activities.Integrity
	logs *testenv.LogBuffer
	env  *testsuite.TestActivityEnvironment
}

func newGaveUpFixture(t *testing.T) *gaveUpFixture {
	f := &gaveUpFixture{pool: testenv.OwnDatabase(t), logs: &testenv.LogBuffer{}}
	l := ledger.New(f.pool)
	f.a = &activities.Integrity{Ledger: l, Monitors: monitor.NewStore(f.pool, l)}
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(tlog.NewStructuredLogger(slog.New(slog.NewJSONHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	f.env = suite.NewTestActivityEnvironment()
	f.env.RegisterActivity(f.a)
	return f
}

func (f *gaveUpFixture) queue(t *testing.T, name string, subjects []string) int64 {
	t.Helper()
	ctx := t.Context()
	m, err := f.a.Monitors.Create(ctx, monitor.Monitor{Name: name, Kind: monitor.KindHeldLegAge}, "test")
	require.NoError(t, err)
	out, err := f.a.Monitors.Apply(ctx, m.ID, monitor.Result{Status: monitor.StatusFiring, Summary: name + " firing", Subjects: subjects}, time.Now())
	require.NoError(t, err)
	require.NotZero(t, out.NotificationID)
	return out.NotificationID
}

func (f *gaveUpFixture) round() error {
	_, err := f.env.ExecuteActivity(f.a.DeliverAlerts, activities.DeliverAlertsInput{})
	return err
}

// outbox is what alert_notifications says of one notification.
type outbox struct {
	Delivered, GaveUp, WebhookSent, EmailSent bool
	WebhookRefusal, EmailRefusal              *string
}

func (f *gaveUpFixture) outbox(t *testing.T, id int64) outbox {
	t.Helper()
	var o outbox
	require.NoError(t, f.pool.QueryRow(t.Context(), `
		SELECT delivered_at IS NOT NULL, given_up_at IS NOT NULL, webhook_sent_at IS NOT NULL, email_sent_at IS NOT NULL,
		       CASE WHEN webhook_refused_at IS NOT NULL THEN webhook_refusal END,
		       CASE WHEN email_refused_at IS NOT NULL THEN email_refusal END
		FROM alert_notifications WHERE id = $1`, id).
		Scan(&o.Delivered, &o.GaveUp, &o.WebhookSent, &o.EmailSent, &o.WebhookRefusal, &o.EmailRefusal))
	return o
}

// errorLogged says whether the worker logged, at error level, that a channel gave up on
// notification id for a reason containing reason.
func (f *gaveUpFixture) errorLogged(t *testing.T, id int64, reason string) bool {
	t.Helper()
	sc := bufio.NewScanner(strings.NewReader(f.logs.String()))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var line map[string]any
		if json.Unmarshal(sc.Bytes(), &line) != nil {
			continue
		}
		if line["level"] == "ERROR" && line["NotificationID"] == float64(id) && strings.Contains(sc.Text(), reason) {
			return true
		}
	}
	return false
}

func requireNotRetryable(t *testing.T, err error, wantIn string) {
	t.Helper()
	require.Error(t, err)
	require.Contains(t, err.Error(), wantIn)
	var app *temporal.ApplicationError
	require.True(t, errors.As(err, &app), "%v", err)
	require.True(t, app.NonRetryable(), "a retry is refused the same way: %v", err)
}

// TestAlertEmailRefusedForGoodIsNotTriedAgain: an alert email the SMTP server refused for good
// once it had read it (552: too large for it) is refused again however often it is sent (RFC
// 5321: a 5yz reply is not to be repeated). Before, nothing recorded that email gave up on it
// (delivered_at would have said it reached on-call), so every round for its 48 hours sent it again
// and was refused again. The refusal is now kept on the notification (email_refused_at, with the
// reason), logged at error level, and no later round tries it; the notification is given up, not
// delivered.
func TestAlertEmailRefusedForGoodIsNotTriedAgain(t *testing.T) {
	f := newGaveUpFixture(t)
	box, err := mailbox.Listen("127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = box.Close() })
	box.LimitMessageSize(16 << 10)
	mail := &countingEmail{EmailSender: &alert.SMTP{Addr: box.Addr(), From: "alerts@paysplit.test",
		To: []string{"oncall@paysplit.test"}, Timeout: 5 * time.Second}, tries: map[int64]int{}}
	f.a.Email = mail

	var subjects []string
	for i := range 50 {
		subjects = append(subjects, fmt.Sprintf("payment-%03d-%s", i, strings.Repeat("x", 400)))
	}
	refused := f.queue(t, "held legs (many)", subjects)
	next := f.queue(t, "held legs", []string{"payment-1"})

	requireNotRetryable(t, f.round(), "552")
	require.Len(t, box.Messages(), 1, "the alert after the refused one is mailed")
	require.Equal(t, 1, mail.triesOf(refused))

	require.NoError(t, f.round(), "nothing is left to try")
	require.Equal(t, 1, mail.triesOf(refused), "the message refused for good is not sent again")
	require.Equal(t, 1, mail.triesOf(next))
	require.Len(t, box.Messages(), 1)

	o := f.outbox(t, refused)
	require.False(t, o.Delivered, "it never reached on-call")
	require.True(t, o.GaveUp, "it is given up")
	require.False(t, o.EmailSent)
	require.NotNil(t, o.EmailRefusal, "email gave up on it")
	require.Contains(t, *o.EmailRefusal, "552", "the reason is kept")
	require.True(t, f.errorLogged(t, refused, "552"), "the refusal is logged at error level with the notification's id:\n%s", f.logs.String())
	require.Equal(t, outbox{Delivered: true, EmailSent: true}, f.outbox(t, next))
}
