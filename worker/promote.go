package main

import (
	"context"
	"log/slog"
	"time"

	"go.temporal.io/sdk/client"
)

// A rolling deploy (ECS: minimum healthy 100 %) starts the new build's tasks and stops the old
// ones once the new are healthy. With worker versioning, Temporal routes new and auto-upgrading
// workflows to the deployment's current version only: were the new build made current by a
// later step (the deploy job, after the services are stable), the current version would have no
// worker between the old tasks' stop and that step, and none at all if the step never ran. So a
// versioned worker makes its own build current once it polls.

// promotion is what a starting worker does about the deployment's current version.
type promotion int

const (
	promoteWait    promotion = iota // the server has not seen this build poll yet
	promoteNow                      // make this build current
	promoteDone                     // this build is current
	promoteNewerOn                  // a newer build, or a later choice, is current: leave it
)

// decidePromotion: a build promotes itself over an older current build or none (the first
// versioned deploy), never over a newer one, and never over a choice made after it first polled.
// A version is "newer" when the server first saw it poll later: an old task started late must
// not take the work back from the build the deploy made current. And a rollback makes the
// previous build current explicitly (README, "Worker versioning on deploy"): a task of the
// rolled-back build (restarted, or still in its backoff) must not undo it; the routing changed
// after that build first polled, and a build that was current before is draining.
func decidePromotion(info client.WorkerDeploymentInfo, buildID string) promotion {
	current := info.RoutingConfig.CurrentVersion
	if current != nil && current.BuildID == buildID {
		return promoteDone
	}
	var ours, cur *client.WorkerDeploymentVersionSummary
	for i, v := range info.VersionSummaries {
		switch {
		case v.Version.BuildID == buildID:
			ours = &info.VersionSummaries[i]
		case current != nil && v.Version.BuildID == current.BuildID:
			cur = &info.VersionSummaries[i]
		}
	}
	switch {
	case ours == nil:
		return promoteWait
	case cur != nil && cur.CreateTime.After(ours.CreateTime),
		ours.DrainageStatus != client.WorkerDeploymentVersionDrainageStatusUnspecified,
		info.RoutingConfig.CurrentVersionChangedTime.After(ours.CreateTime):
		return promoteNewerOn
	}
	return promoteNow
}

// promoteBuild makes buildID the current version of the deployment once the server has seen it
// poll, retrying with backoff until it is done, a newer build is current, or ctx ends.
func promoteBuild(ctx context.Context, c client.Client, deployment, buildID string, logger *slog.Logger) {
	h := c.WorkerDeploymentClient().GetHandle(deployment)
	wait := 500 * time.Millisecond
	for {
		done, err := promoteOnce(ctx, h, buildID, logger)
		if done {
			return
		}
		if err != nil {
			logger.Debug("worker build not made current yet", "build_id", buildID, "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, 30*time.Second)
	}
}

func promoteOnce(ctx context.Context, h client.WorkerDeploymentHandle, buildID string, logger *slog.Logger) (done bool, err error) {
	d, err := h.Describe(ctx, client.WorkerDeploymentDescribeOptions{})
	if err != nil {
		return false, err // the deployment exists once a worker of it polled
	}
	switch decidePromotion(d.Info, buildID) {
	case promoteDone:
		return true, nil
	case promoteNewerOn:
		logger.Warn("worker build not made current: a newer build is, or the routing was set after it first polled", "build_id", buildID,
			"current", d.Info.RoutingConfig.CurrentVersion.BuildID)
		return true, nil
	case promoteWait:
		return false, nil
	}
	// The conflict token: if another worker changed the routing since the Describe, decide again.
	_, err = h.SetCurrentVersion(ctx, client.WorkerDeploymentSetCurrentVersionOptions{BuildID: buildID, ConflictToken: d.ConflictToken})
	if err != nil {
		return false, err
	}
	logger.Info("worker build made current", "build_id", buildID)
	return true, nil
}
