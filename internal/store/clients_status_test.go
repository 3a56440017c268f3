package store_test

import (
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paysplit/internal/kpi"
	"paysplit/internal/store"
	"paysplit/testenv"
)

// TestOffboardedClientLeavesReportsAndSyncLag: an offboarded client keeps its record (and its
// time of leaving across a repeated offboard), is listed by status, and drops out of what serves
// a working shop: the weekly report's client list and the KPI sync lag the alerts read. Back
// active, it is in both again. Bad input is refused with the reason.
func TestOffboardedClientLeavesReportsAndSyncLag(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	s := store.New(pool)
	ctx := t.Context()
	stays, leaves := "offb-stays-"+time.Now().Format("150405.000000"), "offb-leaves-"+time.Now().Format("150405.000000")
	for _, id := range []string{stays, leaves} {
		c, created, err := s.UpsertClient(ctx, store.Client{ID: id, Name: "Shop " + id, DefaultCurrency: "usd"})
		require.NoError(t, err)
		require.True(t, created)
		require.Equal(t, store.ClientActive, c.Status, "a new client is active")
		require.Nil(t, c.OffboardedAt)
		require.NoError(t, s.MarkKPISynced(ctx, id, kpi.SourceLedger, time.Now().Add(-time.Minute)))
	}
	in := func(t *testing.T) (reports, lag, active, offboarded bool) {
		t.Helper()
		page, err := s.ReportClients(ctx, "UTC")
		require.NoError(t, err)
		syncs, err := s.KPISyncs(ctx)
		require.NoError(t, err)
		act, err := s.ListClientsByStatus(ctx, store.ClientActive)
		require.NoError(t, err)
		off, err := s.ListClientsByStatus(ctx, store.ClientOffboarded)
		require.NoError(t, err)
		has := func(cs []store.Client) bool {
			return slices.ContainsFunc(cs, func(c store.Client) bool { return c.ID == leaves })
		}
		return slices.Contains(page, leaves),
			slices.ContainsFunc(syncs, func(c kpi.ClientSync) bool { return c.ClientID == leaves }),
			has(act), has(off)
	}

	off, err := s.SetClientStatus(ctx, leaves, store.ClientOffboarded)
	require.NoError(t, err)
	require.True(t, off.Offboarded())
	require.NotNil(t, off.OffboardedAt)
	reports, lag, active, offboarded := in(t)
	require.False(t, reports, "no weekly report for an offboarded client")
	require.False(t, lag, "no sync lag for a client whose syncs stopped on purpose")
	require.False(t, active)
	require.True(t, offboarded)

	// Offboarding again, or renaming it, keeps when it left.
	again, err := s.SetClientStatus(ctx, leaves, store.ClientOffboarded)
	require.NoError(t, err)
	require.Equal(t, off.OffboardedAt, again.OffboardedAt)
	require.Equal(t, off.UpdatedAt, again.UpdatedAt, "nothing changed")
	renamed, _, err := s.UpsertClient(ctx, store.Client{ID: leaves, Name: "Renamed", DefaultCurrency: "usd"})
	require.NoError(t, err)
	require.Equal(t, store.ClientOffboarded, renamed.Status, "an upsert keeps the status")
	require.Equal(t, off.OffboardedAt, renamed.OffboardedAt)

	back, err := s.SetClientStatus(ctx, leaves, store.ClientActive)
	require.NoError(t, err)
	require.Equal(t, store.ClientActive, back.Status)
	require.Nil(t, back.OffboardedAt)
	reports, lag, active, offboarded = in(t)
	require.True(t, reports && lag && active, "back in reports, lag and the active list")
	require.False(t, offboarded)

	for _, tt := range []struct {
		name, id, status string
		want             error
		msg              string
	}{
		{"unknown status", stays, "paused", store.ErrInvalid, `status "paused" must be active or offboarded`},
		{"empty status", stays, "", store.ErrInvalid, `status "" must be active or offboarded`},
		{"unknown client", "offb-nobody", store.ClientOffboarded, store.ErrNotFound, "client offb-nobody"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.SetClientStatus(ctx, tt.id, tt.status)
			require.ErrorIs(t, err, tt.want)
			require.ErrorContains(t, err, tt.msg)
		})
	}
	_, err = s.ListClientsByStatus(ctx, "gone")
	require.ErrorIs(t, err, store.ErrInvalid)
	c, err := s.GetClient(ctx, stays)
	require.NoError(t, err)
	require.Equal(t, store.ClientActive, c.Status, "a refused change changed nothing")
}
