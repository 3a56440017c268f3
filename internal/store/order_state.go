package store

import (
	"strings"
	"time"
)

// Order state ranks: how far an order has gone, whatever the shop calls it. Shops move an order
// forward (open, paid, fulfilled, partially refunded, closed) and only seldom back, so the rank
// decides between two states when their shop times cannot: the same second, or an event or a
// stored state whose time is not known.
const (
	rankOpen              = 1 // not paid yet
	rankPaid              = 2 // paid or being prepared; also any word not listed here
	rankFulfilled         = 3
	rankPartiallyRefunded = 4
	rankClosed            = 5 // refunded, cancelled or voided: nothing follows
)

var orderStateRanks = map[string]int{
	// Shopify financial_status, WooCommerce, TikTok Shop and Meta states, as storefront
	// normalizes them (lower case, spaces as underscores).
	"pending": rankOpen, "unpaid": rankOpen, "authorized": rankOpen, "partially_paid": rankOpen,
	"on-hold": rankOpen, "on_hold": rankOpen, "checkout-draft": rankOpen, "draft": rankOpen,
	"failed": rankOpen, "fb_processing": rankOpen, "created": rankOpen,

	"paid": rankPaid, "processing": rankPaid, "in_progress": rankPaid, "awaiting_shipment": rankPaid,
	"partially_shipping": rankPaid, "awaiting_collection": rankPaid,

	"shipped": rankFulfilled, "in_transit": rankFulfilled, "delivered": rankFulfilled,
	"completed": rankFulfilled, "fulfilled": rankFulfilled,

	"partially_refunded": rankPartiallyRefunded,

	"refunded": rankClosed, "cancelled": rankClosed, "canceled": rankClosed, "voided": rankClosed,
	"expired": rankClosed,
}

// OrderStateRank is how far an order in the shop's status has gone: a higher rank is never
// replaced by a lower one unless the shop's times show the lower one is newer. A status not
// listed ranks as a paid order: it replaces an open one and never a refund or a cancellation.
func OrderStateRank(status string) int {
	if r, ok := orderStateRanks[strings.ToLower(strings.TrimSpace(status))]; ok {
		return r
	}
	return rankPaid
}

// shopTimes is what decides whether an order event replaces the stored order: its status, the
// shop's time of that status (shop_updated_at) and the shop's time of the body its amounts and
// lines come from (shop_amounts_at); nil is not known (an event that named none, an order stored
// before the times were kept, or one the previous release wrote since).
type shopTimes struct {
	status    string
	stateAt   *time.Time
	amountsAt *time.Time
}

// takesState reports whether an event of status at time at (nil: none) replaces the stored
// state. Each source gives its events one clock (storefront), so two known times compare: the
// later wins. At the same time, or when either time is unknown, the rank decides: the event is
// taken when its status has gone as far as the stored one or further. So the same state again is
// taken (a shop's retry after the API failed to wake the waiting payments relies on it), an
// orders/paid of a refund's own second is not, and an event with no time can move an order
// forward but never back.
func takesState(status string, at *time.Time, cur shopTimes) bool {
	if at != nil && cur.stateAt != nil && !at.Equal(*cur.stateAt) {
		return at.After(*cur.stateAt)
	}
	return OrderStateRank(status) >= OrderStateRank(cur.status)
}

// takesAmounts reports whether a whole order body of status at time at replaces the stored
// amounts and lines. A status-only event (a refund, a TikTok or Meta status change) dates the
// status, not the amounts, so a body later than the stored body takes its amounts even when its
// status is older than the stored one. A body of the stored body's time, or one of which or over
// which the time is unknown, takes them along with the state.
func takesAmounts(status string, at *time.Time, cur shopTimes) bool {
	if at != nil && cur.amountsAt != nil && !at.Equal(*cur.amountsAt) {
		return at.After(*cur.amountsAt)
	}
	return takesState(status, at, cur)
}
