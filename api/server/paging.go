package server

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"paysplit/internal/store"
)

// maxRangeDays bounds the by-day endpoints: a year and a day covers every "same period last year".
const maxRangeDays = 367

// dateRange reads ?from=&to= (inclusive UTC days, YYYY-MM-DD). Without them it is the last
// defaultDays days up to today; a missing from or to is counted from the other.
func dateRange(c echo.Context, now time.Time, defaultDays int) (from, to time.Time, err error) {
	to = store.DayOf(now)
	if v := c.QueryParam("to"); v != "" {
		if to, err = parseDay("to", v); err != nil {
			return
		}
	}
	from = to.AddDate(0, 0, -(defaultDays - 1))
	if v := c.QueryParam("from"); v != "" {
		if from, err = parseDay("from", v); err != nil {
			return
		}
		if c.QueryParam("to") == "" {
			to = from.AddDate(0, 0, defaultDays-1)
		}
	}
	if from.After(to) {
		return from, to, errorf(http.StatusBadRequest, "invalid_request", "from must not be after to")
	}
	// A range counted from a day near either end of the calendar can leave it: year 10000 has no
	// YYYY-MM-DD form, so such a range could not even be written back.
	if from.Year() < 1 || to.Year() > 9999 {
		return from, to, errorf(http.StatusBadRequest, "invalid_request", "the range must lie between 0001-01-01 and 9999-12-31")
	}
	if days := int(to.Sub(from).Hours()/24) + 1; days > maxRangeDays {
		return from, to, errorf(http.StatusBadRequest, "invalid_request", fmt.Sprintf("the range is %d days; at most %d", days, maxRangeDays))
	}
	return from, to, nil
}

// optionalDateRange reads ?from=&to= where both are optional (zero time: open end).
func optionalDateRange(c echo.Context) (from, to time.Time, err error) {
	if v := c.QueryParam("from"); v != "" {
		if from, err = parseDay("from", v); err != nil {
			return
		}
	}
	if v := c.QueryParam("to"); v != "" {
		if to, err = parseDay("to", v); err != nil {
			return
		}
	}
	if !from.IsZero() && !to.IsZero() && from.After(to) {
		return from, to, errorf(http.StatusBadRequest, "invalid_request", "from must not be after to")
	}
	// The parser takes year 0000, which no other endpoint's days (nor the reports' weeks) have.
	if (!from.IsZero() && from.Year() < 1) || (!to.IsZero() && to.Year() < 1) {
		return from, to, errorf(http.StatusBadRequest, "invalid_request", "the range must lie between 0001-01-01 and 9999-12-31")
	}
	return from, to, nil
}

func parseDay(name, v string) (time.Time, error) {
	t, err := time.Parse(time.DateOnly, v)
	if err != nil {
		return time.Time{}, errorf(http.StatusBadRequest, "invalid_request", name+" must be a date like 2026-01-31")
	}
	return t, nil
}

func formatDay(t time.Time) string { return t.Format(time.DateOnly) }

// maxPage bounds ?limit=; below the store's own bound, so a page can ask for one extra row to
// know whether another page follows.
const maxPage = 100

// limitParam reads ?limit= (1..maxPage, default 50).
func limitParam(c echo.Context) (int, error) {
	v := c.QueryParam("limit")
	if v == "" {
		return 50, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > maxPage {
		return 0, errorf(http.StatusBadRequest, "invalid_request", fmt.Sprintf("limit must be 1-%d", maxPage))
	}
	return n, nil
}

// Cursors are opaque to callers: base64url of a small JSON object naming the last item of the
// previous page. They carry no authority: every query is still scoped by the credential.
// pageOf cuts items, read one beyond limit, to a page, with the cursor of its last item (cursorOf)
// when another page follows, nil on the last page.
func pageOf[T any](items []T, limit int, cursorOf func(last T) any) ([]T, *string) {
	if len(items) <= limit {
		return items, nil
	}
	items = items[:limit]
	n := encodeCursor(cursorOf(items[limit-1]))
	return items, &n
}

func encodeCursor(v any) string {
	b, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(b)
}

// cursor is what a page's next_cursor decodes to; complete says it names a position, as every
// cursor handed out does.
type cursor interface{ complete() bool }

func decodeCursor(c echo.Context, dst cursor) (bool, error) {
	v := c.QueryParam("cursor")
	if v == "" {
		return false, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(v)
	if err == nil && jsonHasNUL(b) {
		// No cursor this API hands out names a NUL character: Postgres could not store one.
		err = errNUL("cursor")
	}
	if err == nil {
		b = bytes.TrimSpace(b)
		// null, or another list's cursor missing this one's fields, decoded into zero values:
		// a silent first page, or an empty last one, instead of the page asked for.
		if len(b) == 0 || b[0] != '{' {
			err = errors.New("not an object")
		}
	}
	if err == nil {
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		err = dec.Decode(dst)
		if _, end := dec.Token(); err == nil && end != io.EOF {
			err = errors.New("trailing data")
		}
	}
	if err == nil && !dst.complete() {
		err = errors.New("incomplete")
	}
	if err != nil {
		return false, errorf(http.StatusBadRequest, "invalid_cursor", "cursor is not one this API handed out")
	}
	return true, nil
}
