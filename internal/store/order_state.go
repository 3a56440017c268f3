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
// before the times were kept, or one the previous release wrote since). writtenAt is the row's
// own database write time (orders.updated_at), which bounds an unknown shop time (afterWrite).
type shopTimes struct {
	status    string
	stateAt   *time.Time
	amountsAt *time.Time
	writtenAt time.Time
}

// writeTimeSkew is how far a shop's clock may run ahead of the database's without an event made
// before a row's write passing for one made after it (afterWrite).
const writeTimeSkew = 5 * time.Minute

// afterWrite reports whether an event of shop time at (nil: none) was certainly made after the
// stored row was last written, when the stored fact's own shop time is unknown. Every event a row
// reflects was received, so made, before the write that stored it, and every write of an order
// sets updated_at to its transaction's time (this release's and the previous release's SQL, and
// the column's default on insert): an event made later than that is newer than anything stored.
// The rule assumes the shop's clock (the event's time) runs at most writeTimeSkew ahead of the
// database's (updated_at); an event within writeTimeSkew after the write is left to the rank, as
// one of no known time. A shop clock further ahead would let a body made at most that much
// minus writeTimeSkew before the write pass for a newer one.
func afterWrite(at *time.Time, cur shopTimes) bool {
	return at != nil && !cur.writtenAt.IsZero() && at.After(cur.writtenAt.Add(writeTimeSkew))
}

// takesState reports whether an event of status at time at (nil: none) replaces the stored
// state. Each source gives its events one clock (storefront), so two known times compare: the
// later wins. When the stored time is unknown, an event made after the row was last written
// (afterWrite) is newer and wins. At the same time, or when either time is unknown otherwise, the
// rank decides: the event is taken when its status has gone as far as the stored one or further.
// So the same state again is taken, an orders/paid of a refund's own second is not, and an event
// with no time can move an order forward but never back.
func takesState(status string, at *time.Time, cur shopTimes) bool {
	if at != nil && cur.stateAt != nil && !at.Equal(*cur.stateAt) {
		return at.After(*cur.stateAt)
	}
	if cur.stateAt == nil && afterWrite(at, cur) {
		return true
	}
	return OrderStateRank(status) >= OrderStateRank(cur.status)
}

// takesAmounts reports whether a whole order body of status at time at replaces the stored
// amounts and lines. A status-only event (a refund, a TikTok or Meta status change) dates the
// status, not the amounts, so a body later than the stored body takes its amounts even when its
// status is older than the stored one; so does a body made after the row was last written when
// the stored body's time is unknown (afterWrite), whatever the rank. A body of the stored body's
// time, or one of which or over which the time is unknown otherwise, takes them along with the
// state.
func takesAmounts(status string, at *time.Time, cur shopTimes) bool {
	if at != nil && cur.amountsAt != nil && !at.Equal(*cur.amountsAt) {
		return at.After(*cur.amountsAt)
	}
	if cur.amountsAt == nil && afterWrite(at, cur) {
		return true
	}
	return takesState(status, at, cur)
}
