package money

import "errors"

// Sentinel errors. Returned errors wrap these with the offending field and
// value, so callers branch with errors.Is and still log something useful.
var (
	ErrUnknownCurrency  = errors.New("unknown currency")
	ErrCurrencyMismatch = errors.New("currency mismatch")
	ErrOverflow         = errors.New("amount overflows int64")
	ErrNegativeAmount   = errors.New("negative amount")
	// ErrInvalidAmount reports text that is not a decimal amount in the
	// currency's precision.
	ErrInvalidAmount = errors.New("invalid amount")
	// ErrInvalidArgument reports an argument outside a function's domain that
	// is not a negative amount (e.g. a zero divisor or all-zero weights).
	ErrInvalidArgument = errors.New("invalid argument")
)
