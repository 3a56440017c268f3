package server

import "time"

// setRelayStoreTimeout shortens relayStoreTimeout for a test and returns what restores it.
func setRelayStoreTimeout(d time.Duration) (restore func()) {
	old := relayStoreTimeout
	relayStoreTimeout = d
	return func() { relayStoreTimeout = old }
}

// skewRelayClock sets the relay's clock off by skew (this host's clock ahead of the database's,
// or behind it) for a test and returns what restores it.
func skewRelayClock(skew time.Duration) (restore func()) {
	old := relayClock
	relayClock = func() time.Time { return time.Now().Add(skew) }
	return func() { relayClock = old }
}
