package report

import "time"

// SetStaleScheduleMinAge sets how old an unused zone's schedule must be before it is deleted,
// for the rest of the test.
func SetStaleScheduleMinAge(t interface{ Cleanup(func()) }, d time.Duration) {
	old := staleScheduleMinAge
	staleScheduleMinAge = d
	t.Cleanup(func() { staleScheduleMinAge = old })
}

// SetClientsPerRun sets how many clients one run of a zone's week starts, for the rest of the
// test.
func SetClientsPerRun(t interface{ Cleanup(func()) }, n int) {
	old := clientsPerRun
	clientsPerRun = n
	t.Cleanup(func() { clientsPerRun = old })
}
