package server

// BetweenCheckAndSend has f called in each decision's audit lock after decisionPending described
// the payment's run (runID, "" for none) and before the decision is sent, for a test that changes
// the payment's runs there; it returns what restores the API as it was.
func BetweenCheckAndSend(f func(workflowID, runID string)) (restore func()) {
	old := beforeSend
	beforeSend = f
	return func() { beforeSend = old }
}
