package split

import "fmt"

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
