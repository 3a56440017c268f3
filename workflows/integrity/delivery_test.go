package integrity

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"paysplit/activities"
	"paysplit/internal/alert"
	"paysplit/internal/monitor"
)

// slowMail takes a while per message, like a real SMTP server, and records what it got.
type slowMail struct {
	mu   sync.Mutex
	got  map[int64]int
	fail bool
}

func (s *slowMail) SendEmail(_ context.Context, m alert.Message) error {
	time.Sleep(300 * time.Millisecond)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail {
		return assert.AnError
	}
	s.got[m.DeliveryID]++
	return nil
}

func deliverOnce(t *testing.T, a *activities.Integrity) (activities.DeliverAlertsOutput, error) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.RegisterActivity(a)
	v, err := env.ExecuteActivity(act.DeliverAlerts, activities.DeliverAlertsInput{})
	var out activities.DeliverAlertsOutput
	if v != nil {
		_ = v.Get(&out)
	}
	return out, err
}

// oneAlertQueued is the integrity activities on a database of their own, mailing through mail, with
// one firing alert's message queued; it returns them and the message's ID.
func oneAlertQueued(t *testing.T, mail *slowMail) (*activities.Integrity, int64) {
	t.Helper()
	a := integrityActivities(ownDB(t), nil, nil)
	a.Email = mail
	m, err := a.Monitors.Create(t.Context(), monitor.Monitor{Name: unique("held"), Kind: monitor.KindHeldLegAge}, "test")
	require.NoError(t, err)
	out, err := a.Monitors.Apply(t.Context(), m.ID, monitor.Result{Status: monitor.StatusFiring, Summary: "held"}, time.Now())
	require.NoError(t, err)
	require.NotZero(t, out.NotificationID)
	return a, out.NotificationID
}

// Two integrity runs deliver at once (the daily schedule and the monitors schedule both fire at
// 03:00 with the default cron and 15m interval; or an activity retry after a timeout): each
// queued message must still be sent once.
func TestConcurrentDeliveryRoundsSendEachAlertOnce(t *testing.T) {
	mail := &slowMail{got: map[int64]int{}}
	a, notification := oneAlertQueued(t, mail)

	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() { defer wg.Done(); _, _ = deliverOnce(t, a) }()
	}
	wg.Wait()
	mail.mu.Lock()
	defer mail.mu.Unlock()
	assert.Equal(t, 1, mail.got[notification], "the same alert email was sent %d times", mail.got[notification])
}

// An alert receiver that is down for a while (an SMTP outage of ~75 minutes at the default
// 15m monitor interval: 5 runs x 4 activity attempts, which used to use up a message's tries)
// must not lose the alert for good: once it is back, the queued message is delivered.
func TestAlertDeliveredAfterReceiverOutage(t *testing.T) {
	mail := &slowMail{got: map[int64]int{}, fail: true}
	a, notification := oneAlertQueued(t, mail)
	for range 20 { // 20 failed activity attempts = 5 workflow runs of 4 attempts
		_, err := deliverOnce(t, a)
		require.Error(t, err)
	}
	mail.mu.Lock()
	mail.fail = false
	mail.mu.Unlock()
	res, err := deliverOnce(t, a)
	require.NoError(t, err)
	mail.mu.Lock()
	defer mail.mu.Unlock()
	assert.Equal(t, 1, mail.got[notification], "firing alert never delivered after the receiver came back (delivered this round: %d)", res.Delivered)
}
