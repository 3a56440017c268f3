package money

import (
	"fmt"
	"strings"
)

// FeeProblem says why a fee a provider stated cannot be booked against a payment in cur: the fee
// is in another currency (the platform's settlement one, say), or outside 0..max (max being what
// it is taken from). "" when it can.
func FeeProblem(fee int64, feeCurrency string, cur Currency, max int64) string {
	switch {
	case !strings.EqualFold(feeCurrency, string(cur)):
		return fmt.Sprintf("fee in %s, the payment in %s", strings.ToLower(feeCurrency), cur)
	case fee < 0 || fee > max:
		return fmt.Sprintf("fee %d outside 0..%d", fee, max)
	}
	return ""
}
