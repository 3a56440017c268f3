// Package report is one client's weekly report: the numbers it shows (Data, gathered by the
// caller from the store), the derived figures (tiles, changes, notes), and its rendering to a
// PDF with charts. Rendering is a pure function of Data: the same Data gives the same bytes on
// every machine (embedded fonts, creation date fixed from the week, sorted PDF catalogs), so an
// archive can deduplicate and tests can compare.
package report

import (
	"fmt"
	"math/big"
	"strings"
	"time"

	"paysplit/internal/kpi"
	"paysplit/internal/money"
)

// Data is everything one report shows. It is stored with the delivery record (JSON), so a resend
// or an upload retried on another worker renders exactly the same document.
type Data struct {
	ClientID   string `json:"client_id"`
	ClientName string `json:"client_name"`
	Week       Week   `json:"week"`
	// TimeZone is the client's IANA zone; the week and its payments are cut at local midnight.
	TimeZone string `json:"time_zone"`
	// Currency is the storefront revenue's currency (the client's default).
	Currency money.Currency `json:"currency"`
	// Days are the week's seven days, Monday first; Previous the week before, for the changes.
	Days     []Day `json:"days"`
	Previous []Day `json:"previous"`
	// DistinctVisitors is the week's visitors, each person once however many of its days they
	// came (GA4's totalUsers of the week asked as one range, fetched when the data was gathered);
	// PreviousDistinctVisitors the previous week's, for the change. Nil when it could not be had
	// (no GA4, GA4 refusing) and in reports stored before it: the visitors tile then shows the
	// days' visitors summed (VisitorsLabel), as those reports did, and a distinct count is never
	// compared with a sum (no change is shown without the previous week's).
	DistinctVisitors         *int64 `json:"distinct_visitors,omitempty"`
	PreviousDistinctVisitors *int64 `json:"previous_distinct_visitors,omitempty"`
	// DistinctVisitorsThresholded: GA4 may have withheld low counts from the report DistinctVisitors was
	// counted from (see Day.Thresholded).
	DistinctVisitorsThresholded bool `json:"distinct_visitors_thresholded,omitempty"`
	// PreviousThresholded: GA4 may have withheld low counts from the previous week's traffic the
	// changes compare with (a day of Previous with traffic, or the report PreviousDistinctVisitors
	// was counted from); the notes say the changes may be affected. Set when the data is gathered:
	// reports stored before it have none and render as they did, though their Previous days may
	// carry Day.Thresholded.
	PreviousThresholded bool `json:"previous_thresholded,omitempty"`
	// Sources are the KPI sources' sync state when the data was gathered, for the notes.
	Sources []SourceSync `json:"sources,omitempty"`
	// Payments and PreviousPayments are the payments captured in the week (and the week before),
	// one entry per currency.
	Payments         []Payments `json:"payments"`
	PreviousPayments []Payments `json:"previous_payments"`
	// Payouts are the week's payee legs summed per payee, role and currency.
	Payouts []Payout `json:"payouts"`
	// Notes are extra remarks from whoever gathered the data (e.g. KPI rows in another
	// currency); the report adds its own about stale, missing or held items.
	Notes []string `json:"notes,omitempty"`
}

// Day is one calendar day of storefront KPIs. Traffic (web analytics) and revenue come from
// different sources and either may be missing: a missing part is drawn as a gap and left out of
// the totals, never shown as zeros.
type Day struct {
	Date          string `json:"date"` // YYYY-MM-DD
	HasTraffic    bool   `json:"has_traffic"`
	Visitors      int64  `json:"visitors"`
	NewVisitors   int64  `json:"new_visitors"`
	Sessions      int64  `json:"sessions"`
	BounceRateBps int32  `json:"bounce_rate_bps"`
	HasRevenue    bool   `json:"has_revenue"`
	Revenue       int64  `json:"revenue"` // net of refunds, minor units of Data.Currency
	// Thresholded: GA4 may have withheld rows with low user counts from the day's traffic (kpi.Traffic);
	// the notes say so. Reports stored before it have none, and render as they did.
	Thresholded bool `json:"thresholded,omitempty"`
}

// SourceSync is what the KPI sync last did for one source.
type SourceSync struct {
	Source string `json:"source"`
	// LastSuccess is the end of the last good sync; zero when it never succeeded.
	LastSuccess time.Time `json:"last_success"`
	// Failing is true when the latest attempt failed (the stored numbers are the last good ones).
	Failing bool `json:"failing"`
}

// Payments sums the payments captured in one currency: gross, refunds, and the split of what
// remains into the platform's commission, the vendors' and the affiliates' shares.
type Payments struct {
	Currency  money.Currency `json:"currency"`
	Count     int64          `json:"count"`
	Gross     int64          `json:"gross"`
	Refunded  int64          `json:"refunded"`
	Platform  int64          `json:"platform"`
	Vendor    int64          `json:"vendor"`
	Affiliate int64          `json:"affiliate"`
	// Unsplit is captured money not split yet (waiting for order data or an admin).
	Unsplit int64 `json:"unsplit"`
	// NeedsAttention counts the payments not split yet, those Unsplit sums (waiting for their
	// order or parked for an admin); PayoutFailed those whose payout failed.
	NeedsAttention int64 `json:"needs_attention"`
	PayoutFailed   int64 `json:"payout_failed"`
}

// Payout is what one payee was owed from the week's payments and what became of it.
type Payout struct {
	PayeeID  string         `json:"payee_id"`
	Party    string         `json:"party"` // vendor or affiliate
	Currency money.Currency `json:"currency"`
	Payments int64          `json:"payments"`
	Owed     int64          `json:"owed"`     // shares net of refunds
	PaidOut  int64          `json:"paid_out"` // transferred net of reversals
	Held     int64          `json:"held"`     // owed on legs held for a payee problem
	// HeldReason is why (the first held leg's reason), for the notes.
	HeldReason string `json:"held_reason,omitempty"`
	// Failed is what the provider refused to move, waiting for our team's retry, as the client's
	// payouts list counts it (failed): a failed payout's rest and refused top-ups; negative for
	// refused reversals (money the payee owes back that the provider would not take back).
	Failed int64 `json:"failed"`
	// FailedReason is why (the first failed payout's reason), for the notes.
	FailedReason string `json:"failed_reason,omitempty"`
	// FailedReversals is what of Failed the payee owes back (refused reversals, a positive
	// amount), and FailedReversalReason why: a payout failed on one payment and a reversal failed
	// on another net out in Failed, and the notes name each. Reports stored before it have none.
	FailedReversals      int64  `json:"failed_reversals,omitempty"`
	FailedReversalReason string `json:"failed_reversal_reason,omitempty"`
}

// failedParts splits Failed into the payouts that failed and the reversals that failed (what
// the payee owes back), both positive. A report stored before FailedReversals has only the net.
func (p Payout) failedParts() (payouts, back int64, backReason string) {
	payouts, back, backReason = p.Failed+p.FailedReversals, p.FailedReversals, p.FailedReversalReason
	if back == 0 && payouts < 0 {
		payouts, back, backReason = 0, -payouts, p.FailedReason
	}
	return payouts, back, backReason
}

// Outstanding is what is neither paid out, held nor failed: movements still pending. Negative
// when the payee holds more than it is owed and its reversal is pending (or could not be made at
// all, as at PayPal): money the payee owes back.
func (p Payout) Outstanding() int64 { return p.Owed - p.PaidOut - p.Held - p.Failed }

// VisitorsLabel names the visitors tile when it shows the sum of the days' visitors (GA4's
// totalUsers by date), which counts a visitor once for each day they came, not the period's
// distinct visitors: a report without Data.DistinctVisitors.
const VisitorsLabel = "Sum of daily visitors"

// DistinctVisitorsLabel names the visitors tile when it shows the week's distinct visitors
// (Data.DistinctVisitors).
const DistinctVisitorsLabel = "Visitors"

// Totals are a week's KPI sums over the days that have each part.
type Totals struct {
	TrafficDays int
	RevenueDays int
	// Visitors is the days' visitors summed (a visitor of three days counts three times).
	Visitors      int64
	NewVisitors   int64
	Sessions      int64
	BounceRateBps int64 // weighted by sessions; a plain mean when no day has sessions
	Revenue       int64
}

// Sum adds up the days' parts that were synced.
func Sum(days []Day) Totals {
	var t Totals
	var weighted, plain int64
	for _, d := range days {
		if d.HasRevenue {
			t.RevenueDays++
			t.Revenue += d.Revenue
		}
		if !d.HasTraffic {
			continue
		}
		t.TrafficDays++
		t.Visitors += d.Visitors
		t.NewVisitors += d.NewVisitors
		t.Sessions += d.Sessions
		weighted += int64(d.BounceRateBps) * d.Sessions
		plain += int64(d.BounceRateBps)
	}
	// The week's bounce rate weighs each day by its sessions; without sessions, days count alike.
	switch {
	case t.Sessions > 0:
		t.BounceRateBps = (weighted + t.Sessions/2) / t.Sessions
	case t.TrafficDays > 0:
		t.BounceRateBps = (plain + int64(t.TrafficDays)/2) / int64(t.TrafficDays)
	}
	return t
}

// MainPayments are the payments in the client's default currency (Data.Currency), the ones the
// headline tiles and the split chart show; the others are listed beside it ("Also captured").
// Amounts in different currencies are never compared: a week of €50 and $1,000 is still a USD
// client's week. ok is false when nothing was captured in the default currency.
func (d Data) MainPayments() (Payments, bool) {
	p := paymentsIn(d.Payments, d.Currency)
	return p, p.Count > 0
}

func paymentsIn(ps []Payments, c money.Currency) Payments {
	for _, p := range ps {
		if p.Currency == c {
			return p
		}
	}
	return Payments{Currency: c}
}

// Tile is one headline number with its change against the previous week.
type Tile struct {
	Label  string
	Value  string
	Change string // "+12.3%", "-0.8 pp", "new", "no change", or "" when there is nothing to compare
	// Trend is +1 when the change is good news, -1 when bad, 0 when neutral or unknown.
	Trend int
}

// Tiles are the report's headline numbers, in the order they are shown.
func (d Data) Tiles() []Tile {
	cur, prev := Sum(d.Days), Sum(d.Previous)
	traffic := cur.TrafficDays > 0 && prev.TrafficDays > 0
	revenue := cur.RevenueDays > 0 && prev.RevenueDays > 0
	main, _ := d.MainPayments()
	prevMain := paymentsIn(d.PreviousPayments, main.Currency)

	count := func(label string, c, p int64, known bool) Tile {
		t := Tile{Label: label, Value: formatInt(c)}
		if known {
			t.Change, t.Trend = percentChange(c, p)
		}
		return t
	}
	amount := func(label string, c, p int64, cur money.Currency, known bool) Tile {
		t := Tile{Label: label, Value: FormatMoney(c, cur)}
		if known {
			t.Change, t.Trend = percentChange(c, p)
		}
		return t
	}
	bounce := Tile{Label: "Bounce rate", Value: FormatBps(cur.BounceRateBps)}
	if traffic {
		bounce.Change, bounce.Trend = pointChange(cur.BounceRateBps, prev.BounceRateBps)
	}
	// The days' visitors added up: GA4 counts a visitor once a day, and distinct visitors do
	// not add up across days (one who came on three days is three here), so without the week's
	// distinct visitors the tile says what it is rather than passing the sum off as the week's
	// visitors. With them it shows them, compared only with the previous week's distinct
	// visitors. New visitors do add up (a visitor is new once), as do sessions; the bounce rate
	// is weighted by sessions.
	visitors := count(VisitorsLabel, cur.Visitors, prev.Visitors, traffic)
	if d.DistinctVisitors != nil {
		// GA4 sends no row for a range nobody visited, and none for one it did not measure (a
		// property connected this week): a previous count of 0 beside a week without a traffic
		// day is no data, as that week is to the other traffic tiles, not "nobody came" (which
		// would read "new").
		var p int64
		known := d.PreviousDistinctVisitors != nil
		if known {
			p = *d.PreviousDistinctVisitors
			known = p > 0 || prev.TrafficDays > 0
		}
		visitors = count(DistinctVisitorsLabel, *d.DistinctVisitors, p, known)
	}
	kpis := []Tile{
		visitors,
		count("New visitors", cur.NewVisitors, prev.NewVisitors, traffic),
		bounce,
		amount("Storefront revenue", cur.Revenue, prev.Revenue, d.Currency, revenue),
	}
	// Without a synced day a zero would read as "nobody came".
	noData := Tile{Value: "no data"}
	if cur.TrafficDays == 0 {
		for i := range 3 {
			kpis[i] = Tile{Label: kpis[i].Label, Value: noData.Value}
		}
	}
	if cur.RevenueDays == 0 {
		kpis[3] = Tile{Label: kpis[3].Label, Value: noData.Value}
	}
	return append(kpis,
		count("Payments captured", main.Count, prevMain.Count, true),
		amount("Commission earned", main.Platform, prevMain.Platform, main.Currency, true),
	)
}

// percentChange is (c-p)/p with one decimal, computed exactly (big rationals) so the text never
// depends on floating point.
func percentChange(c, p int64) (string, int) {
	switch {
	case c == p:
		return "no change", 0
	case p == 0:
		return "new", 1
	}
	// round(1000*(c-p)/|p|) tenths of a percent, half away from zero.
	num := new(big.Int).Mul(big.NewInt(1000), new(big.Int).Sub(big.NewInt(c), big.NewInt(p)))
	den := new(big.Int).Abs(big.NewInt(p))
	tenths := roundDiv(num, den)
	trend := 1
	if c < p {
		trend = -1
	}
	return signedTenths(tenths) + "%", trend
}

// pointChange is the difference of two rates in percentage points; a lower bounce rate is good.
func pointChange(c, p int64) (string, int) {
	if c == p {
		return "no change", 0
	}
	trend := -1
	if c < p {
		trend = 1
	}
	// 10 bps = 0.1 percentage points.
	return signedTenths(roundDiv(big.NewInt(c-p), big.NewInt(10))) + " pp", trend
}

func roundDiv(num, den *big.Int) int64 {
	q, r := new(big.Int).QuoRem(num, den, new(big.Int))
	if new(big.Int).Mul(new(big.Int).Abs(r), big.NewInt(2)).Cmp(den) >= 0 {
		if num.Sign() < 0 {
			q.Sub(q, big.NewInt(1))
		} else {
			q.Add(q, big.NewInt(1))
		}
	}
	return q.Int64()
}

func signedTenths(t int64) string {
	sign := "+"
	if t < 0 {
		sign, t = "-", -t
	}
	return fmt.Sprintf("%s%s.%d", sign, formatInt(t/10), t%10)
}

// failedNote is a note on a failed movement, with its reason when known.
func failedNote(n, reason string) string {
	if reason != "" {
		n += " (" + reason + ")"
	}
	return n + ". Our team retries it."
}

// NotesAll are the report's remarks: stale or missing analytics, held and failed payouts (per
// payee, then per currency), payments waiting for an admin, then the gatherer's own notes.
func (d Data) NotesAll() []string {
	var out []string
	var noTraffic, noRevenue []string
	for _, day := range d.Days {
		if !day.HasTraffic {
			noTraffic = append(noTraffic, dayLabel(day.Date))
		}
		if !day.HasRevenue {
			noRevenue = append(noRevenue, dayLabel(day.Date))
		}
	}
	missing := func(what string, days []string) {
		switch {
		case len(days) == 0:
		case len(days) == len(d.Days):
			out = append(out, "No "+what+" was synced for this week: those figures are missing, not zero.")
		default:
			out = append(out, "No "+what+" for "+strings.Join(days, ", ")+": left out of the totals and shown as gaps.")
		}
	}
	missing("web analytics (visitors, bounce rate)", noTraffic)
	missing("storefront revenue", noRevenue)
	if n := d.thresholdedNote(); n != "" {
		out = append(out, n)
	}
	weekEnd := d.Week.Monday().AddDate(0, 0, 7)
	for _, src := range d.Sources {
		switch {
		case src.LastSuccess.IsZero():
			out = append(out, "The "+src.Source+" KPI source has never synced successfully.")
		case src.LastSuccess.Before(weekEnd):
			out = append(out, "The "+src.Source+" KPI source last synced "+src.LastSuccess.UTC().Format("Mon 2 Jan 15:04 MST")+
				", before the week ended: the last days may be incomplete.")
		case src.Failing:
			out = append(out, "The latest "+src.Source+" KPI sync failed; the figures are from its last good sync, "+
				src.LastSuccess.UTC().Format("Mon 2 Jan 15:04 MST")+".")
		}
	}
	for _, p := range d.Payouts {
		if p.Held > 0 {
			n := fmt.Sprintf("Payout to %s %s held: %s", p.Party, p.PayeeID, FormatMoney(p.Held, p.Currency))
			if p.HeldReason != "" {
				n += " (" + p.HeldReason + ")"
			}
			out = append(out, n+". It is paid once the payee's account is fixed.")
		}
		// Failed is what the provider refused, as the client's payouts list shows it: named with
		// its reason, apart from the payments counted below, so Outstanding reads as pending.
		payouts, back, backReason := p.failedParts()
		if payouts > 0 {
			out = append(out, failedNote(fmt.Sprintf("Payout to %s %s failed: %s", p.Party, p.PayeeID, FormatMoney(payouts, p.Currency)), p.FailedReason))
		}
		if back > 0 {
			out = append(out, failedNote(fmt.Sprintf("Reversal from %s %s failed: it owes back %s", p.Party, p.PayeeID, FormatMoney(back, p.Currency)), backReason))
		}
	}
	for _, p := range d.Payments {
		if p.PayoutFailed > 0 {
			out = append(out, fmt.Sprintf("%s with a failed payout (%s), waiting for our team.", plural(p.PayoutFailed, "payment"), p.Currency.Upper()))
		}
		if p.NeedsAttention > 0 {
			out = append(out, fmt.Sprintf("%s waiting for order details or a decision (%s), not split yet: %s.",
				plural(p.NeedsAttention, "payment"), p.Currency.Upper(), FormatMoney(p.Unsplit, p.Currency)))
		}
	}
	return append(out, d.Notes...)
}

// PreviousThresholdedNote is the note when GA4 may have withheld low counts from the previous
// week's traffic a change is computed from, and not from the week's own figures.
const PreviousThresholdedNote = "GA4 applied thresholding to the previous week, which may withhold low counts: the changes against it may be affected."

// BothThresholdedNote is the note when both weeks' traffic was thresholded: one note, not two.
const BothThresholdedNote = kpi.ThresholdedNote + " The previous week's too: the changes against it may be affected."

// thresholdedNote is the note on GA4's thresholding of the figures shown and of those the changes
// compare with, or "" when neither was thresholded. The previous week's counts only when a
// traffic tile shows a change: without one, nothing shown rests on it.
func (d Data) thresholdedNote() string {
	cur := TrafficThresholded(d.Days) || (d.DistinctVisitors != nil && d.DistinctVisitorsThresholded)
	prev := d.PreviousThresholded && d.trafficCompared()
	switch {
	case cur && prev:
		return BothThresholdedNote
	case cur:
		return kpi.ThresholdedNote
	case prev:
		return PreviousThresholdedNote
	}
	return ""
}

// trafficCompared says a traffic tile (visitors, new visitors, bounce rate) shows a change
// against the previous week.
func (d Data) trafficCompared() bool {
	for _, t := range d.Tiles()[:3] {
		if t.Change != "" {
			return true
		}
	}
	return false
}

// TrafficThresholded says GA4 may have withheld low counts from the traffic of one of the days
// (a day without traffic shows none).
func TrafficThresholded(days []Day) bool {
	for _, day := range days {
		if day.HasTraffic && day.Thresholded {
			return true
		}
	}
	return false
}

func plural(n int64, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return formatInt(n) + " " + word + "s"
}

// FormatMoney renders minor units with thousands separators: "EUR 12,345.67".
func FormatMoney(amount int64, c money.Currency) string {
	dec, err := money.Decimal(amount, c)
	if err != nil {
		return money.Format(amount, c)
	}
	neg := strings.HasPrefix(dec, "-")
	dec = strings.TrimPrefix(dec, "-")
	whole, frac, hasFrac := strings.Cut(dec, ".")
	s := groupDigits(whole)
	if hasFrac {
		s += "." + frac
	}
	if neg {
		s = "-" + s
	}
	return c.Upper() + " " + s
}

// FormatBps renders basis points as a percentage with one decimal: 4235 → "42.4%".
func FormatBps(bps int64) string {
	t := roundDiv(big.NewInt(bps), big.NewInt(10))
	return fmt.Sprintf("%s.%d%%", formatInt(t/10), t%10)
}

func formatInt(n int64) string {
	if n < 0 {
		return "-" + groupDigits(fmt.Sprint(-n))
	}
	return groupDigits(fmt.Sprint(n))
}

func groupDigits(s string) string {
	if len(s) <= 3 {
		return s
	}
	var b strings.Builder
	lead := len(s) % 3
	if lead > 0 {
		b.WriteString(s[:lead])
	}
	for i := lead; i < len(s); i += 3 {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(s[i : i+3])
	}
	return b.String()
}

// dayLabel turns 2026-02-10 into "Tue 10 Feb".
func dayLabel(date string) string {
	t, err := time.Parse(time.DateOnly, date)
	if err != nil {
		return date
	}
	return t.Format("Mon 2 Jan")
}

// Period is the week's dates for people: "9–15 February 2026" or "29 December 2025 – 4 January 2026".
func (w Week) Period() string {
	first, last := w.Monday(), w.Monday().AddDate(0, 0, 6)
	switch {
	case first.Year() != last.Year():
		return first.Format("2 January 2006") + " – " + last.Format("2 January 2006")
	case first.Month() != last.Month():
		return first.Format("2 January") + " – " + last.Format("2 January 2006")
	}
	return fmt.Sprintf("%d–%s", first.Day(), last.Format("2 January 2006"))
}

// Validate checks what rendering relies on.
func (d Data) Validate() error {
	if d.ClientID == "" {
		return fmt.Errorf("report: client_id is required")
	}
	if _, err := ParseWeek(d.Week.String()); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	if len(d.Days) != 7 {
		return fmt.Errorf("report: want the week's 7 days, got %d", len(d.Days))
	}
	if d.Currency.Exponent() < 0 {
		return fmt.Errorf("report: currency %q is unknown", d.Currency)
	}
	// Sum adds the days unchecked, for the tiles and the email: a week whose revenue does not fit
	// in int64 would show a wrapped (negative) amount, so it is refused here, as kpi's sums are.
	for _, week := range []struct {
		name string
		days []Day
	}{{"this week", d.Days}, {"the previous week", d.Previous}} {
		var total int64
		for _, day := range week.days {
			if !day.HasRevenue {
				continue
			}
			var err error
			if total, err = money.AddInt(total, day.Revenue); err != nil {
				return fmt.Errorf("report: storefront revenue of %s: %w", week.name, err)
			}
		}
	}
	return nil
}
