package split

import (
	"errors"

	"paysplit/internal/money"
)

// Sentinel errors. Returned errors wrap these and name the offending field
// and value, so callers can branch with errors.Is.
var (
	// ErrNegativeAmount is money's sentinel, so one errors.Is check covers
	// negatives from either package.
	ErrNegativeAmount          = money.ErrNegativeAmount
	ErrSharesOver100           = errors.New("platform and affiliate shares exceed 100%")
	ErrDiscountExceedsSubtotal = errors.New("discount exceeds subtotal")
	ErrComponentsMismatch      = errors.New("subtotal - discount + tax + shipping + extras does not equal gross")
	ErrMissingVendor           = errors.New("missing vendor id")
	ErrRefundExceedsRemaining  = errors.New("refund exceeds remaining amount")
	// ErrInvalidRule is wrapped by every rule validation error, including
	// ErrSharesOver100, so "is this rule bad" is a single check.
	ErrInvalidRule = errors.New("invalid split rule")
)
