package report_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paysplit/internal/money"
	"paysplit/internal/report"
	"paysplit/internal/report/reporttest"
)

func TestWeeks(t *testing.T) {
	tests := []struct {
		in      string
		monday  string
		period  string
		prev    string
		wantErr string
	}{
		{in: "2026-W07", monday: "2026-02-09", period: "9–15 February 2026", prev: "2026-W06"},
		{in: "2026-W01", monday: "2025-12-29", period: "29 December 2025 – 4 January 2026", prev: "2025-W52"},
		{in: "2020-W53", monday: "2020-12-28", period: "28 December 2020 – 3 January 2021", prev: "2020-W52"},
		{in: "2026-W10", monday: "2026-03-02", period: "2–8 March 2026", prev: "2026-W09"},
		{in: "2026-W05", monday: "2026-01-26", period: "26 January – 1 February 2026", prev: "2026-W04"},
		{in: "2025-W53", wantErr: "2025 has 52 ISO weeks"},
		{in: "2026-W53", monday: "2026-12-28", period: "28 December 2026 – 3 January 2027", prev: "2026-W52"},
		{in: "2026-W00", wantErr: "ISO weeks"},
		{in: "2026-7", wantErr: "want the form"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			w, err := report.ParseWeek(tc.in)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.in, w.String())
			require.Equal(t, tc.monday, w.Monday().Format(time.DateOnly))
			require.Equal(t, tc.period, w.Period())
			require.Equal(t, tc.prev, w.Prev().String())
			require.Equal(t, w, w.Prev().Next())
			require.Equal(t, w, report.WeekOf(w.Monday().AddDate(0, 0, 6)), "Sunday belongs to the same week")
		})
	}
}

func TestWeekBoundsFollowTheClientsZone(t *testing.T) {
	w, err := report.ParseWeek("2026-W13") // 23–29 March 2026; Europe switches to summer time on the 29th
	require.NoError(t, err)
	berlin, err := time.LoadLocation("Europe/Berlin")
	require.NoError(t, err)
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	require.NoError(t, err)
	require.Equal(t, "2026-03-22T23:00:00Z", w.Start(berlin).UTC().Format(time.RFC3339))
	require.Equal(t, "2026-03-29T22:00:00Z", w.End(berlin).UTC().Format(time.RFC3339), "the week is an hour shorter")
	require.Equal(t, "2026-03-22T15:00:00Z", w.Start(tokyo).UTC().Format(time.RFC3339))

	// Monday 06:00 local: the week that just ended, whatever the UTC date is.
	mondayMorning := time.Date(2026, 3, 30, 6, 0, 0, 0, tokyo)
	require.Equal(t, "2026-W13", report.LastCompleteWeek(mondayMorning, tokyo).String())
	require.Equal(t, "2026-W13", report.LastCompleteWeek(time.Date(2026, 3, 30, 6, 0, 0, 0, berlin), berlin).String())
}

// TestReportWaitsForItsLastUTCDay: the schedule fires Monday 06:00 local, but the report's KPI
// days are UTC dates. East of UTC+6 that is before the week's last UTC day has ended, so the
// report must wait for it and one KPI sync after it (at most MaxKPIWait after its end).
func TestReportWaitsForItsLastUTCDay(t *testing.T) {
	for _, tt := range []struct {
		zone      string
		syncEvery time.Duration
		wait      time.Duration // from the schedule's Monday 06:00 local to generating
	}{
		{"America/New_York", 15 * time.Minute, 0},
		{"Europe/Berlin", 15 * time.Minute, 0},             // 04:00 UTC: Sunday ended and synced
		{"Asia/Dhaka", 15 * time.Minute, 20 * time.Minute}, // 00:00 UTC: Sunday just ended, not synced
		{"Asia/Shanghai", 15 * time.Minute, 2*time.Hour + 20*time.Minute},
		{"Asia/Tokyo", 15 * time.Minute, 3*time.Hour + 20*time.Minute},
		{"Australia/Sydney", 15 * time.Minute, 4*time.Hour + 20*time.Minute}, // UTC+10 in June
		{"Pacific/Auckland", 15 * time.Minute, 6*time.Hour + 20*time.Minute}, // UTC+12 in June
		{"Pacific/Kiritimati", time.Hour, 9*time.Hour + 5*time.Minute},       // UTC+14, hourly sync
		{"Asia/Tokyo", 24 * time.Hour, 9 * time.Hour},                        // daily sync: capped at 6h after the day
	} {
		t.Run(tt.zone+"/"+tt.syncEvery.String(), func(t *testing.T) {
			loc, err := time.LoadLocation(tt.zone)
			require.NoError(t, err)
			at := time.Date(2026, 6, 15, 6, 0, 0, 0, loc) // the schedule's Monday 06:00
			w := report.LastCompleteWeek(at, loc)
			require.Equal(t, "2026-W24", w.String())
			generate := at
			if ready := w.KPIsCompleteAt(tt.syncEvery); ready.After(at) {
				generate = ready
			}
			require.Equal(t, tt.wait, generate.Sub(at))
			lastDayEnds := w.Days()[6].AddDate(0, 0, 1) // 00:00 UTC the next day
			require.Falsef(t, generate.Before(lastDayEnds.Add(min(tt.syncEvery, report.MaxKPIWait-report.KPISyncRunTime))),
				"report of %s generated at %s UTC, before its last day %s ended and was synced",
				w, generate.UTC().Format("Mon 15:04"), w.Days()[6].Format(time.DateOnly))
		})
	}
}

func TestTiles(t *testing.T) {
	d := reporttest.Sample()
	tiles := d.Tiles()
	got := map[string]report.Tile{}
	for _, tile := range tiles {
		got[tile.Label] = tile
	}
	tests := []struct {
		label, value, change string
		trend                int
	}{
		// Thursday has no analytics this week: the previous week's Thursday still counts there,
		// so fewer visitors show as a drop. The note says why.
		{"Sum of daily visitors", "13,090", "-4.5%", -1},
		{"New visitors", "8,677", "-4.5%", -1},
		{"Bounce rate", "38.9%", "-1.6 pp", 1},
		{"Storefront revenue", "EUR 108,516.75", "+13.9%", 1},
		{"Payments captured", "412", "+8.4%", 1},
		{"Commission earned", "EUR 11,304.02", "+8.3%", 1},
	}
	require.Len(t, tiles, len(tests))
	for i, tc := range tests {
		require.Equal(t, tc.label, tiles[i].Label, "tile order")
		tile := got[tc.label]
		require.Equal(t, tc.value, tile.Value, tc.label)
		require.Equal(t, tc.change, tile.Change, tc.label)
		require.Equal(t, tc.trend, tile.Trend, tc.label)
	}
}

func TestTilesWithoutData(t *testing.T) {
	w := report.Week{Year: 2026, Week: 7}
	days := make([]report.Day, 7)
	for i, day := range w.Days() {
		days[i] = report.Day{Date: day.Format(time.DateOnly)}
	}
	d := report.Data{ClientID: "c", Week: w, Currency: money.USD, Days: days}
	for _, tile := range d.Tiles()[:4] {
		require.Equal(t, "no data", tile.Value, tile.Label)
		require.Empty(t, tile.Change, tile.Label)
	}
	payments := d.Tiles()[4]
	require.Equal(t, "0", payments.Value)
	require.Equal(t, "no change", payments.Change)

	notes := strings.Join(d.NotesAll(), "\n")
	require.Contains(t, notes, "No web analytics (visitors, bounce rate) was synced for this week")
	require.Contains(t, notes, "No storefront revenue was synced for this week")
}

func TestNotes(t *testing.T) {
	d := reporttest.Sample()
	d.Sources = []report.SourceSync{
		{Source: "ga4", LastSuccess: time.Date(2026, 2, 14, 9, 30, 0, 0, time.UTC)},
		{Source: "ledger", LastSuccess: time.Date(2026, 2, 16, 5, 0, 0, 0, time.UTC), Failing: true},
		{Source: "stripe"},
	}
	d.Payments[0].PayoutFailed = 1
	d.Notes = []string{"KPI revenue for 1 day was in USD and is not shown."}
	want := []string{
		"No web analytics (visitors, bounce rate) for Thu 12 Feb: left out of the totals and shown as gaps.",
		"The ga4 KPI source last synced Sat 14 Feb 09:30 UTC, before the week ended: the last days may be incomplete.",
		"The latest ledger KPI sync failed; the figures are from its last good sync, Mon 16 Feb 05:00 UTC.",
		"The stripe KPI source has never synced successfully.",
		"Payout to vendor coastal-crafts held: EUR 1,683.00 (connected account cannot receive transfers yet). It is paid once the payee's account is fixed.",
		"1 payment with a failed payout (EUR), waiting for our team.",
		"2 payments waiting for order details or a decision (EUR), not split yet: EUR 780.00.",
		"KPI revenue for 1 day was in USD and is not shown.",
	}
	require.Equal(t, want, d.NotesAll())
}

func TestFormatting(t *testing.T) {
	tests := []struct{ got, want string }{
		{report.FormatMoney(123456789, money.EUR), "EUR 1,234,567.89"},
		{report.FormatMoney(-5, money.USD), "USD -0.05"},
		{report.FormatMoney(1000000, money.JPY), "JPY 1,000,000"},
		{report.FormatMoney(1234567, money.KWD), "KWD 1,234.567"},
		{report.FormatBps(4235), "42.4%"},
		{report.FormatBps(10000), "100.0%"},
		{report.FormatBps(4), "0.0%"},
	}
	for _, tc := range tests {
		require.Equal(t, tc.want, tc.got)
	}
}

func TestEmailCarriesTheHeadlineNumbers(t *testing.T) {
	d := reporttest.Sample()
	d.ClientName = `Northwind <script>alert(1)</script>`
	e, err := report.EmailFor(d)
	require.NoError(t, err)
	require.Contains(t, e.Subject, "2026-W07")
	for _, want := range []string{"Sum of daily visitors:", "13,090", "-4.5% vs last week", "EUR 11,304.02", "paysplit-report-northwind-2026-W07.pdf", "held"} {
		require.Contains(t, e.Text, want)
	}
	require.Contains(t, e.HTML, "13,090")
	require.Contains(t, e.HTML, "EUR 11,304.02")
	require.NotContains(t, e.HTML, "<script>", "client-controlled text is escaped")
	again, err := report.EmailFor(d)
	require.NoError(t, err)
	require.Equal(t, e, again)
}

// TestMainPaymentsAreTheDefaultCurrencys: a USD client captured $10.00 and ¥5,000 in a week. The
// headline tiles and the split chart show the client's default currency, USD, and the yen are
// listed beside it; comparing 1000 cents with 5000 yen would make ¥5,000 the main figure.
func TestMainPaymentsAreTheDefaultCurrencys(t *testing.T) {
	w := report.Week{Year: 2026, Week: 24}
	days := make([]report.Day, 7)
	for i, day := range w.Days() {
		days[i] = report.Day{Date: day.Format(time.DateOnly)}
	}
	d := report.Data{ClientID: "c", Week: w, Currency: money.USD, Days: days, Payments: []report.Payments{
		{Currency: money.JPY, Count: 3, Gross: 5000, Platform: 500, Vendor: 4500},
		{Currency: money.USD, Count: 1, Gross: 1000, Platform: 100, Vendor: 900},
	}}
	main, ok := d.MainPayments()
	require.True(t, ok)
	require.Equal(t, money.USD, main.Currency)
	tiles := d.Tiles()
	require.Equal(t, "Payments captured", tiles[4].Label)
	require.Equal(t, "1", tiles[4].Value)
	require.Equal(t, "Commission earned", tiles[5].Label)
	require.Equal(t, "USD 1.00", tiles[5].Value)

	// Nothing in USD: the main figures are zeros in USD, not the yen.
	d.Payments = d.Payments[:1]
	main, ok = d.MainPayments()
	require.False(t, ok)
	require.Equal(t, money.USD, main.Currency)
	require.Equal(t, "USD 0.00", d.Tiles()[5].Value)
	_, err := report.Render(d)
	require.NoError(t, err)
}

// TestReportSaysWhichDaysItsDailyFiguresAre: the week's payments are cut at midnight in the
// client's zone, but the daily figures (visitors, storefront revenue, bounce rate per day) are
// UTC days, as every KPI day is. The report said "days in America/New_York", so a New York client
// read Monday's revenue bar as its own Monday, though it runs from 19:00 (20:00 in winter) on
// Sunday to the same hour on Monday there.
func TestReportSaysWhichDaysItsDailyFiguresAre(t *testing.T) {
	for _, tc := range []struct{ zone, want string }{
		{"America/New_York", "week in America/New_York; daily figures by UTC day"},
		{"Asia/Kolkata", "week in Asia/Kolkata; daily figures by UTC day"},
		{"", "days in UTC"},
		{"UTC", "days in UTC"},
	} {
		t.Run(tc.zone, func(t *testing.T) {
			d := reporttest.Sample()
			d.TimeZone = tc.zone
			e, err := report.EmailFor(d)
			require.NoError(t, err)
			require.Contains(t, e.Text, tc.want)
			require.Contains(t, e.HTML, tc.want)
			if tc.zone != "" && tc.zone != "UTC" {
				require.NotContains(t, strings.ToLower(e.Text), "days in "+strings.ToLower(tc.zone))
				require.NotContains(t, strings.ToLower(e.HTML), "days in "+strings.ToLower(tc.zone))
			}
			// The PDF's cover says the same (its text read back by poppler's pdftotext).
			pdf, err := report.Render(d)
			require.NoError(t, err)
			text := pdfText(t, pdf.Bytes)
			require.Contains(t, strings.ToLower(text), strings.ToLower(tc.want))
		})
	}
}

// pdfText is the text of a PDF's first page, by pdftotext (poppler-utils, as pdftoppm for the
// render tests). Without it the test skips, or fails under CI=true.
func pdfText(t *testing.T, pdf []byte) string {
	t.Helper()
	exe := reporttest.Poppler(t, "pdftotext")
	f := filepath.Join(t.TempDir(), "report.pdf")
	require.NoError(t, os.WriteFile(f, pdf, 0o644))
	out, err := exec.Command(exe, "-l", "1", f, "-").Output()
	require.NoError(t, err, "pdftotext")
	return string(out)
}

// TestVisitorsTileIsTheSumOfDailyVisitors: the same 100 people visit the shop every day of the
// week. GA4 counts them once a day (totalUsers by date), so the week adds up to 700, and GA4 would
// answer 100 for the week asked as one range: distinct visitors do not add up across days. A
// report without that count (Data.DistinctVisitors: no GA4, GA4 refusing, stored before) has only
// days: the tile (and the mail's line) must say it is the days' visitors summed, not present 700
// as the week's visitors.
func TestVisitorsTileIsTheSumOfDailyVisitors(t *testing.T) {
	w := report.Week{Year: 2026, Week: 7}
	days := make([]report.Day, 7)
	for i, day := range w.Days() {
		days[i] = report.Day{Date: day.Format(time.DateOnly), HasTraffic: true, Visitors: 100, Sessions: 100, BounceRateBps: 5000}
	}
	d := report.Data{ClientID: "c", Week: w, Currency: money.USD, Days: days}
	tile := d.Tiles()[0]
	require.Equal(t, "700", tile.Value)
	require.Equal(t, "Sum of daily visitors", tile.Label, "700 is seven days of 100 visitors, not 700 people")
	e, err := report.EmailFor(d)
	require.NoError(t, err)
	require.Contains(t, e.Text, "Sum of daily visitors: 700\n")
}
