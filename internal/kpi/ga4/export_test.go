package ga4

import "time"

// SetRequestTimeout shortens the bound of one runReport call for a test and returns what
// restores it.
func SetRequestTimeout(d time.Duration) (restore func()) {
	old := requestTimeout
	requestTimeout = d
	return func() { requestTimeout = old }
}

// UTCHourOf is utcHourOf, for tests of zones the fake's whole UTC hours cannot show.
var UTCHourOf = utcHourOf
