package server

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paysplit/internal/paypalevent"
)

// TestPayPalCaptureTime: a completed capture counts as captured when PayPal made it (the
// capture's create_time, Transaction Search's transaction_initiation_date), not when the
// COMPLETED event came; without a usable create_time the event's time stands.
func TestPayPalCaptureTime(t *testing.T) {
	completed := time.Date(2026, 11, 21, 0, 30, 0, 0, time.UTC)
	made := time.Date(2026, 11, 20, 23, 30, 0, 0, time.UTC)
	resource := func(createTime string) map[string]any {
		r := map[string]any{"id": "CAPT1", "status": "COMPLETED", "amount": paypalevent.Amount(1000, "usd"),
			"custom_id": "client_id=c1&order_id=o1"}
		if createTime != "" {
			r["create_time"] = createTime
		}
		return r
	}
	for _, tt := range []struct {
		name string
		body []byte
		want time.Time
	}{
		{"pending first, completed after midnight", paypalevent.Capture{EventID: "WH-1", CaptureID: "CAPT1", Currency: "usd", Amount: 1000,
			Metadata: map[string]string{"client_id": "c1"}, Created: completed, Made: made}.Body(), made},
		{"completed at once", paypalevent.Capture{EventID: "WH-2", CaptureID: "CAPT1", Currency: "usd", Amount: 1000,
			Metadata: map[string]string{"client_id": "c1"}, Created: completed}.Body(), completed},
		{"no create_time", paypalevent.Build("WH-3", "PAYMENT.CAPTURE.COMPLETED", completed, resource("")), completed},
		{"unreadable create_time", paypalevent.Build("WH-4", "PAYMENT.CAPTURE.COMPLETED", completed, resource("yesterday")), completed},
		{"create_time after the event", paypalevent.Build("WH-5", "PAYMENT.CAPTURE.COMPLETED", completed,
			resource(completed.Add(time.Hour).Format(time.RFC3339))), completed},
		{"create_time with an offset", paypalevent.Build("WH-6", "PAYMENT.CAPTURE.COMPLETED", completed,
			resource("2026-11-20T15:30:00-08:00")), made},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ev, _, _, err := paypalToEvent(tt.body)
			require.NoError(t, err)
			require.Equal(t, tt.want, ev.OccurredAt)
		})
	}
}
