// Package faults is the fault suite: whole-platform scenarios on the platform's worst day
// (duplicate and reordered webhooks, a killed worker, Postgres dropping connections, Temporal
// unreachable, Stripe rate limits and errors). Every scenario ends with the same book checks
// (testenv/stack.Check), and the run ends with a summary. It holds tests only.
package faults
