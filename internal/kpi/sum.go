package kpi

import (
	"context"
	"fmt"
	"strings"
	"time"

	"paysplit/internal/money"
)

// RevenueSum is one revenue source made of several, each holding part of the client's sales
// (one per payment provider): their days are summed. It fails when any part fails, so a day never
// shows one provider's sales as if they were all of them; the error names the part.
type RevenueSum []RevenueSource

// Name joins the parts' names with "+" (e.g. "stripe+paypal"), as days are marked.
func (s RevenueSum) Name() string {
	names := make([]string, 0, len(s))
	for _, src := range s {
		names = append(names, src.Name())
	}
	return strings.Join(names, "+")
}

// daySum adds up one day over the parts; commission stays known only if every part knew it.
type daySum struct {
	Revenue
	commissionParts int
}

// RevenueDays asks each part in turn and sums gross, refunds and (when every part has it)
// commission per day, from from to to.
func (s RevenueSum) RevenueDays(ctx context.Context, clientID string, cur money.Currency, from, to time.Time) ([]RevenueDay, error) {
	byDay := map[time.Time]*daySum{}
	for _, src := range s {
		days, err := src.RevenueDays(ctx, clientID, cur, from, to)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", src.Name(), err)
		}
		for _, d := range days {
			if err := add(byDay, d); err != nil {
				return nil, fmt.Errorf("%s: %w", src.Name(), err)
			}
		}
	}
	var out []RevenueDay
	for _, d := range Days(from, to) {
		sum, ok := byDay[d]
		if !ok {
			continue
		}
		r := sum.Revenue
		r.Currency = cur
		if sum.commissionParts < len(s) {
			r.Commission = nil
		}
		out = append(out, RevenueDay{Day: d, Revenue: r})
	}
	return out, nil
}

func add(byDay map[time.Time]*daySum, d RevenueDay) error {
	day := DayOf(d.Day)
	sum := byDay[day]
	if sum == nil {
		sum = &daySum{Revenue: Revenue{Commission: new(int64)}}
		byDay[day] = sum
	}
	var err error
	if sum.Gross, err = money.AddInt(sum.Gross, d.Gross); err != nil {
		return fmt.Errorf("gross of %s: %w", day.Format(time.DateOnly), err)
	}
	if sum.Refunds, err = money.AddInt(sum.Refunds, d.Refunds); err != nil {
		return fmt.Errorf("refunds of %s: %w", day.Format(time.DateOnly), err)
	}
	if d.Commission != nil {
		if *sum.Commission, err = money.AddInt(*sum.Commission, *d.Commission); err != nil {
			return fmt.Errorf("commission of %s: %w", day.Format(time.DateOnly), err)
		}
		sum.commissionParts++
	}
	return nil
}
