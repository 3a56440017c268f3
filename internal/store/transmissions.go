package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"

	"paysplit/internal/paypalhook"
)

// ErrBodyChanged is a delivery ID seen before that now carries another body.
var ErrBodyChanged = errors.New("delivery ID seen before with another body")

// DeliveryBodyKeep is how long a delivery recorded with its body's hash is kept at least, whatever
// the KPI retention: while PayPal's verifier still takes a transmission as fresh, forgetting its
// record would let its headers carry another body again.
const DeliveryBodyKeep = paypalhook.MaxTransmissionAge + paypalhook.MaxClockSkew + time.Hour

// RecordDeliveryBody remembers a delivery ID with the SHA-256 of its body. The same ID with the
// same body (the provider's re-delivery) is fine, and so is the first; the same ID with another
// body is ErrBodyChanged. Two deliveries of one ID at once are ordered by the primary key: the
// second waits for the first's row and compares with it, so at most one body is ever taken.
func (s *Store) RecordDeliveryBody(ctx context.Context, provider, deliveryID string, body []byte) error {
	sum := sha256.Sum256(body)
	var stored []byte
	// The no-op update locks and returns the row another delivery stored, where DO NOTHING would
	// return nothing and leave a second read to race with pruning.
	err := s.pool.QueryRow(ctx, `INSERT INTO webhook_deliveries (provider, delivery_id, body_sha256) VALUES ($1, $2, $3)
		ON CONFLICT (provider, delivery_id) DO UPDATE SET body_sha256 = webhook_deliveries.body_sha256
		RETURNING body_sha256`, provider, deliveryID, sum[:]).Scan(&stored)
	if err != nil {
		return fmt.Errorf("record %s delivery %s: %w", provider, deliveryID, err)
	}
	if !bytes.Equal(stored, sum[:]) {
		return fmt.Errorf("%w: %s delivery %s", ErrBodyChanged, provider, deliveryID)
	}
	return nil
}
