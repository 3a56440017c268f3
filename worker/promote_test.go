package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
)

func TestDecidePromotion(t *testing.T) {
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	seen := func(build string, at time.Time) client.WorkerDeploymentVersionSummary {
		return client.WorkerDeploymentVersionSummary{Version: worker.WorkerDeploymentVersion{DeploymentName: "d", BuildID: build}, CreateTime: at}
	}
	current := func(build string) client.WorkerDeploymentRoutingConfig {
		return client.WorkerDeploymentRoutingConfig{CurrentVersion: &worker.WorkerDeploymentVersion{DeploymentName: "d", BuildID: build}}
	}
	both := []client.WorkerDeploymentVersionSummary{seen("v1", t0), seen("v2", t0.Add(time.Hour))}
	drained := seen("v2", t0.Add(time.Hour))
	drained.DrainageStatus = client.WorkerDeploymentVersionDrainageStatusDraining // v2 was current, then rolled back
	rolledBack := []client.WorkerDeploymentVersionSummary{seen("v1", t0), drained}
	tests := []struct {
		name  string
		build string
		info  client.WorkerDeploymentInfo
		want  promotion
	}{
		{"not seen polling yet", "v2", client.WorkerDeploymentInfo{VersionSummaries: both[:1], RoutingConfig: current("v1")}, promoteWait},
		{"first versioned deploy", "v2", client.WorkerDeploymentInfo{VersionSummaries: both[1:]}, promoteNow},
		{"over the older current build", "v2", client.WorkerDeploymentInfo{VersionSummaries: both, RoutingConfig: current("v1")}, promoteNow},
		{"already current", "v2", client.WorkerDeploymentInfo{VersionSummaries: both, RoutingConfig: current("v2")}, promoteDone},
		{"an old task started late leaves the newer build current", "v1", client.WorkerDeploymentInfo{VersionSummaries: both, RoutingConfig: current("v2")}, promoteNewerOn},
		{"a task of a rolled-back build leaves the rollback", "v2", client.WorkerDeploymentInfo{VersionSummaries: rolledBack,
			RoutingConfig: client.WorkerDeploymentRoutingConfig{CurrentVersion: current("v1").CurrentVersion, CurrentVersionChangedTime: t0.Add(2 * time.Hour)}}, promoteNewerOn},
		{"a build that was current before leaves today's choice", "v2", client.WorkerDeploymentInfo{VersionSummaries: rolledBack, RoutingConfig: current("v1")}, promoteNewerOn},
		{"the routing set before this build polled", "v2", client.WorkerDeploymentInfo{VersionSummaries: both,
			RoutingConfig: client.WorkerDeploymentRoutingConfig{CurrentVersion: current("v1").CurrentVersion, CurrentVersionChangedTime: t0.Add(time.Minute)}}, promoteNow},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, decidePromotion(tt.info, tt.build))
		})
	}
}
