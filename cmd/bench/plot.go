package main

import (
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
	"time"

	"github.com/go-analyze/charts"
)

// series is the run second by second: ack latency percentiles of the webhooks sent in that
// second, and the payments that reached their final status in it.
type series struct {
	p50, p99, completed []float64
}

func perSecond(got []delivery, done map[string]time.Time, t0 time.Time) series {
	n := 0
	for _, d := range got {
		n = max(n, int(d.At/time.Second)+1)
	}
	for _, t := range done {
		n = max(n, int(t.Sub(t0)/time.Second)+1)
	}
	buckets := make([][]time.Duration, n)
	for _, d := range got {
		i := int(d.At / time.Second)
		buckets[i] = append(buckets[i], d.Latency)
	}
	s := series{p50: make([]float64, n), p99: make([]float64, n), completed: make([]float64, n)}
	for i, b := range buckets {
		if len(b) == 0 {
			s.p50[i], s.p99[i] = charts.GetNullValue(), charts.GetNullValue()
			continue
		}
		slices.Sort(b)
		s.p50[i], s.p99[i] = ms(percentile(b, 50)), ms(percentile(b, 99))
	}
	for _, t := range done {
		if i := int(t.Sub(t0) / time.Second); i >= 0 {
			s.completed[i]++
		}
	}
	return s
}

// writePlot draws ack latency p50/p99 (left axis, ms) and payments completed per second (right
// axis) over the run.
func writePlot(path string, got []delivery, done map[string]time.Time, t0 time.Time) error {
	s := perSecond(got, done, t0)
	labels := make([]string, len(s.p50))
	for i := range labels {
		labels[i] = strconv.Itoa(i) + "s"
	}
	opt := charts.NewLineChartOptionWithData([][]float64{s.p50, s.p99, s.completed})
	opt.SeriesList[2].YAxisIndex = 1
	opt.Theme = charts.MakeTheme(charts.ThemeOption{
		BackgroundColor: charts.ColorFromHex("ffffff"), TextColor: charts.ColorFromHex("374151"),
		AxisStrokeColor: charts.ColorFromHex("9ca3af"), AxisSplitLineColor: charts.ColorFromHex("e5e7eb"),
		SeriesColors: []charts.Color{charts.ColorFromHex("2563eb"), charts.ColorFromHex("dc2626"), charts.ColorFromHex("10b981")},
	})
	opt.Title = charts.TitleOption{Text: "Webhook ack latency and completed payments per second"}
	opt.Padding = charts.Box{Top: 20, Right: 20, Bottom: 10, Left: 10, IsSet: true}
	opt.XAxis.Labels = labels
	opt.XAxis.LabelCount = min(len(labels), 12)
	opt.XAxis.Title = "seconds since the first webhook"
	opt.YAxis = []charts.YAxisOption{
		{Title: "ack latency (ms)", Min: charts.Ptr(0.0), ValueFormatter: oneDecimal},
		{Title: "payments completed / s", Min: charts.Ptr(0.0), ValueFormatter: oneDecimal},
	}
	opt.Legend = charts.LegendOption{SeriesNames: []string{"ack p50 (ms)", "ack p99 (ms)", "payments completed / s"}, Offset: charts.OffsetRight}
	opt.LineStrokeWidth = 2
	opt.Symbol = charts.Symbol{Shape: charts.SymbolNone}
	p := charts.NewPainter(charts.PainterOptions{OutputFormat: charts.ChartOutputPNG, Width: 1200, Height: 600})
	if err := p.LineChart(opt); err != nil {
		return fmt.Errorf("line chart: %w", err)
	}
	png, err := p.Bytes()
	if err != nil {
		return err
	}
	return os.WriteFile(path, png, 0o644)
}

func oneDecimal(v float64) string { return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64) }
