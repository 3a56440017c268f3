package payment

import (
	"time"

	"paysplit/internal/payment"
)

// PayPal's events can come out of order: a reversal made before its dispute was won, told only
// after the win, had its funds returned by that win. Given back at once; a reversal made after the
// win (PayPal took the funds again) stands, and one PayPal did not date is not guessed at.
func (s *workflowSuite) TestPayPalReversalToldAfterTheWinOfItsDispute() {
	made := captureEvent("", 0).OccurredAt.Add(time.Hour)
	at := func(e Event, t time.Time) Event { e.OccurredAt = t; return e }
	won := at(ppResolved("PP-A", paypalSellerFavour), made.Add(30*24*time.Hour))
	tests := []struct {
		name      string
		reversal  Event
		givenBack bool
	}{
		{"made before the win", at(ppReversed("REV1", gross), made), true},
		{"made after the win", at(ppReversed("REV1", gross), made.Add(40*24*time.Hour)), false},
		{"not dated", ppReversed("REV1", gross), false},
	}
	for _, tt := range tests {
		s.Run(tt.name, func() {
			rec := s.ppEvents([]Event{at(ppOpened("PP-A"), made.Add(-time.Minute)), won, tt.reversal})
			if tt.givenBack {
				s.Zero(rec.DisputesLost, "the win returned the reversal's funds")
				s.Equal(payment.StatusPaid, rec.Status)
				s.Contains(s.w.transfers, wfID+"/refund-failed/REV1/vendor-v1")
				return
			}
			s.EqualValues(gross, rec.DisputesLost)
			s.NotContains(s.w.transfers, wfID+"/refund-failed/REV1/vendor-v1")
		})
	}
}
