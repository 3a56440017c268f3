package server

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paysplit/internal/paypalevent"
	"paysplit/workflows/payment"
)

// PayPal's dispute events open and close a dispute; only a reversal takes money, in the capture's
// currency, keyed by the reversal's own ID.
func TestPayPalDisputeEvents(t *testing.T) {
	at := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	dispute := func(typ, outcome string) []byte {
		return paypalevent.Dispute{EventID: "WH-" + outcome, Type: typ, DisputeID: "PP-D-9", CaptureID: "CAP9",
			Currency: "jpy", Amount: 4100, Outcome: outcome, Created: at}.Body()
	}
	tests := []struct {
		name   string
		body   []byte
		kind   payment.EventKind
		status string
		amount int64
		id     string
	}{
		{"opened", dispute("CUSTOMER.DISPUTE.CREATED", ""), payment.EventDisputeCreated, "", 4100, "PP-D-9"},
		{"lost: closes, takes nothing", dispute("CUSTOMER.DISPUTE.RESOLVED", "RESOLVED_BUYER_FAVOUR"), payment.EventDisputeClosed, "resolved_buyer_favour", 4100, "PP-D-9"},
		{"won", dispute("CUSTOMER.DISPUTE.RESOLVED", "RESOLVED_SELLER_FAVOUR"), payment.EventDisputeClosed, "resolved_seller_favour", 4100, "PP-D-9"},
		{"paid by PayPal", dispute("CUSTOMER.DISPUTE.RESOLVED", "RESOLVED_WITH_PAYOUT"), payment.EventDisputeClosed, "resolved_with_payout", 4100, "PP-D-9"},
		{"cancelled by the buyer", dispute("CUSTOMER.DISPUTE.RESOLVED", "CANCELED_BY_BUYER"), payment.EventDisputeClosed, "canceled_by_buyer", 4100, "PP-D-9"},
		{"reversed: the money", paypalevent.Reversal{EventID: "WH-R", ReversalID: "REV9", CaptureID: "CAP9", Currency: "usd", Amount: 3000, Created: at}.Body(),
			payment.EventDisputeClosed, "lost", 3000, "REV9"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, capture, _, err := paypalToEvent(tt.body)
			require.NoError(t, err)
			require.Equal(t, "CAP9", capture)
			require.Equal(t, tt.kind, ev.Kind)
			require.Equal(t, tt.status, ev.DisputeStatus)
			require.Equal(t, tt.amount, ev.Amount)
			require.Equal(t, tt.id, ev.DisputeID)
			require.True(t, ev.OccurredAt.Equal(at))
		})
	}
	_, _, _, err := paypalToEvent(paypalevent.Build("WH-X", "CUSTOMER.DISPUTE.RESOLVED", at, map[string]any{"dispute_id": "PP-D-9"}))
	require.ErrorContains(t, err, "disputed transaction")
}

// A PAYMENT.CAPTURE.REFUNDED event's refund may not have gone through: FAILED or CANCELLED (an
// eCheck that bounced) is the refund's failure, named by its ID; COMPLETED and PENDING are the
// refund, as before.
func TestPayPalRefundStatuses(t *testing.T) {
	at := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	made := at.Add(-time.Hour)
	refund := func(status string) []byte {
		return paypalevent.Refund{EventID: "WH-RS", RefundID: "REF9", CaptureID: "CAP9", Currency: "usd", Amount: 1100,
			TotalRefunded: 1100, Created: at, Made: made, Status: status}.Body()
	}
	for _, tt := range []struct {
		status string
		want   payment.Event
	}{
		{"COMPLETED", payment.Event{ID: "WH-RS", Kind: payment.EventRefund, RefundID: "REF9", Amount: 1100, AmountRefunded: 1100, OccurredAt: at}},
		{"PENDING", payment.Event{ID: "WH-RS", Kind: payment.EventRefund, RefundID: "REF9", Amount: 1100, AmountRefunded: 1100, OccurredAt: at}},
		{"FAILED", payment.Event{ID: "WH-RS", Kind: payment.EventRefundFailed, RefundID: "REF9", Amount: 1100, RefundMade: made, OccurredAt: at}},
		{"CANCELLED", payment.Event{ID: "WH-RS", Kind: payment.EventRefundFailed, RefundID: "REF9", Amount: 1100, RefundMade: made, OccurredAt: at}},
	} {
		t.Run(tt.status, func(t *testing.T) {
			ev, capture, _, err := paypalToEvent(refund(tt.status))
			require.NoError(t, err)
			require.Equal(t, "CAP9", capture)
			ev.OccurredAt, ev.RefundMade = ev.OccurredAt.UTC(), ev.RefundMade.UTC()
			require.Equal(t, tt.want, ev)
		})
	}
}
