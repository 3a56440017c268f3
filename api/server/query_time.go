package server

import (
	"net/http"
	"regexp"
	"time"
)

// spaceForOffsetSign matches an RFC 3339 time whose offset's '+' a query string decoded as a
// space: "2026-06-30T23:59:59 09:00" was sent as 2026-06-30T23:59:59+09:00, unescaped.
var spaceForOffsetSign = regexp.MustCompile(`^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?) (\d{2}:\d{2})$`)

// timeHint says how to write a time in a query string: the '+' of an offset east of UTC must be
// sent as %2B there, which nobody guesses from "must be an RFC 3339 time".
const timeHint = "an RFC 3339 time like 2026-06-30T23:59:59Z or 2026-06-30T23:59:59%2B09:00 (a + in a query is sent as %2B)"

// parseQueryTime reads an RFC 3339 time from the query parameter name. A query string reads a '+'
// as a space, so a time east of UTC typed into a URL as is (…T23:59:59+09:00) arrives with a
// space where its offset's sign was; no RFC 3339 time has a space there, so it is read as the '+'
// it was rather than refused as not a time.
func parseQueryTime(name, v string) (time.Time, error) {
	if m := spaceForOffsetSign.FindStringSubmatch(v); m != nil {
		v = m[1] + "+" + m[2]
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, errorf(http.StatusBadRequest, "invalid_request", name+" must be "+timeHint)
	}
	return t, nil
}
