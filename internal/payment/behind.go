package payment

import (
	"fmt"
	"slices"
	"time"
)

// Behind lists what last (a payment's state at the end of its last closed run, as Temporal keeps it)
// holds that stored (what Postgres holds; found false when nothing) does not: money movements and
// events a run made and saved, which a point-in-time restore of Postgres erased since. Empty when
// stored holds all of it. Only facts a run never takes back are compared (every list here is
// appended to, every amount only grows), so a stored record that went further than the last
// completed run (a later run failed after saving) is not behind.
func Behind(stored Record, found bool, last Record) []string {
	if !found {
		return []string{"the payment is not stored"}
	}
	var out []string
	missing := func(what string, want, have []string) {
		for _, id := range want {
			if !slices.Contains(have, id) {
				out = append(out, fmt.Sprintf("%s %s", what, id))
			}
		}
	}
	missing("refund applied:", last.AppliedRefunds, stored.AppliedRefunds)
	for _, f := range last.RefundFigures {
		// The event too (code path 25): one figure told by two events is two refunds.
		if !slices.ContainsFunc(stored.RefundFigures, func(g RefundFigure) bool {
			return g.At.Equal(f.At) && g.Refunded == f.Refunded && g.Event == f.Event
		}) {
			fact := fmt.Sprintf("refunded %d as of %s", f.Refunded, f.At.UTC().Format(time.RFC3339))
			if f.Event != "" {
				fact += " (event " + f.Event + ")"
			}
			out = append(out, fact)
		}
	}
	missing("refund failed:", failedIDs(last.FailedRefunds), failedIDs(stored.FailedRefunds))
	missing("dispute lost:", last.LostDisputes, stored.LostDisputes)
	missing("dispute closed:", last.ClosedDisputes, stored.ClosedDisputes)
	missing("fee returned with refund:", last.FeeReturns, stored.FeeReturns)
	missing("fee return undone for refund:", last.FeeReturnsUndone, stored.FeeReturnsUndone)
	missing("dispute fee:", last.DisputeFeeIDs, stored.DisputeFeeIDs)
	for _, v := range last.CorrectedTo {
		if !slices.Contains(stored.CorrectedTo, v) {
			out = append(out, fmt.Sprintf("corrected to rule v%d", v))
		}
	}
	if last.DueRetries > stored.DueRetries {
		out = append(out, fmt.Sprintf("admin retries taken: %d, stored %d", last.DueRetries, stored.DueRetries))
	}
	if last.CaptureEntryID != 0 && stored.CaptureEntryID == 0 {
		out = append(out, "capture booked")
	}
	for _, l := range last.Legs {
		out = append(out, legBehind(stored, l)...)
	}
	return out
}

// legBehind lists what the last run sent to or took from the payee of leg l that the stored
// record's leg of the same name does not have.
func legBehind(stored Record, l Leg) []string {
	i := slices.IndexFunc(stored.Legs, func(s Leg) bool { return s.Name() == l.Name() })
	if i < 0 {
		if l.Transferred == 0 && l.Reversed == 0 {
			return nil
		}
		return []string{fmt.Sprintf("leg %s: transferred %d, reversed %d, not stored", l.Name(), l.Transferred, l.Reversed)}
	}
	s := stored.Legs[i]
	var out []string
	if l.Transferred > s.Transferred {
		out = append(out, fmt.Sprintf("leg %s: transferred %d, stored %d", l.Name(), l.Transferred, s.Transferred))
	}
	if l.Reversed > s.Reversed {
		out = append(out, fmt.Sprintf("leg %s: reversed %d, stored %d", l.Name(), l.Reversed, s.Reversed))
	}
	for _, t := range l.TopUps {
		if !slices.ContainsFunc(s.TopUps, func(st TopUp) bool { return st.TransferID == t.TransferID }) {
			out = append(out, fmt.Sprintf("leg %s: top-up %s", l.Name(), t.TransferID))
		}
	}
	return out
}

func failedIDs(f []FailedRefund) []string {
	ids := make([]string, len(f))
	for i, r := range f {
		ids[i] = r.ID
	}
	return ids
}
