// Package money holds amounts as int64 minor units of an ISO 4217 currency.
//
// Floating point is never used: binary fractions cannot represent most decimal
// amounts, and a payments ledger must reconcile to the last minor unit. Every
// operation that can leave the int64 range reports ErrOverflow instead of
// wrapping, because a silently wrapped amount is a wrong payout.
package money
