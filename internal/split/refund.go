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

// AllocateRefundCumulative divides a refund of amount over legs that were split as legs[i] and
// have given back refunded[i] in the payment's refunds before, so that what each leg has given
// back over all of them stays its share of everything refunded: the legs' refunds together are
// the largest-remainder division of the refunds' total over the legs' amounts, so a leg's
// rounding error does not grow with the number of refunds. It is under one unit with two legs;
// with more, the largest remainder's Alabama paradox (a larger total can give a leg one unit
// less) can leave a leg a unit past its target and the others short by as much together, so
// fewer units than there are legs.
//
// AllocateRefund weighs each refund by what the legs still have, which is exact for one refund
// but lets the rounding of many add up: a hundred refunds of one unit of a payment split 100 to
// the platform and 900 to the vendor took all hundred from the vendor, and eight hundred left
// the platform its whole commission on a sale four-fifths refunded.
//
// Where an earlier refund took a leg past its share (refunds made under AllocateRefund, or the
// largest remainder's Alabama paradox), that leg gives nothing now and the others give the
// amount in proportion to what they still owe of their shares. Each part stays within
// 0..legs[i]-refunded[i], the parts sum to amount, and refunding all that is left returns
// exactly what each leg still has.
func AllocateRefundCumulative(legs, refunded []int64, amount int64) ([]int64, error) {
	if len(refunded) != len(legs) {
		return nil, fmt.Errorf("refund: %d legs but %d refunded amounts: %w", len(legs), len(refunded), money.ErrInvalidArgument)
	}
	if amount < 0 {
		return nil, fmt.Errorf("refund amount %d: %w", amount, ErrNegativeAmount)
	}
	remaining := make([]int64, len(legs))
	for i := range legs {
		if legs[i] < 0 || refunded[i] < 0 {
			return nil, fmt.Errorf("refund legs[%d] %d refunded %d: %w", i, legs[i], refunded[i], ErrNegativeAmount)
		}
		if refunded[i] > legs[i] {
			return nil, fmt.Errorf("refund legs[%d]: refunded %d > leg %d: %w", i, refunded[i], legs[i], ErrRefundExceedsRemaining)
		}
		remaining[i] = legs[i] - refunded[i]
	}
	// The remaining sum to at most the legs' sum, so checking it checks every sum below.
	var gross, done int64
	for i := range legs {
		var err error
		if gross, err = money.AddInt(gross, legs[i]); err != nil {
			return nil, fmt.Errorf("refund: sum of legs: %w", err)
		}
		done += refunded[i]
	}
	if amount > gross-done {
		return nil, fmt.Errorf("refund amount %d > remaining %d: %w", amount, gross-done, ErrRefundExceedsRemaining)
	}
	target, err := money.AllocateLargestRemainder(done+amount, legs)
	if err != nil {
		return nil, fmt.Errorf("refund amount %d: %w", amount, err)
	}
	// What each leg owes of its cumulative share; target[i] <= legs[i], so it is within what the
	// leg still has. The owed sum to amount when no leg is past its share, more when one is.
	owed := make([]int64, len(legs))
	for i := range legs {
		owed[i] = max(target[i]-refunded[i], 0)
	}
	parts, err := money.AllocateLargestRemainder(amount, owed)
	if err != nil {
		return nil, fmt.Errorf("refund amount %d: %w", amount, err)
	}
	return parts, nil
}

// AllocateRefundCumulativePayable is AllocateRefundCumulative for a payment whose payees are paid
// in whole units, evened out by the platform's part as AllocateRefundPayable does.
func AllocateRefundCumulativePayable(legs, refunded []int64, amount int64, platform int, unit int64) ([]int64, error) {
	parts, err := AllocateRefundCumulative(legs, refunded, amount)
	if err != nil || unit <= 1 || platform < 0 || platform >= len(parts) {
		return parts, err
	}
	remaining := make([]int64, len(legs))
	for i := range legs {
		remaining[i] = legs[i] - refunded[i]
	}
	evenOut(parts, remaining, platform, unit)
	return parts, nil
}
