// Package faults is the fault suite: whole-platform scenarios on the platform's worst day
// (duplicate and reordered webhooks, a killed worker, Postgres dropping connections, Temporal
// unreachable, Stripe rate limits and errors). Every scenario ends with the same book checks
// (testenv/stack.Check), and the run ends with a summary. It holds tests only.
//
// TestSoak mixes the scenarios' faults at random: a stream of Stripe and PayPal payments in USD,
// JPY and KWD with random orders, refunds (some before their capture, some failing in the
// second they were made or later) and disputes won or lost, duplicate deliveries, Stripe and
// PayPal errors, lost answers, refusals an admin retries through the API, worker kills and a
// Postgres cut, all drawn from one seed; it ends with the same checks and a ledger chain
// verification. The default run sends 30 payments with seed 1, the same plan every run. Two
// variables replay, explore or lengthen it:
//
//	FAULT_SOAK_SEED=<int64>    the seed a failure printed (the stream and its faults are drawn
//	                           from it; timing between processes is not, so a replay may differ);
//	                           random: a seed from the clock (logged), another plan each run
//	FAULT_SOAK_PAYMENTS=<n>    the stream's length (30 by default)
//
// For example: FAULT_SOAK_SEED=42 FAULT_SOAK_PAYMENTS=300 go test -run TestSoak -timeout 30m ./faults/
package faults
