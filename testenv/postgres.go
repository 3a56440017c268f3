package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"paysplit/internal/db"
)

const defaultPostgresURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

var pgShared struct {
	once sync.Once
	pool *pgxpool.Pool
	url  string
	// unavailable means the server could not be reached (skip outside CI);
	// setupErr means it was reachable but creating/migrating failed, which
	// is a bug to report, never to skip.
	unavailable error
	setupErr    error
}

// Postgres returns a pool and URL for a database private to this test binary,
// created and migrated on first call and dropped by Main. Tests in one binary
// share it, so they must not assume an empty ledger: use unique keys/accounts.
func Postgres(t testing.TB) (*pgxpool.Pool, string) {
	t.Helper()
	pgShared.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		dbURL, err := createDatabase(ctx)
		if err != nil {
			pgShared.unavailable = err
			return
		}
		if err := db.Migrate(ctx, dbURL); err != nil {
			pgShared.setupErr = fmt.Errorf("migrate test database: %w", err)
			return
		}
		pool, err := db.Connect(ctx, dbURL)
		if err != nil {
			pgShared.setupErr = fmt.Errorf("connect test database: %w", err)
			return
		}
		// Registered after the drop, so it runs first: closing the pool
		// before dropping keeps FORCE from killing live connections mid-use.
		registerCleanup(pool.Close)
		pgShared.pool, pgShared.url = pool, dbURL
	})
	requireService(t, "postgres", pgShared.unavailable)
	if pgShared.setupErr != nil {
		t.Fatalf("postgres test database: %v", pgShared.setupErr)
	}
	return pgShared.pool, pgShared.url
}

// OwnDatabase is a new migrated database for one test (dropped by Main), for tests that count
// everything in it, tamper with it or change its schema; its pool closes with the test.
func OwnDatabase(t testing.TB) *pgxpool.Pool {
	t.Helper()
	url := EmptyDatabase(t)
	require.NoError(t, db.Migrate(t.Context(), url))
	pool, err := db.Connect(t.Context(), url)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	return pool
}

// EmptyDatabase returns the URL of a new database with no schema, dropped by
// Main; for tests of the migrations themselves.
func EmptyDatabase(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	dbURL, err := createDatabase(ctx)
	requireService(t, "postgres", err)
	return dbURL
}

func adminURL() string {
	if u := os.Getenv("PG_TEST_URL"); u != "" {
		return u
	}
	return defaultPostgresURL
}

// createDatabase creates a uniquely named database on the PG_TEST_URL server,
// schedules its drop and returns its URL. Only connection and CREATE failures
// are reported: both mean the server is not usable as configured.
func createDatabase(ctx context.Context) (string, error) {
	admin := adminURL()
	u, err := url.Parse(admin)
	if err != nil {
		return "", fmt.Errorf("parse PG_TEST_URL: %w", err)
	}
	if u.Scheme != "postgres" && u.Scheme != "postgresql" {
		return "", fmt.Errorf("PG_TEST_URL must be a postgres:// URL, got scheme %q", u.Scheme)
	}
	name, err := databaseName()
	if err != nil {
		return "", err
	}

	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return "", fmt.Errorf("connect to %s: %w", u.Redacted(), err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", fmt.Errorf("create database %s on %s: %w", name, u.Redacted(), err)
	}
	registerCleanup(func() { dropDatabase(admin, name) })

	u.Path = "/" + name
	return u.String(), nil
}

func dropDatabase(admin, name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		slog.Error("testenv: drop test database: connect", "database", name, "err", err)
		return
	}
	defer conn.Close(ctx)
	// FORCE: a test that leaked a connection must not leave the database behind.
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
		slog.Error("testenv: drop test database", "database", name, "err", err)
	}
}

// databaseName is t_<package>_<random>: the package part tells whose database
// a leftover is (e.g. after a test binary was killed), the random part keeps
// concurrent runs of the same package apart.
func databaseName() (string, error) {
	pkg := strings.TrimSuffix(strings.TrimSuffix(filepath.Base(os.Args[0]), ".exe"), ".test")
	var b strings.Builder
	for _, r := range strings.ToLower(pkg) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	pkg = b.String()
	if len(pkg) > 40 { // Postgres truncates identifiers at 63 bytes
		pkg = pkg[:40]
	}
	var rnd [6]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return "", fmt.Errorf("random database name: %w", err)
	}
	return "t_" + pkg + "_" + hex.EncodeToString(rnd[:]), nil
}
