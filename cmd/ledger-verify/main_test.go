package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"paysplit/internal/db"
	"paysplit/internal/ledger"
	"paysplit/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// TestCommandFindsTheTamperedEntry runs the real command against an intact and then a tampered
// journal and checks its exit code and what it names.
func TestCommandFindsTheTamperedEntry(t *testing.T) {
	pool, url := testenv.Postgres(t)
	ctx := context.Background()
	l := ledger.New(pool)
	var ids []int64
	for _, key := range []string{"verify-a", "verify-b", "verify-c"} {
		e, _, err := l.Post(ctx, ledger.Entry{IdempotencyKey: key, Currency: "usd", Reference: "cli",
			Postings: []ledger.Posting{{Account: "provider:stripe", Amount: 100}, {Account: "platform:revenue", Amount: -100}}})
		require.NoError(t, err)
		ids = append(ids, e.ID)
	}
	bin := filepath.Join(t.TempDir(), "ledger-verify")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, "%s", out)
	run := func() (int, string) {
		cmd := exec.Command(bin)
		cmd.Env = append(os.Environ(), "DATABASE_URL="+url)
		out, err := cmd.CombinedOutput()
		if exit, ok := err.(*exec.ExitError); ok {
			return exit.ExitCode(), string(out)
		}
		require.NoError(t, err)
		return 0, string(out)
	}
	code, text := run()
	require.Equal(t, 0, code, text)
	require.Contains(t, text, `"ok": true`)

	// Edit the middle entry's amount behind the ledger's back.
	tx, err := pool.Begin(ctx)
	require.NoError(t, err)
	defer func() { _ = tx.Rollback(ctx) }()
	_, err = tx.Exec(ctx, `ALTER TABLE postings DISABLE TRIGGER ALL`)
	require.NoError(t, err)
	_, err = tx.Exec(ctx, `UPDATE postings SET amount = amount * 2 WHERE entry_id = $1`, ids[1])
	require.NoError(t, err)
	_, err = tx.Exec(ctx, `ALTER TABLE postings ENABLE TRIGGER ALL`)
	require.NoError(t, err)
	require.NoError(t, tx.Commit(ctx))

	code, text = run()
	require.Equal(t, 1, code, text)
	require.Contains(t, text, `"entry_id": `+itoa(ids[1]))
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

// TestCommandNeedsOnlyTheDatabase: the command reads the journal and nothing else, so
// DATABASE_URL is all it needs, in production too. It loaded the whole configuration, and on a
// production host (APP_ENV=production) refused to run without the API key, Stripe's and
// PayPal's secrets and the secrets key: exit 2, the chain never verified, unless a cron job was
// handed every secret of the platform.
func TestCommandNeedsOnlyTheDatabase(t *testing.T) {
	// A database of its own: the test above tampers with the shared one.
	url := testenv.EmptyDatabase(t)
	ctx := context.Background()
	require.NoError(t, db.Migrate(ctx, url))
	pool, err := db.Connect(ctx, url)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	_, _, err = ledger.New(pool).Post(ctx, ledger.Entry{IdempotencyKey: "verify-prod-only-db", Currency: "jpy", Reference: "cli",
		Postings: []ledger.Posting{{Account: "provider:stripe", Amount: 4100}, {Account: "platform:revenue", Amount: -4100}}})
	require.NoError(t, err)
	bin := filepath.Join(t.TempDir(), "ledger-verify")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, "%s", out)
	for _, tt := range []struct {
		name string
		env  []string
		code int
		says string
	}{
		{"production with the database only", []string{"APP_ENV=production", "DATABASE_URL=" + url}, 0, `"ok": true`},
		{"production without the database", []string{"APP_ENV=production"}, 2, "DATABASE_URL is required"},
		{"a malformed database URL", []string{"DATABASE_URL=mysql://db/paysplit"}, 2, "DATABASE_URL is malformed"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(bin)
			cmd.Env = tt.env
			out, err := cmd.CombinedOutput()
			code := 0
			if exit, ok := err.(*exec.ExitError); ok {
				code = exit.ExitCode()
			} else {
				require.NoError(t, err)
			}
			require.Equal(t, tt.code, code, "%s", out)
			require.Contains(t, string(out), tt.says)
		})
	}
}
