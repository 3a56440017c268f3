package payment

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Code path 26 stored won_disputes as bare dispute IDs (117af68) before it kept each win's time
// (1ae2d41): a record saved in between must still load, its wins undated (a reversal told late is
// then not guessed at), and a record saved now must load as it was.
func TestWonDisputesLoadBothForms(t *testing.T) {
	at := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		json string
		want []DisputeWon
	}{
		{"IDs only", `{"won_disputes":["PP-A","PP-B"]}`, []DisputeWon{{ID: "PP-A"}, {ID: "PP-B"}}},
		{"with their time", `{"won_disputes":[{"id":"PP-A","at":"2026-11-28T10:00:00Z"},{"id":"PP-B"}]}`, []DisputeWon{{ID: "PP-A", At: at}, {ID: "PP-B"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var rec Record
			require.NoError(t, json.Unmarshal([]byte(tt.json), &rec))
			require.Equal(t, tt.want, rec.WonDisputes)
			out, err := json.Marshal(Record{WonDisputes: tt.want})
			require.NoError(t, err)
			var again Record
			require.NoError(t, json.Unmarshal(out, &again))
			require.Equal(t, tt.want, again.WonDisputes)
		})
	}
}
