package split

import (
	"fmt"

	"paysplit/internal/money"
)

// AllocateRefund divides a refund of amount over legs in proportion to what
// each still holds (remaining[i] = original leg minus earlier refunds).
// Weighting by what remains, not by the original split, means a sequence of
// partial refunds can never drive a leg negative, and refunding the full
// remainder returns exactly each leg's remaining amount.
func AllocateRefund(remaining []int64, amount int64) ([]int64, error) {
	if amount < 0 {
		return nil, fmt.Errorf("refund amount %d: %w", amount, ErrNegativeAmount)
	}
	// Negatives are reported before overflow: a negative balance is the
	// real fault, and an overflow it happens to follow would hide it.
	for i, r := range remaining {
		if r < 0 {
			return nil, fmt.Errorf("refund remaining[%d] %d: %w", i, r, ErrNegativeAmount)
		}
	}
	var total int64
	for _, r := range remaining {
		var err error
		if total, err = money.AddInt(total, r); err != nil {
			return nil, fmt.Errorf("refund: sum of remaining: %w", err)
		}
	}
	if amount > total {
		return nil, fmt.Errorf("refund amount %d > remaining %d: %w", amount, total, ErrRefundExceedsRemaining)
	}
	parts, err := money.AllocateLargestRemainder(amount, remaining)
	if err != nil {
		return nil, fmt.Errorf("refund amount %d: %w", amount, err)
	}
	return parts, nil
}

// AllocateRefundPayable is AllocateRefund for a payment whose payees are paid in whole units
// (Split.PayableIn): each payee's part is made a multiple of unit where the platform's part
// (legs[platform]) can even it out within the bounds, so what a payee is still to be paid, or
// paid again, stays payable. A payee's part is rounded up, taking from the platform's, where the
// payee has that much left; else down, the platform taking the fraction where it has that much
// left; else it is left as it is. The parts still sum to amount and each stays within
// 0..remaining[i].
func AllocateRefundPayable(remaining []int64, amount int64, platform int, unit int64) ([]int64, error) {
	parts, err := AllocateRefund(remaining, amount)
	if err != nil || unit <= 1 || platform < 0 || platform >= len(parts) {
		return parts, err
	}
	evenOut(parts, remaining, platform, unit)
	return parts, nil
}
