package stack_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"paysplit/testenv/stack"
	"paysplit/workflows/payment"
)

// TestStackAPILeavesTheTestItsCalls: a journey test makes all its admin calls with one key, as
// fast as the stack answers them. With the production budget (10 a second, bursts of 40) a test
// making more than 40 passed only while enough wall time went by between its first and last call
// to refill the rest: TestMonthEndCloseStaysWhatItWasAfterNextMonthsChanges makes 43 in about
// 0.3 s once Temporal and stripe-mock are warm, and was refused 429 rate_limited on its last ones
// in full-package runs. The limiter is tested on servers of its own (api/server's access tests);
// the stack's API leaves a test as many calls as it makes.
func TestStackAPILeavesTheTestItsCalls(t *testing.T) {
	s := stack.New(t, stack.Options{Settings: payment.Settings{SettleWindow: 0}})
	const calls = 100 // well past the production burst, in far less than the seconds it refills in
	for i := range calls {
		code, body := s.Do(http.MethodGet, "/api/v1/admin/clients", nil, stack.AdminKey)
		require.Equal(t, http.StatusOK, code, "call %d of %d: %v", i+1, calls, body)
	}
}
