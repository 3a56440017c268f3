// Package split computes how a captured payment is divided between the
// platform, the vendor and an optional affiliate, and how a refund is taken
// back from those parties. It is pure and deterministic: the same order and
// rule always give the same legs, so a workflow can recompute a split on
// replay and an auditor can reproduce it from stored inputs.
//
// # Rounding leftovers go to the vendor
//
// Commissions are floor(base*bps/10000) and the vendor receives whatever is
// left of the gross, including tax, shipping, the order's extras (a tip,
// duties, a checkout's fees, never commissioned) and every fractional minor
// unit the floors discarded. The vendor is chosen because:
//
//   - Flooring means the platform and the affiliate never take more than the
//     rate in their agreement says; a fee that is a unit too high is an
//     overcharge someone can dispute, a unit too low is not.
//   - The vendor is the seller of record: it collected the tax and shipping
//     and owes them onward, so it already holds "everything that is not a
//     commission". Putting the residue in the same leg keeps that rule single.
//   - Exactly one party absorbing the residue makes the legs sum to the gross
//     by construction, with no second rounding pass that could disagree.
package split
