// Package reporttest holds fixed report data for tests.
package reporttest

import (
	"time"

	"paysplit/internal/money"
	"paysplit/internal/report"
)

// Sample is a fixed, plausible week of data, the same on every call. It has a day the KPI sync missed, a held payout and a payment waiting for an
// admin, so every part of the layout, notes included, is exercised.
func Sample() report.Data {
	w := report.Week{Year: 2026, Week: 7}
	day := func(i int, visitors, newVisitors, sessions int64, bounce int32, revenue int64) report.Day {
		return report.Day{Date: w.Monday().AddDate(0, 0, i).Format(time.DateOnly), HasTraffic: true, HasRevenue: true, Visitors: visitors,
			NewVisitors: newVisitors, Sessions: sessions, BounceRateBps: bounce, Revenue: revenue}
	}
	prev := w.Prev()
	prevDay := func(i int, visitors, newVisitors, sessions int64, bounce int32, revenue int64) report.Day {
		d := day(i, visitors, newVisitors, sessions, bounce, revenue)
		d.Date = prev.Monday().AddDate(0, 0, i).Format(time.DateOnly)
		return d
	}
	// Thursday: the analytics sync missed it; the revenue is there.
	missing := report.Day{Date: w.Monday().AddDate(0, 0, 3).Format(time.DateOnly), HasRevenue: true, Revenue: 1_310_200}
	return report.Data{
		ClientID:   "northwind",
		ClientName: "Northwind Outfitters",
		Week:       w,
		TimeZone:   "Europe/Berlin",
		Currency:   money.EUR,
		Days: []report.Day{
			day(0, 1840, 1210, 2210, 4120, 1_254_300),
			day(1, 1725, 1102, 2050, 4380, 1_180_050),
			day(2, 1990, 1305, 2400, 3960, 1_402_990),
			missing,
			day(4, 2310, 1560, 2790, 3710, 1_733_400),
			day(5, 2745, 1880, 3320, 3550, 2_104_725),
			day(6, 2480, 1620, 3010, 3890, 1_866_010),
		},
		Previous: []report.Day{
			prevDay(0, 1650, 1100, 1990, 4300, 1_101_000),
			prevDay(1, 1700, 1090, 2010, 4410, 1_050_500),
			prevDay(2, 1810, 1200, 2200, 4200, 1_210_000),
			prevDay(3, 1790, 1150, 2150, 4150, 1_190_000),
			prevDay(4, 2050, 1400, 2500, 3900, 1_480_250),
			prevDay(5, 2400, 1650, 2900, 3700, 1_802_000),
			prevDay(6, 2300, 1500, 2780, 3950, 1_690_400),
		},
		Sources: []report.SourceSync{
			{Source: "ga4", LastSuccess: time.Date(2026, 2, 16, 3, 0, 0, 0, time.UTC)},
			{Source: "ledger", LastSuccess: time.Date(2026, 2, 16, 5, 30, 0, 0, time.UTC)},
		},
		Payments: []report.Payments{
			{Currency: money.EUR, Count: 412, Gross: 9_540_125, Refunded: 120_500, Platform: 1_130_402,
				Vendor: 7_921_893, Affiliate: 289_330, Unsplit: 78_000, NeedsAttention: 2},
			{Currency: money.USD, Count: 9, Gross: 84_500, Platform: 10_140, Vendor: 74_360},
		},
		PreviousPayments: []report.Payments{
			{Currency: money.EUR, Count: 380, Gross: 8_805_000, Refunded: 95_000, Platform: 1_044_120,
				Vendor: 7_410_880, Affiliate: 255_000},
		},
		Payouts: []report.Payout{
			{PayeeID: "alpine-gear", Party: "vendor", Currency: money.EUR, Payments: 151, Owed: 2_950_210, PaidOut: 2_950_210},
			{PayeeID: "coastal-crafts", Party: "vendor", Currency: money.EUR, Payments: 98, Owed: 1_870_400, PaidOut: 1_702_100, Held: 168_300,
				HeldReason: "connected account cannot receive transfers yet"},
			{PayeeID: "fjord-knitwear", Party: "vendor", Currency: money.EUR, Payments: 87, Owed: 1_655_033, PaidOut: 1_655_033},
			{PayeeID: "harbor-home", Party: "vendor", Currency: money.EUR, Payments: 74, Owed: 1_446_250, PaidOut: 1_401_250},
			{PayeeID: "trailblazers-club", Party: "affiliate", Currency: money.EUR, Payments: 133, Owed: 289_330, PaidOut: 289_330},
			{PayeeID: "alpine-gear", Party: "vendor", Currency: money.USD, Payments: 9, Owed: 74_360, PaidOut: 74_360},
		},
	}
}
