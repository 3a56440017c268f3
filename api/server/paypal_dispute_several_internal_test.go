package server

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paysplit/internal/paypalevent"
	"paysplit/workflows/payment"
)

// A dispute of several transactions is one event per capture, each under its own ID, the first
// under the event's; each disputes its own transaction's gross (gross_amount) where PayPal gives
// it in the dispute's currency, never more than the case's dispute_amount, else the case's amount.
func TestPayPalDisputeOfSeveralTransactionsIsOneEventEach(t *testing.T) {
	at := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		txns  []paypalevent.Disputed
		want  []paypalTarget
		total int64
	}{
		{"one: the case's amount, as before", []paypalevent.Disputed{{CaptureID: "CAP1", Gross: 11000, Currency: "usd"}}, []paypalTarget{
			{payment.Event{ID: "WH-M", Kind: payment.EventDisputeCreated, DisputeID: "PP-D-M", Amount: 15000, OccurredAt: at}, "CAP1"}}, 15000},
		{"two with their gross", []paypalevent.Disputed{{CaptureID: "CAP1", Gross: 11000, Currency: "usd"}, {CaptureID: "CAP2", Gross: 4000, Currency: "usd"}}, []paypalTarget{
			{payment.Event{ID: "WH-M", Kind: payment.EventDisputeCreated, DisputeID: "PP-D-M", Amount: 11000, OccurredAt: at}, "CAP1"},
			{payment.Event{ID: "WH-M/CAP2", Kind: payment.EventDisputeCreated, DisputeID: "PP-D-M", Amount: 4000, OccurredAt: at}, "CAP2"}}, 15000},
		{"a gross in another currency or none: the case's amount", []paypalevent.Disputed{{CaptureID: "CAP1", Gross: 11000, Currency: "eur"}, {CaptureID: "CAP2"}}, []paypalTarget{
			{payment.Event{ID: "WH-M", Kind: payment.EventDisputeCreated, DisputeID: "PP-D-M", Amount: 15000, OccurredAt: at}, "CAP1"},
			{payment.Event{ID: "WH-M/CAP2", Kind: payment.EventDisputeCreated, DisputeID: "PP-D-M", Amount: 15000, OccurredAt: at}, "CAP2"}}, 15000},
		{"a gross above the case's amount: the case's", []paypalevent.Disputed{{CaptureID: "CAP1", Gross: 11000, Currency: "usd"}, {CaptureID: "CAP2", Gross: 11000, Currency: "usd"}}, []paypalTarget{
			{payment.Event{ID: "WH-M", Kind: payment.EventDisputeCreated, DisputeID: "PP-D-M", Amount: 5000, OccurredAt: at}, "CAP1"},
			{payment.Event{ID: "WH-M/CAP2", Kind: payment.EventDisputeCreated, DisputeID: "PP-D-M", Amount: 5000, OccurredAt: at}, "CAP2"}}, 5000},
		{"a capture named twice: once", []paypalevent.Disputed{{CaptureID: "CAP1"}, {CaptureID: "CAP1"}}, []paypalTarget{
			{payment.Event{ID: "WH-M", Kind: payment.EventDisputeCreated, DisputeID: "PP-D-M", Amount: 15000, OccurredAt: at}, "CAP1"}}, 15000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := paypalevent.Dispute{EventID: "WH-M", Type: "CUSTOMER.DISPUTE.CREATED", DisputeID: "PP-D-M", Currency: "usd",
				Amount: tt.total, Created: at, Transactions: tt.txns}.Body()
			got, typ, err := paypalToEvents(body)
			require.NoError(t, err)
			require.Equal(t, "CUSTOMER.DISPUTE.CREATED", typ)
			for i := range got {
				got[i].ev.OccurredAt = got[i].ev.OccurredAt.UTC()
			}
			require.Equal(t, tt.want, got)
		})
	}
	resolved := paypalevent.Dispute{EventID: "WH-R", Type: "CUSTOMER.DISPUTE.RESOLVED", DisputeID: "PP-D-M", Currency: "usd", Amount: 15000,
		Outcome: "RESOLVED_SELLER_FAVOUR", Created: at, Transactions: []paypalevent.Disputed{{CaptureID: "CAP1"}, {CaptureID: "CAP2"}}}.Body()
	got, _, err := paypalToEvents(resolved)
	require.NoError(t, err)
	require.Len(t, got, 2)
	for _, g := range got {
		require.Equal(t, payment.EventDisputeClosed, g.ev.Kind)
		require.Equal(t, "resolved_seller_favour", g.ev.DisputeStatus)
	}
	// A transaction without the seller's ID names no capture to find: the others are disputed, where
	// refusing the event (PayPal retrying it for days) would dispute none.
	got, _, err = paypalToEvents(paypalevent.Build("WH-X", "CUSTOMER.DISPUTE.CREATED", at, map[string]any{"dispute_id": "PP-D-9",
		"dispute_amount":        paypalevent.Amount(100, "usd"),
		"disputed_transactions": []map[string]any{{"buyer_transaction_id": "B1"}, {"seller_transaction_id": "CAP2"}}}))
	require.NoError(t, err)
	require.Len(t, got, 1)
	require.Equal(t, "CAP2", got[0].capture)
	require.Equal(t, "WH-X", got[0].ev.ID, "the first taken keeps the event's ID")
}
