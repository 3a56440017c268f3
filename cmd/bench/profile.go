package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
)

// profiler takes the programs' Go profiles during the day (-profile): a CPU profile of each from
// the first webhook on, then its heap at the day's end. Files are named <program>.cpu.pprof and
// <program>.heap.pprof, for `go tool pprof` (they carry their symbols).
type profiler struct {
	dir   string
	addrs map[string]string // program name → PPROF_ADDR
	wg    sync.WaitGroup
	mu    sync.Mutex
	files []string
	errs  []error
}

// startProfiles starts the CPU profiles of the programs at addrs; nil when there are none.
func startProfiles(ctx context.Context, addrs map[string]string, dir string, seconds int) (*profiler, error) {
	if len(addrs) == 0 {
		return nil, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("profiles: %w", err)
	}
	p := &profiler{dir: dir, addrs: addrs}
	for name, addr := range addrs {
		p.wg.Go(func() { p.fetch(ctx, addr, fmt.Sprintf("/debug/pprof/profile?seconds=%d", seconds), name+".cpu.pprof") })
	}
	return p, nil
}

// finish waits for the CPU profiles, takes the heap profiles, and returns the files written.
func (p *profiler) finish(ctx context.Context) ([]string, error) {
	if p == nil {
		return nil, nil
	}
	p.wg.Wait()
	for name, addr := range p.addrs {
		p.fetch(ctx, addr, "/debug/pprof/heap", name+".heap.pprof")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	slices.Sort(p.files)
	return p.files, errors.Join(p.errs...)
}

func (p *profiler) fetch(ctx context.Context, addr, path, file string) {
	err := download(ctx, "http://"+addr+path, filepath.Join(p.dir, file))
	p.mu.Lock()
	defer p.mu.Unlock()
	if err != nil {
		p.errs = append(p.errs, fmt.Errorf("profile %s: %w", file, err))
		return
	}
	p.files = append(p.files, filepath.Join(p.dir, file))
}

// download writes what url answers to path; anything but 200 is an error.
func download(ctx context.Context, url, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(res.Body, 512))
		return fmt.Errorf("GET %s: %s: %s", url, res.Status, b)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, res.Body); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}
