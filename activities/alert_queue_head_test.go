package activities_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paysplit/activities"
	"paysplit/internal/alert"
	"paysplit/internal/mailer/mailbox"
)

// refusingHook is a webhook receiver that answers 410 to the deliveries in refuse (a payload it
// will not take: refused for good) and takes every other, counting what it took.
type refusingHook struct {
	srv    *httptest.Server
	mu     sync.Mutex
	refuse map[string]bool
	took   map[string]int
}

func newRefusingHook(t *testing.T) *refusingHook {
	h := &refusingHook{refuse: map[string]bool{}, took: map[string]int{}}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		defer h.mu.Unlock()
		id := r.Header.Get(alert.DeliveryHeader)
		if h.refuse[id] {
			http.Error(w, "gone", http.StatusGone)
			return
		}
		h.took[id]++
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *refusingHook) refuses(id int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.refuse[fmt.Sprint(id)] = true
}

func (h *refusingHook) tookOf(id int64) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.took[fmt.Sprint(id)]
}

// TestAlertsRefusedAtTheQueueHeadDoNotStarveNewerOnes: a round tried the oldest queued messages,
// as many as its batch. Messages the webhook refused for good wait for email, and while the mail
// server asks to try later they are neither delivered nor given up: with more of them than a
// batch at the head of the queue, every round took the same batch, had nothing to send of it but
// one try of the mail server, and never reached the newer alerts, which the webhook would have
// taken, until email came back or 48 hours passed. Messages with nothing left to try this round
// (every channel they wait for refused or is down) no longer fill the batch: the newer alert is
// posted in the next round, and the waiting ones are mailed once the server takes mail again.
func TestAlertsRefusedAtTheQueueHeadDoNotStarveNewerOnes(t *testing.T) {
	const batch = 5
	f := newGaveUpFixture(t)
	hook := newRefusingHook(t)
	box, err := mailbox.Listen("127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = box.Close() })
	tryLater := func(string) (int, string) { return 451, "4.3.0 try again later" }
	box.RejectRecipients(tryLater)
	f.a.Webhook = &alert.Webhook{URL: hook.srv.URL, Secret: "s"}
	f.a.Email = &alert.SMTP{Addr: box.Addr(), From: "alerts@paysplit.test", To: []string{"oncall@paysplit.test"}, Timeout: 5 * time.Second}
	round := func() error {
		_, err := f.env.ExecuteActivity(f.a.DeliverAlerts, activities.DeliverAlertsInput{Limit: batch})
		return err
	}

	var head []int64
	for i := range batch + 1 {
		id := f.queue(t, fmt.Sprintf("refused %d", i), []string{"payment-1"})
		hook.refuses(id)
		head = append(head, id)
	}
	require.Error(t, round(), "the mail server asks to try later")
	require.Error(t, round())
	newer := f.queue(t, "newer", []string{"payment-2"})
	for range 3 {
		require.Error(t, round(), "email still waits")
	}
	require.Equal(t, 1, hook.tookOf(newer), "the newer alert is posted while the refused ones wait for email")
	for _, id := range head {
		o := f.outbox(t, id)
		require.NotNil(t, o.WebhookRefusal, "message %d: the webhook refused it", id)
		require.False(t, o.GaveUp || o.Delivered, "message %d waits for email", id)
	}

	box.RejectRecipients(nil)
	for range 2 { // a batch at a time
		require.NoError(t, round(), "the refused ones are mailed, and given up for the webhook's refusal")
	}
	for _, id := range head {
		o := f.outbox(t, id)
		require.True(t, o.EmailSent && o.GaveUp, "message %d: mailed, given up by the webhook: %+v", id, o)
	}
	require.Equal(t, outbox{Delivered: true, WebhookSent: true, EmailSent: true}, f.outbox(t, newer))
	require.Len(t, box.Messages(), batch+2)
}
