package split

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRuleValidate(t *testing.T) {
	tests := []struct {
		name    string
		rule    Rule
		wantErr error  // nil means valid
		field   string // must appear in the message
	}{
		{name: "zero rule", rule: Rule{}},
		{name: "typical", rule: Rule{PlatformBps: 1000, AffiliateBps: 250, MinPlatformFee: 30, MaxPlatformFee: 5000}},
		{name: "all to platform", rule: Rule{PlatformBps: 10000}},
		{name: "all to affiliate", rule: Rule{AffiliateBps: 10000}},
		{name: "exactly 100 percent", rule: Rule{PlatformBps: 7500, AffiliateBps: 2500}},
		{name: "min without cap", rule: Rule{MinPlatformFee: 100}},
		{name: "min equals max", rule: Rule{MinPlatformFee: 100, MaxPlatformFee: 100}},
		{name: "platform bps negative", rule: Rule{PlatformBps: -1}, wantErr: ErrInvalidRule, field: "platform_bps -1"},
		{name: "platform bps over 100", rule: Rule{PlatformBps: 10001}, wantErr: ErrInvalidRule, field: "platform_bps 10001"},
		{name: "affiliate bps negative", rule: Rule{AffiliateBps: -5}, wantErr: ErrInvalidRule, field: "affiliate_bps -5"},
		{name: "affiliate bps over 100", rule: Rule{AffiliateBps: 20000}, wantErr: ErrInvalidRule, field: "affiliate_bps 20000"},
		{name: "shares over 100", rule: Rule{PlatformBps: 9000, AffiliateBps: 1001}, wantErr: ErrSharesOver100, field: "10001"},
		{name: "min fee negative", rule: Rule{MinPlatformFee: -1}, wantErr: ErrInvalidRule, field: "min_platform_fee -1"},
		{name: "max fee negative", rule: Rule{MaxPlatformFee: -1}, wantErr: ErrInvalidRule, field: "max_platform_fee -1"},
		{name: "min above max", rule: Rule{MinPlatformFee: 101, MaxPlatformFee: 100}, wantErr: ErrInvalidRule, field: "min_platform_fee 101"},
		{name: "fee currency", rule: Rule{MinPlatformFee: 50, FeeCurrency: "USD"}},
		{name: "fee currency unknown", rule: Rule{MinPlatformFee: 50, FeeCurrency: "usx"}, wantErr: ErrInvalidRule, field: `fee_currency "usx"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.rule.Validate()
			if tc.wantErr == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tc.wantErr)
			require.ErrorIs(t, err, ErrInvalidRule, "every rule error is an invalid rule")
			assert.Contains(t, err.Error(), tc.field)
		})
	}
}
