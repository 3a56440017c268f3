package config

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestVerifyCronFields: INTEGRITY_VERIFY_CRON was checked for five fields only, so a minute of
// 61 or a shorthand Temporal does not know passed; the worker then stopped at start, after the
// migrations, with Temporal's "integrity schedules: integrity: create schedule
// ledger-integrity-daily: Invalid schedule spec: Minute is not in range [0-59]", a line that does
// not name the variable (and the API started on it). What Temporal takes still passes (each
// value here was tried against Temporal's dev server).
func TestVerifyCronFields(t *testing.T) {
	for _, bad := range []string{
		"61 3 * * *", "0 24 * * *", "0 3 0 * *", "0 3 32 * *", "0 3 * 13 *", "0 3 * * 8",
		"0-60 3 * * *", "*/0 3 * * *", "a b c d e", "0 3 * * MON-XYZ", "@whenever", "@every",
		"@every 0s", "@every 1h/2h", "@every 1h/", "@every /1h",
		"0 3 L * *", "0 3 ? * sun", "10-5 3 * * *",
	} {
		_, err := load(env(map[string]string{"INTEGRITY_VERIFY_CRON": bad}))
		require.Error(t, err, "INTEGRITY_VERIFY_CRON=%q is taken", bad)
		require.ErrorContains(t, err, "config: INTEGRITY_VERIFY_CRON is malformed")
	}
	for _, good := range []string{
		"0 3 * * *", "*/15 * * * *", "0 0-23/6 * * *", "30 2 1,15 * *", "0 3 * JAN-MAR,DEC MON-FRI",
		"0 3 * * 0", "0 3 * * 7", "0 3 * * sun", "5/10 * * * *", "@daily", "@hourly", "@every 6h",
		// Temporal's @every takes days and an offset (phase) after a slash: a deployment that
		// verified "@every 1d" or "@every 6h/1h" must not be refused at start by the upgrade.
		"@every 1d", "@every 1.5d", "@every 2d12h", "@every 6h/1h", "@every 1h/0s",
	} {
		_, err := load(env(map[string]string{"INTEGRITY_VERIFY_CRON": good}))
		require.NoError(t, err, "INTEGRITY_VERIFY_CRON=%q", good)
	}
}
