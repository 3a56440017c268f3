package server

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paysplit/internal/paypalevent"
)

// Every PayPal event carries its create_time, and the events the platform takes are dated by it:
// a capture's day (when its own create_time is missing or unusable), a refund figure's or a
// failed refund's time, a dispute's. An event without one was taken dated 0001-01-01: a capture
// counted in the KPIs of year 1 and missing from its real day, silently. It is refused 400 with
// the reason, as any malformed event is; an event type not taken is still ignored.
func TestPayPalEventWithoutItsTimeIsRefused(t *testing.T) {
	at := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	for name, body := range map[string][]byte{
		"capture": paypalevent.Capture{EventID: "WH-T1", CaptureID: "CAPT1", Currency: "usd", Amount: 1000,
			Metadata: map[string]string{"client_id": "c1"}, Created: at}.Body(),
		"refund":   paypalevent.Refund{EventID: "WH-T2", RefundID: "R1", CaptureID: "CAPT1", Currency: "usd", Amount: 100, TotalRefunded: 100, Created: at}.Body(),
		"reversal": paypalevent.Reversal{EventID: "WH-T3", ReversalID: "RV1", CaptureID: "CAPT1", Currency: "usd", Amount: 100, Created: at}.Body(),
		"dispute": paypalevent.Dispute{EventID: "WH-T4", Type: "CUSTOMER.DISPUTE.CREATED", DisputeID: "PP-D-1", CaptureID: "CAPT1",
			Currency: "usd", Amount: 100, Created: at}.Body(),
	} {
		t.Run(name, func(t *testing.T) {
			stamp := `"create_time":"` + at.Format(time.RFC3339) + `",`
			require.Contains(t, string(body), stamp)
			untimed := []byte(strings.Replace(string(body), stamp, "", 1))
			ev, _, _, err := paypalToEvent(untimed)
			require.ErrorContains(t, err, "create_time", "taken as of %s", ev.OccurredAt)
		})
	}
	other := []byte(`{"id":"WH-T5","event_type":"BILLING.SUBSCRIPTION.CREATED","resource":{}}`)
	_, _, _, err := paypalToEvent(other)
	require.ErrorIs(t, err, errIgnored)
}
