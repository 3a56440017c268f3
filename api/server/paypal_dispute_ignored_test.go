package server

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paysplit/internal/paypalevent"
)

// Of PayPal's dispute events only CUSTOMER.DISPUTE.CREATED and .RESOLVED are read; the others
// (.UPDATED: a message posted, evidence asked, a stage changed) change no money and are answered
// 200 "ignored" like any event the platform does not take. They were read as disputes first, so
// one whose resource lacks what a dispute we act on needs (a case about a transaction not ours:
// PayPal's seller cases also cover sales the platform never made, crypto ones with a gross_asset
// and no dispute_amount) was answered 400 invalid_event, and PayPal retried it for three days.
func TestPayPalDisputeEventsNotReadAreIgnoredWhateverTheirResource(t *testing.T) {
	at := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	for name, resource := range map[string]map[string]any{
		"no dispute_amount": {"dispute_id": "PP-D-7", "status": "WAITING_FOR_SELLER_RESPONSE",
			"disputed_transactions": []map[string]any{{"seller_transaction_id": "9AB12345CD678901E",
				"gross_asset": map[string]any{"asset_symbol": "BTC", "quantity": "0.001"}}}},
		"no disputed transaction": {"dispute_id": "PP-D-8", "status": "UNDER_REVIEW",
			"dispute_amount": paypalevent.Amount(4100, "usd")},
	} {
		t.Run(name, func(t *testing.T) {
			body := paypalevent.Build("WH-UPD", "CUSTOMER.DISPUTE.UPDATED", at, resource)
			_, _, typ, err := paypalToEvent(body)
			require.Equal(t, "CUSTOMER.DISPUTE.UPDATED", typ)
			require.True(t, errors.Is(err, errIgnored), "want ignored, got %v", err)
		})
	}
}
