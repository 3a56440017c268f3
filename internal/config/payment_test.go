package config

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestPaymentWaitsOfZero: the payment workflow takes an EnrichWait or DecisionTimeout of 0 as
// "not set" and waits its own default instead (1h, 72h: Settings.withDefaults), so
// PAYMENT_ENRICH_WAIT=0 or PAYMENT_DECISION_TIMEOUT=0 (meant as "park at once", "compensate at
// once") would silently run on the defaults. They must stop the program at start instead.
// PAYMENT_SETTLE_WINDOW and PAYMENT_DUE_RETRY_EVERY take 0 as documented: no settle window, no
// automatic retries.
func TestPaymentWaitsOfZero(t *testing.T) {
	for _, name := range []string{"PAYMENT_ENRICH_WAIT", "PAYMENT_DECISION_TIMEOUT"} {
		for _, v := range []string{"0", "0s"} {
			_, err := load(env(map[string]string{name: v}))
			require.Error(t, err, "%s=%s is taken, and the workflow then waits its default", name, v)
			require.ErrorContains(t, err, "config: "+name+" is malformed")
		}
		c, err := load(env(map[string]string{name: "90s"}))
		require.NoError(t, err)
		require.Equal(t, 90*time.Second, map[string]time.Duration{"PAYMENT_ENRICH_WAIT": c.EnrichWait, "PAYMENT_DECISION_TIMEOUT": c.DecisionTimeout}[name])
	}
	c, err := load(env(map[string]string{"PAYMENT_SETTLE_WINDOW": "0s", "PAYMENT_DUE_RETRY_EVERY": "0"}))
	require.NoError(t, err)
	require.Zero(t, c.SettleWindow)
	require.Zero(t, c.DueRetryEvery)
}
