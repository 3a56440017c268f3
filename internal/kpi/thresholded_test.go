package kpi_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"paysplit/internal/kpi"
)

// TestThresholdedNoteSaysOnlyWhatGA4Says: subjectToThresholding says GA4 applied its thresholds
// to the report, not that it withheld anything ("It is possible for a request to be subject to
// thresholding and no data is absent from the report ... when all data is above the thresholds",
// the Data API's ResponseMetaData). A property with Google signals on is answered so every time,
// whatever its traffic: the note must not tell its client, every week, that counts were withheld.
func TestThresholdedNoteSaysOnlyWhatGA4Says(t *testing.T) {
	require.NotContains(t, kpi.ThresholdedNote, "GA4 withheld", "GA4 does not say it withheld anything")
	require.Contains(t, kpi.ThresholdedNote, "thresholding", "the note names what GA4 says")
	require.Contains(t, kpi.ThresholdedNote, "may be lower", "the figures may be lower")
}
