package report_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	reportwf "paysplit/workflows/report"
)

func TestSkippedByMove(t *testing.T) {
	zone := func(name string) *time.Location {
		loc, err := time.LoadLocation(name)
		require.NoError(t, err)
		return loc
	}
	west, east, berlin := zone("Pacific/Honolulu"), zone("Pacific/Kiritimati"), zone("Europe/Berlin")
	monday := func(h int) time.Time { return time.Date(2026, 2, 16, h, 0, 0, 0, time.UTC) } // after 2026-W07
	tests := []struct {
		name     string
		from, to *time.Location
		now      time.Time
		want     string // the week skipped, "" for none
	}{
		{"west to east between the runs", west, east, monday(8), "2026-W07"},
		{"east to west between the runs", east, west, monday(8), ""},
		{"west to east before the east run", west, east, time.Date(2026, 2, 15, 12, 0, 0, 0, time.UTC), ""},
		// A zone's week lists its clients a page per run, for up to weeklyRunTimeout: a run due
		// before the move may not have listed the client yet.
		{"west to east after both runs were due", west, east, monday(17), "2026-W07"},
		{"Berlin to east, Berlin's run (05:00 UTC) due", berlin, east, monday(8), "2026-W07"},
		{"Berlin to east, Berlin's week over", berlin, east, monday(8).Add(48 * time.Hour), ""},
		{"west to Berlin before Berlin's run", west, berlin, monday(4), ""},
		{"west to Berlin between the runs", west, berlin, monday(6), "2026-W07"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, skipped := reportwf.SkippedByMove(tt.from, tt.to, tt.now)
			if tt.want == "" {
				require.False(t, skipped, "skipped %s", w)
				return
			}
			require.True(t, skipped)
			require.Equal(t, tt.want, w.String())
		})
	}
}
