package report_test

import (
	"bytes"
	"fmt"
	"image"
	"image/png"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paysplit/internal/money"
	"paysplit/internal/report"
	"paysplit/internal/report/reporttest"
)

func emptyWeek() report.Data {
	w := report.Week{Year: 2026, Week: 1}
	days := make([]report.Day, 7)
	for i, d := range w.Days() {
		days[i] = report.Day{Date: d.Format(time.DateOnly)}
	}
	return report.Data{ClientID: "quiet-shop", Week: w, TimeZone: "America/New_York", Currency: money.USD, Days: days}
}

func manyPayouts() report.Data {
	d := reporttest.Sample()
	d.Payouts = nil
	for i := range 70 {
		d.Payouts = append(d.Payouts, report.Payout{PayeeID: fmt.Sprintf("vendor-with-a-rather-long-name-%03d", i), Party: "vendor",
			Currency: money.EUR, Payments: int64(i + 1), Owed: int64(i+1) * 10_000, PaidOut: int64(i+1) * 9_000})
	}
	return d
}

func TestRenderIsDeterministicAndReadable(t *testing.T) {
	tests := []struct {
		name  string
		data  report.Data
		pages int
	}{
		{"sample week", reporttest.Sample(), 3},
		{"week without data", emptyWeek(), 3},
		{"payouts table over two pages", manyPayouts(), 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			first, err := report.Render(tc.data)
			require.NoError(t, err)
			// Several renders, because map iteration order (the usual source of drift) changes
			// from one call to the next.
			for range 3 {
				again, err := report.Render(tc.data)
				require.NoError(t, err)
				require.True(t, bytes.Equal(first.Bytes, again.Bytes), "same data must give the same PDF bytes")
			}
			require.Equal(t, tc.pages, first.Pages)
			require.True(t, bytes.HasPrefix(first.Bytes, []byte("%PDF-")))
			// The creation date comes from the week, never from the clock.
			created := tc.data.Week.Monday().AddDate(0, 0, 7).Format("20060102")
			require.Contains(t, string(first.Bytes), "/CreationDate (D:"+created)

			pages := rasterize(t, first.Bytes, tc.name)
			require.Len(t, pages, tc.pages, "pdftoppm sees the page count Render reports")
			for i, p := range pages {
				img := decodePNG(t, p)
				mean, variance, inked := pixelStats(img)
				t.Logf("page %d: %dx%d mean %.1f variance %.1f inked %.1f%%", i+1, img.Bounds().Dx(), img.Bounds().Dy(), mean, variance, 100*inked)
				require.Greater(t, variance, 50.0, "page %d is blank", i+1)
				require.Greater(t, inked, 0.002, "page %d has almost nothing on it", i+1)
			}
			// Page 1 carries the cover band, tiles and a chart: far more ink than a text page.
			_, _, inked := pixelStats(decodePNG(t, pages[0]))
			require.Greater(t, inked, 0.10)
		})
	}
}

func TestRenderRejectsIncompleteData(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*report.Data)
		want   string
	}{
		{"no client", func(d *report.Data) { d.ClientID = "" }, "client_id"},
		{"six days", func(d *report.Data) { d.Days = d.Days[:6] }, "7 days"},
		{"bad week", func(d *report.Data) { d.Week.Week = 54 }, "ISO weeks"},
		{"unknown currency", func(d *report.Data) { d.Currency = "xxx" }, "currency"},
		// Each day fits in int64 but the week's sum does not: the revenue tile would print a
		// wrapped, negative amount (the KPI sums refuse such a sum, kpi.Sum's add).
		{"week's revenue beyond int64", func(d *report.Data) {
			for i := range d.Days[:2] {
				d.Days[i].HasRevenue, d.Days[i].Revenue = true, math.MaxInt64/2+1
			}
		}, "revenue"},
		{"previous week's revenue beyond int64", func(d *report.Data) {
			for i := range d.Previous[:2] {
				d.Previous[i].HasRevenue, d.Previous[i].Revenue = true, math.MaxInt64/2+1
			}
		}, "revenue"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := reporttest.Sample()
			tc.mutate(&d)
			_, err := report.Render(d)
			require.ErrorContains(t, err, tc.want)
		})
	}
}

// artifactDir is where rendered pages are kept for people to look at: $TEST_ARTIFACTS_DIR, else
// .data/test-artifacts/report at the repository root (.data is gitignored).
func artifactDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("TEST_ARTIFACTS_DIR")
	if dir == "" {
		wd, err := os.Getwd()
		require.NoError(t, err)
		dir = filepath.Join(wd, "..", "..", ".data", "test-artifacts")
	}
	dir = filepath.Join(dir, "report")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	return dir
}

var unsafeName = regexp.MustCompile(`[^a-z0-9]+`)

// rasterize turns every page into a PNG with pdftoppm (Debian's poppler-utils) and keeps the
// PDF and the pages as artifacts. Without pdftoppm the test skips, or fails under CI=true.
func rasterize(t *testing.T, pdf []byte, name string) [][]byte {
	t.Helper()
	exe := reporttest.Poppler(t, "pdftoppm")
	dir := artifactDir(t)
	base := filepath.Join(dir, unsafeName.ReplaceAllString(name, "-"))
	require.NoError(t, os.WriteFile(base+".pdf", pdf, 0o644))
	old, _ := filepath.Glob(base + "-page-*.png")
	for _, f := range old {
		require.NoError(t, os.Remove(f))
	}
	out, err := exec.Command(exe, "-png", "-r", "80", base+".pdf", base+"-page").CombinedOutput()
	require.NoError(t, err, "pdftoppm: %s", out)
	files, err := filepath.Glob(base + "-page-*.png")
	require.NoError(t, err)
	// pdftoppm numbers pages with as many digits as the last one needs; sort numerically.
	pages := make([][]byte, len(files))
	for _, f := range files {
		m := regexp.MustCompile(`-page-0*([0-9]+)\.png$`).FindStringSubmatch(f)
		require.NotNil(t, m, f)
		n, _ := strconv.Atoi(m[1])
		require.LessOrEqual(t, n, len(files))
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		pages[n-1] = b
	}
	t.Logf("pages kept in %s-page-*.png", base)
	return pages
}

func decodePNG(t *testing.T, b []byte) image.Image {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(b))
	require.NoError(t, err)
	return img
}

// pixelStats returns the mean and variance of the luminance (0-255) and the share of pixels
// that are not near-white.
func pixelStats(img image.Image) (mean, variance, inked float64) {
	var sum, sumSq float64
	var n, dark int
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			l := (0.299*float64(r) + 0.587*float64(g) + 0.114*float64(bl)) / 257
			sum += l
			sumSq += l * l
			n++
			if l < 240 {
				dark++
			}
		}
	}
	if n == 0 {
		return 0, 0, 0
	}
	mean = sum / float64(n)
	return mean, sumSq/float64(n) - mean*mean, float64(dark) / float64(n)
}

// TestConcurrentRendersAgree: the worker renders several clients' reports at once.
func TestConcurrentRendersAgree(t *testing.T) {
	want, err := report.Render(reporttest.Sample())
	require.NoError(t, err)
	const n = 4
	got := make([][]byte, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p, err := report.Render(reporttest.Sample())
			got[i], errs[i] = p.Bytes, err
		}()
	}
	wg.Wait()
	for i := range n {
		require.NoError(t, errs[i])
		require.True(t, bytes.Equal(want.Bytes, got[i]), "render %d differs", i)
	}
}

// TestPayoutsTableShowsFailedApartFromOutstanding: a payout the provider refused (waiting for our
// team's retry) is in the payouts table's Failed column, as the client's payouts list has it in
// failed, not in Outstanding, which is pending only; a refused reversal (money the payee owes
// back) is failed and negative. The table, with its extra column, stays within the page and no
// amount, even a large one, is cut short with an ellipsis (a long payee ID may be, in its middle).
func TestPayoutsTableShowsFailedApartFromOutstanding(t *testing.T) {
	d := reporttest.Sample()
	for i, p := range d.Payouts {
		if p.PayeeID == "harbor-home" {
			d.Payouts[i].Failed, d.Payouts[i].FailedReason = 45_000, "transfer refused: account closed"
		}
	}
	d.Payouts = append(d.Payouts,
		report.Payout{PayeeID: "dune-decor", Party: "vendor", Currency: money.EUR, Payments: 3, Owed: 120_000, PaidOut: 135_000,
			Failed: -15_000, FailedReason: "reversal of 15000 failed: insufficient funds"},
		report.Payout{PayeeID: "grand-emporium", Party: "affiliate", Currency: money.EUR, Payments: 99_999,
			Owed: 99_999_999_999, PaidOut: 88_888_888_888, Held: 5_555_555_555, Failed: 4_444_444_444})
	pdf, drawn, err := report.RenderTraced(d, nil)
	require.NoError(t, err)
	var texts []string
	for _, dr := range drawn {
		if strings.HasPrefix(dr.Text, "EUR ") {
			require.NotContains(t, dr.Text, "…", "an amount was cut short: %q", dr.Text)
		}
		texts = append(texts, dr.Text)
	}
	require.Contains(t, texts, "Failed", "the payouts table has a Failed column")
	// harbor-home: owed 14,462.50, paid 14,012.50, failed 450.00: nothing outstanding.
	i := slices.Index(texts, "harbor-home")
	require.GreaterOrEqual(t, i, 0)
	require.Equal(t, []string{"EUR 14,462.50", "EUR 14,012.50", "EUR 0.00", "EUR 450.00", "EUR 0.00"}, texts[i+3:i+8],
		"owed, paid out, held, failed, outstanding")
	i = slices.Index(texts, "dune-decor")
	require.GreaterOrEqual(t, i, 0)
	require.Equal(t, []string{"EUR 1,200.00", "EUR 1,350.00", "EUR 0.00", "EUR -150.00", "EUR 0.00"}, texts[i+3:i+8])
	table, content := report.PayoutTableWidth()
	require.LessOrEqual(t, table, content, "the payouts table fits the page")

	text := reporttest.Text(t, pdf.Bytes)
	require.Contains(t, text, "Payout to vendor harbor-home failed: EUR 450.00 (transfer refused: account closed). Our team retries it.")
	require.Contains(t, text, "Reversal from vendor dune-decor failed: it owes back EUR 150.00 (reversal of 15000 failed: insufficient funds). Our team retries it.")
}

// TestLongPayeeIDsStayApart: payees of one client often share a long prefix and differ at their
// end. The payouts table draws such an ID smaller, and one still too long is cut in its middle,
// so each row's payee keeps its own end and no two rows read alike; an ID that fits is whole.
func TestLongPayeeIDsStayApart(t *testing.T) {
	ids := []string{
		"northwind-outdoor-equipment-and-camping-supplies-vendor-0001",
		"northwind-outdoor-equipment-and-camping-supplies-vendor-0002",
		"northwind-outdoor-gear-42", // fits once drawn smaller
	}
	d := reporttest.Sample()
	for _, id := range ids {
		d.Payouts = append(d.Payouts, report.Payout{PayeeID: id, Party: "vendor", Currency: money.EUR, Payments: 1, Owed: 1_000, PaidOut: 1_000})
	}
	_, drawn, err := report.RenderTraced(d, nil)
	require.NoError(t, err)
	var payees []string
	for _, dr := range drawn {
		if strings.HasPrefix(dr.Text, "northwind-") {
			payees = append(payees, dr.Text)
		}
	}
	require.Len(t, payees, len(ids), "one payee cell a row: %q", payees)
	require.NotEqual(t, payees[0], payees[1], "two payees read alike")
	for i, id := range ids[:2] {
		require.Contains(t, payees[i], "…", "%s is too long for its column", id)
		head, tail, _ := strings.Cut(payees[i], "…")
		require.True(t, strings.HasPrefix(id, head) && strings.HasSuffix(id, tail), "%q is not %s cut in its middle", payees[i], id)
		require.True(t, strings.HasSuffix(tail, id[len(id)-4:]), "%q lost the end of %s", payees[i], id)
	}
	require.Equal(t, ids[2], payees[2], "an ID that fits a smaller font is drawn whole")
}

// TestLongPayeeIDsDifferingInTheirMiddleStayApart: payee IDs of one client that share both a long
// start and a long end ("… north …" and "… south …" of one shop's name, under 64 characters, so
// no hash ends them) differ only in their middle. Cut in the middle, both drew alike; each must
// show where it differs. A payee listed twice (two currencies) is drawn alike, as it is one.
func TestLongPayeeIDsDifferingInTheirMiddleStayApart(t *testing.T) {
	ids := []string{
		"northwind-outdoor-equipment-north-camping-and-hiking-supplies",
		"northwind-outdoor-equipment-south-camping-and-hiking-supplies",
		"northwind-outdoor-equipment-south-camping-and-hiking-supplies", // again, in USD
		"northwind-outdoor-equipment-and-camping-supplies-vendor-0001",
	}
	d := reporttest.Sample()
	for i, id := range ids {
		cur := money.EUR
		if i == 2 {
			cur = money.USD
		}
		d.Payouts = append(d.Payouts, report.Payout{PayeeID: id, Party: "vendor", Currency: cur, Payments: 1, Owed: 1_000, PaidOut: 1_000})
	}
	_, drawn, err := report.RenderTraced(d, nil)
	require.NoError(t, err)
	var payees []string
	for _, dr := range drawn {
		if strings.HasPrefix(dr.Text, "northwind-") || strings.HasPrefix(dr.Text, "…") {
			payees = append(payees, dr.Text)
		}
	}
	require.Len(t, payees, len(ids), "one payee cell a row: %q", payees)
	t.Logf("drawn: %q", payees)
	require.NotEqual(t, payees[0], payees[1], "two payees read alike")
	require.Equal(t, payees[1], payees[2], "one payee reads alike on its two rows")
	require.NotEqual(t, payees[0], payees[3])
	require.NotEqual(t, payees[1], payees[3])
	for i, p := range payees {
		for _, part := range strings.Split(p, "…") {
			require.Contains(t, ids[i], part, "%q is not cut from %s", p, ids[i])
		}
	}
}
