package server

import "time"

// setRelayStoreTimeout shortens relayStoreTimeout for a test and returns what restores it.
func setRelayStoreTimeout(d time.Duration) (restore func()) {
	old := relayStoreTimeout
	relayStoreTimeout = d
	return func() { relayStoreTimeout = old }
}
