package telemetry

import "time"

// SetServeTimeouts shortens the limits Serve gives its servers for a test and returns what
// restores them.
func SetServeTimeouts(read, idle time.Duration) (restore func()) {
	oldRead, oldIdle := serveReadTimeout, serveIdleTimeout
	serveReadTimeout, serveIdleTimeout = read, idle
	return func() { serveReadTimeout, serveIdleTimeout = oldRead, oldIdle }
}
