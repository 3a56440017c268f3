package split

import (
	"fmt"
	"strings"

	"paysplit/internal/money"
)

// bpsDenominator is 100% in basis points.
const bpsDenominator = 10000

// Rule is a client's commission agreement at one version.
type Rule struct {
	ClientID             string `json:"client_id"`
	Version              int    `json:"version"`
	PlatformBps          int64  `json:"platform_bps"`
	AffiliateBps         int64  `json:"affiliate_bps"`
	CommissionOnTax      bool   `json:"commission_on_tax"`
	CommissionOnShipping bool   `json:"commission_on_shipping"`
	MinPlatformFee       int64  `json:"min_platform_fee"` // minor units, 0 = none
	MaxPlatformFee       int64  `json:"max_platform_fee"` // minor units, 0 = no cap
	// FeeCurrency is the currency of MinPlatformFee and MaxPlatformFee: the bounds apply to
	// payments in it only (boundsApply). Empty in rules recorded before it existed, whose bounds
	// apply in any currency, as they did then.
	FeeCurrency money.Currency `json:"fee_currency,omitempty"`
}

// boundsApply says whether the rule's minimum and maximum platform fee apply to a payment in
// cur: they are amounts in FeeCurrency, and in another currency they would be another amount
// (a 0.50 USD minimum read as ¥50, or as 0.050 KWD). There is no exchange rate to convert them
// with, so a payment in another currency pays the percentages alone.
func (r Rule) boundsApply(cur money.Currency) bool {
	return r.FeeCurrency == "" || strings.EqualFold(string(r.FeeCurrency), string(cur))
}

// Validate reports the first problem with r. All errors wrap ErrInvalidRule;
// shares above 100% additionally wrap ErrSharesOver100.
func (r Rule) Validate() error {
	if err := checkBps("platform_bps", r.PlatformBps); err != nil {
		return err
	}
	if err := checkBps("affiliate_bps", r.AffiliateBps); err != nil {
		return err
	}
	// Each term is at most 10000 here, so the sum cannot overflow.
	if total := r.PlatformBps + r.AffiliateBps; total > bpsDenominator {
		return fmt.Errorf("%w: %w: platform_bps %d + affiliate_bps %d = %d > %d",
			ErrInvalidRule, ErrSharesOver100, r.PlatformBps, r.AffiliateBps, total, bpsDenominator)
	}
	if r.MinPlatformFee < 0 {
		return fmt.Errorf("%w: min_platform_fee %d is negative", ErrInvalidRule, r.MinPlatformFee)
	}
	if r.MaxPlatformFee < 0 {
		return fmt.Errorf("%w: max_platform_fee %d is negative (use 0 for no cap)", ErrInvalidRule, r.MaxPlatformFee)
	}
	if r.FeeCurrency != "" && !r.FeeCurrency.Known() {
		return fmt.Errorf("%w: fee_currency %q is not an ISO 4217 currency", ErrInvalidRule, r.FeeCurrency)
	}
	if r.MaxPlatformFee > 0 && r.MinPlatformFee > r.MaxPlatformFee {
		return fmt.Errorf("%w: min_platform_fee %d exceeds max_platform_fee %d",
			ErrInvalidRule, r.MinPlatformFee, r.MaxPlatformFee)
	}
	return nil
}

func checkBps(field string, v int64) error {
	if v < 0 || v > bpsDenominator {
		return fmt.Errorf("%w: %s %d outside 0..%d", ErrInvalidRule, field, v, bpsDenominator)
	}
	return nil
}
