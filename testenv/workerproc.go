package testenv

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

var workerBinary struct {
	once sync.Once
	path string
	err  error
	out  []byte
}

// WorkerBinary builds the real worker program once per test binary and returns its path.
func WorkerBinary(t testing.TB) string {
	t.Helper()
	workerBinary.once.Do(func() {
		root, err := moduleRootDir()
		if err != nil {
			workerBinary.err = err
			return
		}
		dir, err := os.MkdirTemp("", "paysplit-worker-")
		if err != nil {
			workerBinary.err = err
			return
		}
		registerCleanup(func() { _ = os.RemoveAll(dir) })
		workerBinary.path = filepath.Join(dir, "worker")
		cmd := exec.Command("go", "build", "-o", workerBinary.path, "./worker")
		cmd.Dir = root
		workerBinary.out, workerBinary.err = cmd.CombinedOutput()
	})
	if workerBinary.err != nil {
		t.Fatalf("build worker: %v\n%s", workerBinary.err, workerBinary.out)
	}
	return workerBinary.path
}

// WorkerProcess is the real worker program running as a child process.
type WorkerProcess struct {
	cmd    *exec.Cmd
	mu     sync.Mutex
	log    bytes.Buffer
	exited chan struct{}
}

type lockedWriter struct{ p *WorkerProcess }

func (w lockedWriter) Write(b []byte) (int, error) {
	w.p.mu.Lock()
	defer w.p.mu.Unlock()
	return w.p.log.Write(b)
}

// StartWorker runs the worker program with env added to this process's environment.
func StartWorker(t testing.TB, env map[string]string) *WorkerProcess {
	t.Helper()
	p := &WorkerProcess{exited: make(chan struct{})}
	p.cmd = exec.Command(WorkerBinary(t))
	p.cmd.Env = os.Environ()
	for k, v := range env {
		p.cmd.Env = append(p.cmd.Env, k+"="+v)
	}
	p.cmd.Stdout, p.cmd.Stderr = lockedWriter{p}, lockedWriter{p}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start worker: %v", err)
	}
	go func() {
		_ = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() { p.Kill(t) })
	return p
}

// Log is what the worker printed so far.
func (p *WorkerProcess) Log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.String()
}

// Kill ends the worker at once, as a crash or an OOM kill would: no graceful stop.
func (p *WorkerProcess) Kill(t testing.TB) {
	t.Helper()
	select {
	case <-p.exited:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		t.Errorf("worker did not die after SIGKILL")
	}
}
