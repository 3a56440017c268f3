package main

import (
	"fmt"
	"os"
	"sync/atomic"
	"time"
)

// progress is a one-line progress bar on stderr: done/total, rate and ETA.
type progress struct {
	label string
	total int
	start time.Time
	n     atomic.Int64
	stop  chan struct{}
	done  chan struct{}
}

func newProgress(label string, total int, start time.Time) *progress {
	p := &progress{label: label, total: total, start: start, stop: make(chan struct{}), done: make(chan struct{})}
	// On a terminal the line is redrawn in place; in a log (CI, `| tee`) a line every 5 s.
	every, redraw := 250*time.Millisecond, "\r"
	if fi, err := os.Stderr.Stat(); err == nil && fi.Mode()&os.ModeCharDevice == 0 {
		every, redraw = 5*time.Second, ""
	}
	draw := func() {
		line := progressLine(p.label, int(p.n.Load()), p.total, time.Since(p.start))
		if redraw == "" {
			line += "\n"
		}
		fmt.Fprint(os.Stderr, redraw+line)
	}
	go func() {
		defer close(p.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				draw()
			case <-p.stop:
				draw()
				if redraw != "" {
					fmt.Fprintln(os.Stderr)
				}
				return
			}
		}
	}()
	return p
}

func (p *progress) set(n int) { p.n.Store(int64(n)) }
func (p *progress) add(n int) { p.n.Add(int64(n)) }

func (p *progress) finish() {
	close(p.stop)
	<-p.done
}

func progressLine(label string, n, total int, elapsed time.Duration) string {
	width := 30
	filled := 0
	if total > 0 {
		filled = min(width, width*n/total)
	}
	bar := make([]byte, width)
	for i := range bar {
		bar[i] = '.'
		if i < filled {
			bar[i] = '#'
		}
	}
	rate := 0.0
	if s := elapsed.Seconds(); s > 0 {
		rate = float64(n) / s
	}
	eta := "--"
	if rate > 0 && n < total {
		eta = time.Duration(float64(total-n) / rate * float64(time.Second)).Round(time.Second).String()
	} else if n >= total {
		eta = "0s"
	}
	return fmt.Sprintf("%-5s [%s] %6d/%-6d %7.1f/s  %6s elapsed  ETA %-8s", label, bar, n, total, rate,
		elapsed.Round(time.Second), eta)
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
}
