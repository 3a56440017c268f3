package testenv

import (
	"net"
	"os"
	"os/exec"
	"sync"
	"testing"
)

// FreeAddr is a loopback address with a port free at the time of the call, for a program under
// test to listen on (see FreePorts for the rare race).
func FreeAddr(t testing.TB) string {
	t.Helper()
	ports, err := FreePorts(1)
	if err != nil {
		t.Fatal(err)
	}
	return (&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: ports[0]}).String()
}

// SilentServer listens on loopback and takes connections without ever answering (a database
// host stuck mid-failover, a proxy in front of a stopped server); connected is closed at the
// first connection, so a test knows the program under test is waiting on it.
func SilentServer(t testing.TB) (addr string, connected <-chan struct{}) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	first := make(chan struct{})
	var (
		mu   sync.Mutex
		held []net.Conn
		once sync.Once
	)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c) // taken, never answered
			mu.Unlock()
			once.Do(func() { close(first) })
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range held {
			c.Close()
		}
	})
	return l.Addr().String(), first
}

// Program is a program under test started by StartProgram: its combined output, and its exit
// (Wait's error) once it exits.
type Program struct {
	Cmd    *exec.Cmd
	Log    *LogBuffer
	Exited <-chan error
}

// StartProgram runs bin with env added to this process's environment, its output kept in Log;
// the test's cleanup kills it if it still runs.
func StartProgram(t testing.TB, bin string, env ...string) Program {
	t.Helper()
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), env...)
	log := &LogBuffer{}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	return Program{Cmd: cmd, Log: log, Exited: exited}
}
