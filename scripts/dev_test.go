package scripts_test

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestDevStackStopsItsProcessesHoweverTheTerminalGoes runs scripts/dev.sh's bookkeeping
// (dev-lib.sh) on a stand-in for the stack, a `sleep` started like the servers are (in a session
// of its own, so no terminal signal reaches it), and stops the script the ways a newcomer's
// terminal does. Each must stop the sleep: it is a Temporal server or an API holding its port
// otherwise, and the next `make dev` refuses to start. `make dev | tee dev.log` is the case
// that found it: Ctrl-C ends tee too, and the first "stopping ..." line the script wrote to the
// closed pipe killed it before it had stopped anything.
func TestDevStackStopsItsProcessesHoweverTheTerminalGoes(t *testing.T) {
	if _, err := exec.LookPath("setsid"); err != nil {
		t.Skip("no setsid: dev-lib.sh starts the processes in the script's own session then")
	}
	lib, err := filepath.Abs("dev-lib.sh")
	require.NoError(t, err)
	tests := []struct {
		name string
		sig  syscall.Signal
		// closeOutput ends the reader of the script's output before the signal: a `| tee` that
		// Ctrl-C ended first, or a terminal that is gone.
		closeOutput bool
	}{
		{"Ctrl-C", syscall.SIGINT, false},
		{"Ctrl-C under make dev | tee", syscall.SIGINT, true},
		{"TERM from a supervisor", syscall.SIGTERM, false},
		{"TERM with the output gone", syscall.SIGTERM, true},
		{"terminal closed", syscall.SIGHUP, true},
		{"terminal closed, output still read", syscall.SIGHUP, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			script := filepath.Join(dir, "stack.sh")
			require.NoError(t, os.WriteFile(script, []byte(`set -euo pipefail
ROOT=`+dir+` LOGS=`+dir+`
source `+lib+`
start_bg server sleep 300
echo "server ${PIDS[0]}"
wait -n "${PIDS[@]}"
`), 0o644))
			cmd := exec.Command("bash", script)
			out, err := cmd.StdoutPipe()
			require.NoError(t, err)
			cmd.Stderr = cmd.Stdout
			require.NoError(t, cmd.Start())
			t.Cleanup(func() { _ = cmd.Process.Kill() })

			lines := bufio.NewScanner(out)
			server := 0
			for server == 0 && lines.Scan() {
				if f := strings.Fields(lines.Text()); len(f) == 2 && f[0] == "server" {
					server, err = strconv.Atoi(f[1])
					require.NoError(t, err)
				}
			}
			require.NotZero(t, server, "the script never said it started the server")
			t.Cleanup(func() { _ = syscall.Kill(server, syscall.SIGKILL) })

			// Signalled while the forked shell has not yet become `sleep`, the server takes it
			// late; the stack's servers have long been running when someone stops it.
			require.Eventually(t, func() bool {
				comm, _ := os.ReadFile("/proc/" + strconv.Itoa(server) + "/comm")
				return strings.TrimSpace(string(comm)) == "sleep"
			}, 5*time.Second, 10*time.Millisecond, "the server never became sleep")

			said := make(chan string, 1)
			if tc.closeOutput {
				require.NoError(t, out.Close())
				said <- "(not read)"
			} else {
				go func() {
					var rest strings.Builder
					for lines.Scan() {
						rest.WriteString(lines.Text() + "\n")
					}
					said <- rest.String()
				}()
			}
			require.NoError(t, cmd.Process.Signal(tc.sig))
			require.Eventually(t, func() bool { return !running(server) },
				15*time.Second, 50*time.Millisecond, "the server (PID %d) outlived the script: it keeps its port", server)
			// The script must also be done soon after: a stop that waits out stop_pid's 10 s for a
			// process that has already ended keeps the terminal and says it had to kill it.
			ended := make(chan error, 1)
			go func() { ended <- cmd.Wait() }()
			select {
			case <-ended:
			case <-time.After(5 * time.Second):
				t.Fatalf("the script still runs 5 s after the server ended; it said:\n%s", <-said)
			}
			require.NotContains(t, <-said, "did not stop")
		})
	}
}

// running tells whether the process is alive: a zombie, stopped but not yet reaped by whichever
// process it was handed to, holds no port.
func running(pid int) bool {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return syscall.Kill(pid, 0) == nil
	}
	// The state follows the command name, which is in parentheses and may hold spaces.
	fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	return len(fields) > 0 && fields[0] != "Z"
}
