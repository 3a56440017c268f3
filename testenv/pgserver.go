package testenv

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"paysplit/internal/db"
)

// PostgresServer is a Postgres cluster of one test's own, started from the distribution's
// binaries, which the test may crash and start again: what a shared server cannot be put through.
type PostgresServer struct {
	// URL is the migrated database "paysplit" on it.
	URL  string
	bin  string
	dir  string
	port int
	t    testing.TB
}

// OwnPostgres initialises and starts a cluster in a temporary directory on a free port, creates
// and migrates a database on it, and removes it all when the test ends. Without Postgres binaries
// (initdb, pg_ctl) the test is skipped, or fails under CI=true.
func OwnPostgres(t testing.TB) *PostgresServer {
	t.Helper()
	bin, err := postgresBinDir()
	requireService(t, "postgres binaries", err)
	ports, err := FreePorts(1)
	require.NoError(t, err, "a free port for postgres")
	dir, err := os.MkdirTemp("", "paysplit-pg-")
	require.NoError(t, err, "postgres directory")
	p := &PostgresServer{bin: bin, dir: dir, port: ports[0], t: t}
	t.Cleanup(func() {
		_ = p.pgctl("stop", "-m", "immediate")
		_ = os.RemoveAll(dir)
	})
	// initdb and postgres refuse to run as root: the cluster belongs to the postgres user, who
	// must be able to enter its directory.
	require.NoError(t, os.Chmod(dir, 0o755), "postgres directory mode")
	if os.Geteuid() == 0 {
		require.NoError(t, chownToPostgres(dir), "postgres directory owner")
	}
	if out, err := p.run(filepath.Join(bin, "initdb"), "-D", p.data(), "-U", "postgres", "-A", "trust", "--no-sync"); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	p.Start()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	admin := fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", p.port)
	conn, err := pgx.Connect(ctx, admin)
	require.NoError(t, err, "connect to own postgres")
	_, err = conn.Exec(ctx, "CREATE DATABASE paysplit")
	_ = conn.Close(ctx)
	require.NoError(t, err, "create database")
	p.URL = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/paysplit?sslmode=disable", p.port)
	require.NoError(t, db.Migrate(ctx, p.URL), "migrate own postgres")
	return p
}

// Crash stops the server the way a crash does (pg_ctl's immediate mode: every process killed, no
// checkpoint); the next Start recovers from the write-ahead log.
func (p *PostgresServer) Crash() {
	p.t.Helper()
	if err := p.pgctl("stop", "-m", "immediate"); err != nil {
		p.t.Fatalf("crash postgres: %v", err)
	}
}

// Start starts the server and waits until it accepts connections.
func (p *PostgresServer) Start() {
	p.t.Helper()
	// Durability against a machine crash is beside the point here (the OS keeps what a killed
	// server wrote); fsync off keeps the tests fast.
	opts := fmt.Sprintf("-c listen_addresses=127.0.0.1 -p %d -k %s -c fsync=off -c max_connections=100", p.port, p.dir)
	if err := p.pgctl("start", "-w", "-t", "60", "-l", filepath.Join(p.dir, "postgres.log"), "-o", opts); err != nil {
		log, _ := os.ReadFile(filepath.Join(p.dir, "postgres.log"))
		p.t.Fatalf("start postgres: %v\n%s", err, log)
	}
}

// Log is the server's log so far: what it said of the crash and the recovery.
func (p *PostgresServer) Log() string {
	b, _ := os.ReadFile(filepath.Join(p.dir, "postgres.log"))
	return string(b)
}

func (p *PostgresServer) data() string { return filepath.Join(p.dir, "data") }

func (p *PostgresServer) pgctl(args ...string) error {
	out, err := p.run(filepath.Join(p.bin, "pg_ctl"), append([]string{"-D", p.data()}, args...)...)
	if err != nil {
		return fmt.Errorf("pg_ctl %s: %w: %s", strings.Join(args, " "), err, out)
	}
	return nil
}

// run runs a Postgres binary, as the postgres user when this process is root, from / (a temporary
// checkout may be closed to that user).
func (p *PostgresServer) run(name string, args ...string) ([]byte, error) {
	cmd := exec.Command(name, args...)
	if os.Geteuid() == 0 {
		cmd = exec.Command("runuser", append([]string{"-u", "postgres", "--", name}, args...)...)
	}
	cmd.Dir = "/"
	return cmd.CombinedOutput()
}

// postgresBinDir finds the newest installed server's binaries: PG_BIN_DIR, else Debian's
// /usr/lib/postgresql/<version>/bin.
func postgresBinDir() (string, error) {
	if d := os.Getenv("PG_BIN_DIR"); d != "" {
		return d, nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	dirs = slices.DeleteFunc(dirs, func(d string) bool {
		_, err := os.Stat(filepath.Join(d, "initdb"))
		return err != nil
	})
	if len(dirs) == 0 {
		return "", errors.New("no initdb under /usr/lib/postgresql/*/bin (set PG_BIN_DIR)")
	}
	version := func(d string) int {
		v, _ := strconv.Atoi(filepath.Base(filepath.Dir(d)))
		return v
	}
	slices.SortFunc(dirs, func(a, b string) int { return version(a) - version(b) })
	return dirs[len(dirs)-1], nil
}

func chownToPostgres(dir string) error {
	u, err := user.Lookup("postgres")
	if err != nil {
		return err
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return os.Chown(dir, uid, gid)
}
