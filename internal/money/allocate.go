package money

import (
	"cmp"
	"fmt"
	"slices"
)

// AllocateLargestRemainder splits total in proportion to weights so that the
// parts sum exactly to total (Hamilton's method). Each part starts at
// floor(total*w/sum); the few leftover units go one each to the parts with
// the largest discarded fractions, ties to the lower index so the result is
// deterministic. No part is ever more than one unit from its exact share.
//
// When 0 <= total <= sum(weights) every part is <= its weight, which is what
// lets refunds use it without ever taking more from a leg than it holds. A
// zero weight always gets zero.
func AllocateLargestRemainder(total int64, weights []int64) ([]int64, error) {
	if total < 0 {
		return nil, fmt.Errorf("allocate total %d: %w", total, ErrNegativeAmount)
	}
	// Negatives first, so an overflow never masks the real fault.
	for i, w := range weights {
		if w < 0 {
			return nil, fmt.Errorf("allocate weights[%d]=%d: %w", i, w, ErrNegativeAmount)
		}
	}
	var sum int64
	for _, w := range weights {
		var err error
		if sum, err = AddInt(sum, w); err != nil {
			return nil, fmt.Errorf("allocate: sum of weights: %w", err)
		}
	}
	parts := make([]int64, len(weights))
	if total == 0 {
		return parts, nil
	}
	if sum == 0 {
		return nil, fmt.Errorf("allocate total %d over weights that sum to 0: %w", total, ErrInvalidArgument)
	}

	rems := make([]uint64, len(weights))
	leftover := total
	for i, w := range weights {
		// total*w/sum < 2^63 because w <= sum, so this cannot overflow.
		q, r, err := mulDivRem(uint64(total), uint64(w), uint64(sum))
		if err != nil {
			return nil, fmt.Errorf("allocate weights[%d]: %w", i, err)
		}
		parts[i], rems[i] = int64(q), r
		leftover -= int64(q)
	}
	// Each floor drops less than one unit, so leftover < len(weights) and
	// only indices with a nonzero remainder (hence nonzero weight) get one.
	order := make([]int, len(weights))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(rems[b], rems[a]) })
	for _, i := range order[:leftover] {
		parts[i]++
	}
	return parts, nil
}
