// Package deploy holds the production deployment: container images (docker/), AWS
// infrastructure as Terraform (terraform/) and the collector config the worker's sidecar runs.
// Its Go test checks them offline, where neither terraform nor docker can run: every HCL file
// parses, every reference resolves, the images build the programs that exist.
package deploy
