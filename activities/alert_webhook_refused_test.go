package activities_test

import (
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"paysplit/internal/alert"
	"paysplit/internal/mailer/mailbox"
)

// TestAlertWebhookRefusedForGoodIsNotTriedAgain: a webhook answering 4xx (a revoked Slack or
// Teams URL answers 404 or 410, a payload it will not take 400) refuses the message for good
// (alert.ErrPermanent), except 408 and 429 (and 401 and 403: our credential), which ask to try later, as do 5xx. Before, the round
// never looked at ErrPermanent: a 4xx was retried with backoff, then every round for 48 hours.
// A refusal for good is now recorded (webhook_refused_at), logged at error level, and the round
// fails without a retry; no later round posts the message again. The others are tried again.
func TestAlertWebhookRefusedForGoodIsNotTriedAgain(t *testing.T) {
	tests := []struct {
		status    int
		permanent bool
	}{
		{http.StatusBadRequest, true},
		{http.StatusNotFound, true},
		{http.StatusGone, true},
		{http.StatusRequestTimeout, false},
		{http.StatusUnauthorized, false}, // our secret set wrong: mended by a setting
		{http.StatusForbidden, false},
		{http.StatusTooManyRequests, false},
		{http.StatusServiceUnavailable, false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.status), func(t *testing.T) {
			f := newGaveUpFixture(t)
			h := newCountingHook(t, tt.status)
			f.a.Webhook = &alert.Webhook{URL: h.srv.URL, Secret: "whsec-gave-up-test-0123456789", Client: h.srv.Client()}
			id := f.queue(t, "held legs", []string{"payment-1"})

			err := f.round()
			require.Error(t, err)
			require.Contains(t, err.Error(), fmt.Sprint(tt.status))
			var app *temporal.ApplicationError
			retryable := !errors.As(err, &app) || !app.NonRetryable()
			require.Equal(t, !tt.permanent, retryable, "retried: %v", err)

			err = f.round()
			o := f.outbox(t, id)
			require.False(t, o.Delivered)
			if tt.permanent {
				require.NoError(t, err, "nothing is left to try")
				require.Equal(t, 1, h.hitsOf(id), "a message the webhook refused for good is not posted again")
				require.True(t, o.GaveUp)
				require.NotNil(t, o.WebhookRefusal, "the webhook gave up on it")
				require.Contains(t, *o.WebhookRefusal, fmt.Sprint(tt.status), "the reason is kept")
				require.True(t, f.errorLogged(t, id, fmt.Sprint(tt.status)), "logged at error level:\n%s", f.logs.String())
				return
			}
			require.Error(t, err)
			require.Equal(t, 2, h.hitsOf(id), "a %d is tried again", tt.status)
			require.False(t, o.GaveUp)
			require.Nil(t, o.WebhookRefusal)
		})
	}
}

// TestAlertChannelGaveUpLeavesTheOtherChannel: the webhook refuses a message for good (410: its
// URL was revoked) while the SMTP server asks to try later. The next round mails it, and does not
// post it to the webhook again; the message is then neither delivered (the webhook never took it)
// nor tried again on either channel.
func TestAlertChannelGaveUpLeavesTheOtherChannel(t *testing.T) {
	f := newGaveUpFixture(t)
	h := newCountingHook(t, http.StatusGone)
	f.a.Webhook = &alert.Webhook{URL: h.srv.URL, Secret: "whsec-gave-up-test-0123456789", Client: h.srv.Client()}
	box, err := mailbox.Listen("127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = box.Close() })
	box.RejectRecipients(func(string) (int, string) { return 451, "4.3.0 try again later" })
	f.a.Email = &alert.SMTP{Addr: box.Addr(), From: "alerts@paysplit.test", To: []string{"oncall@paysplit.test"}, Timeout: 5 * time.Second}
	id := f.queue(t, "held legs", []string{"payment-1"})

	err = f.round()
	require.Error(t, err)
	var app *temporal.ApplicationError
	require.False(t, errors.As(err, &app) && app.NonRetryable(), "the email is worth a retry: %v", err)
	require.Equal(t, 1, h.hitsOf(id))
	require.Empty(t, box.Messages())

	box.RejectRecipients(nil)
	require.NoError(t, f.round())
	require.Len(t, box.Messages(), 1, "email carries on")
	require.Equal(t, 1, h.hitsOf(id), "the webhook that gave up is not posted again")

	require.NoError(t, f.round())
	require.Len(t, box.Messages(), 1, "nothing left to try")
	require.Equal(t, 1, h.hitsOf(id))
	o := f.outbox(t, id)
	require.True(t, o.EmailSent)
	require.False(t, o.Delivered, "the webhook never took it")
	require.True(t, o.GaveUp)
	require.NotNil(t, o.WebhookRefusal)
	require.Contains(t, *o.WebhookRefusal, "410")
}
